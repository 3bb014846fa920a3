//! What lakeroute writes, engines read: Hive partitions written through `lake://` URIs are read
//! back by pyarrow's dataset reader with the values they were written with.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use lakeroute::Lake;
use parquet::arrow::ArrowWriter;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const READ_BACK: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.dataset as ds
part = ds.partitioning(pa.schema([("country", pa.string()), ("day", pa.string())]), flavor="hive")
t = ds.dataset(sys.argv[1], format="parquet", partitioning=part).to_table()
rows = sorted(zip(t["id"].to_pylist(), t["country"].to_pylist(), t["day"].to_pylist()))
print(json.dumps(rows))
"#;

fn parquet_with_id(id: i64) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from(vec![id]))],
    )?;
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(buf)
}

#[tokio::test]
async fn pyarrow_reads_lakeroute_hive_partitions() -> TestResult {
    let Some(python) = lakeroute_integration::python() else {
        return Ok(());
    };
    let data = tempfile::tempdir()?;
    let cat = tempfile::tempdir()?;
    std::fs::write(
        cat.path().join("lakeroute.yaml"),
        format!(
            "storage:\n  disk:\n    provider: local\n    root: {}\n",
            data.path().display()
        ),
    )?;
    std::fs::write(
        cat.path().join("events.yaml"),
        "entityName: events\nentityVersion: v1\ndomain: web\ncoldStorage:\n  format: parquet\n  location: {storage: disk, prefix: events}\n  partitioningColumns: [country, day]\n",
    )?;
    let lake = Lake::from_catalog(cat.path())?;
    let values: [(Option<&str>, &str); 7] = [
        (Some("IT"), "2024-01-01"),
        (Some("São Paulo/BR"), "2024-01-01 10:00"),
        (Some("50% = half"), "a#b?c"),
        (None, "2024-01-03"),
        (Some(""), "quote'\"star*"),
        (Some("{[brackets]}^"), "back\\slash"),
        (Some("日本"), "tab\there"),
    ];
    for (i, (country, day)) in values.iter().enumerate() {
        let body = parquet_with_id(i as i64)?;
        lake.put_partition_file(
            "lake://web/events/v1",
            &[*country, Some(day)],
            "part-0.parquet",
            body.into(),
        )
        .await?;
    }
    let out = std::process::Command::new(python)
        .args(["-c", READ_BACK])
        .arg(data.path().join("events"))
        .output()?;
    assert!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Row> = parse_rows(&String::from_utf8_lossy(&out.stdout))?;
    for (i, (country, day)) in values.iter().enumerate() {
        let want = (
            i as i64,
            country.filter(|c| !c.is_empty()).map(str::to_string),
            Some(day.to_string()),
        );
        assert_eq!(rows[i], want, "pyarrow read partition {i} differently");
    }
    Ok(())
}

type Row = (i64, Option<String>, Option<String>);

/// Parses `[[id, country-or-null, day-or-null], ...]` as printed by json.dumps.
fn parse_rows(text: &str) -> Result<Vec<Row>, Box<dyn std::error::Error + Send + Sync>> {
    let value: serde_json::Value = serde_json::from_str(text.trim())?;
    let rows = value.as_array().ok_or("not a list")?;
    rows.iter()
        .map(|r| {
            let id = r[0].as_i64().ok_or("id")?;
            Ok((
                id,
                r[1].as_str().map(str::to_string),
                r[2].as_str().map(str::to_string),
            ))
        })
        .collect()
}
