//! Rendering results as text for people or JSON for pipelines.

use std::collections::BTreeMap;
use std::path::Path;

use lakeroute::meter::Counters;
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

    pub(crate) fn partitions(&self, found: &[(lakeroute::partition::Partition, Vec<ObjectInfo>)]) {
        if self.json {
            self.print_json(&Value::Array(
                found
                    .iter()
                    .map(|(p, files)| {
                        json!({
                            "uri": p.uri,
                            "values": p.values.iter().map(|v| json!({"column": v.column, "value": v.value})).collect::<Vec<_>>(),
                            "files": files.iter().map(object_json).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            ));
            return;
        }
        for (p, files) in found {
            let values: Vec<String> = p
                .values
                .iter()
                .map(|v| format!("{}={}", v.column, v.value.as_deref().unwrap_or("(null)")))
                .collect();
            println!("{}  {}", values.join(" "), p.uri);
            for f in files {
                println!("    {}", object_line(f));
            }
        }
        println!("{} partition(s)", found.len());
    }

    pub(crate) fn plan(&self, plan: &lakeroute::plan::JobPlan) {
        if self.json {
            self.print_json(&plan.to_json());
            return;
        }
        let c = &plan.cluster;
        println!(
            "job {} on cluster {} ({}/{}, {}){}",
            plan.job,
            c.name,
            c.provider,
            c.region.as_deref().unwrap_or("?"),
            c.engine.as_deref().unwrap_or("engine not given"),
            plan.environment
                .as_deref()
                .map(|e| format!(" in environment {e}"))
                .unwrap_or_default()
        );
        for d in plan.sources.iter().chain(plan.sink.iter()) {
            let kind = if d.role == "read" { "source" } else { "sink" };
            println!("\n{kind} {} ({})", d.id.root_uri(), d.role);
            let parts = if d.partitioning_columns.is_empty() {
                String::new()
            } else {
                format!(", partitioned by {}", d.partitioning_columns.join(", "))
            };
            println!(
                "  location         {} {}  ({}{parts}; profile {})",
                d.place, d.physical, d.format, d.profile
            );
            println!("  credentials      {}", d.credentials);
            println!("  spark            {}", d.spark_uri);
            for (k, v) in &d.spark_conf {
                println!("    --conf {k}={v}");
            }
            println!("  polars/delta-rs  {}", d.object_store_uri);
            println!(
                "    storage_options={}",
                serde_json::to_string(&d.storage_options).unwrap_or_default()
            );
            println!("  fsspec           {}", d.fsspec_uri);
            println!("    storage_options={}", d.fsspec_options);
            let size = d
                .bytes
                .map_or("unknown".to_string(), |b| format!("{b} bytes"));
            if d.role == "read" {
                println!(
                    "  size             {size}; egress to the cluster ${:.4}/GB = {}",
                    d.egress_per_gb,
                    dollars(d.egress_dollars)
                );
            } else {
                println!("  size             {size} now");
            }
        }
        println!(
            "\negress estimate: {} bytes cross a region or cloud boundary, {} ({})",
            plan.egress_bytes,
            dollars(plan.egress_dollars),
            lakeroute::pricing::PRICE_SOURCE
        );
        let b = plan.budget;
        let limits: Vec<String> = b
            .bytes
            .map(|n| format!("{n} bytes"))
            .into_iter()
            .chain(b.dollars.map(dollars))
            .collect();
        if !limits.is_empty() {
            println!("within the job's budget of {}", limits.join(" and "));
        }
        for w in &plan.warnings {
            println!("warning: {w}");
        }
    }

    pub(crate) fn advice(&self, job: &str, advice: &[lakeroute::plan::ClusterAdvice]) {
        if self.json {
            self.print_json(&json!({
                "job": job,
                "clusters": advice.iter().map(|a| json!({
                    "cluster": a.cluster.name,
                    "provider": a.cluster.provider.as_str(),
                    "region": a.cluster.region,
                    "bytes_crossing": a.bytes_crossing,
                    "egress_dollars": a.egress_dollars,
                    "cross_cloud_sources": a.cross_cloud_sources,
                    "within_budget": a.within_budget,
                })).collect::<Vec<_>>(),
            }));
            return;
        }
        println!("clusters for job {job}, cheapest egress first:");
        for (i, a) in advice.iter().enumerate() {
            println!(
                "{:>3}. {:<12} {:<22} {:<14} {} bytes crossing, {} cross-cloud source(s){}",
                i + 1,
                a.cluster.name,
                format!(
                    "{}/{}",
                    a.cluster.provider,
                    a.cluster.region.as_deref().unwrap_or("?")
                ),
                dollars(a.egress_dollars),
                a.bytes_crossing,
                a.cross_cloud_sources,
                match a.within_budget {
                    Some(true) => "",
                    Some(false) => ", over the job's budget",
                    None => ", budget unknown (a source could not be sized)",
                }
            );
        }
    }

    pub(crate) fn auth(&self, r: &lakeroute::AuthReport) {
        let expires = r
            .expires
            .map(|e| chrono::DateTime::<chrono::Utc>::from(e).to_rfc3339());
        if self.json {
            self.print_json(&json!({
                "profile": r.profile,
                "provider": r.provider.as_str(),
                "source": r.source,
                "identity": r.identity,
                "expires": expires,
            }));
            return;
        }
        println!("profile   {} ({})", r.profile, r.provider);
        println!("source    {}", r.source);
        println!("identity  {}", r.identity);
        println!(
            "expires   {}",
            expires
                .as_deref()
                .unwrap_or("never (long-lived or not temporary)")
        );
    }

    pub(crate) fn stats(&self, stats: &lakeroute::meter::Stats, cache_dir: Option<&Path>) {
        if self.json {
            let mut v = stats.to_json();
            v["cache_dir"] = json!(cache_dir.map(|d| d.display().to_string()));
            self.print_json(&v);
            return;
        }
        match cache_dir {
            Some(d) => println!(
                "accounting saved by every process using the cache at {}",
                d.display()
            ),
            None => println!(
                "no cache configured: nothing is kept between processes (lake.stats() in code)"
            ),
        }
        let table = |heading: &str, rows: &mut dyn Iterator<Item = (&str, &Counters)>| {
            println!(
                "{heading:<36} {:>9} {:>14} {:>14} {:>7} {:>7} {:>12} {:>12}",
                "REQUESTS",
                "BYTES REMOTE",
                "BYTES CACHED",
                "HITS",
                "MISSES",
                "$ SPENT",
                "$ AVOIDED"
            );
            for (name, c) in rows {
                println!(
                    "{name:<36} {:>9} {:>14} {:>14} {:>7} {:>7} {:>12} {:>12}",
                    c.requests,
                    c.bytes_remote,
                    c.bytes_cached,
                    c.cache_hits,
                    c.cache_misses,
                    dollars(c.dollars_spent),
                    dollars(c.dollars_avoided)
                );
            }
        };
        table(
            "DATASET",
            &mut stats
                .by_dataset
                .iter()
                .map(|(k, c)| (k.as_str(), c))
                .chain([("total", &stats.total)]),
        );
        if !stats.by_profile.is_empty() {
            println!();
            table(
                "STORAGE PROFILE",
                &mut stats.by_profile.iter().map(|(k, c)| (k.as_str(), c)),
            );
        }
    }

    /// The cache folder (entries, bytes of objects, bound) and what it saved; first, what
    /// `cache prune` or `cache clear` deleted, if that ran.
    pub(crate) fn cache(
        &self,
        dir: &Path,
        (entries, bytes, max): (u64, u64, u64),
        saved: &lakeroute::meter::Stats,
        swept: Option<(&str, lakeroute::cache::Swept)>,
    ) {
        if self.json {
            let mut doc = json!({
                "dir": dir.display().to_string(),
                "entries": entries,
                "bytes": bytes,
                "max_bytes": max,
                "saved": saved.total.to_json(),
            });
            if let Some((what, s)) = swept {
                doc[what] = json!({"entries": s.deleted, "bytes": s.freed});
            }
            self.print_json(&doc);
            return;
        }
        if let Some((what, s)) = swept {
            let entries = if s.deleted == 1 { "entry" } else { "entries" };
            println!("{what} {} {entries} ({} bytes)", s.deleted, s.freed);
        }
        println!(
            "cache {}: {entries} object(s), {bytes} of {max} bytes",
            dir.display()
        );
        println!(
            "served {} bytes in {} hits, avoiding {} of egress and requests (spent {})",
            saved.total.bytes_cached,
            saved.total.cache_hits,
            dollars(saved.total.dollars_avoided),
            dollars(saved.total.dollars_spent)
        );
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
                "catalog {}: {datasets} dataset(s), {} storage profile(s), {} job(s), no problems",
                dir.display(),
                catalog.profiles().count(),
                catalog.jobs().len()
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

/// Dollars with enough digits to see small amounts: $12.34, $0.0031, $2.2e-7.
fn dollars(x: f64) -> String {
    if x == 0.0 {
        "$0".into()
    } else if x >= 0.01 {
        format!("${x:.2}")
    } else if x >= 1e-4 {
        format!("${x:.5}")
    } else {
        format!("${x:.1e}")
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
