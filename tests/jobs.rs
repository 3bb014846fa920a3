//! Job descriptors: the seed job plans with correct URIs and settings for an AWS and an Azure
//! cluster, clusters are ranked by egress, and job problems are reported with positions.

use lakeroute::Lake;
use lakeroute::plan::PlanOptions;
use lakeroute_tests::TempCatalog;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const HELLOWORLD: &str = "\
specVersion: v1
name: helloworld
sources:
  - domain: Finance
    name: customer
    version: v1
  - domain: Ecommerce
    name: orders
    version: v2
sink:
  domain: Marketing
  name: most_spending_customer
  version: v1
framework:
  kind: spark-3.4.1-k8s-livy-scala
  cluster: azure1
  entrypointClass: io.contoso.app.HelloWorld
  dependencies: []
";

const CUSTOMER: &str = "\
version: v3
type: parallelread
entityName: customer
entityVersion: v1
domain: finance
coldStorage:
  format: parquet
  location:
    bucket: finance-customer
    prefix: bronze
    provider: aws
  partitioningColumns: [country]
";

fn descriptor(domain: &str, name: &str, version: u32, profile: &str, prefix: &str) -> String {
    format!(
        "entityName: {name}\nentityVersion: v{version}\ndomain: {domain}\ncoldStorage:\n  format: parquet\n  location: {{storage: {profile}, prefix: {prefix}}}\n"
    )
}

/// Real cloud profiles; the plan runs with `skip_sizes`, so nothing is contacted.
fn cloud_catalog() -> std::io::Result<TempCatalog> {
    let settings = "\
clusters:
  azure1: {provider: azure, region: westeurope, engine: spark-3.4.1}
  aws1: {provider: aws, region: us-east-1, engine: spark-3.4.1}
storage:
  shop:
    provider: azure
    account: contososhop
    container: lake
    region: westeurope
  marketing:
    provider: azure
    account: contosomkt
    container: gold
    region: westeurope
    credentials: {account_key: c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=}
  finance-customer:
    provider: aws
    bucket: finance-customer
    region: us-east-1
    credentials: {access_key_id: AKIAEXAMPLE, secret_access_key: never-print-this-secret}
";
    TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        ("finance/customer.yaml", CUSTOMER),
        (
            "ecommerce/orders.yaml",
            &descriptor("ecommerce", "orders", 2, "shop", "orders"),
        ),
        (
            "marketing/msc.yaml",
            &descriptor("marketing", "most_spending_customer", 1, "marketing", "msc"),
        ),
        ("jobs/helloworld.yaml", HELLOWORLD),
    ])
}

#[tokio::test]
async fn the_seed_job_plans_for_an_azure_and_an_aws_cluster() -> TestResult {
    let cat = cloud_catalog()?;
    let lake = cat.lake()?;
    assert_eq!(
        lake.catalog().jobs().len(),
        1,
        "the job in the catalog folder is found and valid"
    );
    let job = lake.load_job(&cat.file("jobs/helloworld.yaml"))?;
    let offline = PlanOptions::default().with_skip_sizes(true);

    let plan = lake.plan(&job, &offline).await?;
    assert_eq!(plan.cluster.name, "azure1");
    let customer = &plan.sources[0];
    assert_eq!(customer.spark_uri, "s3a://finance-customer/bronze/");
    assert_eq!(customer.object_store_uri, "s3://finance-customer/bronze/");
    assert_eq!(
        customer.spark_conf["spark.hadoop.fs.s3a.bucket.finance-customer.endpoint.region"],
        "us-east-1"
    );
    assert_eq!(
        customer.spark_conf["spark.hadoop.fs.s3a.bucket.finance-customer.aws.credentials.provider"],
        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
    );
    assert_eq!(customer.storage_options["aws_region"], "us-east-1");
    assert!(customer.credentials.contains("not inlined"));
    assert_eq!(
        customer.egress_per_gb, 0.09,
        "aws to azure is internet egress"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("cross-cloud read: lake://finance/customer/v1"))
    );

    let orders = &plan.sources[1];
    assert_eq!(
        orders.spark_uri,
        "abfss://lake@contososhop.dfs.core.windows.net/orders/"
    );
    assert_eq!(
        orders.spark_conf["spark.hadoop.fs.azure.account.auth.type.contososhop.dfs.core.windows.net"],
        "OAuth"
    );
    assert_eq!(
        orders.spark_conf["spark.hadoop.fs.azure.account.oauth.provider.type.contososhop.dfs.core.windows.net"],
        "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider"
    );
    assert_eq!(
        orders.storage_options["azure_storage_account_name"],
        "contososhop"
    );
    assert_eq!(orders.fsspec_uri, "abfs://lake/orders/");
    assert_eq!(orders.fsspec_options["account_name"], "contososhop");
    assert_eq!(orders.egress_per_gb, 0.0, "same region, same cloud");
    let sink = plan.sink.as_ref().ok_or("no sink")?;
    assert_eq!(sink.role, "read-write");
    assert_eq!(
        sink.spark_uri,
        "abfss://gold@contosomkt.dfs.core.windows.net/msc/"
    );

    // Nothing secret in the plan unless asked for.
    let text = plan.to_json().to_string();
    assert!(
        !text.contains("never-print-this-secret")
            && !text.contains("c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ="),
        "{text}"
    );
    let inlined = lake
        .plan(&job, &offline.clone().with_inline_credentials(true))
        .await?;
    let text = inlined.to_json().to_string();
    assert!(
        text.contains("never-print-this-secret")
            && text.contains("c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=")
    );

    // The same job on the AWS cluster: the Azure data now crosses clouds.
    let plan = lake
        .plan(&job, &offline.clone().with_cluster("aws1"))
        .await?;
    assert_eq!(plan.sources[0].egress_per_gb, 0.0);
    assert_eq!(plan.sources[1].egress_per_gb, 0.0875);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("cross-cloud write"))
    );
    Ok(())
}

