//! The one public error type.
//!
//! Every variant is named by what the caller can do about it, holds the offending input, and
//! keeps the underlying cause as its `source`. Messages never contain credentials: the types that
//! hold secrets redact themselves (see [`crate::Secret`]).

use std::fmt;
use std::path::PathBuf;

use crate::catalog::Problem;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lakeroute.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a valid `lake://` or physical URI. Fix the URI as the reason says.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong and how to write it instead.
        reason: String,
    },

    /// A key tried to leave its dataset (`..`, an encoded slash, a look-alike character).
    /// Keys are relative to the dataset root and can never reach outside it.
    #[error(
        "path escape in {uri:?}: segment {segment:?} would leave the dataset root; use plain key segments without '.', '..', '/' or '\\' (also not percent-encoded or as look-alike characters)"
    )]
    PathEscape {
        /// The URI as given.
        uri: String,
        /// The offending key segment, after percent-decoding.
        segment: String,
    },

    /// No credentials could be resolved for a storage profile. Lists what was tried and why it
    /// failed (never a secret), and the most likely fix.
    #[error("no credentials for storage profile {profile:?}: tried {tried}; {hint}")]
    CredentialUnavailable {
        /// The storage profile.
        profile: String,
        /// Every source tried, and why each failed.
        tried: String,
        /// The most likely fix.
        hint: String,
    },

    /// A byte range whose end comes before its start.
    #[error("invalid range {start}..{end} for {uri}: the end must not come before the start")]
    InvalidRange {
        /// The URI as given.
        uri: String,
        /// First byte asked for.
        start: u64,
        /// One past the last byte asked for.
        end: u64,
    },

    /// A partition filter or partition values that do not fit the dataset's partition columns.
    #[error("invalid partition {input:?}: {reason}")]
    InvalidPartition {
        /// The filter, column or values as given.
        input: String,
        /// What is wrong and what to write instead.
        reason: String,
    },

    /// A job cannot be planned as asked.
    #[error("cannot plan job {job:?}: {reason}")]
    InvalidJob {
        /// The job's name.
        job: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A read would take the process past its egress budget; nothing was fetched.
    #[error(
        "egress budget {budget} would be exceeded reading dataset {dataset}: spent {spent}, this read needs {needed}; raise budget: in lakeroute.yaml or read less"
    )]
    BudgetExceeded {
        /// The dataset (or physical store) read.
        dataset: String,
        /// The budget that would be exceeded.
        budget: String,
        /// What was spent so far.
        spent: String,
        /// What the read would add.
        needed: String,
    },

    /// A job's plan estimates more egress than the budget its descriptor sets; nothing was read.
    #[error(
        "job {job}: egress budget {budget} would be exceeded reading dataset {dataset}: the sources before it need {spent}, it needs {needed}; raise budget: in the job descriptor, plan for a cluster nearer the data (lakeroute plan --advise), or read less"
    )]
    JobOverBudget {
        /// The job's name.
        job: String,
        /// The first source that takes the plan over its budget.
        dataset: String,
        /// The budget that would be exceeded.
        budget: String,
        /// What the sources before it need.
        spent: String,
        /// What it needs.
        needed: String,
    },

    /// The environment asked for is not declared in the catalog.
    #[error("unknown environment {name:?}; the catalog declares: {}", known.join(", "))]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The declared environments.
        known: Vec<String>,
    },

    /// The environment in use is read-only.
    #[error(
        "{uri} is read-only in environment {environment:?}; write from another environment (LAKEROUTE_ENV or --env)"
    )]
    ReadOnly {
        /// The URI as given.
        uri: String,
        /// The environment.
        environment: String,
    },

    /// No dataset with that domain, name and version is declared in the catalog.
    #[error("{}", dataset_not_found(uri, suggestions))]
    DatasetNotFound {
        /// The URI as given.
        uri: String,
        /// The closest declared datasets, best first (`domain/name/vN`).
        suggestions: Vec<String>,
    },

    /// A storage profile was referred to by a name the catalog does not declare.
    #[error(
        "unknown storage profile {name:?} (needed by {needed_by}); declare it under `storage:` in lakeroute.yaml or fix the name"
    )]
    UnknownProfile {
        /// The profile name asked for.
        name: String,
        /// Who asked: a dataset, a URI, a command-line flag.
        needed_by: String,
    },

    /// The catalog has problems; each one names its file, line and column.
    #[error("{}", catalog_problems(dir, problems))]
    InvalidCatalog {
        /// The catalog folder.
        dir: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },

    /// A storage profile's settings cannot be turned into a working store.
    #[error("storage profile {profile:?} is misconfigured: {reason}")]
    InvalidProfile {
        /// The profile name.
        profile: String,
        /// What is wrong and what to set.
        reason: String,
    },

    /// No object at that URI. Check the key with `lakeroute ls` on its parent prefix.
    #[error("object not found: {uri} ({})", source_text(source))]
    NotFound {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// The object already exists and the operation was create-only.
    #[error("object already exists: {uri}; the write was create-only, nothing was changed")]
    AlreadyExists {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// A conditional request failed (the object changed since it was read).
    #[error("precondition failed for {uri}: the object changed; read it again and retry")]
    Precondition {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// The object was not modified since the given version (`If-None-Match` matched).
    #[error("not modified: {uri}")]
    NotModified {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// The credentials in use may not do this. Check the storage profile's credentials or role.
    #[error(
        "permission denied for {uri}: the credentials of its storage profile may not do this ({})",
        source_text(source)
    )]
    PermissionDenied {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// The store does not support this operation.
    #[error("{operation} is not supported for {uri} ({})", source_text(source))]
    Unsupported {
        /// The URI as given.
        uri: String,
        /// The operation attempted.
        operation: &'static str,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// Any other storage failure (network, server error after retries, ...).
    #[error("storage error for {uri}: {}", source_text(source))]
    Storage {
        /// The URI as given.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },

    /// A local file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The local path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an `object_store` error for `uri`, choosing the variant the caller can act on.
    pub fn from_store(uri: impl Into<String>, source: object_store::Error) -> Self {
        let uri = uri.into();
        // lakeroute's own refusals travel through object_store's Generic error; unwrap them.
        let source = match source {
            object_store::Error::Generic {
                store: "lakeroute",
                source,
            } => match source.downcast::<Error>() {
                Ok(own) => return *own,
                Err(other) => object_store::Error::Generic {
                    store: "lakeroute",
                    source: other,
                },
            },
            other => other,
        };
        match source {
            object_store::Error::NotFound { .. } => Self::NotFound { uri, source },
            object_store::Error::AlreadyExists { .. } => Self::AlreadyExists { uri, source },
            object_store::Error::Precondition { .. } => Self::Precondition { uri, source },
            object_store::Error::NotModified { .. } => Self::NotModified { uri, source },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => Self::PermissionDenied { uri, source },
            object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. } => Self::Unsupported {
                uri,
                operation: "this operation",
                source,
            },
            source => Self::Storage { uri, source },
        }
    }

    /// True when the error means "no such object" (maps to `FileNotFoundError` in Python).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    pub(crate) fn invalid_uri(uri: &str, reason: impl Into<String>) -> Self {
        Self::InvalidUri {
            uri: uri.to_string(),
            reason: reason.into(),
        }
    }
}

/// Converts back into `object_store`'s error, so a [`crate::LakeStore`] can report
/// lakeroute's own failures (an unknown dataset, a path escape) through the `ObjectStore` trait.
impl From<Error> for object_store::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { source, .. }
            | Error::AlreadyExists { source, .. }
            | Error::Precondition { source, .. }
            | Error::NotModified { source, .. }
            | Error::PermissionDenied { source, .. }
            | Error::Unsupported { source, .. }
            | Error::Storage { source, .. } => source,
            Error::DatasetNotFound { ref uri, .. } => object_store::Error::NotFound {
                path: uri.clone(),
                source: Box::new(err),
            },
            other => object_store::Error::Generic {
                store: "lakeroute",
                source: Box::new(other),
            },
        }
    }
}

