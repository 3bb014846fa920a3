//! The conformance suite on the backends that need no server: memory and a local folder,
//! addressed both logically (lake://) and physically (memory://, file://), plus streaming copies
//! between them.

use lakeroute::conformance;
use lakeroute_tests::{TempCatalog, descriptor};

/// A dataset kept in memory and mirrored to the local folder.
const MIRRORED: &str = "\
entityName: mirrored
entityVersion: v1
domain: conf
coldStorage:
  format: parquet
  location: {storage: mem, prefix: conformance/mirrored}
  mirror: {storage: disk, prefix: conformance/mirror-copy}
";

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn catalog(data: &std::path::Path) -> std::io::Result<TempCatalog> {
    let settings = format!(
        "storage:\n  mem:\n    provider: memory\n  disk:\n    provider: local\n    root: {}\n    prefix: lake\n",
        data.display()
    );
    TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        (
            "conf/mem.yaml",
            &descriptor("mem", 1, "conf", "mem", "conformance/mem"),
        ),
        (
            "conf/disk.yaml",
            &descriptor("disk", 1, "conf", "disk", "conformance/disk"),
        ),
        ("conf/mirrored.yaml", MIRRORED),
    ])
}

#[tokio::test]
async fn memory_backend_through_lake_uris() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    conformance::run_all(&cat.lake()?, "lake://conf/mem/v1/").await
}

#[tokio::test]
async fn local_backend_through_lake_uris() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    conformance::run_all(&cat.lake()?, "lake://conf/disk/v1/").await?;
    // Automatic cleanup removes emptied folders: nothing is left behind on disk.
    let left: Vec<_> = walk(data.path());
    assert!(left.is_empty(), "files left after the suite: {left:?}");
    Ok(())
}

#[tokio::test]
async fn mirrored_dataset_through_lake_uris() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let lake = cat.lake()?;
    conformance::run_all(&lake, "lake://conf/mirrored/v1/").await?;
    // Writes reached the mirror, and reads say who served them.
    lake.put("lake://conf/mirrored/v1/x.txt", "both".into())
        .await?;
    assert!(
        data.path()
            .join("lake/conformance/mirror-copy/x.txt")
            .is_file()
    );
    let (bytes, served) = lake.get_served("lake://conf/mirrored/v1/x.txt").await?;
    assert_eq!(bytes, "both");
    assert!(
        !served.failover && served.location == "memory://mem/conformance/mirrored",
        "{served:?}"
    );
    lake.delete("lake://conf/mirrored/v1/x.txt").await?;
    assert!(
        !data
            .path()
            .join("lake/conformance/mirror-copy/x.txt")
            .exists()
    );
    Ok(())
}

/// A process on Azure with a cache (`cache_settings` besides its folder) and the dataset
/// `conf/far/v1` in a folder standing in for AWS: every read crosses clouds.
fn far_catalog(
    data: &std::path::Path,
    cache: &std::path::Path,
    cache_settings: &str,
) -> std::io::Result<TempCatalog> {
    let settings = format!(
        "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, {cache_settings}}}\nstorage:\n  aws:\n    provider: local\n    emulates: aws\n    region: us-east-1\n    root: {}\n",
        cache.display(),
        data.display()
    );
    TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("conf/far.yaml", &descriptor("far", 1, "conf", "aws", "far")),
    ])
}

