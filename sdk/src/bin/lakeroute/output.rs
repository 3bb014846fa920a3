//! Rendering results as text for people or JSON for pipelines.

use std::collections::BTreeMap;
use std::path::Path;

use lakeroute::{Catalog, Error, Listing, ObjectInfo, Problem, Route};
use serde_json::{Value, json};

pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    fn print_json(&self, value: &Value) {
        println!("{value:#}");
    }

    pub(crate) fn error(&self, e: &Error) {
        // One line, for people and for CI logs alike; catalog problems follow one per line.
        eprintln!("lakeroute: error: {e}");
    }

    pub(crate) fn route(&self, route: &Route, catalog: &Catalog) {
        let physical = route.physical().to_string();
        if !self.json {
            println!("{physical}");
            return;
        }
        let profile = route.profile().and_then(|p| catalog.profile(p));
        self.print_json(&json!({
            "uri": route.uri().to_string(),
            "physical": physical,
            "dataset": route.dataset().map(ToString::to_string),
            "profile": route.profile(),
            "provider": profile.map(|p| p.effective_provider().as_str()),
            "region": profile.and_then(|p| p.region.clone()),
        }));
    }

    pub(crate) fn object(&self, o: &ObjectInfo) {
        if self.json {
            self.print_json(&object_json(o));
        } else {
            println!("uri:           {}", o.uri);
            println!("size:          {}", o.size);
            println!("last_modified: {}", o.last_modified.to_rfc3339());
            println!("e_tag:         {}", o.e_tag.as_deref().unwrap_or("-"));
            println!("version:       {}", o.version.as_deref().unwrap_or("-"));
        }
    }

    pub(crate) fn objects(&self, objects: &[ObjectInfo]) {
        if self.json {
            self.print_json(&Value::Array(objects.iter().map(object_json).collect()));
        } else {
            for o in objects {
                println!("{}", object_line(o));
            }
        }
    }

    pub(crate) fn listing(&self, l: &Listing) {
        if self.json {
            self.print_json(&json!({
                "prefixes": l.prefixes,
                "objects": l.objects.iter().map(object_json).collect::<Vec<_>>(),
            }));
        } else {
            for p in &l.prefixes {
                println!("{:>12}  {:<25}  {p}", "PRE", "");
            }
            for o in &l.objects {
                println!("{}", object_line(o));
            }
        }
    }

    pub(crate) fn transfer(&self, src: &str, dst: &str, bytes: u64) {
        if self.json {
            self.print_json(&json!({"from": src, "to": dst, "bytes": bytes}));
        } else {
            println!("copied {bytes} bytes: {src} -> {dst}");
        }
    }

    pub(crate) fn sync(&self, r: &lakeroute::SyncReport) {
        if self.json {
            self.print_json(&json!({"copied": r.copied, "skipped": r.skipped, "bytes": r.bytes}));
        } else {
            println!(
                "synced: {} copied ({} bytes), {} already identical",
                r.copied, r.bytes, r.skipped
            );
        }
    }

    pub(crate) fn deleted(&self, uri: &str, count: u64) {
        if self.json {
            self.print_json(&json!({"deleted": uri, "objects": count}));
        } else {
            println!("deleted {count} object(s): {uri}");
        }
    }

    pub(crate) fn validation(&self, dir: &Path, catalog: &Catalog, problems: &[Problem]) {
        let datasets = catalog.datasets().count();
        if self.json {
            self.print_json(&json!({
                "catalog": dir.display().to_string(),
                "datasets": datasets,
                "ok": problems.is_empty(),
                "problems": problems.iter().map(|p| json!({
                    "file": p.file.display().to_string(),
                    "line": p.line,
                    "column": p.column,
                    "message": p.message,
                })).collect::<Vec<_>>(),
            }));
            return;
        }
        for p in problems {
            println!("{p}");
        }
        if problems.is_empty() {
            println!(
                "catalog {}: {datasets} dataset(s), {} storage profile(s), no problems",
                dir.display(),
                catalog.profiles().count()
            );
        } else {
            eprintln!(
                "lakeroute: catalog {} has {} problem(s)",
                dir.display(),
                problems.len()
            );
        }
    }

    pub(crate) fn catalog(&self, catalog: &Catalog) {
        let mut rows = Vec::new();
        let mut per_provider: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_place: BTreeMap<String, usize> = BTreeMap::new();
        for ds in catalog.datasets() {
            let Ok(profile) = catalog.profile_of(ds) else {
                continue;
            };
            let provider = profile.effective_provider().as_str().to_string();
            let region = profile.region.clone().unwrap_or_else(|| "-".into());
            let stand_in = profile.emulates.is_some();
            *per_provider.entry(provider.clone()).or_default() += 1;
            *per_place.entry(format!("{provider}/{region}")).or_default() += 1;
            let mut location = profile.root_url();
            for seg in &ds.prefix {
                location.push('/');
                location.push_str(seg);
            }
            rows.push((
                ds,
                provider,
                region,
                profile.name.clone(),
                stand_in,
                location,
            ));
        }
        if self.json {
            self.print_json(&json!({
                "datasets": rows.iter().map(|(ds, provider, region, profile, stand_in, location)| json!({
                    "uri": ds.id.root_uri().to_string(),
                    "provider": provider,
                    "region": region,
                    "profile": profile,
                    "local_stand_in": stand_in,
                    "format": ds.format,
                    "partitioning_columns": ds.partitioning_columns,
                    "location": location,
                })).collect::<Vec<_>>(),
                "per_provider": per_provider,
                "per_provider_region": per_place,
            }));
            return;
        }
        println!(
            "{:<40} {:<8} {:<14} {:<8} LOCATION",
            "DATASET", "PROVIDER", "REGION", "FORMAT"
        );
        for (ds, provider, region, _, stand_in, location) in &rows {
            let shown = if *stand_in {
                format!("{location} (local stand-in)")
            } else {
                location.clone()
            };
            println!(
                "{:<40} {:<8} {:<14} {:<8} {shown}",
                ds.id.root_uri().to_string(),
                provider,
                region,
                ds.format
            );
        }
        let counts: Vec<String> = per_provider
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        println!("{} dataset(s): {}", rows.len(), counts.join(", "));
        let places: Vec<String> = per_place.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("by provider/region: {}", places.join(", "));
    }
}

fn object_json(o: &ObjectInfo) -> Value {
    json!({
        "uri": o.uri,
        "size": o.size,
        "last_modified": o.last_modified.to_rfc3339(),
        "e_tag": o.e_tag,
        "version": o.version,
    })
}

fn object_line(o: &ObjectInfo) -> String {
    format!(
        "{:>12}  {:<25}  {}",
        o.size,
        o.last_modified.format("%Y-%m-%d %H:%M:%S UTC"),
        o.uri
    )
}
