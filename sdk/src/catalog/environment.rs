//! Environments (`dev`, `test`, `prod`, ...) declared under `environments:` in lakeroute.yaml.

use std::collections::BTreeMap;

use super::profile::split_prefix;
use super::yaml::{Node, Reader, Value};

/// One environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// The environment this one overlays: reads fall through to it when an object is absent
    /// here; writes stay here.
    pub overlay_of: Option<String>,
    /// A prefix every dataset location gets in this environment (after the profile's prefix),
    /// unless the descriptor gives the environment a location of its own.
    pub prefix: Vec<String>,
    /// No writes at all in this environment.
    pub read_only: bool,
}

const FIELDS: [&str; 4] = ["overlay_of", "prefix", "read_only", "description"];

/// Reads the `environments:` mapping.
pub(crate) fn read_environments(r: &mut Reader<'_>, node: &Node) -> BTreeMap<String, Environment> {
    let mut out = BTreeMap::new();
    let Value::Map(entries) = &node.value else {
        if !node.is_null() {
            r.problem(node.mark, "environments must map names to settings");
        }
        return out;
    };
    for (key, env) in entries {
        let Some(name) = key.scalar() else { continue };
        let what = format!("environment {name:?}");
        if !env.is_null() && !r.check_map(env, &what, &FIELDS, &[]) {
            continue;
        }
        let prefix = r
            .string(env, "prefix", &what)
            .map(|(p, mark)| split_prefix(r, &p, mark, &what))
            .unwrap_or_default();
        out.insert(
            name.to_string(),
            Environment {
                name: name.to_string(),
                overlay_of: r.string(env, "overlay_of", &what).map(|v| v.0),
                prefix,
                read_only: r.boolean(env, "read_only", &what).unwrap_or(false),
            },
        );
    }
    for (key, env) in entries {
        let (Some(name), Some(parent)) = (key.scalar(), env.get("overlay_of")) else {
            continue;
        };
        let Some(parent_name) = parent.scalar() else {
            continue;
        };
        if !out.contains_key(parent_name) {
            r.problem(
                parent.mark,
                format!("environment {name:?} overlays unknown environment {parent_name:?}"),
            );
        } else if parent_name == name {
            r.problem(
                parent.mark,
                format!("environment {name:?} cannot overlay itself"),
            );
        } else if out
            .get(parent_name)
            .and_then(|p| p.overlay_of.as_deref())
            .is_some()
        {
            r.problem(parent.mark, format!("environment {name:?} overlays {parent_name:?}, which is an overlay itself; overlay a base environment"));
        }
    }
    out
}

/// Merges `overrides` over the mapping `base`: keys in `overrides` replace those in `base`.
pub(crate) fn merged(base: &Node, overrides: &Node, drop: &str) -> Node {
    let (Value::Map(b), Value::Map(o)) = (&base.value, &overrides.value) else {
        return base.clone();
    };
    let mut entries: Vec<(Node, Node)> = b
        .iter()
        .filter(|(k, _)| k.scalar() != Some(drop))
        .filter(|(k, _)| !o.iter().any(|(ok, _)| ok.scalar() == k.scalar()))
        .cloned()
        .collect();
    entries.extend(o.iter().cloned());
    Node {
        value: Value::Map(entries),
        mark: base.mark,
    }
}