#[tokio::test]
async fn cached_cross_cloud_dataset_through_lake_uris() -> TestResult {
    // The folder stands in for AWS and this process computes on Azure: every read crosses
    // clouds, so the cache keeps it. The suite must not be able to tell.
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_catalog(
        data.path(),
        cache.path(),
        "max_bytes: 256MiB, block_size: 256KiB, freshness: strict",
    )?;
    let lake = cat.lake()?;
    conformance::run_all(&lake, "lake://conf/far/v1/").await?;
    let s = lake.stats().by_dataset["conf/far/v1"];
    assert!(
        s.cache_hits > 0 && s.cache_misses > 0,
        "the suite went through the cache: {s:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cached_mirrored_dataset_and_physical_uris_are_never_read_stale() -> TestResult {
    // Entries stay fresh for an hour, so only the cache's own bookkeeping keeps the suite from
    // reading back what it overwrote or deleted: every write, by the dataset's URI, through
    // either side of a mirror, or by a physical URI, must drop what the cache holds.
    let data = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    let settings = format!(
        "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: 256MiB, block_size: 256KiB, revalidate_after: 1h}}\nstorage:\n  aws:\n    provider: local\n    emulates: aws\n    buckets: [raw]\n    region: us-east-1\n    root: {}\n  gcp-ish:\n    provider: local\n    emulates: aws\n    region: eu-west-1\n    root: {}\n",
        cache.path().display(),
        data.path().join("aws").display(),
        data.path().join("other").display()
    );
    let twin = "entityName: twin\nentityVersion: v1\ndomain: conf\ncoldStorage:\n  format: parquet\n  location: {storage: aws, prefix: twin}\n  mirror: {storage: gcp-ish, prefix: twin-copy}\n";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("conf/twin.yaml", twin),
    ])?;
    let lake = cat.lake()?;
    conformance::run_all(&lake, "lake://conf/twin/v1/").await?;
    conformance::run_all(&lake, "s3://raw/suite/").await?;
    for uri in ["lake://conf/twin/v1/k.bin", "s3://raw/k.bin"] {
        for round in 0..3u8 {
            let body = bytes::Bytes::from(vec![round; 300_000]);
            lake.put(uri, body.clone().into()).await?;
            // Compared without printing 300 KB on failure.
            assert!(
                lake.get(uri).await? == body,
                "{uri}: stale in round {round}"
            );
            assert!(
                lake.get(uri).await? == body,
                "{uri}: stale hit in round {round}"
            );
        }
        lake.delete(uri).await?;
        assert!(
            matches!(lake.get(uri).await, Err(lakeroute::Error::NotFound { .. })),
            "{uri} deleted"
        );
    }
    let st = lake.stats();
    let twin = st.by_dataset["conf/twin/v1"];
    assert!(
        twin.cache_hits > 0,
        "the mirror read through the cache: {twin:?}"
    );
    assert!(
        st.by_dataset["s3://raw"].cache_hits > 0,
        "physical URIs read through the cache: {st:?}"
    );
    // Both sides of the mirror are accounted, each under its own profile.
    assert!(st.by_profile["aws"].bytes_written > 0, "{st:?}");
    assert!(st.by_profile["gcp-ish"].bytes_written > 0, "{st:?}");
    Ok(())
}

#[tokio::test]
async fn cache_misses_stream_and_keep_their_blocks() -> TestResult {
    // A miss is answered as the store sends it, in chunks, with the blocks written to the cache
    // on the way, and a hit over 64 MiB 40 MiB at a time: an object is never held whole in
    // memory, whatever its size, and one bigger than the cache is streamed through too.
    use futures::TryStreamExt;
    use object_store::{GetOptions, GetRange};
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_catalog(
        data.path(),
        cache.path(),
        "max_bytes: 96MiB, block_size: 1MiB, revalidate_after: 1h",
    )?;
    let lake = cat.lake()?;
    for (seed, name, len) in [
        (1, "fits", 8 << 20),
        (2, "long", 80 << 20),
        (3, "too-big", 100 << 20),
    ] {
        let uri = format!("lake://conf/far/v1/{name}");
        let body = conformance::pattern(len + 123, seed);
        lake.put(&uri, body.clone().into()).await?;
        let route = lake.resolve(&uri)?;
        let (store, path) = (route.store(), route.path()?);
        for (round, range) in [None, None, Some(GetRange::Offset(1_500_000))]
            .into_iter()
            .enumerate()
        {
            let got = store
                .get_opts(&path, GetOptions::new().with_range(range.clone()))
                .await?;
            let chunks: Vec<bytes::Bytes> = got.into_stream().try_collect().await?;
            let largest = chunks.iter().map(bytes::Bytes::len).max().unwrap_or(0);
            let all: Vec<u8> = chunks.concat();
            let from = if range.is_some() { 1_500_000 } else { 0 };
            assert!(all == body[from..], "{name}, read {round}: wrong bytes");
            if round == 0 {
                assert!(
                    chunks.len() > 1 && largest <= 8 << 20,
                    "{name}: the miss came in {} chunks, the largest {largest} bytes",
                    chunks.len()
                );
            }
            if round == 1 && name == "long" {
                assert!(
                    chunks.len() >= 2 && largest <= 40 << 20,
                    "the long hit came in {} chunks, the largest {largest} bytes",
                    chunks.len()
                );
            }
        }
    }
    let st = lake.stats().by_dataset["conf/far/v1"];
    // `fits` and `long` missed once, then hit twice (the offset read too, from blocks written
    // mid-stream); `too-big` is over the bound and missed every time.
    assert_eq!((st.cache_hits, st.cache_misses), (4, 5), "{st:?}");
    assert_eq!(
        st.bytes_cached,
        2 * (8 << 20) + 2 * (80 << 20) + 4 * 123 - 2 * 1_500_000,
        "{st:?}"
    );
    Ok(())
}