/// A domain's role and managed identity reach the engines' settings, as they reach requests.
#[tokio::test]
async fn domain_identities_reach_the_engine_settings() -> TestResult {
    let settings = "\
clusters:
  azure1: {provider: azure, region: westeurope, engine: spark-3.4.1}
domains:
  finance: {role_arn: \"arn:aws:iam::123456789012:role/finance-prod\", session_name: finance}
  ecommerce: {azure_client_id: shop-mi}
storage:
  s3lake: {provider: aws, bucket: finance-customer, region: us-east-1}
  shop: {provider: azure, account: contososhop, container: lake, region: westeurope}
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        (
            "finance/customer.yaml",
            &descriptor("finance", "customer", 1, "s3lake", "bronze"),
        ),
        (
            "ecommerce/orders.yaml",
            &descriptor("ecommerce", "orders", 2, "shop", "orders"),
        ),
        (
            "marketing/msc.yaml",
            &descriptor("marketing", "most_spending_customer", 1, "shop", "msc"),
        ),
        ("jobs/helloworld.yaml", HELLOWORLD),
    ])?;
    let lake = cat.lake()?;
    let job = lake.load_job(&cat.file("jobs/helloworld.yaml"))?;
    let plan = lake
        .plan(&job, &PlanOptions::default().with_skip_sizes(true))
        .await?;
    let customer = &plan.sources[0];
    let s3a = |k: &str| format!("spark.hadoop.fs.s3a.bucket.finance-customer.{k}");
    assert_eq!(
        customer.spark_conf[&s3a("assumed.role.arn")],
        "arn:aws:iam::123456789012:role/finance-prod"
    );
    assert_eq!(
        customer.spark_conf[&s3a("assumed.role.session.name")],
        "finance"
    );
    assert_eq!(
        customer.spark_conf[&s3a("aws.credentials.provider")],
        "org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider"
    );
    let orders = &plan.sources[1];
    assert_eq!(
        orders.spark_conf["spark.hadoop.fs.azure.account.oauth2.client.id.contososhop.dfs.core.windows.net"],
        "shop-mi"
    );
    assert_eq!(orders.storage_options["azure_client_id"], "shop-mi");
    assert_eq!(orders.fsspec_options["client_id"], "shop-mi");
    let sink = plan.sink.as_ref().ok_or("no sink")?;
    assert!(
        !sink.storage_options.contains_key("azure_client_id"),
        "marketing has no identity of its own"
    );
    Ok(())
}

