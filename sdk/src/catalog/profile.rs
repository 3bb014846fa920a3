//! Storage profiles: named physical places, declared under `storage:` in `lakeroute.yaml`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::{Mark, Node, Reader, Value};
use crate::Secret;

/// Which cloud (or stand-in) holds the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Amazon S3, or a server that speaks its protocol.
    Aws,
    /// Azure Blob Storage / Data Lake Storage Gen2, or Azurite.
    Azure,
    /// A folder on the local file system.
    Local,
    /// Process memory (tests, notebooks); gone when the process ends.
    Memory,
}

impl Provider {
    pub(crate) const NAMES: [&'static str; 4] = ["aws", "azure", "local", "memory"];

    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "aws" | "s3" => Some(Self::Aws),
            "azure" | "adls" => Some(Self::Azure),
            "local" => Some(Self::Local),
            "memory" => Some(Self::Memory),
            _ => None,
        }
    }

    /// The lower-case name used in descriptors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Local => "local",
            Self::Memory => "memory",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a profile authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// Whatever the environment provides (environment variables, instance or workload identity).
    #[default]
    Ambient,
    /// Unsigned requests, for public data and local servers that accept them.
    Anonymous,
    /// AWS access keys.
    AwsKeys {
        /// The access key id (not secret; shown in diagnostics).
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Secret,
        /// A session token for temporary credentials.
        session_token: Option<Secret>,
    },
    /// The AWS SDK's default chain (profiles, SSO, credential_process, web identity, container
    /// and instance credentials), optionally a named profile, optionally assuming a role.
    AwsChain {
        /// A profile of ~/.aws/config.
        profile: Option<String>,
        /// A role to assume on top.
        role: Option<crate::credentials::RoleSettings>,
    },
    /// The Azure identity chain (client secret from the environment, workload identity,
    /// managed identity, Azure CLI), with the profile's or its domain's settings.
    AzureChain(crate::credentials::AzureIdentity),
    /// An Azure storage account key.
    AzureAccountKey {
        /// The account key.
        account_key: Secret,
    },
    /// An Azure SAS token (query string, with or without the leading `?`).
    AzureSas {
        /// The token.
        token: Secret,
    },
}

impl Credentials {
    /// A short description that never includes a secret ("ambient", "static keys AKIA...").
    pub fn describe(&self) -> String {
        match self {
            Self::Ambient => "ambient".into(),
            Self::AwsChain { profile, role } => {
                let mut s = match profile {
                    Some(p) => format!("AWS chain, profile {p}"),
                    None => "AWS chain".into(),
                };
                if let Some(r) = role {
                    s.push_str(&format!(", role {}", r.role_arn));
                }
                s
            }
            Self::AzureChain(id) => {
                let mut s = "Azure chain".to_string();
                if let Some(c) = &id.client_id {
                    s.push_str(&format!(", client id {c}"));
                }
                if !id.developer_tools {
                    s.push_str(", no developer tools");
                }
                s
            }
            Self::Anonymous => "anonymous".into(),
            Self::AwsKeys { access_key_id, .. } => format!("static keys ({access_key_id})"),
            Self::AzureAccountKey { .. } => "account key".into(),
            Self::AzureSas { .. } => "SAS token".into(),
        }
    }
}

/// How hard a profile's store retries before it reports a failure (cloud providers only).
///
/// The defaults (object_store's: up to 10 retries within 3 minutes) suit batch jobs; a mirrored
/// dataset wants its primary to give up quickly so reads fail over to the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RetrySettings {
    /// Retries of one request.
    pub max_retries: Option<usize>,
    /// Time after which no further retry starts.
    pub retry_timeout: Option<std::time::Duration>,
    /// Time to wait for a connection.
    pub connect_timeout: Option<std::time::Duration>,
    /// Time for a whole request.
    pub request_timeout: Option<std::time::Duration>,
}

