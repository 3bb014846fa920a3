//! The lake as an `object_store::ObjectStore`: parquet's async reader reads logical data through
//! it unchanged, and the levels above a dataset list as virtual folders from the catalog.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use futures::TryStreamExt;
use lakeroute::object_store::path::Path;
use lakeroute::object_store::{ObjectStore, ObjectStoreExt};
use lakeroute_tests::{TempCatalog, descriptor};
use parquet::arrow::ArrowWriter;
// parquet 60 deprecates its ObjectStore reader in favour of hand-written `AsyncFileReader`s
// (apache/arrow-rs#10308); it is still what engines ship today, so it is what this test uses.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn lake_catalog(data: &std::path::Path) -> std::io::Result<TempCatalog> {
    let settings = format!(
        "storage:\n  disk:\n    provider: local\n    root: {}\n  mem:\n    provider: memory\n",
        data.display()
    );
    TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        (
            "finance/customer.yaml",
            &descriptor("customer", 1, "finance", "disk", "finance/customer"),
        ),
        (
            "finance/invoices.yaml",
            &descriptor("invoices", 2, "finance", "mem", "invoices"),
        ),
        (
            "sales/orders.yaml",
            &descriptor("orders", 1, "sales", "mem", "orders"),
        ),
    ])
}

fn customers(n: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("fullName", DataType::Utf8, false),
    ]));
    let ids = Int64Array::from_iter_values(0..n);
    let names = StringArray::from_iter_values((0..n).map(|i| format!("customer {i}")));
    RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(names)])
}

#[tokio::test]
async fn parquet_async_reader_reads_lake_data() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = lake_catalog(data.path())?;
    let lake = cat.lake()?;
    let store: Arc<dyn ObjectStore> = Arc::new(lake.store());

    let batch = customers(10_000)?;
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;

    let path = Path::parse("finance/customer/v1/country=IT/part-0.parquet")?;
    store.put(&path, buf.into()).await?;
    // The bytes went where the catalog says, not to a path named after the URI.
    assert!(
        data.path()
            .join("finance/customer/country=IT/part-0.parquet")
            .is_file()
    );

    let meta = store.head(&path).await?;
    assert_eq!(meta.location, path, "metadata is named in logical terms");
    #[allow(deprecated)]
    let reader =
        ParquetObjectReader::new(Arc::clone(&store), path.clone()).with_file_size(meta.size);
    let stream = ParquetRecordBatchStreamBuilder::new(reader)
        .await?
        .build()?;
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 10_000);
    let names = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or("fullName is not a string column")?;
    assert_eq!(names.value(42), "customer 42");
    assert!(!names.is_null(0));
    Ok(())
}

#[tokio::test]
async fn virtual_levels_list_from_the_catalog() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = lake_catalog(data.path())?;
    let lake = cat.lake()?;
    let store = lake.store();
    for p in [
        "finance/customer/v1/a.txt",
        "finance/invoices/v2/b.txt",
        "sales/orders/v1/x/c.txt",
    ] {
        store.put(&Path::parse(p)?, "x".into()).await?;
    }
    let top = store.list_with_delimiter(None).await?;
    let names: Vec<String> = top
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["finance", "sales"]);
    let fin = store
        .list_with_delimiter(Some(&Path::parse("finance")?))
        .await?;
    let names: Vec<String> = fin
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["finance/customer", "finance/invoices"]);
    let mut all: Vec<String> = store
        .list(Some(&Path::parse("finance")?))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await?;
    all.sort();
    assert_eq!(
        all,
        ["finance/customer/v1/a.txt", "finance/invoices/v2/b.txt"]
    );
    let orders = store
        .list_with_delimiter(Some(&Path::parse("sales/orders/v1")?))
        .await?;
    let names: Vec<String> = orders
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["sales/orders/v1/x"]);
    // A copy between datasets on different stores streams across them.
    store
        .copy(
            &Path::parse("finance/customer/v1/a.txt")?,
            &Path::parse("sales/orders/v1/a.txt")?,
        )
        .await?;
    assert_eq!(lake.get("lake://sales/orders/v1/a.txt").await?, "x");
    // Unknown datasets are NotFound, the error engines know how to handle.
    match store.head(&Path::parse("finance/nope/v1/a.txt")?).await {
        Err(lakeroute::object_store::Error::NotFound { .. }) => {}
        other => return Err(format!("expected NotFound, got {other:?}").into()),
    }
    Ok(())
}
