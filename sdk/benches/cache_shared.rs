//! Misses in a cache folder that other processes filled: a miss that must make room on disk
//! against a miss in a folder with room to spare (the baseline), both folders holding the same
//! entries, measured in the same run in alternating order.
//!
//! Each folder is filled by one `Lake` (a process) and then read by another, whose policy holds
//! nothing yet: only the folder tells it the space is taken. Then: opening a lake on the full
//! folder and resolving a URI (no read) against the same without a cache.
//!
//! `cargo bench -p lakeroute --bench cache_shared` (`LAKEROUTE_SHARED_ENTRIES` to change the
//! number of entries, 4,000 by default).

use std::path::Path;
use std::time::{Duration, Instant};

use lakeroute::Lake;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Each object's size (one block).
const OBJECT: usize = 4096;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A catalog on `data` (standing in for AWS, read from Azure, so every read is cached) whose
/// cache folder is `cache`, bounded at `max_bytes`.
fn catalog(dir: &Path, data: &Path, cache: &Path, max_bytes: usize) -> Result<(), Error> {
    std::fs::write(
        dir.join("lakeroute.yaml"),
        format!(
            "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: {max_bytes}, block_size: {OBJECT}}}\nstorage:\n  aws: {{provider: local, emulates: aws, region: us-east-1, root: {}}}\n",
            cache.display(),
            data.display()
        ),
    )?;
    std::fs::write(
        dir.join("d.yaml"),
        "entityName: d\nentityVersion: v1\ndomain: bench\ncoldStorage:\n  format: binary\n  location: {storage: aws, prefix: d}\n",
    )?;
    Ok(())
}

/// Prints `a` and `b` (the baseline) in milliseconds, and their ratio.
fn compare(what: &str, a_name: &str, a: Duration, b_name: &str, b: Duration) {
    println!(
        "  {what}: {a_name} {:.3} ms, {b_name} {:.3} ms, ratio {:.2}x",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let entries: usize = std::env::var("LAKEROUTE_SHARED_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let rounds = 201;
    let data = tempfile::tempdir()?;
    let (full_cache, roomy_cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let (full_cat, roomy_cat) = (tempfile::tempdir()?, tempfile::tempdir()?);
    catalog(
        full_cat.path(),
        data.path(),
        full_cache.path(),
        entries * OBJECT,
    )?;
    catalog(
        roomy_cat.path(),
        data.path(),
        roomy_cache.path(),
        4 * entries * OBJECT,
    )?;
    let uri = |i: usize| format!("lake://bench/d/v1/obj-{i}");
    let writer = Lake::from_catalog(full_cat.path())?;
    for i in 0..entries + 2 * rounds {
        writer
            .put(&uri(i), vec![(i % 251) as u8; OBJECT].into())
            .await?;
    }
    // One process fills each folder with the same entries: exactly to the bound of the first.
    for cat in [&full_cat, &roomy_cat] {
        let filler = Lake::from_catalog(cat.path())?;
        for i in 0..entries {
            filler.get(&uri(i)).await?;
        }
    }
    let full = Lake::from_catalog(full_cat.path())?;
    let roomy = Lake::from_catalog(roomy_cat.path())?;
    println!(
        "misses in a shared cache folder of {entries} entries of {} KiB: full (room made on disk) vs with room to spare (baseline)",
        OBJECT / 1024
    );
    let (mut full_t, mut roomy_t) = (vec![], vec![]);
    for r in 0..rounds {
        // Each round reads an object neither folder has seen, first in one folder, then in
        // the other, alternating which goes first.
        let (a, b) = (entries + 2 * r, entries + 2 * r + 1);
        for (lake, times, i) in if r % 2 == 0 {
            [(&full, &mut full_t, a), (&roomy, &mut roomy_t, b)]
        } else {
            [(&roomy, &mut roomy_t, a), (&full, &mut full_t, b)]
        } {
            let t = Instant::now();
            let got = lake.get(&uri(i)).await?;
            times.push(t.elapsed());
            assert_eq!(got.len(), OBJECT);
        }
    }
    let (ft, rt) = (full_t.iter().sum(), roomy_t.iter().sum());
    compare(
        "median miss",
        "full",
        median(full_t),
        "room to spare",
        median(roomy_t),
    );
    compare(
        &format!("all {rounds} misses"),
        "full",
        ft,
        "room to spare",
        rt,
    );
    // Opening a lake on the full folder, for a command that needs no cache (resolving a URI),
    // against opening one whose catalog has no cache.
    let bare_cat = tempfile::tempdir()?;
    std::fs::write(
        bare_cat.path().join("lakeroute.yaml"),
        format!(
            "compute: {{provider: azure, region: westeurope}}\nstorage:\n  aws: {{provider: local, emulates: aws, region: us-east-1, root: {}}}\n",
            data.path().display()
        ),
    )?;
    std::fs::copy(
        full_cat.path().join("d.yaml"),
        bare_cat.path().join("d.yaml"),
    )?;
    let (mut cached_t, mut bare_t) = (vec![], vec![]);
    for r in 0..21 {
        for (cat, times) in if r % 2 == 0 {
            [(&full_cat, &mut cached_t), (&bare_cat, &mut bare_t)]
        } else {
            [(&bare_cat, &mut bare_t), (&full_cat, &mut cached_t)]
        } {
            let t = Instant::now();
            let lake = Lake::from_catalog(cat.path())?;
            lake.resolve(&uri(0))?;
            times.push(t.elapsed());
        }
    }
    compare(
        "opening a lake and resolving a URI",
        "on the full folder",
        median(cached_t),
        "without a cache",
        median(bare_t),
    );
    let held = full.cache().map_or(0, |c| c.summary().0);
    println!("  the full folder afterwards: {held} entries");
    let s = full.stats().total;
    println!(
        "  (full folder's reader: cache hits {}, misses {})",
        s.cache_hits, s.cache_misses
    );
    Ok(())
}
