//! Catalog loading and validation: the seed descriptor loads as written, and every kind of
//! problem is reported at once with file, line and column.

use lakeroute::{Catalog, DatasetId, Error, Lake, Provider};
use lakeroute_tests::{TempCatalog, descriptor, example_catalog};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SEED: &str = "\
version: v3
type: parallelread
entityName: customer
entityVersion: v1
domain: finance
description: customer data from the financial system
coldStorage:
  format: parquet
  location:
    bucket: finance-customer
    prefix: bronze
    provider: aws
  hasHistory: false
  partitioningColumns: [country]
columns:
  - name: fullName
    type: string
  - name: address
    type: string
    optional: true
";

#[test]
fn seed_descriptor_loads_as_written() -> TestResult {
    let cat = TempCatalog::new(&[("customer.yaml", SEED)])?;
    let catalog = Catalog::load(cat.path())?;
    let ds = catalog
        .dataset(&DatasetId::new("finance", "customer", 1)?)
        .ok_or("dataset missing")?;
    assert_eq!(ds.format, "parquet");
    assert_eq!(ds.partitioning_columns, ["country"]);
    assert_eq!(ds.columns.len(), 2);
    assert!(ds.columns[1].optional && !ds.columns[0].optional);
    assert_eq!(ds.kind.as_deref(), Some("parallelread"));
    assert!(!ds.has_history);
    // No profile declares the bucket: an implicit ambient AWS profile serves it.
    let profile = catalog.profile_of(ds)?;
    assert_eq!(profile.provider, Provider::Aws);
    assert_eq!(profile.bucket.as_deref(), Some("finance-customer"));
    let lake = Lake::new(catalog);
    let route = lake.resolve("lake://finance/customer/v1/country=IT/part-0.parquet")?;
    assert_eq!(
        route.physical().to_string(),
        "s3://finance-customer/bronze/country=IT/part-0.parquet"
    );
    Ok(())
}

#[test]
fn domain_comes_from_the_folder() -> TestResult {
    let text = SEED.replace("domain: finance\n", "");
    let cat = TempCatalog::new(&[("finance/customer.yaml", text.as_str())])?;
    let catalog = Catalog::load(cat.path())?;
    assert!(
        catalog
            .dataset(&DatasetId::new("finance", "customer", 1)?)
            .is_some()
    );
    // At the catalog root there is no folder to take it from.
    let cat = TempCatalog::new(&[("customer.yaml", text.as_str())])?;
    let (_, problems) = Catalog::check(cat.path())?;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("domain"), "{problems:?}");
    Ok(())
}

#[test]
fn inline_location_uses_the_declared_profile_or_its_stand_in() -> TestResult {
    let settings = "storage:\n  laptop:\n    provider: local\n    emulates: aws\n    root: data\n    buckets: [finance-customer]\n";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        ("finance/customer.yaml", SEED),
    ])?;
    let lake = cat.lake()?;
    let route = lake.resolve("lake://finance/customer/v1/x.parquet")?;
    let expect = lakeroute::PhysicalUri::from_local_path(
        cat.file("data/finance-customer/bronze/x.parquet"),
    )?;
    assert_eq!(route.physical(), expect);
    assert_eq!(route.profile(), Some("laptop"));
    // The physical name of the bucket reaches the same stand-in.
    let physical = lake.resolve("s3://finance-customer/bronze/x.parquet")?;
    assert_eq!(physical.physical(), expect);
    Ok(())
}