/// Three clusters, 1 MiB of customers on a stand-in for AWS (us-east-1) and 10 MiB of orders
/// on one for Azure (westeurope), with the HELLOWORLD job (plus `job_extra`) in `job.yaml`.
async fn priced_lake(
    data: &std::path::Path,
    job_extra: &str,
) -> Result<(TempCatalog, Lake, lakeroute::Job), Box<dyn std::error::Error + Send + Sync>> {
    let settings = format!(
        "\
clusters:
  azure1: {{provider: azure, region: westeurope}}
  azure-us: {{provider: azure, region: eastus}}
  aws1: {{provider: aws, region: us-east-1}}
prices:
  egress_cross_region: {{azure: 0.05}}
storage:
  aws-lake: {{provider: local, emulates: aws, region: us-east-1, root: {root}/aws, buckets: [finance-customer]}}
  azure-lake: {{provider: local, emulates: azure, region: westeurope, root: {root}/azure}}
",
        root = data.display()
    );
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("finance/customer.yaml", CUSTOMER),
        (
            "ecommerce/orders.yaml",
            &descriptor("ecommerce", "orders", 2, "azure-lake", "orders"),
        ),
        (
            "marketing/msc.yaml",
            &descriptor(
                "marketing",
                "most_spending_customer",
                1,
                "azure-lake",
                "msc",
            ),
        ),
    ])?;
    let lake = Lake::from_catalog(cat.path())?;
    // 1 MiB of customers on "aws", 10 MiB of orders on "azure".
    lake.put(
        "lake://finance/customer/v1/country=IT/a.parquet",
        vec![0u8; 1 << 20].into(),
    )
    .await?;
    lake.put(
        "lake://ecommerce/orders/v2/day=1/b.parquet",
        vec![0u8; 10 << 20].into(),
    )
    .await?;
    std::fs::write(cat.file("job.yaml"), format!("{HELLOWORLD}{job_extra}"))?;
    let job = lake.load_job(&cat.file("job.yaml"))?;
    Ok((cat, lake, job))
}

#[tokio::test]
async fn advice_ranks_clusters_by_egress_dollars() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake, job) = priced_lake(data.path(), "").await?;
    let advice = lake.advise(&job).await?;
    let order: Vec<&str> = advice.iter().map(|a| a.cluster.name.as_str()).collect();
    assert_eq!(order, ["azure1", "azure-us", "aws1"], "{advice:?}");
    let gb = 1024.0 * 1024.0 * 1024.0;
    assert!((advice[0].egress_dollars - (1 << 20) as f64 / gb * 0.09).abs() < 1e-12);
    // The catalog's price override applies: westeurope -> eastus at $0.05/GB.
    assert!(
        (advice[1].egress_dollars - ((1 << 20) as f64 * 0.09 + (10 << 20) as f64 * 0.05) / gb)
            .abs()
            < 1e-12
    );
    assert!((advice[2].egress_dollars - (10 << 20) as f64 / gb * 0.0875).abs() < 1e-12);
    assert!(
        advice.iter().all(|a| a.within_budget == Some(true)),
        "no budget set"
    );
    Ok(())
}

#[tokio::test]
async fn a_job_budget_refuses_a_plan_over_it() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake, job) = priced_lake(data.path(), "budget: {egress_bytes: 4MiB}\n").await?;
    // On azure1 only the 1 MiB of customers crosses: within the budget.
    let plan = lake.plan(&job, &PlanOptions::default()).await?;
    assert_eq!(plan.budget.bytes, Some(4 << 20));
    assert_eq!(plan.to_json()["egress"]["budget"]["bytes"], 4 << 20);
    // On azure-us the orders cross too: refused, naming them, what came before and the budget.
    let over = lake
        .plan(&job, &PlanOptions::default().with_cluster("azure-us"))
        .await;
    match over {
        Err(lakeroute::Error::JobOverBudget {
            job,
            dataset,
            budget,
            spent,
            needed,
        }) => {
            assert_eq!(
                (job.as_str(), dataset.as_str(), budget.as_str()),
                ("helloworld", "ecommerce/orders/v2", "4194304 bytes")
            );
            assert!(spent.starts_with("1048576 bytes"), "{spent}");
            assert!(needed.starts_with("10485760 bytes"), "{needed}");
        }
        other => return Err(format!("expected JobOverBudget, got {other:?}").into()),
    }
    // Advice still ranks every cluster, and says which fit.
    let fits: Vec<(String, Option<bool>)> = lake
        .advise(&job)
        .await?
        .into_iter()
        .map(|a| (a.cluster.name, a.within_budget))
        .collect();
    assert_eq!(
        fits,
        [
            ("azure1".to_string(), Some(true)),
            ("azure-us".to_string(), Some(false)),
            ("aws1".to_string(), Some(false))
        ]
    );
    // Without sizes the budget cannot be checked: refused, saying so.
    let err = lake
        .plan(&job, &PlanOptions::default().with_skip_sizes(true))
        .await
        .err()
        .ok_or("planned without sizes")?
        .to_string();
    assert!(
        err.contains("its budget cannot be checked") && err.contains("lake://finance/customer/v1 "),
        "{err}"
    );
    // A dollar budget: 1 MiB at $0.09/GB is about $0.000088.
    let (_cat, lake, job) = priced_lake(data.path(), "budget: {egress_dollars: 0.00005}\n").await?;
    let err = lake
        .plan(&job, &PlanOptions::default())
        .await
        .err()
        .ok_or("over a dollar budget")?
        .to_string();
    assert!(
        err.contains("egress budget $0.00005")
            && err.contains("finance/customer/v1")
            && err.contains("in the job descriptor"),
        "{err}"
    );
    Ok(())
}

