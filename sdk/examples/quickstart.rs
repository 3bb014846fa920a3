//! The main job: a partitioned parquet dataset written, listed, read back and copied to the
//! other cloud, all through `lake://` URIs, on the example catalog's local lake.
//!
//! ```text
//! cargo run -p lakeroute --example quickstart            # uses sdk/examples/catalog
//! LAKEROUTE_CATALOG=my/catalog cargo run -p lakeroute --example quickstart
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use futures::TryStreamExt;
use lakeroute::Lake;
use lakeroute::object_store::ObjectStore;
use lakeroute::object_store::path::Path;
use parquet::arrow::ArrowWriter;
// parquet 60 deprecates its ObjectStore reader (apache/arrow-rs#10308); engines still use it.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

type Error = Box<dyn std::error::Error + Send + Sync>;

const SOURCE: &str = "lake://finance/customer/v1/";
const MIRROR: &str = "lake://marketing/customer_snapshot/v1/";
const ORDERS: &str = "lake://ecommerce/orders/v2/";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let catalog = std::env::var("LAKEROUTE_CATALOG")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/catalog").to_string());
    let lake = Lake::from_catalog(&catalog)?;
    println!("catalog   {catalog}");
    for ds in lake.catalog().datasets() {
        let profile = lake.catalog().profile_of(ds)?;
        println!(
            "  {:<42} {:<6} {}",
            ds.id.root_uri().to_string(),
            profile.effective_provider().as_str(),
            profile.region.as_deref().unwrap_or("-")
        );
    }

    // The job overwrites its output: start both datasets empty, so reruns print the same.
    let cleared = lake.delete_prefix(SOURCE).await?
        + lake.delete_prefix(MIRROR).await?
        + lake.delete_prefix(ORDERS).await?;
    if cleared > 0 {
        println!("\nreset     removed {cleared} objects left by an earlier run");
    }

    // 1. Write one parquet file per country partition (Hive layout: country=XX/).
    let rows = [
        ("Ada Lovelace", Some("12 St James's Square, London"), "GB"),
        ("Grace Hopper", Some("Arlington, Virginia"), "US"),
        ("Enrico Fermi", None, "IT"),
        ("Rita Levi-Montalcini", Some("Via Roma 1, Torino"), "IT"),
        ("Alan Turing", Some("Wilmslow"), "GB"),
        ("Katherine Johnson", None, "US"),
        ("Margherita Hack", Some("Trieste"), "IT"),
    ];
    let mut by_country: BTreeMap<&str, Vec<(&str, Option<&str>)>> = BTreeMap::new();
    for (name, address, country) in rows {
        by_country.entry(country).or_default().push((name, address));
    }
    println!("\nwrite     {SOURCE} (partitioned by country)");
    for (country, people) in &by_country {
        let uri = format!("{SOURCE}country={country}/part-0.parquet");
        let bytes = parquet_bytes(people)?;
        let written = lake.put(&uri, bytes.into()).await?;
        println!("  {:>6} B  {uri}", written.size);
        println!("           -> {}", lake.resolve(&uri)?.physical());
    }

    // 2. List the dataset, one partition level, then every file.
    let partitions = lake.list_with_delimiter(SOURCE).await?;
    println!(
        "\nlist      {} partitions: {}",
        partitions.prefixes.len(),
        partitions.prefixes.join(" ")
    );
    let files = lake.list_all(SOURCE).await?;
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    println!("          {} files, {bytes} bytes", files.len());

    // 3. Read it back with parquet's async reader, through the lake's ObjectStore.
    let store: Arc<dyn ObjectStore> = Arc::new(lake.store());
    let mut read_rows = 0;
    for f in &files {
        let path = Path::parse(f.uri.trim_start_matches("lake://"))?;
        #[allow(deprecated)]
        let reader = ParquetObjectReader::new(Arc::clone(&store), path).with_file_size(f.size);
        let batches: Vec<RecordBatch> = ParquetRecordBatchStreamBuilder::new(reader)
            .await?
            .build()?
            .try_collect()
            .await?;
        let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
        read_rows += n;
        let first = batches
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|a| a.value(0).to_string())
            })
            .unwrap_or_default();
        println!("read      {n} rows (first: {first}) from {}", f.uri);
    }
    if read_rows != rows.len() {
        return Err(format!("read {read_rows} rows back, wrote {}", rows.len()).into());
    }

    // 4. Copy the dataset to the other provider: a different store, streamed in parts.
    let source_provider = provider_of(&lake, SOURCE)?;
    let mirror_provider = provider_of(&lake, MIRROR)?;
    println!("\ncopy      {SOURCE} ({source_provider}) -> {MIRROR} ({mirror_provider})");
    let mut copied = 0;
    for f in &files {
        let key = f.uri.trim_start_matches(SOURCE);
        let dst = format!("{MIRROR}{key}");
        copied += lake.copy(&f.uri, &dst).await?;
        println!("  {dst}\n           -> {}", lake.resolve(&dst)?.physical());
    }
    let mirrored = lake.list_all(MIRROR).await?;
    if mirrored.len() != files.len() {
        return Err(format!("copied {} files, found {}", files.len(), mirrored.len()).into());
    }

    // 5. Orders land on the azure side, partitioned by day, for the helloworld job to read.
    let mut order_rows = 0;
    for (day, n) in [("2024-06-01", 40), ("2024-06-02", 25)] {
        let people: Vec<(&str, Option<&str>)> =
            (0..n).map(|_| ("Ada Lovelace", Some("order"))).collect();
        let uri = lake.partition_file_uri(ORDERS, &[Some(day)], "part-0.parquet")?;
        lake.put(&uri, parquet_bytes(&people)?.into()).await?;
        order_rows += n;
    }
    println!(
        "\norders    {order_rows} rows in 2 partitions on {}",
        provider_of(&lake, ORDERS)?
    );

    // 6. Read the customers again: they live on the aws side and this process computes on the
    //    azure side, so the first read crossed clouds and was cached; this one is served locally.
    for f in &files {
        lake.get(&f.uri).await?;
    }
    let s = lake.stats().total;
    println!(
        "\naccount   {} requests; {} bytes from stores, {} from the cache ({} hits); egress ${:.9} spent, ${:.9} avoided",
        s.requests,
        s.bytes_remote,
        s.bytes_cached,
        s.cache_hits,
        s.dollars_spent,
        s.dollars_avoided
    );

    println!(
        "\ndone: wrote {} rows in {} partitions ({bytes} bytes) on {source_provider}, read {read_rows} rows back, copied {copied} bytes to {mirror_provider}",
        rows.len(),
        partitions.prefixes.len()
    );
    Ok(())
}

fn provider_of(lake: &Lake, uri: &str) -> Result<String, Error> {
    let route = lake.resolve(uri)?;
    let profile = route
        .profile()
        .and_then(|p| lake.catalog().profile(p))
        .ok_or("no storage profile")?;
    Ok(profile.effective_provider().to_string())
}

fn parquet_bytes(people: &[(&str, Option<&str>)]) -> Result<Vec<u8>, Error> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("fullName", DataType::Utf8, false),
        Field::new("address", DataType::Utf8, true),
    ]));
    let names = StringArray::from_iter_values(people.iter().map(|p| p.0));
    let addresses: StringArray = people.iter().map(|p| p.1).collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(names), Arc::new(addresses)],
    )?;
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, schema, None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(buf)
}