/// A named physical place: a bucket, a container, a folder or an in-memory store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StorageProfile {
    /// The profile's name, as datasets refer to it.
    pub name: String,
    /// Who holds the bytes.
    pub provider: Provider,
    /// For a `local` or `memory` profile standing in for a cloud: which one.
    pub emulates: Option<Provider>,
    /// S3 bucket (`aws`).
    pub bucket: Option<String>,
    /// Storage account (`azure`).
    pub account: Option<String>,
    /// Container (`azure`).
    pub container: Option<String>,
    /// Root folder (`local`), absolute once loaded.
    pub root: Option<PathBuf>,
    /// Buckets or containers this stand-in holds, one sub-folder each (`local`, `memory`).
    pub buckets: Vec<String>,
    /// Cloud region (`us-east-1`, `westeurope`).
    pub region: Option<String>,
    /// Endpoint of an S3- or Azure-compatible server.
    pub endpoint: Option<String>,
    /// Path-style S3 requests (`http://host/bucket/key`), as local servers need.
    pub path_style: bool,
    /// A prefix below the bucket, container or folder that every dataset of the profile sits under.
    pub prefix: Vec<String>,
    /// How requests are authenticated.
    pub credentials: Credentials,
    /// Retry and timeout settings.
    pub retry: RetrySettings,
    /// Free text.
    pub description: Option<String>,
    /// Where the profile is declared.
    pub declared_at: (PathBuf, usize),
}

/// Joins a declared profile's name and the identity a dataset adds to it (a role or a managed
/// identity's client id): `name~identity` is the effective profile's name.
pub(crate) const IDENTITY_SEPARATOR: char = '~';

impl StorageProfile {
    /// For a profile's settings in one environment (`environments:` under a profile, loaded as
    /// the derived profile `name@env`): the base profile's name and the environment.
    pub(crate) fn environment_override(&self) -> Option<(&str, &str)> {
        self.name.split_once('@')
    }

    /// The name of the declared profile this one derives from: an effective profile that adds
    /// a dataset's role or managed identity (`name~identity`) is still the same place.
    pub fn declared_name(&self) -> &str {
        self.name
            .split(IDENTITY_SEPARATOR)
            .next()
            .unwrap_or(&self.name)
    }

    /// The cloud this profile stands for: its provider, or what it emulates.
    pub fn effective_provider(&self) -> Provider {
        self.emulates.unwrap_or(self.provider)
    }

    /// An implicit profile for an inline descriptor location with no matching declared profile.
    pub(crate) fn implicit(
        provider: Provider,
        bucket: &str,
        account: Option<&str>,
        region: Option<String>,
        declared_at: (PathBuf, usize),
    ) -> Self {
        let (name, bucket_field, container) = match provider {
            Provider::Azure => (
                format!("azure:{}/{bucket}", account.unwrap_or_default()),
                None,
                Some(bucket.to_string()),
            ),
            _ => (format!("aws:{bucket}"), Some(bucket.to_string()), None),
        };
        Self {
            name,
            provider,
            emulates: None,
            bucket: bucket_field,
            account: account.map(str::to_string),
            container,
            root: None,
            buckets: Vec::new(),
            region,
            endpoint: None,
            path_style: false,
            prefix: Vec::new(),
            credentials: Credentials::Ambient,
            retry: RetrySettings::default(),
            description: None,
            declared_at,
        }
    }

    /// The physical URL of the profile's root (with its prefix), for display.
    pub fn root_url(&self) -> String {
        let mut url = match self.provider {
            Provider::Aws => format!("s3://{}", self.bucket.as_deref().unwrap_or_default()),
            Provider::Azure => format!(
                "abfss://{}@{}.dfs.core.windows.net",
                self.container.as_deref().unwrap_or_default(),
                self.account.as_deref().unwrap_or_default()
            ),
            Provider::Local => format!(
                "file://{}",
                self.root
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
                    .trim_end_matches('/')
            ),
            Provider::Memory => format!("memory://{}", self.name),
        };
        for seg in &self.prefix {
            url.push('/');
            url.push_str(seg);
        }
        url
    }
}

const FIELDS: [&str; 20] = [
    "environments",
    "max_retries",
    "retry_timeout",
    "connect_timeout",
    "request_timeout",
    "provider",
    "emulates",
    "bucket",
    "account",
    "container",
    "root",
    "buckets",
    "region",
    "endpoint",
    "path_style",
    "prefix",
    "credentials",
    "description",
    "allow_http",
    "containers",
];

