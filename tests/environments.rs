//! Environments: a location per environment, read-only environments, and dev over prod.

use std::collections::BTreeMap;
use std::path::Path;

use lakeroute::{Error, Lake, conformance};
use lakeroute_tests::TempCatalog;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn catalog(data: &Path) -> std::io::Result<TempCatalog> {
    let settings = format!(
        "\
default_environment: prod
environments:
  prod: {{}}
  test:
    read_only: true
  dev:
    overlay_of: prod
    prefix: _env/dev
storage:
  disk:
    provider: local
    root: {root}
    environments:
      test: {{root: {root}/test-copy}}
  scratch:
    provider: memory
",
        root = data.display()
    );
    let sales = "\
entityName: sales
entityVersion: v1
domain: shop
coldStorage:
  format: parquet
  location: {storage: disk, prefix: sales}
  partitioningColumns: [country]
";
    let notes = "\
entityName: notes
entityVersion: v1
domain: shop
coldStorage:
  format: json
  location: {storage: disk, prefix: notes}
  environments:
    dev: {storage: scratch, prefix: notes}
";
    TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("shop/sales.yaml", sales),
        ("shop/notes.yaml", notes),
    ])
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

#[tokio::test]
async fn locations_follow_the_environment() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let prod = cat.lake()?;
    assert_eq!(prod.environment(), Some("prod"));
    let phys = |lake: &Lake, uri: &str| lake.resolve(uri).map(|r| r.physical().to_string());
    let root = lakeroute::PhysicalUri::from_local_path(data.path())?.to_string();
    assert_eq!(
        phys(&prod, "lake://shop/sales/v1/a")?,
        format!("{root}/sales/a")
    );
    let test = prod.with_environment("test")?;
    assert_eq!(
        phys(&test, "lake://shop/sales/v1/a")?,
        format!("{root}/test-copy/sales/a")
    );
    let dev = prod.with_environment("dev")?;
    assert_eq!(
        phys(&dev, "lake://shop/sales/v1/a")?,
        format!("{root}/_env/dev/sales/a")
    );
    assert_eq!(
        phys(&dev, "lake://shop/notes/v1/a")?,
        "memory://scratch/notes/a"
    );

    // test is read-only: every write is refused before it reaches a store.
    let err = test
        .put("lake://shop/sales/v1/a", "x".into())
        .await
        .err()
        .ok_or("write allowed")?;
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    assert!(test.delete("lake://shop/sales/v1/a").await.is_err());
    assert!(!data.path().join("test-copy/sales/a").exists());
    match prod.with_environment("staging") {
        Err(Error::UnknownEnvironment { known, .. }) => assert_eq!(known, ["dev", "prod", "test"]),
        other => return Err(format!("expected UnknownEnvironment, got {other:?}").into()),
    }
    Ok(())
}

/// A physical URI into a bucket that a profile serves uses that profile's settings for the
/// lake's environment (its credentials, here its folder), and a read-only environment refuses
/// writes to it as it does to datasets.
#[tokio::test]
async fn physical_uris_follow_the_environment_too() -> TestResult {
    let data = tempfile::tempdir()?;
    let root = data.path().display();
    let settings = format!(
        "\
default_environment: prod
environments:
  prod: {{}}
  test: {{read_only: true}}
  stage: {{}}
storage:
  stand-in:
    provider: local
    emulates: aws
    buckets: [acme]
    root: {root}/prod
    environments:
      stage: {{root: {root}/stage}}
      test: {{root: {root}/test}}
"
    );
    let cat = TempCatalog::new(&[("lakeroute.yaml", settings.as_str())])?;
    let prod = cat.lake()?;
    let phys = |lake: &Lake| {
        lake.resolve("s3://acme/k")
            .map(|r| r.physical().to_string())
    };
    let under = |dir: &str| -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let path = data.path().join(dir).join("acme/k");
        Ok(lakeroute::PhysicalUri::from_local_path(&path)?.to_string())
    };
    assert_eq!(phys(&prod)?, under("prod")?);
    let stage = prod.with_environment("stage")?;
    assert_eq!(phys(&stage)?, under("stage")?);
    stage.put("s3://acme/k", "staged".into()).await?;
    assert!(data.path().join("stage/acme/k").exists());
    assert!(!data.path().join("prod/acme/k").exists());
    let test = prod.with_environment("test")?;
    let err = test
        .put("s3://acme/k", "x".into())
        .await
        .err()
        .ok_or("a write to a bucket was allowed in a read-only environment")?;
    assert!(matches!(err, Error::ReadOnly { .. }), "{err:?}");
    assert!(!data.path().join("test/acme/k").exists());
    Ok(())
}