#[test]
fn validation_reports_every_problem_with_position() -> TestResult {
    let settings = "\
storage:
  mem:
    provider: memory
  cloud:
    provider: aws
    bucket: b
    regoin: us-east-1
";
    let broken_yaml = "entityName: x\ncoldStorage: [unclosed\n";
    let unknown_field = "\
entityName: orders
entityVersion: v1
colour: blue
coldStorage:
  format: parquet
  location: {storage: mem, prefix: orders}
";
    let missing = "entityName: nothing\n";
    let unknown_profile = "\
entityName: ghost
entityVersion: v1
coldStorage:
  format: parquet
  location:
    storage: mme
    prefix: ghost
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        ("sales/broken.yaml", broken_yaml),
        ("sales/orders.yaml", unknown_field),
        ("sales/missing.yaml", missing),
        ("sales/ghost.yaml", unknown_profile),
        (
            "sales/a.yaml",
            &descriptor("a", 1, "sales", "mem", "shared"),
        ),
        (
            "sales/b.yaml",
            &descriptor("b", 1, "sales", "mem", "shared"),
        ),
        (
            "sales/c.yaml",
            &descriptor("c", 1, "sales", "mem", "shared/inner"),
        ),
        (
            "sales/dup.yaml",
            &descriptor("a", 1, "sales", "mem", "elsewhere"),
        ),
    ])?;
    let (_, problems) = Catalog::check(cat.path())?;
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let find = |file: &str, needle: &str| {
        problems
            .iter()
            .find(|p| p.file.ends_with(file) && p.message.contains(needle))
            .map(|p| (p.line, p.column))
            .ok_or_else(|| {
                format!(
                    "no problem in {file} mentioning {needle:?}; got:\n{}",
                    shown.join("\n")
                )
            })
    };
    assert_eq!(find("lakeroute.yaml", "unknown field \"regoin\"")?, (7, 5));
    assert!(find("lakeroute.yaml", "did you mean \"region\"").is_ok());
    assert!(find("broken.yaml", "YAML syntax error")?.0 >= 2);
    assert_eq!(find("orders.yaml", "unknown field \"colour\"")?, (3, 1));
    assert!(find("missing.yaml", "missing required field \"entityVersion\"").is_ok());
    assert!(find("missing.yaml", "missing required field \"coldStorage\"").is_ok());
    assert_eq!(
        find("ghost.yaml", "unknown storage profile \"mme\"")?,
        (6, 14)
    );
    assert!(find("ghost.yaml", "did you mean \"mem\"").is_ok());
    assert!(find("b.yaml", "share the physical prefix").is_ok());
    assert!(find("c.yaml", "nest the physical prefix").is_ok());
    assert!(find("dup.yaml", "duplicate dataset sales/a/v1").is_ok());
    // Loading refuses the catalog and carries every problem.
    match Catalog::load(cat.path()) {
        Err(Error::InvalidCatalog { problems: p, .. }) => assert_eq!(p.len(), problems.len()),
        other => return Err(format!("expected InvalidCatalog, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn profile_problems_are_specific() -> TestResult {
    let settings = "\
storage:
  a:
    provider: gcs
  b:
    provider: azure
    account: acct
  c:
    provider: local
    root: x
    bucket: nope
  d:
    provider: aws
    bucket: b
    credentials:
      access_key_id: AKIA
  e:
    provider: azure
    account: acct
    container: c
    credentials: {account_key: a2V5, client_id: mi}
  f:
    provider: azure
    account: acct
    container: c
    credentials: {developer_tools: sometimes}
";
    let cat = TempCatalog::new(&[("lakeroute.yaml", settings)])?;
    let (_, problems) = Catalog::check(cat.path())?;
    let text: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
    let has = |s: &str| text.iter().any(|m| m.contains(s));
    assert!(has("unknown provider \"gcs\""), "{text:?}");
    assert!(has("provider azure needs \"container\""), "{text:?}");
    assert!(
        has("\"bucket\" does not apply to provider local"),
        "{text:?}"
    );
    assert!(
        has("give both access_key_id and secret_access_key"),
        "{text:?}"
    );
    assert!(
        has("client_id, tenant_id and developer_tools configure the Azure identity chain"),
        "{text:?}"
    );
    assert!(
        text.iter()
            .filter(|m| m.contains("developer_tools"))
            .count()
            >= 2,
        "a non-boolean developer_tools is a problem of its own: {text:?}"
    );
    Ok(())
}

#[test]
fn secrets_stay_out_of_debug_output() -> TestResult {
    let settings = "\
storage:
  d:
    provider: aws
    bucket: b
    credentials:
      access_key_id: AKIAEXAMPLE
      secret_access_key: very-secret-value-123
";
    let cat = TempCatalog::new(&[("lakeroute.yaml", settings)])?;
    let catalog = Catalog::load(cat.path())?;
    let debug = format!("{catalog:?}");
    assert!(debug.contains("AKIAEXAMPLE"));
    assert!(!debug.contains("very-secret-value-123"), "{debug}");
    Ok(())
}

/// A lake whose stores are built (resolving builds them, without I/O) holds the credentials
/// the catalog gives: none of them may show in its `Debug`, nor in a route's.
#[test]
fn built_stores_keep_secrets_out_of_debug_output() -> TestResult {
    let settings = "\
storage:
  sas:
    provider: azure
    account: acct
    container: c
    credentials: {sas_token: 'sv=2022-11-02&ss=b&sig=SASSIGNATURE123'}
  key:
    provider: azure
    account: acct
    container: d
    credentials: {account_key: QUNDT1VOVEtFWVNFQ1JFVDQ1Ng==}
  s3:
    provider: aws
    bucket: b
    region: eu-west-1
    credentials:
      access_key_id: AKIAEXAMPLE
      secret_access_key: very-secret-value-123
      session_token: SESSIONTOKEN789
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        ("a/x.yaml", descriptor("x", 1, "a", "sas", "p").as_str()),
        ("a/y.yaml", descriptor("y", 1, "a", "key", "p").as_str()),
        ("a/z.yaml", descriptor("z", 1, "a", "s3", "p").as_str()),
    ])?;
    let lake = Lake::from_catalog(cat.path())?;
    let mut shown = Vec::new();
    for uri in ["lake://a/x/v1/k", "lake://a/y/v1/k", "lake://a/z/v1/k"] {
        let route = lake.resolve(uri)?;
        shown.push(format!("{route:?}"));
    }
    shown.push(format!("{lake:?}"));
    shown.push(format!("{:?}", lake.store()));
    for text in &shown {
        for secret in [
            "SASSIGNATURE123",
            "QUNDT1VOVEtFWVNFQ1JFVDQ1Ng",
            "very-secret-value-123",
            "SESSIONTOKEN789",
        ] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
    Ok(())
}

#[test]
fn the_example_catalog_is_clean() -> TestResult {
    let (catalog, problems) = Catalog::check(&example_catalog())?;
    assert!(problems.is_empty(), "{problems:?}");
    let providers: Vec<Provider> = catalog
        .datasets()
        .map(|d| catalog.profile_of(d).map(|p| p.effective_provider()))
        .collect::<Result<_, _>>()?;
    assert!(providers.contains(&Provider::Aws) && providers.contains(&Provider::Azure));
    Ok(())
}

#[test]
fn the_servers_catalog_places_the_same_datasets_on_servers() -> TestResult {
    let dir = example_catalog().join("../catalog-servers");
    let catalog = Catalog::load(&dir)?;
    let (folders, _) = Catalog::check(&example_catalog())?;
    let ids = |c: &Catalog| c.datasets().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&catalog),
        ids(&folders),
        "descriptors: ../catalog reads the same datasets"
    );
    let lake = Lake::new(catalog);
    let route = lake.resolve("lake://finance/customer/v1/country=IT/part-0.parquet")?;
    assert_eq!(
        route.physical().to_string(),
        "s3://finance-customer/bronze/country=IT/part-0.parquet"
    );
    assert_eq!(route.profile(), Some("finance-customer"));
    let route = lake.resolve("lake://ecommerce/orders/v2/x")?;
    assert_eq!(
        route.physical().to_string(),
        "abfss://lake@devstoreaccount1.dfs.core.windows.net/ecommerce/orders/v2/x"
    );
    Ok(())
}