fn source_text(source: &object_store::Error) -> String {
    // object_store's messages repeat the path and the store; keep the useful first line.
    let text = source.to_string();
    text.lines().next().unwrap_or_default().to_string()
}

fn dataset_not_found(uri: &str, suggestions: &[String]) -> String {
    let mut msg = format!("dataset not found for {uri}: no descriptor in the catalog declares it");
    if suggestions.is_empty() {
        msg.push_str("; run `lakeroute catalog list` to see what is declared");
    } else {
        msg.push_str("; did you mean ");
        let quoted: Vec<String> = suggestions.iter().map(|s| format!("lake://{s}")).collect();
        msg.push_str(&quoted.join(" or "));
        msg.push('?');
    }
    msg
}

fn catalog_problems(dir: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    let _ = fmt::Write::write_fmt(
        &mut out,
        format_args!(
            "catalog {} has {} problem(s):",
            dir.display(),
            problems.len()
        ),
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_err(kind: &str) -> object_store::Error {
        let path = "bucket/key".to_string();
        let source = "server said no".into();
        match kind {
            "denied" => object_store::Error::PermissionDenied { path, source },
            "unauth" => object_store::Error::Unauthenticated { path, source },
            "exists" => object_store::Error::AlreadyExists { path, source },
            _ => object_store::Error::NotFound { path, source },
        }
    }

    #[test]
    fn store_errors_map_to_what_the_caller_can_do() {
        let uri = "lake://finance/customer/v1/a.csv";
        for kind in ["denied", "unauth"] {
            let e = Error::from_store(uri, store_err(kind));
            assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(msg.contains(uri) && msg.contains("credentials"), "{msg}");
        }
        assert!(matches!(
            Error::from_store(uri, store_err("exists")),
            Error::AlreadyExists { .. }
        ));
        assert!(Error::from_store(uri, store_err("missing")).is_not_found());
    }

    #[test]
    fn unknown_dataset_becomes_not_found_for_engines() {
        let e = Error::DatasetNotFound {
            uri: "lake://a/b/v1".into(),
            suggestions: vec!["a/c/v1".into()],
        };
        assert!(e.to_string().contains("did you mean lake://a/c/v1?"));
        assert!(matches!(
            object_store::Error::from(e),
            object_store::Error::NotFound { .. }
        ));
    }
}
