//! Dataset descriptors: one YAML file per dataset version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::profile::{Provider, split_prefix};
use super::yaml::{Mark, Node, Reader, Value};
use crate::mirror::MirrorWrites;
use crate::uri::{DatasetId, parse_name, parse_version};

/// Descriptor schema versions this release reads. Older ones keep loading.
const DESCRIPTOR_VERSIONS: [&str; 3] = ["v1", "v2", "v3"];

/// Storage formats lakeroute knows; anything else is a likely typo.
const FORMATS: [&str; 10] = [
    "parquet", "delta", "iceberg", "csv", "json", "jsonl", "avro", "orc", "text", "binary",
];

/// One column of a dataset's schema, as documentation and for engines that want it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Type name as written (`string`, `long`, `decimal(10,2)`, ...).
    pub data_type: String,
    /// Whether the column may be null.
    pub optional: bool,
    /// Free text.
    pub description: Option<String>,
}

/// Where a dataset's bytes live, before profiles are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocationSpec {
    /// `location: {storage: <profile>, prefix: ...}`.
    Profile { name: String, mark: Mark },
    /// `location: {provider: aws, bucket: ..., prefix: ...}` or azure with account + container.
    Inline {
        provider: Provider,
        bucket: String,
        account: Option<String>,
        region: Option<String>,
    },
}

/// A second location holding a copy of the dataset, usually on the other cloud.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Mirror {
    /// Name of the storage profile holding the copy.
    pub profile: String,
    /// Segments below the profile root where the copy starts.
    pub prefix: Vec<String>,
    /// Whether writes go to both locations or to the primary only.
    pub writes: MirrorWrites,
    pub(crate) mark: Mark,
    pub(crate) location: LocationSpec,
}

/// A dataset as declared: identity, format, layout and location.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Dataset {
    /// Domain, name and version.
    pub id: DatasetId,
    /// Descriptor schema version (`v1`..`v3`).
    pub descriptor_version: String,
    /// Descriptor `type` (`parallelread`, ...), as written.
    pub kind: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Storage format (`parquet`, `delta`, ...).
    pub format: String,
    /// Whether history (time travel) is kept.
    pub has_history: bool,
    /// Hive-style partition columns, outermost first.
    pub partitioning_columns: Vec<String>,
    /// The declared schema.
    pub columns: Vec<Column>,
    /// Name of the storage profile holding the data (declared or implicit).
    pub profile: String,
    /// Segments below the profile root where the dataset starts.
    pub prefix: Vec<String>,
    /// A mirror location, when the dataset is kept on two stores.
    pub mirror: Option<Mirror>,
    /// A published version that never changes: cached copies are never revalidated.
    pub immutable: bool,
    /// The role this dataset's requests assume (overrides its domain's).
    pub role: Option<super::settings::RoleSpec>,
    /// Locations for particular environments: profile name and prefix.
    pub env_locations: BTreeMap<String, (String, Vec<String>)>,
    pub(crate) env_specs: Vec<(String, LocationSpec, Vec<String>)>,
    /// The descriptor file.
    pub file: PathBuf,
    /// Line of the descriptor's location, for problems about overlap.
    pub(crate) location_mark: Mark,
    pub(crate) location: LocationSpec,
}

const TOP_FIELDS: [&str; 11] = [
    "role",
    "version",
    "type",
    "entityName",
    "entityVersion",
    "domain",
    "description",
    "coldStorage",
    "columns",
    "owner",
    "tags",
];
const COLD_FIELDS: [&str; 8] = [
    "immutable",
    "environments",
    "format",
    "location",
    "mirror",
    "hasHistory",
    "partitioningColumns",
    "description",
];
const LOCATION_FIELDS: [&str; 7] = [
    "storage",
    "provider",
    "bucket",
    "container",
    "account",
    "prefix",
    "region",
];
const COLUMN_FIELDS: [&str; 4] = ["name", "type", "optional", "description"];

