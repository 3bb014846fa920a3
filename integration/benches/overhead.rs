//! What the abstraction costs: lakeroute's get and put on `lake://` URIs against raw
//! object_store doing the same requests to the same local S3 server, in one run.
//!
//! Runs alternate (raw, lakeroute, raw, lakeroute, ...) so drift on a shared machine hits both
//! alike; medians are compared. Also times logical resolution (URI -> store + path) warm,
//! against `object_store::path::Path::parse` of the same key as a floor.
//!
//! `cargo bench -p lakeroute-integration --bench overhead` (servers from integration/start).

use std::time::{Duration, Instant};

use bytes::Bytes;
use lakeroute::object_store::ObjectStoreExt;
use lakeroute::object_store::aws::AmazonS3Builder;
use lakeroute::object_store::path::Path;
use lakeroute_integration::{ItCatalog, descriptor, run_id, servers};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Some(s) = servers() else { return Ok(()) };
    let cat = ItCatalog::new(
        &s,
        &s.s3,
        "",
        &[(
            "bench/s3.yaml",
            descriptor("bench", "s3", "s3", "bench", ""),
        )],
    )?;
    let lake = cat.lake()?;
    let raw = AmazonS3Builder::new()
        .with_bucket_name("lakeroute-it")
        .with_region("us-east-1")
        .with_endpoint(&s.s3)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()?;
    let run = run_id();
    println!(
        "overhead benchmark: lakeroute vs raw object_store (baseline), same moto server, medians; ratio = median over rounds of raw time / lakeroute time (both back to back each round)"
    );
    println!(
        "{:<14} {:>10} {:>14} {:>14} {:>8}",
        "operation", "size", "raw MiB/s", "lakeroute MiB/s", "ratio"
    );
    for (size, rounds) in [(1024 * 1024, 61), (64 * 1024 * 1024, 21)] {
        let data = Bytes::from(vec![7u8; size]);
        let (mut raw_put, mut lake_put, mut raw_get, mut lake_get) =
            (vec![], vec![], vec![], vec![]);
        for i in 0..rounds {
            let raw_path = Path::parse(format!("bench/{run}/raw-{size}-{i}"))?;
            let uri = format!("lake://bench/s3/v1/{run}/lake-{size}-{i}");
            // Alternate which client goes first, so ordering effects cancel out.
            for lake_first in [i % 2 == 1, i % 2 == 0] {
                if lake_first {
                    let t = Instant::now();
                    lake.put(&uri, data.clone().into()).await?;
                    lake_put.push(t.elapsed());
                    let t = Instant::now();
                    let got = lake.get(&uri).await?;
                    lake_get.push(t.elapsed());
                    assert_eq!(got.len(), size);
                } else {
                    let t = Instant::now();
                    raw.put(&raw_path, data.clone().into()).await?;
                    raw_put.push(t.elapsed());
                    let t = Instant::now();
                    let got = raw.get(&raw_path).await?.bytes().await?;
                    raw_get.push(t.elapsed());
                    assert_eq!(got.len(), size);
                }
            }
            // moto keeps everything in memory; deleting keeps each round alike.
            raw.delete(&raw_path).await?;
            lake.delete(&uri).await?;
        }
        for (op, r, l) in [("put", raw_put, lake_put), ("get", raw_get, lake_get)] {
            // The ratio is the median of per-round ratios: each round runs both clients back to
            // back, so the test server's drift cancels within a pair.
            let mut pairs: Vec<f64> = r
                .iter()
                .zip(&l)
                .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                .collect();
            pairs.sort_by(f64::total_cmp);
            let ratio = pairs[pairs.len() / 2];
            let (r, l) = (mib_s(size, median(r)), mib_s(size, median(l)));
            let verdict = if ratio >= 0.97 {
                ""
            } else {
                "  (below the 0.97 target)"
            };
            println!(
                "{op:<14} {:>7} MiB {r:>14.1} {l:>14.1} {ratio:>7.3}x{verdict}",
                size / (1024 * 1024)
            );
        }
    }
    lake.delete_prefix(&format!("lake://bench/s3/v1/{run}/"))
        .await?;
    lake.delete_prefix(&format!("s3://lakeroute-it/bench/{run}/"))
        .await?;

    // Resolution, warm: the store is built on the first call and reused after.
    let uri = "lake://bench/s3/v1/country=IT/year=2024/part-00042.parquet";
    lake.resolve(uri)?;
    let n = 200_000;
    let (mut resolve, mut floor) = (vec![], vec![]);
    for _ in 0..9 {
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(lake.resolve(std::hint::black_box(uri))?.path()?);
        }
        resolve.push(t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(Path::parse(std::hint::black_box(
                "bench/country=IT/year=2024/part-00042.parquet",
            ))?);
        }
        floor.push(t.elapsed() / n);
    }
    let (r, f) = (median(resolve), median(floor));
    let verdict = if r < Duration::from_micros(1) {
        "under the 1 us target"
    } else {
        "OVER the 1 us target"
    };
    println!(
        "resolve lake:// -> store + path: {:.0} ns/call ({verdict}); baseline Path::parse alone: {:.0} ns/call; ratio {:.1}x",
        r.as_nanos(),
        f.as_nanos(),
        r.as_secs_f64() / f.as_secs_f64()
    );
    Ok(())
}
