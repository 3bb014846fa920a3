//! Hit-path speed: a read served by the disk cache against reading the same bytes straight from
//! a local file (tokio::fs::read), measured in the same run; medians of alternating rounds.
//!
//! `cargo bench -p lakeroute --bench cache_hit`

use std::time::{Duration, Instant};

use lakeroute::Lake;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let data = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    let cat = tempfile::tempdir()?;
    // The folder stands in for AWS; this process computes on Azure, so reads are cached.
    std::fs::write(
        cat.path().join("lakeroute.yaml"),
        format!(
            "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: 1GiB}}\nstorage:\n  aws: {{provider: local, emulates: aws, region: us-east-1, root: {}}}\n",
            cache.path().display(),
            data.path().display()
        ),
    )?;
    std::fs::write(
        cat.path().join("d.yaml"),
        "entityName: d\nentityVersion: v1\ndomain: bench\ncoldStorage:\n  format: binary\n  location: {storage: aws, prefix: d}\n",
    )?;
    let lake = Lake::from_catalog(cat.path())?;
    println!(
        "cache hit path vs a plain local file read (baseline), medians; ratio = median over rounds of file time / cached time"
    );
    println!(
        "{:>8} {:>14} {:>14} {:>8}",
        "size", "file MiB/s", "cached MiB/s", "ratio"
    );
    for mib in [1usize, 8, 64] {
        let size = mib * 1024 * 1024;
        let body: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let uri = format!("lake://bench/d/v1/obj-{mib}");
        lake.put(&uri, body.clone().into()).await?;
        let plain = data.path().join(format!("plain-{mib}"));
        std::fs::write(&plain, &body)?;
        lake.get(&uri).await?; // the miss that fills the cache

        let rounds = if mib >= 64 { 15 } else { 201 };
        let (mut file_t, mut cache_t) = (vec![], vec![]);
        for round in 0..rounds {
            // Alternating which read goes first, and each buffer freed before the other read
            // allocates its own, so neither read finds the allocator in a better state.
            for cached in [round % 2 == 0, round % 2 == 1] {
                let t = Instant::now();
                let n = if cached {
                    lake.get(&uri).await?.len()
                } else {
                    tokio::fs::read(&plain).await?.len()
                };
                let took = t.elapsed();
                assert_eq!(n, size);
                if cached {
                    cache_t.push(took);
                } else {
                    file_t.push(took);
                }
            }
        }
        // Each round's two reads ran back to back, under the same load: the ratio is the median
        // of the rounds' ratios, which a noisy neighbour moves less than a ratio of medians.
        let mut ratios: Vec<f64> = file_t
            .iter()
            .zip(&cache_t)
            .map(|(f, c)| f.as_secs_f64() / c.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios[ratios.len() / 2];
        let (f, c) = (median(file_t), median(cache_t));
        let rate = |d: Duration| mib as f64 / d.as_secs_f64();
        let verdict = if ratio >= 0.8 {
            ""
        } else {
            "  (below the 0.8 target)"
        };
        println!(
            "{:>5} MiB {:>14.0} {:>14.0} {:>7.2}x{verdict}",
            mib,
            rate(f),
            rate(c),
            ratio
        );
    }
    let s = lake.stats().total;
    println!(
        "(cache hits {}, misses {}; bytes from the store {})",
        s.cache_hits, s.cache_misses, s.bytes_remote
    );
    Ok(())
}