/// Reads one profile from its mapping, recording problems.
pub(crate) fn read_profile(
    r: &mut Reader<'_>,
    name: &str,
    node: &Node,
    file: &Path,
    catalog_dir: &Path,
) -> Option<StorageProfile> {
    let what = format!("storage profile {name:?}");
    if !r.check_map(node, &what, &FIELDS, &["provider"]) {
        return None;
    }
    let provider = match r.string(node, "provider", &what) {
        Some((p, mark)) => match Provider::parse(&p) {
            Some(p) => p,
            None => {
                r.problem(
                    mark,
                    format!(
                        "{what}: unknown provider {p:?}; use one of {}",
                        Provider::NAMES.join(", ")
                    ),
                );
                return None;
            }
        },
        None => return None,
    };
    let text = |r: &mut Reader<'_>, key: &str| {
        r.string(node, key, &what)
            .map(|(s, mark)| (expand_env(&s), mark))
    };
    let bucket = text(r, "bucket");
    let account = text(r, "account");
    let container = text(r, "container");
    let root = text(r, "root");
    let emulates = match text(r, "emulates") {
        Some((e, mark)) => match Provider::parse(&e) {
            Some(p @ (Provider::Aws | Provider::Azure)) => Some(p),
            _ => {
                r.problem(
                    mark,
                    format!("{what}: emulates must be aws or azure, not {e:?}"),
                );
                None
            }
        },
        None => None,
    };
    let mut buckets: Vec<String> = r
        .strings(node, "buckets", &what)
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    buckets.extend(
        r.strings(node, "containers", &what)
            .into_iter()
            .map(|(b, _)| b),
    );
    let need = |r: &mut Reader<'_>, field: &Option<(String, Mark)>, key: &str| {
        if field.is_none() {
            r.problem(
                node.mark,
                format!("{what}: provider {provider} needs {key:?}"),
            );
        }
    };
    let forbid = |r: &mut Reader<'_>, field: &Option<(String, Mark)>, key: &str| {
        if let Some((_, mark)) = field {
            r.problem(
                *mark,
                format!("{what}: {key:?} does not apply to provider {provider}"),
            );
        }
    };
    match provider {
        Provider::Aws => {
            need(r, &bucket, "bucket");
            forbid(r, &account, "account");
            forbid(r, &container, "container");
            forbid(r, &root, "root");
        }
        Provider::Azure => {
            need(r, &account, "account");
            need(r, &container, "container");
            forbid(r, &bucket, "bucket");
            forbid(r, &root, "root");
        }
        Provider::Local => {
            need(r, &root, "root");
            forbid(r, &bucket, "bucket");
            forbid(r, &account, "account");
            forbid(r, &container, "container");
        }
        Provider::Memory => {
            forbid(r, &bucket, "bucket");
            forbid(r, &account, "account");
            forbid(r, &container, "container");
            forbid(r, &root, "root");
        }
    }
    let root = root.map(|(p, _)| {
        let p = PathBuf::from(p);
        normalize(&if p.is_absolute() {
            p
        } else {
            catalog_dir.join(p)
        })
    });
    let prefix = text(r, "prefix")
        .map(|(p, mark)| split_prefix(r, &p, mark, &what))
        .unwrap_or_default();
    let credentials = node
        .get("credentials")
        .map(|c| read_credentials(r, c, provider, &what))
        .unwrap_or_default();
    Some(StorageProfile {
        name: name.to_string(),
        provider,
        emulates,
        bucket: bucket.map(|b| b.0),
        account: account.map(|b| b.0),
        container: container.map(|b| b.0),
        root,
        buckets,
        region: text(r, "region").map(|v| v.0),
        endpoint: text(r, "endpoint").map(|v| v.0),
        path_style: r.boolean(node, "path_style", &what).unwrap_or(false),
        prefix,
        credentials,
        retry: RetrySettings {
            max_retries: text(r, "max_retries").and_then(|(v, mark)| match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    r.problem(
                        mark,
                        format!("{what}: max_retries must be a whole number, not {v:?}"),
                    );
                    None
                }
            }),
            retry_timeout: duration(r, node, "retry_timeout", &what),
            connect_timeout: duration(r, node, "connect_timeout", &what),
            request_timeout: duration(r, node, "request_timeout", &what),
        },
        description: r.string(node, "description", &what).map(|v| v.0),
        declared_at: (file.to_path_buf(), node.mark.line),
    })
}

/// A duration field: `500ms`, `5s`, `2m`, `1h`, or a number of seconds.
fn duration(r: &mut Reader<'_>, node: &Node, key: &str, what: &str) -> Option<std::time::Duration> {
    let (text, mark) = r.string(node, key, what)?;
    let parsed = super::settings::parse_duration(&text);
    if parsed.is_none() {
        r.problem(
            mark,
            format!("{what}: {key} {text:?} is not a duration; write 500ms, 5s or 2m"),
        );
    }
    parsed
}

/// Splits a configured prefix into checked segments.
pub(crate) fn split_prefix(r: &mut Reader<'_>, text: &str, mark: Mark, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in text.split('/').filter(|s| !s.is_empty()) {
        if let Err(e) = crate::uri::check_segment(text, seg) {
            r.problem(mark, format!("{what}: prefix {text:?}: {e}"));
            return Vec::new();
        }
        out.push(seg.to_string());
    }
    out
}