#[test]
fn mirror_locations_are_validated_too() -> TestResult {
    let settings = "storage:\n  a:\n    provider: memory\n  b:\n    provider: memory\n";
    let mirrored = "\
entityName: sales
entityVersion: v1
domain: d
coldStorage:
  format: parquet
  location: {storage: a, prefix: sales}
  mirror: {storage: b, prefix: taken, writes: sometimes}
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        ("d/sales.yaml", mirrored),
        (
            "d/other.yaml",
            &descriptor("other", 1, "d", "b", "taken/inner"),
        ),
    ])?;
    let (_, problems) = Catalog::check(cat.path())?;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("writes must be both or primary")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p.contains("d/sales/v1 (mirror)") && p.contains("nest")),
        "{text:?}"
    );
    Ok(())
}

#[test]
fn roles_come_from_the_dataset_then_the_domain_per_environment() -> TestResult {
    let settings = "\
default_environment: prod
environments: {prod: {}, dev: {prefix: dev}}
domains:
  finance:
    role_arn: arn:aws:iam::1:role/finance-prod
    environments:
      dev: {role_arn: \"arn:aws:iam::1:role/finance-dev\"}
storage:
  s3: {provider: aws, bucket: b, credentials: {profile: base}}
  keys: {provider: aws, bucket: c, credentials: {access_key_id: AKIA, secret_access_key: s}}
";
    let own = "entityName: own\nentityVersion: v1\ndomain: finance\nrole: {role_arn: \"arn:aws:iam::1:role/own\"}\ncoldStorage:\n  format: csv\n  location: {storage: s3, prefix: own}\n";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        (
            "finance/ledger.yaml",
            &descriptor("ledger", 1, "finance", "s3", "ledger"),
        ),
        ("finance/own.yaml", own),
        (
            "finance/static.yaml",
            &descriptor("static", 1, "finance", "keys", "static"),
        ),
        (
            "sales/orders.yaml",
            &descriptor("orders", 1, "sales", "s3", "orders"),
        ),
    ])?;
    let catalog = Catalog::load(cat.path())?;
    let role = |name: &str, env: &str| -> Result<Option<String>, Box<dyn std::error::Error>> {
        let id = DatasetId::new(
            name.split('/').next().unwrap_or_default(),
            name.split('/').nth(1).unwrap_or_default(),
            1,
        )?;
        let ds = catalog.dataset(&id).ok_or("no dataset")?;
        let (p, _) = catalog.effective_profile(ds, Some(env))?;
        Ok(match p.credentials {
            lakeroute::catalog::Credentials::AwsChain { role, profile } => {
                assert_eq!(profile.as_deref(), Some("base"), "the AWS profile is kept");
                role.map(|r| r.role_arn)
            }
            _ => None,
        })
    };
    assert_eq!(
        role("finance/ledger", "prod")?.as_deref(),
        Some("arn:aws:iam::1:role/finance-prod")
    );
    assert_eq!(
        role("finance/ledger", "dev")?.as_deref(),
        Some("arn:aws:iam::1:role/finance-dev")
    );
    assert_eq!(
        role("finance/own", "dev")?.as_deref(),
        Some("arn:aws:iam::1:role/own")
    );
    assert_eq!(
        role("sales/orders", "prod")?,
        None,
        "no role for other domains"
    );
    assert_eq!(
        role("finance/static", "prod")?,
        None,
        "static keys are not replaced by a role"
    );
    Ok(())
}

