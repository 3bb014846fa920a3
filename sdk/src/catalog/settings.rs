//! Process settings in lakeroute.yaml: where this process computes, the cache, the budget.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::profile::{Provider, expand_env};
use super::yaml::{Node, Reader};
use crate::cache::Freshness;
use crate::meter::Budget;
use crate::pricing::Place;

/// The disk cache's settings (`cache:` in lakeroute.yaml).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheSettings {
    /// The cache folder (`LAKEROUTE_CACHE_DIR`, else `~/.cache/lakeroute`).
    pub dir: PathBuf,
    /// Size bound in bytes.
    pub max_bytes: u64,
    /// Block size for range reads.
    pub block_size: u64,
    /// When entries are checked against the store.
    pub freshness: Freshness,
    /// How long a checked entry counts as fresh (mode `ttl`).
    pub revalidate_after: Duration,
    /// Whether to cache data that costs no egress (same region).
    pub same_region: bool,
    /// The cache medium's price, dollars per GB-month.
    pub medium_price_gb_month: f64,
    /// How long the cache remembers reads: a session of reads this long ago counts 1/e as
    /// much as one now (`read_memory`, default 30 days); `None` (`never`): every session
    /// counts alike, however old.
    pub read_memory: Option<Duration>,
}

const CACHE_FIELDS: [&str; 8] = [
    "dir",
    "max_bytes",
    "block_size",
    "freshness",
    "revalidate_after",
    "same_region",
    "medium_price",
    "read_memory",
];

/// Parses `10GiB`, `512MB`, `1048576`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    Some((n * mult) as u64)
}

/// Parses `500ms`, `5s`, `2m`, `1h`, `1d`, or a number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86400.0)
    } else {
        (t, 1.0)
    };
    num.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| *v >= 0.0)
        .and_then(|v| Duration::try_from_secs_f64(v * scale).ok())
}

/// Parses `aws/us-east-1` (as in `LAKEROUTE_COMPUTE`).
pub(crate) fn parse_place(text: &str) -> Option<Place> {
    let (p, region) = text.split_once('/').unwrap_or((text, ""));
    let provider = match p.trim() {
        "aws" => Provider::Aws,
        "azure" => Provider::Azure,
        _ => return None,
    };
    Some(Place {
        provider,
        region: (!region.trim().is_empty()).then(|| region.trim().to_string()),
    })
}

pub(crate) fn read_compute(r: &mut Reader<'_>, node: &Node) -> Option<Place> {
    if !r.check_map(node, "compute", &["provider", "region"], &["provider"]) {
        return None;
    }
    let (p, mark) = r.string(node, "provider", "compute")?;
    let region = r.string(node, "region", "compute").map(|v| v.0);
    let Some(mut place) = parse_place(&p) else {
        r.problem(
            mark,
            format!("compute: provider must be aws or azure, not {p:?}"),
        );
        return None;
    };
    place.region = region;
    Some(place)
}

pub(crate) fn read_cache(
    r: &mut Reader<'_>,
    node: &Node,
    catalog_dir: &Path,
) -> Option<CacheSettings> {
    if !r.check_map(node, "cache", &CACHE_FIELDS, &[]) {
        return None;
    }
    let default_dir = std::env::var_os("LAKEROUTE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lakeroute")))
        .unwrap_or_else(|| catalog_dir.join(".lakeroute-cache"));
    let dir = match r.string(node, "dir", "cache") {
        Some((d, _)) => {
            let d = PathBuf::from(expand_env(&d));
            if d.is_absolute() {
                d
            } else {
                catalog_dir.join(d)
            }
        }
        None => default_dir,
    };
    let mut size = |key: &str, default: u64| match r.string(node, key, "cache") {
        Some((v, mark)) => parse_size(&v).unwrap_or_else(|| {
            r.problem(
                mark,
                format!("cache: {key} {v:?} is not a size; write 10GiB, 512MB or bytes"),
            );
            default
        }),
        None => default,
    };
    let max_bytes = size("max_bytes", 10 * 1024 * 1024 * 1024);
    let block_size = size("block_size", 1024 * 1024);
    let freshness = match r.string(node, "freshness", "cache") {
        None => Freshness::Ttl,
        Some((f, _)) if f == "ttl" => Freshness::Ttl,
        Some((f, _)) if f == "strict" => Freshness::Strict,
        Some((f, mark)) => {
            r.problem(
                mark,
                format!("cache: freshness must be ttl or strict, not {f:?}"),
            );
            Freshness::Ttl
        }
    };
    let revalidate_after = match r.string(node, "revalidate_after", "cache") {
        None => Duration::from_secs(300),
        Some((v, mark)) => parse_duration(&v).unwrap_or_else(|| {
            r.problem(
                mark,
                format!("cache: revalidate_after {v:?} is not a duration; write 30s, 5m or 1h"),
            );
            Duration::from_secs(300)
        }),
    };
    let medium_price_gb_month = match r.string(node, "medium_price", "cache") {
        None => 0.08,
        Some((v, mark)) => v
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .unwrap_or_else(|| {
                r.problem(
                    mark,
                    format!(
                        "cache: medium_price {v:?} is not dollars per GB-month (a number, 0 or more)"
                    ),
                );
                0.08
            }),
    };
    let default_memory = Duration::from_secs_f64(crate::cache::policy::MEMORY);
    let read_memory = match r.string(node, "read_memory", "cache") {
        None => Some(default_memory),
        Some((v, _)) if v == "never" => None,
        Some((v, mark)) => match parse_duration(&v).filter(|d| !d.is_zero()) {
            Some(d) => Some(d),
            None => {
                r.problem(
                    mark,
                    format!(
                        "cache: read_memory {v:?} is not a duration; write 30d, 720h, or never"
                    ),
                );
                Some(default_memory)
            }
        },
    };
    Some(CacheSettings {
        dir,
        max_bytes,
        block_size,
        freshness,
        revalidate_after,
        same_region: r.boolean(node, "same_region", "cache").unwrap_or(false),
        medium_price_gb_month,
        read_memory,
    })
}