#[test]
fn job_problems_are_reported_with_positions() -> TestResult {
    let job = "\
specVersion: v1
name: broken
sources:
  - domain: finance
    name: custmer
    version: v1
sink:
  domain: marketing
  name: most_spending_customer
  version: v1
framework:
  kind: spark
  cluster: azure9
  colour: blue
budget: {egress_bytes: lots}
";
    let settings = "\
default_environment: prod
environments:
  prod: {read_only: true}
clusters:
  azure1: {provider: azure, region: westeurope}
storage:
  m: {provider: memory}
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        (
            "finance/customer.yaml",
            &descriptor("finance", "customer", 1, "m", "c"),
        ),
        (
            "marketing/msc.yaml",
            &descriptor("marketing", "most_spending_customer", 1, "m", "msc"),
        ),
        ("jobs/broken.yaml", job),
    ])?;
    let (_, problems) = lakeroute::Catalog::check(cat.path())?;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|p| p.contains(needle));
    assert!(
        has(
            "broken.yaml:4:5: source finance/custmer/v1 is not declared in the catalog; did you mean finance/customer/v1?"
        ),
        "{text:?}"
    );
    assert!(
        has("broken.yaml:13:12: unknown cluster \"azure9\"; declared clusters: azure1"),
        "{text:?}"
    );
    assert!(
        has(
            "broken.yaml:8:3: sink marketing/most_spending_customer/v1 is not writable: environment \"prod\" is read-only"
        ),
        "{text:?}"
    );
    assert!(
        has("broken.yaml:14:3: framework: unknown field \"colour\""),
        "{text:?}"
    );
    assert!(
        has("broken.yaml:15:24: budget: egress_bytes \"lots\" is not a size"),
        "{text:?}"
    );
    Ok(())
}

