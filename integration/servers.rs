//! lakeroute against real servers: moto for S3 and Azurite for Azure Blob, started by
//! `integration/start`. Every test works below a fresh prefix and removes what it wrote.

use lakeroute::conformance;
use lakeroute_integration::{ItCatalog, descriptor, servers};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const MIB: usize = 1024 * 1024;

fn catalog(s: &lakeroute_integration::Servers) -> std::io::Result<ItCatalog> {
    ItCatalog::new(
        s,
        &s.s3,
        &[
            ("it/s3.yaml", descriptor("it", "s3", "s3", "conformance", "")),
            ("it/azure.yaml", descriptor("it", "azure", "azure", "conformance", "")),
            ("it/local.yaml", descriptor("it", "local", "local", "conformance", "")),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_s3() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    conformance::run_extended(&lake, "lake://it/s3/v1/", 65 * MIB).await?;
    // The same store addressed physically.
    conformance::run_all(&lake, "s3://lakeroute-it/physical/").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_azure() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let cat = catalog(&s)?;
    let lake = cat.lake()?;
    conformance::run_extended(&lake, "lake://it/azure/v1/", 65 * MIB).await?;
    conformance::run_all(&lake, "abfss://lakeroute-it@devstoreaccount1.dfs.core.windows.net/physical/").await
}