pub(crate) fn read_budget(r: &mut Reader<'_>, node: &Node) -> Budget {
    let mut b = Budget::default();
    if !r.check_map(node, "budget", &["egress_bytes", "egress_dollars"], &[]) {
        return b;
    }
    if let Some((v, mark)) = r.string(node, "egress_bytes", "budget") {
        b.bytes = parse_size(&v);
        if b.bytes.is_none() {
            r.problem(mark, format!("budget: egress_bytes {v:?} is not a size"));
        }
    }
    if let Some((v, mark)) = r.string(node, "egress_dollars", "budget") {
        b.dollars = v.parse().ok();
        if b.dollars.is_none() {
            r.problem(
                mark,
                format!("budget: egress_dollars {v:?} is not a number of dollars"),
            );
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_places() {
        assert_eq!(parse_size("10GiB"), Some(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("512 MB"), Some(512_000_000));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        for too_long in ["inf", "1e30d", "NaN"] {
            assert_eq!(parse_duration(too_long), None, "{too_long}");
        }
        assert_eq!(
            parse_place("azure/westeurope").map(|p| p.provider),
            Some(Provider::Azure)
        );
        assert!(parse_place("gcp/x").is_none());
    }
}

/// A role to assume for a domain or a dataset, with overrides per environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleSpec {
    /// The role in every environment without an override.
    pub default: Option<crate::credentials::RoleSettings>,
    /// Roles per environment.
    pub environments: std::collections::BTreeMap<String, crate::credentials::RoleSettings>,
    /// The Azure managed (or workload) identity's client id in every environment without an
    /// override.
    pub azure_client_id: Option<String>,
    /// Azure client ids per environment.
    pub azure_client_ids: std::collections::BTreeMap<String, String>,
}

impl RoleSpec {
    /// The role for `env` (its override, else the default).
    pub fn for_env(&self, env: Option<&str>) -> Option<&crate::credentials::RoleSettings> {
        env.and_then(|e| self.environments.get(e))
            .or(self.default.as_ref())
    }

    /// The Azure client id for `env` (its override, else the default).
    pub fn azure_client_id_for(&self, env: Option<&str>) -> Option<&str> {
        env.and_then(|e| self.azure_client_ids.get(e))
            .or(self.azure_client_id.as_ref())
            .map(String::as_str)
    }
}

fn read_role(
    r: &mut Reader<'_>,
    node: &Node,
    what: &str,
) -> Option<crate::credentials::RoleSettings> {
    let role_arn = r.string(node, "role_arn", what)?.0;
    Some(crate::credentials::RoleSettings {
        role_arn,
        external_id: r.string(node, "external_id", what).map(|v| v.0),
        session_name: r.string(node, "session_name", what).map(|v| v.0),
    })
}

/// Reads `{role_arn, external_id, session_name, azure_client_id, environments: {env: {...}}}`.
pub(crate) fn read_role_spec(r: &mut Reader<'_>, node: &Node, what: &str) -> RoleSpec {
    let mut spec = RoleSpec::default();
    if !r.check_map(
        node,
        what,
        &[
            "role_arn",
            "external_id",
            "session_name",
            "azure_client_id",
            "environments",
        ],
        &[],
    ) {
        return spec;
    }
    spec.default = read_role(r, node, what);
    spec.azure_client_id = r.string(node, "azure_client_id", what).map(|v| v.0);
    if let Some(super::yaml::Value::Map(envs)) = node.get("environments").map(|n| &n.value) {
        for (k, v) in envs {
            let Some(env) = k.scalar() else { continue };
            let w = format!("{what}.environments.{env}");
            let fields = ["role_arn", "external_id", "session_name", "azure_client_id"];
            if !r.check_map(v, &w, &fields, &[]) {
                continue;
            }
            if v.get("role_arn").is_none() && v.get("azure_client_id").is_none() {
                r.problem(
                    v.mark,
                    format!("{w}: give role_arn, azure_client_id or both"),
                );
                continue;
            }
            if let Some(role) = read_role(r, v, &w) {
                spec.environments.insert(env.to_string(), role);
            }
            if let Some((id, _)) = r.string(v, "azure_client_id", &w) {
                spec.azure_client_ids.insert(env.to_string(), id);
            }
        }
    }
    spec
}