#[tokio::test]
async fn one_process_filling_its_folder_exactly_keeps_everything() -> TestResult {
    // Three 1 MiB objects in a 3 MiB folder: the policy admits all three, and the folder,
    // counted in the same bytes (checksums aside), is not over its bound, so nothing is
    // refused or evicted behind the policy's back.
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_catalog(
        data.path(),
        cache.path(),
        "max_bytes: 3MiB, block_size: 256KiB, revalidate_after: 1h",
    )?;
    let lake = cat.lake()?;
    let uri = |n: u64| format!("lake://conf/far/v1/exact-{n}");
    for n in 0..3 {
        lake.put(&uri(n), conformance::pattern(1 << 20, n).into())
            .await?;
    }
    for _ in 0..2 {
        for n in 0..3 {
            assert!(lake.get(&uri(n)).await? == conformance::pattern(1 << 20, n));
        }
    }
    let st = lake.stats().by_dataset["conf/far/v1"];
    assert_eq!((st.cache_misses, st.cache_hits), (3, 3), "{st:?}");
    Ok(())
}

/// A lake computing in AWS us-east-1, with a 3 MiB cache folder at `cache` (256 KiB blocks)
/// and two datasets under `data`, each holding one 2 MiB object at [`uri`]: `conf/far` in
/// Azure ($0.0875/GB to fetch again) and `conf/near` in AWS us-west-2 ($0.02/GB).
async fn far_and_near(
    data: &std::path::Path,
    cache: &std::path::Path,
) -> Result<TempCatalog, Box<dyn std::error::Error + Send + Sync>> {
    let settings = format!(
        "compute: {{provider: aws, region: us-east-1}}\ncache: {{dir: {}, max_bytes: 3MiB, block_size: 256KiB}}\nstorage:\n  azure:\n    provider: local\n    emulates: azure\n    region: westeurope\n    root: {}/azure\n  aws-west:\n    provider: local\n    emulates: aws\n    region: us-west-2\n    root: {}/aws\n",
        cache.display(),
        data.display(),
        data.display()
    );
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        (
            "conf/far.yaml",
            &descriptor("far", 1, "conf", "azure", "far"),
        ),
        (
            "conf/near.yaml",
            &descriptor("near", 1, "conf", "aws-west", "near"),
        ),
    ])?;
    let writer = cat.lake()?;
    for name in ["far", "near"] {
        writer.put(&uri(name), body(name).into()).await?;
    }
    Ok(cat)
}

/// The object of [`far_and_near`]'s dataset `name`.
fn uri(name: &str) -> String {
    format!("lake://conf/{name}/v1/object.bin")
}

/// Its bytes: a pattern seeded by the dataset.
fn body(name: &str) -> bytes::Bytes {
    conformance::pattern(2 << 20, u64::from(name == "far"))
}

