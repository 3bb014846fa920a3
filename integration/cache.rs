//! The egress-aware cache against the local S3 server: hits send no GET (checked in moto's own
//! log), changed objects are never served stale beyond what the mode allows, damaged entries
//! are refetched, the folder survives a restart, same-region data is not cached, and the
//! egress budget stops a read before it is sent.

use std::time::Duration;

use lakeroute::{Error, Lake};
use lakeroute_integration::{ItCatalog, descriptor, moto_requests, run_id, servers};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const MIB: usize = 1024 * 1024;

fn catalog(
    s: &lakeroute_integration::Servers,
    cache_dir: &std::path::Path,
    compute: &str,
    max_bytes: &str,
    extra: &str,
    run: &str,
    revalidate_after: &str,
) -> std::io::Result<ItCatalog> {
    let settings = format!(
        "compute: {compute}\ncache:\n  dir: {}\n  max_bytes: {max_bytes}\n  block_size: 1MiB\n  revalidate_after: {revalidate_after}\n{extra}",
        cache_dir.display()
    );
    let cat = ItCatalog::new(
        s,
        &s.s3,
        "",
        &[
            (
                "it/hot.yaml",
                descriptor("it", "hot", "s3", &format!("cache/{run}/hot"), ""),
            ),
            (
                "it/frozen.yaml",
                descriptor(
                    "it",
                    "frozen",
                    "s3",
                    &format!("cache/{run}/frozen"),
                    "  immutable: true\n",
                ),
            ),
        ],
    )?;
    cat.prepend_settings(&settings)?;
    Ok(cat)
}

