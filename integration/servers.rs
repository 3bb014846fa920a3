//! lakeroute against real servers: moto for S3 and Azurite for Azure Blob, started by
//! `integration/start`. Every test works below a fresh prefix and removes what it wrote.

use lakeroute::conformance;
use lakeroute_integration::{ItCatalog, descriptor, servers};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const MIB: usize = 1024 * 1024;

fn catalog(s: &lakeroute_integration::Servers) -> std::io::Result<ItCatalog> {
    let mirrored = "  mirror: {storage: azure, prefix: mirror-of-s3}\n";
    ItCatalog::new(
        s,
        &s.s3,
        "",
        &[
            (
                "it/s3.yaml",
                descriptor("it", "s3", "s3", "conformance", ""),
            ),
            (
                "it/azure.yaml",
                descriptor("it", "azure", "azure", "conformance", ""),
            ),
            (
                "it/local.yaml",
                descriptor("it", "local", "local", "conformance", ""),
            ),
            (
                "it/mirrored.yaml",
                descriptor("it", "mirrored", "s3", "mirrored", mirrored),
            ),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_s3() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    // moto checks `If-None-Match: *` and stores in two steps, with no lock between.
    conformance::run_extended(&lake, "lake://it/s3/v1/", 65 * MIB, false).await?;
    // The same store addressed physically.
    conformance::run_all(&lake, "s3://lakeroute-it/physical/").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_azure() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    conformance::run_extended(&lake, "lake://it/azure/v1/", 65 * MIB, true).await?;
    conformance::run_all(
        &lake,
        "abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/physical/",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_mirrored_s3_to_azure() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    conformance::run_extended(&lake, "lake://it/mirrored/v1/", 20 * MIB, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_streams_between_every_pair_of_clouds() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    let big = 2 * lakeroute::PART_SIZE + 77_777;
    let (aws, azure, local) = (
        "lake://it/s3/v1/",
        "lake://it/azure/v1/",
        "lake://it/local/v1/",
    );
    conformance::copy_between(&lake, aws, azure, big).await?;
    conformance::copy_between(&lake, azure, aws, big).await?;
    conformance::copy_between(&lake, aws, local, 3 * MIB).await?;
    conformance::copy_between(&lake, local, azure, 3 * MIB).await?;
    // Physical URIs on both ends, as `lakeroute cp s3://... abfss://...` uses them.
    conformance::copy_between(
        &lake,
        "s3://lakeroute-it/xcopy/",
        "abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/xcopy/",
        1000,
    )
    .await
}

async fn seed(lake: &lakeroute::Lake, base: &str, objects: &[(&str, usize)]) -> TestResult {
    for (i, (key, size)) in objects.iter().enumerate() {
        let data = conformance::pattern(*size, i as u64 + 1);
        let mut reader: &[u8] = &data;
        lake.upload(&format!("{base}{key}"), &mut reader, None)
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_copies_what_differs_and_nothing_twice() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    let run = lakeroute_integration::run_id();
    let (src, dst) = (
        format!("lake://it/s3/v1/{run}/"),
        format!("lake://it/azure/v1/{run}/"),
    );
    let objects = [
        ("a.parquet", 1000),
        ("country=IT/b.parquet", 20_000),
        ("country=FR/c d.parquet", 3 * MIB),
        ("empty", 0),
    ];
    seed(&lake, &src, &objects).await?;

    let first = lake.sync(&src, &dst).await?;
    assert_eq!((first.copied, first.skipped), (4, 0), "{first:?}");
    for (key, _) in objects {
        let (a, b) = (
            lake.get(&format!("{src}{key}")).await?,
            lake.get(&format!("{dst}{key}")).await?,
        );
        assert!(a == b, "{key} differs after sync");
    }
    let second = lake.sync(&src, &dst).await?;
    assert_eq!(
        (second.copied, second.bytes, second.skipped),
        (0, 0, 4),
        "a second run must transfer nothing"
    );

    // A changed source object, and one changed behind sync's back at the destination.
    lake.put(
        &format!("{src}a.parquet"),
        bytes::Bytes::from_static(b"new content").into(),
    )
    .await?;
    lake.put(
        &format!("{dst}country=IT/b.parquet"),
        bytes::Bytes::from(vec![0u8; 20_000]).into(),
    )
    .await?;
    let third = lake.sync(&src, &dst).await?;
    assert_eq!((third.copied, third.skipped), (2, 2), "{third:?}");
    assert_eq!(lake.get(&format!("{dst}a.parquet")).await?, "new content");

    // S3 to S3 needs no manifest: equal MD5 ETags already prove the bytes equal.
    let dst2 = format!("s3://lakeroute-it-2/{run}/");
    assert_eq!(lake.sync(&src, &dst2).await?.copied, 4);
    lake.delete(&format!("{dst2}{}", lakeroute::SYNC_MANIFEST))
        .await?;
    assert_eq!(lake.sync(&src, &dst2).await?.copied, 0);

    for prefix in [&src, &dst, &dst2] {
        lake.delete_prefix(prefix).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_that_fails_midway_leaves_no_partial_object_and_reruns_to_completion() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let mut moto = lakeroute_integration::PrivateMoto::start(&s)?;
    let extra = lakeroute_integration::fast_failing_s3_profile("flaky", &moto.endpoint());
    let cat = ItCatalog::new(
        &s,
        &s.s3,
        &extra,
        &[
            (
                "it/flaky.yaml",
                descriptor("it", "flaky", "flaky", "data", ""),
            ),
            (
                "it/azure.yaml",
                descriptor("it", "azure", "azure", "conformance", ""),
            ),
        ],
    )?;
    let lake = cat.lake()?;
    let run = lakeroute_integration::run_id();
    let (src, dst) = (
        "lake://it/flaky/v1/".to_string(),
        format!("lake://it/azure/v1/{run}/"),
    );
    let objects = [
        ("a0", 100_000),
        ("a1", 100_000),
        ("a2", 100_000),
        ("z-big", 160 * MIB),
    ];
    seed(&lake, &src, &objects).await?;

    let task = {
        let (lake, src, dst) = (lake.clone(), src.clone(), dst.clone());
        tokio::spawn(async move { lake.sync(&src, &dst).await })
    };
    // Stop the source once the small objects have landed and the big one is on its way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while lake.list_all(&dst).await?.len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the small objects never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    moto.stop();
    let outcome = task.await?;
    assert!(
        outcome.is_err(),
        "sync kept going with its source down: {outcome:?}"
    );

    let landed: Vec<String> = lake
        .list_all(&dst)
        .await?
        .into_iter()
        .map(|o| o.uri)
        .collect();
    let big = format!("{dst}z-big");
    assert!(
        !landed.contains(&big),
        "a partial object was left at the destination"
    );
    assert!(
        landed.contains(&format!("{dst}{}", lakeroute::SYNC_MANIFEST)),
        "finished work was not recorded: {landed:?}"
    );

    // The source comes back (moto keeps nothing, so it is seeded again with the same bytes).
    moto.restart()?;
    seed(&lake, &src, &objects).await?;
    let rerun = lake.sync(&src, &dst).await?;
    assert_eq!((rerun.copied, rerun.skipped), (1, 3), "{rerun:?}");
    assert_eq!(lake.head(&big).await?.size, 160 * MIB as u64);
    let again = lake.sync(&src, &dst).await?;
    assert_eq!(again.bytes, 0);
    lake.delete_prefix(&dst).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mirrored_dataset_reads_fail_over_when_s3_stops() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let mut moto = lakeroute_integration::PrivateMoto::start(&s)?;
    let extra = lakeroute_integration::fast_failing_s3_profile("primary", &moto.endpoint());
    let run = lakeroute_integration::run_id();
    let mirror = format!("  mirror:\n    storage: azure\n    prefix: mirrors/{run}/sales\n");
    let lazy = format!(
        "  mirror:\n    storage: azure\n    prefix: mirrors/{run}/lazy\n    writes: primary\n"
    );
    let cat = ItCatalog::new(
        &s,
        &s.s3,
        &extra,
        &[
            (
                "it/sales.yaml",
                descriptor("it", "sales", "primary", "sales", &mirror),
            ),
            (
                "it/lazy.yaml",
                descriptor("it", "lazy", "primary", "lazy", &lazy),
            ),
        ],
    )?;
    let lake = cat.lake()?;
    let big = conformance::pattern(2 * lakeroute::PART_SIZE + 5, 9);
    lake.put(
        "lake://it/sales/v1/day=1/part-0.parquet",
        bytes::Bytes::from_static(b"day one").into(),
    )
    .await?;
    let mut reader: &[u8] = &big;
    lake.upload("lake://it/sales/v1/day=2/big.parquet", &mut reader, None)
        .await?;

    // Both writes reached both clouds.
    let azure_root =
        format!("abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/mirrors/{run}/sales/");
    assert_eq!(
        lake.get(&format!("{azure_root}day=1/part-0.parquet"))
            .await?,
        "day one"
    );
    assert!(lake.get(&format!("{azure_root}day=2/big.parquet")).await? == big);

    let (bytes, served) = lake
        .get_served("lake://it/sales/v1/day=1/part-0.parquet")
        .await?;
    assert_eq!(bytes, "day one");
    assert!(
        !served.failover && served.location.starts_with("s3://lakeroute-it/sales"),
        "{served:?}"
    );

    // The lazily mirrored dataset is brought up by sync.
    lake.put(
        "lake://it/lazy/v1/x.csv",
        bytes::Bytes::from_static(b"lazy").into(),
    )
    .await?;
    let azure_lazy = format!(
        "abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/mirrors/{run}/lazy/x.csv"
    );
    assert!(
        lake.head(&azure_lazy).await.is_err(),
        "writes: primary must not write the mirror"
    );
    assert_eq!(lake.sync_mirror("lake://it/lazy/v1").await?.copied, 1);

    moto.stop();
    let started = std::time::Instant::now();
    let (bytes, served) = lake
        .get_served("lake://it/sales/v1/day=1/part-0.parquet")
        .await?;
    assert_eq!(bytes, "day one");
    assert!(served.failover, "{served:?}");
    assert!(
        served
            .location
            .starts_with("abfss://lakeroute-it@devstoreaccount1"),
        "{served:?}"
    );
    assert!(lake.get("lake://it/sales/v1/day=2/big.parquet").await? == big);
    assert_eq!(
        lake.get_range("lake://it/sales/v1/day=2/big.parquet", 10..20)
            .await?,
        big.slice(10..20)
    );
    assert_eq!(
        lake.head("lake://it/sales/v1/day=1/part-0.parquet")
            .await?
            .size,
        7
    );
    let listed = lake.list_all("lake://it/sales/v1/").await?;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].uri, "lake://it/sales/v1/day=1/part-0.parquet");
    assert_eq!(lake.get("lake://it/lazy/v1/x.csv").await?, "lazy");
    eprintln!("fail-over reads with S3 down took {:?}", started.elapsed());
    // Writes need the primary: they fail, and say so.
    let err = lake
        .put(
            "lake://it/sales/v1/new",
            bytes::Bytes::from_static(b"x").into(),
        )
        .await;
    assert!(err.is_err());
    lake.delete_prefix(&format!(
        "abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/mirrors/{run}/"
    ))
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_has_no_suffix_ranges() -> TestResult {
    use lakeroute::object_store::{GetOptions, GetRange};
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    let run = lakeroute_integration::run_id();
    for (base, supported) in [("lake://it/s3/v1/", true), ("lake://it/azure/v1/", false)] {
        let uri = format!("{base}{run}/suffix.bin");
        lake.put(&uri, bytes::Bytes::from_static(b"0123456789").into())
            .await?;
        let opts = GetOptions::new().with_range(Some(GetRange::Suffix(3)));
        match (lake.get_opts(&uri, opts).await, supported) {
            (Ok(r), true) => assert_eq!(r.bytes().await?, "789"),
            (Err(lakeroute::Error::Unsupported { .. }), false) => {
                eprintln!("Azure Blob Storage: suffix ranges are not supported (as documented)");
            }
            (other, _) => {
                return Err(format!(
                    "{uri}: suffix range: unexpected {:?}",
                    other.map(|r| r.meta)
                )
                .into());
            }
        }
        lake.delete(&uri).await?;
    }
    Ok(())
}