#[tokio::test]
async fn processes_sharing_a_folder_keep_what_is_worth_most() -> TestResult {
    // Each `Lake` has its own policy, as each process has; one folder of 3 MiB serves them.
    // A cross-cloud object ($0.0875/GB to fetch again) and a cross-region one ($0.02/GB), 2 MiB
    // each, read once: whichever order they come in, and whichever process reads them, the
    // folder keeps the cross-cloud one, and the other streams through uncached.
    let data = tempfile::tempdir()?;
    for (order, first, second) in [("far first", "far", "near"), ("near first", "near", "far")] {
        let cache = tempfile::tempdir()?;
        let cat = far_and_near(data.path(), cache.path()).await?;
        // Two processes, one object each; then a third reads both.
        for name in [first, second] {
            assert!(
                cat.lake()?.get(&uri(name)).await? == body(name),
                "{order}: {name}"
            );
        }
        let third = cat.lake()?;
        for name in ["far", "near"] {
            assert!(
                third.get(&uri(name)).await? == body(name),
                "{order}: {name}"
            );
        }
        let st = third.stats();
        let (far, near) = (st.by_dataset["conf/far/v1"], st.by_dataset["conf/near/v1"]);
        assert_eq!(
            (far.cache_hits, near.cache_hits, near.cache_misses),
            (1, 0, 1),
            "{order}: far {far:?}, near {near:?}"
        );
        // The third's read of `near` did not push `far` out either: a fourth process hits it.
        let fourth = cat.lake()?;
        assert!(fourth.get(&uri("far")).await? == body("far"));
        let far = fourth.stats().by_dataset["conf/far/v1"];
        assert_eq!(
            (far.cache_hits, far.cache_misses),
            (1, 0),
            "{order}: {far:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_object_each_process_lacked_room_for_is_kept_once_read_often() -> TestResult {
    // A 3 MiB folder holds a cross-cloud object of 2 MiB, read once. A cross-region object of
    // 2 MiB ($0.02/GB to fetch again, against $0.0875) is then read by one short-lived process
    // after another, hours apart. Each has no room for it, yet saves the read, so the next
    // counts on: once its reads are worth more than the cross-cloud object's one, it takes
    // that object's place, and the next process hits it.
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_and_near(data.path(), cache.path()).await?;
    assert!(cat.lake()?.get(&uri("far")).await? == body("far"));
    let seen = cache.path().join("seen");
    let mut hits = Vec::new();
    for process in 1..=8 {
        let lake = cat.lake()?;
        assert!(
            lake.get(&uri("near")).await? == body("near"),
            "process {process}"
        );
        let near = lake.stats().by_dataset["conf/near/v1"];
        hits.push(near.cache_hits);
        // Five hours pass before the next process: its read starts a new session.
        for file in std::fs::read_dir(&seen)? {
            let path = file?.path();
            let mut h: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            for field in ["first", "last"] {
                let t = h[field].as_f64().ok_or("no time in the saved reads")?;
                h[field] = (t - 5.0 * 3600.0).into();
            }
            std::fs::write(&path, h.to_string())?;
        }
        if process == 1 {
            assert!(seen.read_dir()?.count() == 1, "process 1 saved no reads");
        }
    }
    // Five sessions at $0.02/GB outweigh one at $0.0875/GB: the fifth process keeps it, the
    // sixth and later hit it; the far object made room for it.
    assert_eq!(hits, [0, 0, 0, 0, 0, 1, 1, 1], "hits on the near object");
    // Its entry holds its counts now, and the far object's counts are kept for its return.
    let mut saved = Vec::new();
    for file in std::fs::read_dir(&seen)? {
        let h: serde_json::Value = serde_json::from_slice(&std::fs::read(file?.path())?)?;
        saved.push((
            h["key"].as_str().unwrap_or("").to_string(),
            h["sessions"].clone(),
        ));
    }
    assert!(
        saved.len() == 1 && saved[0].0.ends_with("far/object.bin") && saved[0].1 == 1,
        "seen reads: {saved:?}"
    );
    let far = cat.lake()?;
    far.get(&uri("far")).await?;
    assert_eq!(far.stats().by_dataset["conf/far/v1"].cache_hits, 0);
    Ok(())
}

/// The cache entry of `conf/far/v1/<name>` in the folder `cache`: its folder and `meta.json`.
fn far_entry(
    cache: &std::path::Path,
    name: &str,
) -> Result<Option<(std::path::PathBuf, serde_json::Value)>, Box<dyn std::error::Error + Send + Sync>>
{
    for dir in std::fs::read_dir(cache.join("v1"))? {
        let dir = dir?.path();
        let Ok(text) = std::fs::read(dir.join("meta.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_slice(&text)?;
        if meta["key"]
            .as_str()
            .is_some_and(|k| k.ends_with(&format!("/{name}")))
        {
            return Ok(Some((dir, meta)));
        }
    }
    Ok(None)
}

/// The keys whose reads the folder `cache` keeps for objects without an entry.
fn seen_keys(
    cache: &std::path::Path,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut keys = Vec::new();
    for file in std::fs::read_dir(cache.join("seen"))? {
        let h: serde_json::Value = serde_json::from_slice(&std::fs::read(file?.path())?)?;
        keys.push(h["key"].as_str().unwrap_or("").to_string());
    }
    Ok(keys)
}

#[tokio::test]
async fn an_entry_that_outlived_its_worth_goes_when_the_folder_is_next_opened() -> TestResult {
    // Two cross-cloud objects of 1 MiB, read once each by one process: at $0.08/GB-month
    // against $0.09/GB to fetch again, keeping one after a single read pays for about three
    // weeks. Then 60 days pass for one of them (the test ages its saved reads, the folder's
    // origin and its last sweep). The folder is far from full, yet the next process to open it
    // (an hour or more after the last sweep) deletes that entry
    // (its bytes would cost the medium's price for nothing), keeping its reads for its return,
    // and keeps the other.
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_catalog(
        data.path(),
        cache.path(),
        "max_bytes: 64MiB, block_size: 256KiB",
    )?;
    let first = cat.lake()?;
    for (i, name) in ["old", "new"].into_iter().enumerate() {
        let body = conformance::pattern(1 << 20, 20 + i as u64);
        let uri = format!("lake://conf/far/v1/{name}");
        first.put(&uri, body.clone().into()).await?;
        assert!(first.get(&uri).await? == body, "{name}");
    }
    drop(first);
    let days_60 = 60.0 * 86_400.0;
    let (old_dir, mut meta) = far_entry(cache.path(), "old")?.ok_or("old was not cached")?;
    for field in ["first", "last"] {
        let t = meta["history"][field]
            .as_f64()
            .ok_or("no time in the saved reads")?;
        meta["history"][field] = (t - days_60).into();
    }
    std::fs::write(old_dir.join("meta.json"), meta.to_string())?;
    let origin: f64 = std::fs::read_to_string(cache.path().join("origin"))?
        .trim()
        .parse()?;
    std::fs::write(cache.path().join("origin"), (origin - days_60).to_string())?;
    // The first process swept the folder as it opened it: the next sweep is due an hour later,
    // and a process that opens it sooner only counts it.
    let early = cat.lake()?.cache().ok_or("no cache")?.summary();
    assert_eq!(early, (2, 2 << 20), "swept again within the hour");
    let swept = std::fs::File::options()
        .write(true)
        .open(cache.path().join("swept"))?;
    swept.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3601))?;

    let next = cat.lake()?;
    // Waits for the count begun at opening, which is what deletes it.
    let (entries, bytes) = next.cache().ok_or("no cache")?.summary();
    assert_eq!((entries, bytes), (1, 1 << 20), "entries and bytes left");
    assert!(!old_dir.exists() && far_entry(cache.path(), "new")?.is_some());
    let seen = seen_keys(cache.path())?;
    assert!(
        seen.len() == 1 && seen[0].ends_with("/old"),
        "seen reads: {seen:?}"
    );
    for name in ["old", "new"] {
        next.get(&format!("lake://conf/far/v1/{name}")).await?;
    }
    let s = next.stats().by_dataset["conf/far/v1"];
    assert_eq!((s.cache_hits, s.cache_misses), (1, 1), "{s:?}");
    Ok(())
}

#[tokio::test]
async fn a_process_deletes_what_it_held_once_no_process_has_read_it_for_its_worth() -> TestResult {
    // The medium is priced so high that keeping a 1 MiB object pays for about two seconds
    // after a read, and the grace after that is two seconds more. Two processes share the
    // folder. The first caches `a` and `d`; three seconds later the second reads both (hits),
    // which renews their saved reads. Half a second on, the first reads `b`: `a` and `d` have
    // expired in its own policy, but the saved reads say another process read them since, so
    // they stay, to be checked again when those reads run out. Five seconds later the first
    // reads `a` again (a hit, which it holds anew) and that check comes due: `d` goes, with
    // its reads kept, and `a`, being read, stays. Nobody waits for the folder to fill, nor for
    // a process to open it.
    let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let cat = far_catalog(
        data.path(),
        cache.path(),
        "max_bytes: 64MiB, block_size: 256KiB, medium_price: 125000",
    )?;
    let (one, two) = (cat.lake()?, cat.lake()?);
    let uri = |name: &str| format!("lake://conf/far/v1/{name}");
    for name in ["a", "b", "d"] {
        one.put(&uri(name), conformance::pattern(1 << 20, 30).into())
            .await?;
    }
    let sleep = |ms| tokio::time::sleep(std::time::Duration::from_millis(ms));
    let cached = |name: &str| far_entry(cache.path(), name).map(|e| e.is_some());
    for name in ["a", "d"] {
        one.get(&uri(name)).await?;
        assert!(cached(name)?, "{name} was not cached");
    }
    sleep(3000).await;
    for name in ["a", "d"] {
        two.get(&uri(name)).await?;
    }
    assert_eq!(two.stats().by_dataset["conf/far/v1"].cache_hits, 2);
    sleep(500).await;
    one.get(&uri("b")).await?;
    assert!(
        cached("a")? && cached("d")?,
        "the first process deleted what the second read after it"
    );
    sleep(5000).await;
    one.get(&uri("a")).await?;
    assert!(!cached("d")?, "d outlived its worth, yet stayed");
    assert!(cached("a")?, "a, read again, was deleted under its read");
    assert_eq!(one.stats().by_dataset["conf/far/v1"].cache_hits, 1);
    let seen = seen_keys(cache.path())?;
    assert!(
        seen.iter().any(|k| k.ends_with("/d")),
        "seen reads: {seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn cached_blocks_are_right_whatever_the_chunking() -> TestResult {
    // The local store streams 8 KiB chunks: with 4 KiB blocks a chunk holds whole blocks, with
    // 12 KiB ones blocks straddle chunks. Each object's first read misses at an unaligned
    // offset; later reads hit, or fetch only the blocks still missing, and every byte is
    // checked.
    use object_store::{GetOptions, GetRange};
    for (seed, block) in [(11, "4KiB"), (12, "12KiB")] {
        let (data, cache) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let cat = far_catalog(
            data.path(),
            cache.path(),
            &format!("max_bytes: 64MiB, block_size: {block}, revalidate_after: 1h"),
        )?;
        let lake = cat.lake()?;
        let len = 3 * (1 << 20) + 777;
        // The first object's reads start with an offset, the second's with a suffix (a
        // Parquet footer): neither fetches more than its blocks.
        let reads = [
            ("obj", Some(GetRange::Offset(1_500_001)), false),
            ("obj", Some(GetRange::Bounded(100_003..2_000_005)), false),
            ("obj", Some(GetRange::Suffix(10_000)), true),
            ("obj", None, false),
            ("obj", None, true),
            ("obj", Some(GetRange::Bounded(4_095..12_289)), true),
            ("tail", Some(GetRange::Suffix(10_000)), false),
            ("tail", Some(GetRange::Suffix(600)), true),
        ];
        let mut bodies = std::collections::HashMap::new();
        for (i, name) in ["obj", "tail"].into_iter().enumerate() {
            let body = conformance::pattern(len, seed + i as u64);
            lake.put(&format!("lake://conf/far/v1/{name}"), body.clone().into())
                .await?;
            bodies.insert(name, body);
        }
        for (name, range, hit) in reads {
            let route = lake.resolve(&format!("lake://conf/far/v1/{name}"))?;
            let (store, path, body) = (route.store(), route.path()?, &bodies[name]);
            let remote = lake
                .stats()
                .by_dataset
                .get("conf/far/v1")
                .map_or(0, |c| c.bytes_remote);
            let got = store
                .get_opts(&path, GetOptions::new().with_range(range.clone()))
                .await?;
            let status = got
                .extensions
                .get::<lakeroute::cache::CacheStatus>()
                .copied();
            let span = got.range.clone();
            let bytes = got.bytes().await?;
            assert!(
                bytes == body[span.start as usize..span.end as usize],
                "{block} blocks, {range:?}: wrong bytes"
            );
            let expected = if hit {
                lakeroute::cache::CacheStatus::Hit
            } else {
                lakeroute::cache::CacheStatus::Miss
            };
            assert_eq!(status, Some(expected), "{block} blocks, {range:?}");
            let fetched = lake.stats().by_dataset["conf/far/v1"].bytes_remote - remote;
            if let Some(GetRange::Suffix(n)) = range {
                assert!(
                    fetched <= n,
                    "{block} blocks: a {n}-byte suffix fetched {fetched}"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn physical_memory_uris() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    conformance::run_all(&cat.lake()?, "memory://scratch/suite/").await
}

#[tokio::test]
async fn physical_file_uris() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let base = lakeroute::PhysicalUri::from_local_path(data.path())?.to_string() + "/";
    conformance::run_all(&cat.lake()?, &base).await
}

#[tokio::test]
async fn streaming_copy_between_stores() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let lake = cat.lake()?;
    // Larger than two parts, so the copy runs as a multipart upload on the way out.
    let size = 2 * lakeroute::PART_SIZE + 12_345;
    conformance::copy_between(&lake, "lake://conf/mem/v1/", "lake://conf/disk/v1/", size).await?;
    conformance::copy_between(&lake, "lake://conf/disk/v1/", "memory://other/", 1000).await
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