/// A catalog for a process on Azure reading the S3 datasets (so their reads are cached), with a
/// cache bound of `max_bytes` and entries fresh for `revalidate_after`.
fn cross_cloud(
    s: &lakeroute_integration::Servers,
    cache_dir: &std::path::Path,
    max_bytes: &str,
    run: &str,
    revalidate_after: &str,
) -> std::io::Result<ItCatalog> {
    catalog(
        s,
        cache_dir,
        "{provider: azure, region: westeurope}",
        max_bytes,
        "",
        run,
        revalidate_after,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_read_sends_no_get_and_changes_are_seen() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = cross_cloud(&s, dir.path(), "64MiB", &run, "1h")?;
    // Hits are checked through a lake whose entries stay fresh for an hour, so a slow server
    // cannot turn them into revalidations; revalidation through one on the same folder whose
    // entries stay fresh for a second.
    let lake = cat.lake()?;
    let cat_1s = cross_cloud(&s, dir.path(), "64MiB", &run, "1s")?;
    let lake_1s = cat_1s.lake()?;
    let writer = Lake::new(lakeroute::Catalog::load(cat.path())?); // a second process, in effect
    let uri = "lake://it/hot/v1/data.bin";
    let data = lakeroute::conformance::pattern(3 * MIB + 17, 7);
    writer.put(uri, data.clone().into()).await?;
    let key = format!("cache/{run}/hot/data.bin");

    let gets_before = moto_requests("GET", &key);
    assert_eq!(lake.get(uri).await?, data);
    assert_eq!(
        moto_requests("GET", &key),
        gets_before + 1,
        "the first read fetches"
    );
    let stats = lake.stats().by_dataset["it/hot/v1"];
    assert_eq!(
        (stats.cache_misses, stats.bytes_remote),
        (1, data.len() as u64)
    );

    assert_eq!(lake.get(uri).await?, data);
    assert_eq!(
        lake.get_range(uri, MIB as u64..MIB as u64 + 10).await?,
        data.slice(MIB..MIB + 10)
    );
    assert_eq!(
        moto_requests("GET", &key),
        gets_before + 1,
        "hits send no GET (moto's own log)"
    );
    let stats = lake.stats().by_dataset["it/hot/v1"];
    assert_eq!(stats.cache_hits, 2);
    assert_eq!(stats.bytes_cached, data.len() as u64 + 10);
    assert!(
        stats.dollars_avoided > 0.0 && stats.dollars_spent > 0.0,
        "{stats:?}"
    );

    // Overwritten by someone else: within revalidate_after the cached copy may be served (ttl
    // mode allows it); after it, a conditional GET sees the change.
    let newer = lakeroute::conformance::pattern(3 * MIB + 17, 8);
    writer.put(uri, newer.clone().into()).await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        lake_1s.get(uri).await?,
        newer,
        "never stale beyond revalidate_after"
    );
    // Unchanged after revalidation: a 304, and the bytes come from the cache.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let gets = moto_requests("GET", &key);
    assert_eq!(lake_1s.get(uri).await?, newer);
    assert_eq!(
        moto_requests("GET", &key),
        gets + 1,
        "one conditional GET, answered 304"
    );

    // This process's own overwrite is never read back stale, whatever the mode.
    lake.put(uri, bytes::Bytes::from_static(b"mine").into())
        .await?;
    assert_eq!(lake.get(uri).await?, "mine");

    // Immutable datasets are never revalidated.
    writer
        .put(
            "lake://it/frozen/v1/x",
            bytes::Bytes::from(vec![1u8; 100_000]).into(),
        )
        .await?;
    lake_1s.get("lake://it/frozen/v1/x").await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let frozen_key = format!("cache/{run}/frozen/x");
    let gets = moto_requests("GET", &frozen_key);
    lake_1s.get("lake://it/frozen/v1/x").await?;
    assert_eq!(
        moto_requests("GET", &frozen_key),
        gets,
        "immutable: no revalidation"
    );

    lake.delete_prefix("lake://it/hot/v1/").await?;
    lake.delete_prefix("lake://it/frozen/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_entries_are_refetched_and_the_folder_survives_a_restart() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = cross_cloud(&s, dir.path(), "64MiB", &run, "1h")?;
    let uri = "lake://it/frozen/v1/blocks.bin";
    let data = lakeroute::conformance::pattern(2 * MIB + 5, 9);
    let first = cat.lake()?;
    first.put(uri, data.clone().into()).await?;
    assert_eq!(first.get(uri).await?, data);
    drop(first);

    // A new process on the same folder: a hit, no GET.
    let key = format!("cache/{run}/frozen/blocks.bin");
    let gets = moto_requests("GET", &key);
    let second = cat.lake()?;
    assert_eq!(second.get(uri).await?, data);
    assert_eq!(
        moto_requests("GET", &key),
        gets,
        "the cache folder is the index"
    );

    // Damage every block file: each is detected, dropped and fetched again.
    let mut damaged = 0;
    for entry in walk(&dir.path().join("v1")) {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name != "meta.json" {
            let mut bytes = std::fs::read(&entry)?;
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&entry, &bytes)?;
            damaged += 1;
        }
    }
    assert!(damaged >= 3, "expected 3 blocks, damaged {damaged}");
    assert_eq!(
        second.get(uri).await?,
        data,
        "damaged blocks are never served"
    );
    assert!(moto_requests("GET", &key) > gets);
    assert_eq!(second.get(uri).await?, data);

    // A read large enough to be split between threads: two damaged blocks, one in each half,
    // are refetched (one ranged GET spanning them), and the next read is a hit again.
    let big_uri = "lake://it/frozen/v1/big.bin";
    let big = lakeroute::conformance::pattern(17 * MIB + 3, 4);
    second.put(big_uri, big.clone().into()).await?;
    assert_eq!(second.get(big_uri).await?, big);
    let big_key = format!("cache/{run}/frozen/big.bin");
    let files = walk(dir.path());
    let name = |p: &std::path::PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // Block 15 exists only for the big object; its folder holds the big object's blocks.
    let folder = files
        .iter()
        .find(|p| name(p).ends_with(".15"))
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .ok_or("no block 15")?;
    let mut blocks: Vec<_> = files
        .into_iter()
        .filter(|p| p.starts_with(&folder) && (name(p).ends_with(".2") || name(p).ends_with(".15")))
        .collect();
    blocks.sort();
    assert_eq!(
        blocks.len(),
        2,
        "blocks 2 and 15 of the big object: {blocks:?}"
    );
    for b in &blocks {
        let mut bytes = std::fs::read(b)?;
        bytes[7] ^= 0x01;
        std::fs::write(b, &bytes)?;
    }
    let before = moto_requests("GET", &big_key);
    assert_eq!(
        second.get(big_uri).await?,
        big,
        "damaged blocks are never served"
    );
    let after = moto_requests("GET", &big_key);
    assert_eq!(after, before + 1, "one ranged GET for the damaged blocks");
    assert_eq!(second.get(big_uri).await?, big);
    assert_eq!(moto_requests("GET", &big_key), after, "a hit again");
    second.delete_prefix("lake://it/frozen/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_region_is_not_cached_and_the_budget_stops_reads_before_they_are_sent() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = catalog(
        &s,
        dir.path(),
        "{provider: aws, region: us-east-1}",
        "64MiB",
        "budget: {egress_bytes: 1MiB}\n",
        &run,
        "1h",
    )?;
    let lake = cat.lake()?;
    lake.put(
        "lake://it/hot/v1/small",
        bytes::Bytes::from(vec![0u8; 1000]).into(),
    )
    .await?;
    lake.get("lake://it/hot/v1/small").await?;
    lake.get("lake://it/hot/v1/small").await?;
    let st = lake.stats().by_dataset["it/hot/v1"];
    assert_eq!(
        (st.cache_hits, st.dollars_avoided),
        (0, 0.0),
        "same region: nothing to save, nothing cached"
    );

    lake.put(
        "lake://it/hot/v1/big",
        bytes::Bytes::from(vec![0u8; 2 * MIB]).into(),
    )
    .await?;
    let key = format!("cache/{run}/hot/big");
    let gets = moto_requests("GET", &key);
    match lake.get("lake://it/hot/v1/big").await {
        Err(Error::BudgetExceeded {
            dataset, budget, ..
        }) => {
            assert_eq!(dataset, "it/hot/v1");
            assert_eq!(budget, "1048576 bytes");
        }
        other => return Err(format!("expected BudgetExceeded, got {other:?}").into()),
    }
    assert_eq!(
        moto_requests("GET", &key),
        gets,
        "refused before the GET was sent"
    );
    lake.delete_prefix("lake://it/hot/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_bound_holds_while_objects_come_and_go() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = cross_cloud(&s, dir.path(), "5MiB", &run, "1h")?;
    let lake = cat.lake()?;
    let blocks = |dir: &std::path::Path| -> u64 {
        walk(dir)
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n != "meta.json"))
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    for round in 0..2 {
        for n in 0..4 {
            let uri = format!("lake://it/hot/v1/part-{n}");
            let data = lakeroute::conformance::pattern(2 * MIB, n);
            if round == 0 {
                lake.put(&uri, data.clone().into()).await?;
            }
            assert_eq!(lake.get(&uri).await?, data, "{uri}, round {round}");
            let held = blocks(dir.path());
            assert!(held <= 5 * MIB as u64, "{held} bytes held after {uri}");
        }
    }
    // Room for two: the two read last are held, and a hit on one does not push the other out.
    for n in [3, 2, 3] {
        let key = format!("cache/{run}/hot/part-{n}");
        let gets = moto_requests("GET", &key);
        lake.get(&format!("lake://it/hot/v1/part-{n}")).await?;
        assert_eq!(moto_requests("GET", &key), gets, "part-{n} is held");
    }
    let st = lake.stats().by_dataset["it/hot/v1"];
    assert!(st.cache_hits > 0, "{st:?}");
    lake.delete_prefix("lake://it/hot/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_overwritten_object_frees_its_room_at_once() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = cross_cloud(&s, dir.path(), "5MiB", &run, "1h")?;
    let lake = cat.lake()?;
    let uri = |n: &str| format!("lake://it/hot/v1/{n}");
    for (i, n) in ["b", "a", "c", "d"].into_iter().enumerate() {
        let data = lakeroute::conformance::pattern(2 * MIB, i as u64);
        lake.put(&uri(n), data.into()).await?;
    }
    let b_is_held = || async {
        let key = format!("cache/{run}/hot/b");
        let gets = moto_requests("GET", &key);
        lake.get(&uri("b")).await?;
        Ok::<_, Error>(moto_requests("GET", &key) == gets)
    };
    // Room for two entries of equal value; `a`, read last, would be evicted after `b`.
    lake.get(&uri("b")).await?;
    lake.get(&uri("a")).await?;
    // Deleted through the lake, `a` no longer counts against the bound: `c` takes its room
    // instead of pushing `b` out.
    lake.delete(&uri("a")).await?;
    lake.get(&uri("c")).await?;
    assert!(b_is_held().await?, "c took the deleted object's room");
    // The same for an overwrite: `c`, read after `b`, is replaced, and `d` takes its room.
    lake.get(&uri("c")).await?;
    lake.put(&uri("c"), bytes::Bytes::from_static(b"new").into())
        .await?;
    lake.get(&uri("d")).await?;
    assert!(b_is_held().await?, "d took the overwritten object's room");
    lake.delete_prefix("lake://it/hot/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_of_one_name_on_two_servers_never_share_entries() -> TestResult {
    // Two S3 servers each hold a bucket `lakeroute-it` with an object under the same key, and
    // one cache folder serves both. Entries are named by endpoint as well as bucket and key, so
    // each read gets its own server's bytes, even from datasets that are never revalidated.
    let Some(s) = servers() else { return Ok(()) };
    let other = lakeroute_integration::PrivateMoto::start(&s)?;
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let prefix = format!("cache/{run}/twin");
    let frozen = "  immutable: true\n";
    let cat = ItCatalog::new(
        &s,
        &s.s3,
        &format!(
            "  s3-other:\n    provider: aws\n    bucket: lakeroute-it\n    region: us-east-1\n    endpoint: {}\n    path_style: true\n    credentials: {{access_key_id: testing, secret_access_key: testing}}\n",
            other.endpoint()
        ),
        &[
            (
                "it/here.yaml",
                descriptor("it", "here", "s3", &prefix, frozen),
            ),
            (
                "it/there.yaml",
                descriptor("it", "there", "s3-other", &prefix, frozen),
            ),
        ],
    )?;
    cat.prepend_settings(&format!(
        "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: 64MiB, block_size: 1MiB}}",
        dir.path().display()
    ))?;
    let lake = cat.lake()?;
    let (here, there) = ("lake://it/here/v1/same.bin", "lake://it/there/v1/same.bin");
    assert_eq!(
        lake.resolve(here)?.physical().to_string(),
        lake.resolve(there)?.physical().to_string(),
        "one bucket name and key on both servers"
    );
    let (a, b) = (
        lakeroute::conformance::pattern(MIB + 1, 21),
        lakeroute::conformance::pattern(MIB + 1, 22),
    );
    lake.put(here, a.clone().into()).await?;
    lake.put(there, b.clone().into()).await?;
    // Misses, then hits: each from its own entry.
    for round in 0..2 {
        assert!(lake.get(here).await? == a, "round {round}: {here}");
        assert!(lake.get(there).await? == b, "round {round}: {there}");
    }
    let st = lake.stats();
    for ds in ["it/here/v1", "it/there/v1"] {
        let c = st.by_dataset[ds];
        assert_eq!((c.cache_misses, c.cache_hits), (1, 1), "{ds}: {c:?}");
    }
    // A second lake on the same folder (its own cache and policy, as another process has) finds
    // both entries, each its own.
    let again = cat.lake()?;
    assert!(again.get(there).await? == b && again.get(here).await? == a);
    let st = again.stats();
    assert_eq!(
        (st.total.cache_hits, st.total.cache_misses),
        (2, 0),
        "{:?}",
        st.total
    );
    lake.delete_prefix("lake://it/here/v1/").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn physical_uris_into_a_profile_share_its_cache_and_accounting() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    let cat = cross_cloud(&s, dir.path(), "64MiB", &run, "1h")?;
    let lake = cat.lake()?;
    let data = lakeroute::conformance::pattern(MIB + 3, 5);
    let logical = "lake://it/hot/v1/both.bin";
    lake.put(logical, data.clone().into()).await?;
    // The same object by its bucket: served by the s3 profile, so accounted under it and read
    // through the same cache entry as the dataset's URI.
    let physical = format!("s3://lakeroute-it/cache/{run}/hot/both.bin");
    let key = format!("cache/{run}/hot/both.bin");
    let gets = moto_requests("GET", &key);
    assert_eq!(lake.get(&physical).await?, data);
    assert_eq!(lake.get(&physical).await?, data);
    assert_eq!(lake.get(logical).await?, data);
    assert_eq!(
        moto_requests("GET", &key),
        gets + 1,
        "one GET: the other reads, by either name, are hits"
    );
    // An overwrite by one name is never read back stale by the other (entries fresh for 1 h).
    let newer = lakeroute::conformance::pattern(MIB + 3, 6);
    lake.put(&physical, newer.clone().into()).await?;
    assert_eq!(lake.get(logical).await?, newer);
    lake.put(logical, data.clone().into()).await?;
    assert_eq!(lake.get(&physical).await?, data);

    let st = lake.stats();
    let phys = st.by_dataset["s3://lakeroute-it"];
    assert_eq!((phys.cache_misses, phys.cache_hits), (2, 1), "{phys:?}");
    assert!(
        phys.dollars_spent > 0.0 && phys.dollars_avoided > 0.0,
        "{phys:?}"
    );
    let ds = st.by_dataset["it/hot/v1"];
    let profile = st.by_profile["s3"];
    assert_eq!(profile.requests, phys.requests + ds.requests);
    assert_eq!(profile.bytes_remote, phys.bytes_remote + ds.bytes_remote);
    assert_eq!(profile.bytes_cached, phys.bytes_cached + ds.bytes_cached);
    assert_eq!(profile.bytes_written, 3 * data.len() as u64, "{profile:?}");
    assert_eq!(st.by_profile.len(), 1, "{:?}", st.by_profile.keys());
    lake.delete_prefix("lake://it/hot/v1/").await?;
    Ok(())
}

#[test]
fn buckets_no_profile_serves_are_accounted_cached_and_budgeted() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let run = run_id();
    // No profile of this catalog serves the bucket `finance-customer`: the CLI reaches it with
    // the ambient AWS settings, as a notebook user's `s3://` URI would.
    let cat = catalog(
        &s,
        dir.path(),
        "{provider: azure, region: westeurope}",
        "64MiB",
        "budget: {egress_bytes: 2MiB}\n",
        &run,
        "1h",
    )?;
    let cli =
        |args: &[&str]| -> Result<std::process::Output, Box<dyn std::error::Error + Send + Sync>> {
            // Only these settings: a developer's own AWS_* variables must not compete.
            let vars = [
                ("AWS_ENDPOINT", s.s3.as_str()),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", "us-east-1"),
            ];
            Ok(lakeroute_integration::isolated_cli(cat.path(), vars)?
                .args(args)
                .output()?)
        };
    let ok = |out: std::process::Output| -> TestResult {
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned().into())
        }
    };
    let local = dir.path().join("small.bin");
    std::fs::write(&local, lakeroute::conformance::pattern(MIB, 3))?;
    let key = format!("cache/{run}/small.bin");
    let uri = format!("s3://finance-customer/{key}");
    ok(cli(&["put", &local.to_string_lossy(), &uri])?)?;
    // Two processes read it: the second from the shared cache folder, with no GET.
    let gets = moto_requests("GET", &key);
    for n in 0..2 {
        ok(cli(&[
            "get",
            &uri,
            &dir.path().join(format!("copy-{n}")).to_string_lossy(),
        ])?)?;
    }
    assert_eq!(
        moto_requests("GET", &key),
        gets + 1,
        "the second read is a hit"
    );
    let out = cli(&["--output", "json", "stats"])?;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let phys = &stats["by_dataset"]["s3://finance-customer"];
    assert_eq!(
        (phys["cache_misses"].as_u64(), phys["cache_hits"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );
    assert!(phys["dollars_avoided"].as_f64() > Some(0.0), "{stats}");
    assert_eq!(
        stats["by_profile"]["s3://finance-customer"]["bytes_remote"].as_u64(),
        Some(MIB as u64),
        "{stats}"
    );
    // The egress budget holds for it too: refused before the GET is sent.
    std::fs::write(&local, lakeroute::conformance::pattern(3 * MIB, 4))?;
    let big = format!("s3://finance-customer/cache/{run}/big.bin");
    ok(cli(&["put", &local.to_string_lossy(), &big])?)?;
    let gets = moto_requests("GET", &format!("cache/{run}/big.bin"));
    let out = cli(&["get", &big, &dir.path().join("big").to_string_lossy()])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("s3://finance-customer") && err.contains("budget"),
        "{err}"
    );
    assert_eq!(moto_requests("GET", &format!("cache/{run}/big.bin")), gets);
    ok(cli(&[
        "rm",
        "--recursive",
        &format!("s3://finance-customer/cache/{run}/"),
    ])?)?;
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