#[tokio::test]
async fn dev_reads_through_to_prod_and_never_changes_it() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let prod = cat.lake()?;
    for (k, v) in [
        ("country=IT/a.parquet", "prod a"),
        ("country=FR/b.parquet", "prod b"),
        ("c.json", "prod c"),
        ("d.json", "prod d"),
    ] {
        prod.put(
            &format!("lake://shop/sales/v1/{k}"),
            bytes::Bytes::from(v).into(),
        )
        .await?;
    }
    let before = snapshot(&data.path().join("sales"));

    let dev = prod.with_environment("dev")?;
    // Reads fall through.
    assert_eq!(
        dev.get("lake://shop/sales/v1/country=IT/a.parquet").await?,
        "prod a"
    );
    assert_eq!(dev.list_all("lake://shop/sales/v1/").await?.len(), 4);
    // A full write/delete workload in dev.
    dev.put("lake://shop/sales/v1/country=IT/a.parquet", "dev a".into())
        .await?;
    dev.put(
        "lake://shop/sales/v1/country=DE/new.parquet",
        "dev new".into(),
    )
    .await?;
    let mut big: &[u8] = &vec![3u8; lakeroute::PART_SIZE + 1000];
    dev.upload("lake://shop/sales/v1/big.bin", &mut big, None)
        .await?;
    dev.copy(
        "lake://shop/sales/v1/country=FR/b.parquet",
        "lake://shop/sales/v1/b-copy.parquet",
    )
    .await?;
    dev.rename(
        "lake://shop/sales/v1/c.json",
        "lake://shop/sales/v1/c-renamed.json",
    )
    .await?;
    dev.delete("lake://shop/sales/v1/d.json").await?;
    dev.delete("lake://shop/sales/v1/country=DE/new.parquet")
        .await?;
    match dev
        .put_if_absent("lake://shop/sales/v1/country=FR/b.parquet", "x".into())
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => return Err(format!("create-only over a prod object: {other:?}").into()),
    }
    dev.delete_prefix("lake://shop/sales/v1/country=IT/")
        .await?;
    conformance::run_all(&dev, "lake://shop/sales/v1/suite/").await?;

    // Nothing of prod changed, byte for byte.
    assert_eq!(
        snapshot(&data.path().join("sales")),
        before,
        "the overlay changed its parent"
    );
    assert_eq!(prod.list_all("lake://shop/sales/v1/").await?.len(), 4);
    // Dev sees its own writes over prod's objects.
    dev.put(
        "lake://shop/sales/v1/country=IT/a.parquet",
        "dev a again".into(),
    )
    .await?;
    assert_eq!(
        dev.get("lake://shop/sales/v1/country=IT/a.parquet").await?,
        "dev a again"
    );
    assert_eq!(
        prod.get("lake://shop/sales/v1/country=IT/a.parquet")
            .await?,
        "prod a"
    );
    assert_eq!(
        dev.get("lake://shop/sales/v1/b-copy.parquet").await?,
        "prod b"
    );
    assert!(data.path().join("_env/dev/sales/b-copy.parquet").is_file());
    Ok(())
}

#[test]
fn overlay_without_its_own_location_is_refused() -> TestResult {
    let settings = "\
environments:
  prod: {}
  dev: {overlay_of: prod}
  qa: {overlay_of: staging}
storage:
  m: {provider: memory}
";
    let ds = "entityName: x\nentityVersion: v1\ndomain: d\ncoldStorage:\n  format: csv\n  location: {storage: m, prefix: x}\n  environments:\n    nope: {storage: m, prefix: y}\n";
    let cat = TempCatalog::new(&[("lakeroute.yaml", settings), ("d/x.yaml", ds)])?;
    let (_, problems) = lakeroute::Catalog::check(cat.path())?;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("would write to prod's location in overlay environment dev")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("overlays unknown environment \"staging\"")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("names \"nope\", which lakeroute.yaml does not declare")),
        "{text:?}"
    );
    Ok(())
}