fn read_credentials(
    r: &mut Reader<'_>,
    node: &Node,
    provider: Provider,
    what: &str,
) -> Credentials {
    if let Value::Scalar { text, .. } = &node.value {
        return match text.as_str() {
            "ambient" => Credentials::Ambient,
            "anonymous" => Credentials::Anonymous,
            other => {
                r.problem(
                    node.mark,
                    format!("{what}: credentials {other:?} must be ambient, anonymous or a mapping of keys"),
                );
                Credentials::Ambient
            }
        };
    }
    let what = format!("{what} credentials");
    let allowed: &[&str] = match provider {
        Provider::Aws => &[
            "access_key_id",
            "secret_access_key",
            "session_token",
            "profile",
            "role_arn",
            "external_id",
            "session_name",
        ],
        Provider::Azure => &[
            "account_key",
            "sas_token",
            "client_id",
            "tenant_id",
            "developer_tools",
        ],
        _ => &[],
    };
    if !r.check_map(node, &what, allowed, &[]) {
        return Credentials::Ambient;
    }
    // Values are read as given or, written as `env:NAME`, from the environment, so keys for
    // local servers can sit in git while real ones never have to.
    let mut secret = |key: &str| -> Option<Secret> {
        let (raw, mark) = r.string(node, key, &what)?;
        match raw.strip_prefix("env:") {
            Some(var) => match std::env::var(var) {
                Ok(v) => Some(Secret::new(v)),
                Err(_) => {
                    r.problem(
                        mark,
                        format!("{what}: {key} reads environment variable {var}, which is not set"),
                    );
                    None
                }
            },
            None => Some(Secret::new(raw)),
        }
    };
    match provider {
        Provider::Aws
            if node.get("access_key_id").is_none() && node.get("secret_access_key").is_none() =>
        {
            let mut text = |key: &str| r.string(node, key, &what).map(|v| v.0);
            let profile = text("profile");
            let role = text("role_arn").map(|role_arn| crate::credentials::RoleSettings {
                role_arn,
                external_id: text("external_id"),
                session_name: text("session_name"),
            });
            Credentials::AwsChain { profile, role }
        }
        Provider::Aws => {
            let id = secret("access_key_id");
            let key = secret("secret_access_key");
            let token = secret("session_token");
            match (id, key) {
                (Some(id), Some(key)) => Credentials::AwsKeys {
                    access_key_id: id.expose().to_string(),
                    secret_access_key: key,
                    session_token: token,
                },
                _ => {
                    r.problem(
                        node.mark,
                        format!("{what}: give both access_key_id and secret_access_key"),
                    );
                    Credentials::Ambient
                }
            }
        }
        Provider::Azure if node.get("account_key").is_none() && node.get("sas_token").is_none() => {
            let mut identity = crate::credentials::AzureIdentity {
                client_id: r.string(node, "client_id", &what).map(|v| v.0),
                tenant_id: r.string(node, "tenant_id", &what).map(|v| v.0),
                ..Default::default()
            };
            if let Some(b) = r.boolean(node, "developer_tools", &what) {
                identity.developer_tools = b;
            }
            Credentials::AzureChain(identity)
        }
        Provider::Azure
            if ["client_id", "tenant_id", "developer_tools"]
                .iter()
                .any(|k| node.get(k).is_some()) =>
        {
            r.problem(
                node.mark,
                format!("{what}: client_id, tenant_id and developer_tools configure the Azure identity chain; drop them, or drop account_key/sas_token to use the chain"),
            );
            Credentials::Ambient
        }
        Provider::Azure => match (secret("account_key"), secret("sas_token")) {
            (Some(k), None) => Credentials::AzureAccountKey { account_key: k },
            (None, Some(t)) => Credentials::AzureSas { token: t },
            _ => {
                r.problem(
                    node.mark,
                    format!("{what}: give exactly one of account_key or sas_token"),
                );
                Credentials::Ambient
            }
        },
        _ => Credentials::Ambient,
    }
}

/// Resolves `.` and `..` lexically, so the root reads the same however it was written.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Expands `${NAME}` and `${NAME:-default}` from the environment.
pub(crate) fn expand_env(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ => out.push_str(default.unwrap_or_default()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_environment() {
        assert_eq!(expand_env("${LAKEROUTE_SURELY_UNSET_VAR:-x}/y"), "x/y");
        assert_eq!(expand_env("a${LAKEROUTE_SURELY_UNSET_VAR}b"), "ab");
        assert_eq!(expand_env("plain"), "plain");
    }
}