/// Reads a descriptor. `folder_domain` is the name of the folder holding the file, if any.
pub(crate) fn read_dataset(
    r: &mut Reader<'_>,
    doc: &Node,
    file: &Path,
    folder_domain: Option<&str>,
) -> Option<Dataset> {
    let what = "dataset descriptor";
    if !r.check_map(
        doc,
        what,
        &TOP_FIELDS,
        &["entityName", "entityVersion", "coldStorage"],
    ) {
        return None;
    }
    let descriptor_version = match r.string(doc, "version", what) {
        Some((v, mark)) => {
            if !DESCRIPTOR_VERSIONS.contains(&v.as_str()) {
                r.problem(
                    mark,
                    format!(
                        "unsupported descriptor version {v:?}; this release reads {}",
                        DESCRIPTOR_VERSIONS.join(", ")
                    ),
                );
            }
            v
        }
        None => "v3".to_string(),
    };
    let name = checked(r, doc, "entityName", "dataset");
    let version =
        r.string(doc, "entityVersion", what)
            .and_then(|(v, mark)| match parse_version(&v) {
                Ok(n) => Some(n),
                Err(e) => {
                    r.problem(mark, format!("entityVersion: {e}"));
                    None
                }
            });
    let domain = match doc.get("domain") {
        Some(_) => checked(r, doc, "domain", "domain"),
        None => match folder_domain.map(|d| parse_name(d, "domain")) {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                r.problem(
                    doc.mark,
                    format!("no \"domain\" field and the folder name is not a domain: {e}"),
                );
                None
            }
            None => {
                r.problem(
                    doc.mark,
                    "missing \"domain\": set it, or put the file in a folder named after its domain",
                );
                None
            }
        },
    };
    let columns = read_columns(r, doc);
    let cold = doc.get("coldStorage")?;
    if !r.check_map(cold, "coldStorage", &COLD_FIELDS, &["format", "location"]) {
        return None;
    }
    let format = r
        .string(cold, "format", "coldStorage")
        .map(|(f, mark)| {
            let lower = f.to_ascii_lowercase();
            if !FORMATS.contains(&lower.as_str()) {
                r.problem(
                    mark,
                    format!(
                        "coldStorage: unknown format {f:?}; use one of {}",
                        FORMATS.join(", ")
                    ),
                );
            }
            lower
        })
        .unwrap_or_default();
    let has_history = r
        .boolean(cold, "hasHistory", "coldStorage")
        .unwrap_or(false);
    let immutable = r.boolean(cold, "immutable", "coldStorage").unwrap_or(false);
    let partitioning_columns: Vec<String> = r
        .strings(cold, "partitioningColumns", "coldStorage")
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let mirror = cold.get("mirror").and_then(|node| {
        let (location, prefix) = read_location(r, node, "coldStorage.mirror", &["writes"])?;
        let writes = match r.string(node, "writes", "coldStorage.mirror") {
            None => MirrorWrites::Both,
            Some((w, _)) if w == "both" => MirrorWrites::Both,
            Some((w, _)) if w == "primary" => MirrorWrites::Primary,
            Some((w, mark)) => {
                r.problem(
                    mark,
                    format!("coldStorage.mirror: writes must be both or primary, not {w:?}"),
                );
                MirrorWrites::Both
            }
        };
        Some(Mirror {
            profile: String::new(),
            prefix,
            writes,
            mark: node.mark,
            location,
        })
    });
    let mut env_specs = Vec::new();
    if let Some(envs) = cold.get("environments") {
        match &envs.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let Some(env) = k.scalar() else { continue };
                    let what = format!("coldStorage.environments.{env}");
                    if let Some((spec, prefix)) = read_location(r, v, &what, &[]) {
                        env_specs.push((env.to_string(), spec, prefix));
                    }
                }
            }
            _ => r.problem(
                envs.mark,
                "coldStorage.environments must map environment names to locations",
            ),
        }
    }
    let loc = cold.get("location")?;
    let (location, prefix) = read_location(r, loc, "coldStorage.location", &[])?;
    Some(Dataset {
        id: DatasetId::new(&domain?, &name?, version?).ok()?,
        descriptor_version,
        kind: r.string(doc, "type", what).map(|v| v.0),
        description: r.string(doc, "description", what).map(|v| v.0),
        format,
        has_history,
        partitioning_columns,
        columns,
        profile: String::new(),
        prefix,
        mirror,
        immutable,
        role: doc
            .get("role")
            .map(|n| super::settings::read_role_spec(r, n, "role")),
        env_locations: BTreeMap::new(),
        env_specs,
        file: file.to_path_buf(),
        location_mark: loc.mark,
        location,
    })
}

