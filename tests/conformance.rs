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

#[tokio::test]
async fn cached_cross_cloud_dataset_through_lake_uris() -> TestResult {
    // The folder stands in for AWS and this process computes on Azure: every read crosses
    // clouds, so the cache keeps it. The suite must not be able to tell.
    let data = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    let settings = format!(
        "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: 256MiB, block_size: 256KiB, freshness: strict}}\nstorage:\n  aws:\n    provider: local\n    emulates: aws\n    region: us-east-1\n    root: {}\n",
        cache.path().display(),
        data.path().display()
    );
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("conf/far.yaml", &descriptor("far", 1, "conf", "aws", "far")),
    ])?;
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