/// A job runs in the environment its descriptor names, and its engine settings match the engine
/// and the keys as stored: Spark 4's AWS SDK v2 chain, a SAS token for hadoop-azure, keys with
/// spaces written as they are for Spark and fsspec and percent-encoded only in object_store's
/// URL.
#[tokio::test]
async fn a_job_is_planned_in_its_environment_with_its_engines_settings() -> TestResult {
    let settings = "\
default_environment: prod
environments:
  prod: {}
  dev: {prefix: _env/dev}
clusters:
  aws4: {provider: aws, region: us-east-1, engine: spark-4.0.0}
storage:
  raw:
    provider: aws
    bucket: acme-raw
    region: us-east-1
  gold:
    provider: azure
    account: acmegold
    container: gold
    region: westeurope
    credentials: {sas_token: '?sv=2022-11-02&sig=SIGNATURE'}
";
    let job = "\
specVersion: v1
name: nightly
environment: dev
sources:
  - {domain: finance, name: customer, version: v1}
sink: {domain: marketing, name: scores, version: v1}
framework: {kind: spark, cluster: aws4}
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        (
            "finance/customer.yaml",
            &descriptor("finance", "customer", 1, "raw", "raw data"),
        ),
        (
            "marketing/scores.yaml",
            &descriptor("marketing", "scores", 1, "gold", "scores"),
        ),
        ("jobs/nightly.yaml", job),
    ])?;
    let lake = cat.lake()?;
    assert_eq!(lake.environment(), Some("prod"));
    let job = lake.load_job(&cat.file("jobs/nightly.yaml"))?;
    let offline = PlanOptions::default().with_skip_sizes(true);
    let plan = lake.plan(&job, &offline).await?;
    assert_eq!(plan.environment.as_deref(), Some("dev"));
    let source = &plan.sources[0];
    assert_eq!(source.spark_uri, "s3a://acme-raw/_env/dev/raw data/");
    assert_eq!(source.fsspec_uri, "s3://acme-raw/_env/dev/raw data/");
    assert_eq!(
        source.object_store_uri,
        "s3://acme-raw/_env/dev/raw%20data/"
    );
    assert_eq!(
        source.spark_conf["spark.hadoop.fs.s3a.bucket.acme-raw.aws.credentials.provider"],
        "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
    );
    let sink = plan.sink.as_ref().ok_or("no sink planned")?;
    assert!(
        sink.spark_uri.contains("/_env/dev/scores/"),
        "{}",
        sink.spark_uri
    );
    let host = "acmegold.dfs.core.windows.net";
    assert_eq!(
        sink.spark_conf[&format!("spark.hadoop.fs.azure.account.auth.type.{host}")],
        "SAS"
    );
    assert!(!sink.spark_conf.values().any(|v| v.contains("SIGNATURE")));
    let inline = lake
        .plan(&job, &offline.clone().with_inline_credentials(true))
        .await?;
    let sink = inline.sink.as_ref().ok_or("no sink planned")?;
    assert_eq!(
        sink.spark_conf[&format!("spark.hadoop.fs.azure.sas.fixed.token.{host}")],
        "sv=2022-11-02&sig=SIGNATURE"
    );
    Ok(())
}

#[test]
fn a_profiles_settings_for_an_undeclared_environment_are_a_problem() -> TestResult {
    let settings = "\
default_environment: prod
environments:
  prod: {}
storage:
  lake:
    provider: memory
    environments:
      prdo: {prefix: other}
";
    let cat = TempCatalog::new(&[("lakeroute.yaml", settings)])?;
    let (_, problems) = lakeroute::Catalog::check(cat.path())?;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|p| p.contains(
            "storage profile \"lake\" has settings for environment \"prdo\", which lakeroute.yaml does not declare under environments:; did you mean \"prod\"?"
        )),
        "{text:?}"
    );
    Ok(())
}

/// In an overlay environment a job's sources are planned where the parent keeps them (an engine
/// cannot fall through to the parent as lakeroute's own reads do), and its sink in the overlay.
#[tokio::test]
async fn an_overlay_job_reads_the_parents_data_and_writes_its_own() -> TestResult {
    let settings = "\
default_environment: prod
environments:
  prod: {}
  dev: {overlay_of: prod, prefix: _env/dev}
clusters:
  aws1: {provider: aws, region: us-east-1, engine: spark-3.5.1}
storage:
  raw: {provider: aws, bucket: acme-raw, region: us-east-1}
";
    let job = "\
specVersion: v1
name: trial
sources:
  - {domain: finance, name: customer, version: v1}
sink: {domain: marketing, name: scores, version: v1}
framework: {kind: spark, cluster: aws1}
";
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings),
        (
            "finance/customer.yaml",
            &descriptor("finance", "customer", 1, "raw", "customer"),
        ),
        (
            "marketing/scores.yaml",
            &descriptor("marketing", "scores", 1, "raw", "scores"),
        ),
        ("jobs/trial.yaml", job),
    ])?;
    let dev = cat.lake()?.with_environment("dev")?;
    let job = dev.load_job(&cat.file("jobs/trial.yaml"))?;
    let plan = dev
        .plan(&job, &PlanOptions::default().with_skip_sizes(true))
        .await?;
    assert_eq!(plan.sources[0].spark_uri, "s3a://acme-raw/customer/");
    let sink = plan.sink.as_ref().ok_or("no sink planned")?;
    assert_eq!(sink.spark_uri, "s3a://acme-raw/_env/dev/scores/");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("is read from prod's location, which dev overlays")),
        "{:?}",
        plan.warnings
    );
    Ok(())
}