#[test]
fn cache_read_memory_is_a_duration_or_never() -> TestResult {
    let memory = |value: &str| -> Result<_, Box<dyn std::error::Error>> {
        let settings = format!("cache: {{max_bytes: 1GiB{value}}}\n");
        let cat = TempCatalog::new(&[("lakeroute.yaml", settings.as_str())])?;
        let (catalog, problems) = Catalog::check(cat.path())?;
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let memory = catalog
            .cache_settings()
            .map(|s| s.read_memory)
            .ok_or("no cache settings")?;
        Ok((memory, text))
    };
    let days = |d: u64| Some(std::time::Duration::from_secs(d * 86_400));
    assert_eq!(memory("")?, (days(30), vec![]), "the default: a month");
    assert_eq!(memory(", read_memory: 7d")?, (days(7), vec![]));
    assert_eq!(memory(", read_memory: never")?, (None, vec![]));
    for bad in ["soon", "0s", "-3d", "inf", "1e30d"] {
        let (memory, problems) = memory(&format!(", read_memory: {bad}"))?;
        assert_eq!(memory, days(30), "{bad}: the default stands");
        assert!(
            problems.len() == 1
                && problems[0].contains(&format!(
                    "cache: read_memory \"{bad}\" is not a duration; write 30d, 720h, or never"
                )),
            "{bad}: {problems:?}"
        );
    }
    Ok(())
}

#[test]
fn cache_medium_price_is_a_number_not_below_zero() -> TestResult {
    for (value, price, problem) in [
        ("0", 0.0, false),
        ("0.023", 0.023, false),
        ("-1", 0.08, true),
        ("inf", 0.08, true),
        ("cheap", 0.08, true),
    ] {
        let settings = format!("cache: {{max_bytes: 1GiB, medium_price: {value}}}\n");
        let cat = TempCatalog::new(&[("lakeroute.yaml", settings.as_str())])?;
        let (catalog, problems) = Catalog::check(cat.path())?;
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let got = catalog.cache_settings().map(|s| s.medium_price_gb_month);
        assert_eq!(got, Some(price), "{value}");
        assert_eq!(
            text.iter().any(|p| p.contains(&format!(
                "cache: medium_price \"{value}\" is not dollars per GB-month (a number, 0 or more)"
            ))),
            problem,
            "{value}: {text:?}"
        );
    }
    Ok(())
}