fn checked(r: &mut Reader<'_>, doc: &Node, key: &str, what: &str) -> Option<String> {
    let (raw, mark) = r.string(doc, key, "dataset descriptor")?;
    match parse_name(&raw, what) {
        Ok(v) => Some(v),
        Err(e) => {
            r.problem(mark, format!("{key}: {e}"));
            None
        }
    }
}

fn read_location(
    r: &mut Reader<'_>,
    loc: &Node,
    what: &str,
    extra_fields: &[&str],
) -> Option<(LocationSpec, Vec<String>)> {
    let allowed: Vec<&str> = LOCATION_FIELDS
        .iter()
        .chain(extra_fields)
        .copied()
        .collect();
    if !r.check_map(loc, what, &allowed, &[]) {
        return None;
    }
    let prefix = r
        .string(loc, "prefix", what)
        .map(|(p, mark)| split_prefix(r, &p, mark, what))
        .unwrap_or_default();
    if let Some((storage, mark)) = r.string(loc, "storage", what) {
        for other in ["provider", "bucket", "container", "account"] {
            if let Some(node) = loc.get(other) {
                r.problem(
                    node.mark,
                    format!("{what}: {other:?} conflicts with \"storage\"; the profile says where"),
                );
            }
        }
        return Some((
            LocationSpec::Profile {
                name: storage,
                mark,
            },
            prefix,
        ));
    }
    let Some((provider_name, pmark)) = r.string(loc, "provider", what) else {
        r.problem(
            loc.mark,
            format!("{what}: give either \"storage: <profile>\" or \"provider\" with its bucket/container"),
        );
        return None;
    };
    let provider = match provider_name.to_ascii_lowercase().as_str() {
        "aws" | "s3" => Provider::Aws,
        "azure" | "adls" => Provider::Azure,
        other => {
            r.problem(
                pmark,
                format!(
                    "{what}: provider {other:?} cannot be given inline; use aws or azure, or name a storage profile with \"storage\""
                ),
            );
            return None;
        }
    };
    let bucket = r
        .string(loc, "bucket", what)
        .or_else(|| r.string(loc, "container", what));
    let account = r.string(loc, "account", what).map(|a| a.0);
    let Some((bucket, _)) = bucket else {
        let need = if provider == Provider::Aws {
            "bucket"
        } else {
            "container"
        };
        r.problem(
            loc.mark,
            format!("{what}: provider {provider} needs {need:?}"),
        );
        return None;
    };
    if provider == Provider::Azure && account.is_none() {
        r.problem(
            loc.mark,
            format!("{what}: provider azure needs \"account\""),
        );
        return None;
    }
    Some((
        LocationSpec::Inline {
            provider,
            bucket,
            account,
            region: r.string(loc, "region", what).map(|v| v.0),
        },
        prefix,
    ))
}

fn read_columns(r: &mut Reader<'_>, doc: &Node) -> Vec<Column> {
    let Some(node) = doc.get("columns") else {
        return Vec::new();
    };
    let Value::Seq(items) = &node.value else {
        if !node.is_null() {
            r.problem(node.mark, "columns must be a list of {name, type}");
        }
        return Vec::new();
    };
    let mut columns = Vec::new();
    for item in items {
        if !r.check_map(item, "column", &COLUMN_FIELDS, &["name", "type"]) {
            continue;
        }
        let name = r.string(item, "name", "column");
        let data_type = r.string(item, "type", "column");
        if let (Some((name, _)), Some((data_type, _))) = (name, data_type) {
            columns.push(Column {
                name,
                data_type,
                optional: r.boolean(item, "optional", "column").unwrap_or(false),
                description: r.string(item, "description", "column").map(|v| v.0),
            });
        }
    }
    columns
}
