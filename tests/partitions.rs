//! Hive-style partitions: escaping round-trips, and partition listing with filters.

use lakeroute::partition::{self, Filter, PartitionValue};
use lakeroute_tests::TempCatalog;
use proptest::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Any value survives escape and unescape, and no escaped value contains a separator.
    #[test]
    fn escaping_round_trips(value in any::<String>()) {
        let escaped = partition::escape(&value);
        prop_assert!(!escaped.contains('/') && !escaped.contains('='));
        prop_assert_eq!(partition::unescape(&escaped), value);
    }

    /// A partition segment parses back to the column and value it was made from; empty is null.
    #[test]
    fn segments_round_trip(column in "[a-zA-Z_][a-zA-Z0-9_ =/%]{0,10}", value in proptest::option::of(any::<String>())) {
        let pv = PartitionValue::new(column.as_str(), value.as_deref());
        let back = PartitionValue::parse(&pv.segment());
        prop_assert_eq!(back, Some(pv.clone()));
        let path = partition::partition_path(&[pv.clone(), PartitionValue::new("n", Some("1"))]);
        prop_assert_eq!(partition::parse_partition_path(&format!("{path}/part-0.parquet")), vec![pv, PartitionValue::new("n", Some("1"))]);
    }
}

fn catalog(data: &std::path::Path) -> std::io::Result<TempCatalog> {
    let settings = format!(
        "storage:\n  disk:\n    provider: local\n    root: {}\n",
        data.display()
    );
    let ds = "\
entityName: events
entityVersion: v1
domain: web
coldStorage:
  format: parquet
  location: {storage: disk, prefix: events}
  partitioningColumns: [country, day]
";
    TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        ("web/events.yaml", ds),
    ])
}

#[tokio::test]
async fn partitions_list_level_by_level_with_filters() -> TestResult {
    let data = tempfile::tempdir()?;
    let cat = catalog(data.path())?;
    let lake = cat.lake()?;
    let ds = "lake://web/events/v1";
    let rows: [(Option<&str>, &str); 6] = [
        (Some("IT"), "2024-01-01"),
        (Some("IT"), "2024-01-02"),
        (Some("FR"), "2024-01-01"),
        (Some("São Paulo/BR"), "2024-01-01"),
        (None, "2024-01-03"),
        (Some("50% off"), "2024-01-01 10:00"),
    ];
    for (i, (country, day)) in rows.iter().enumerate() {
        lake.put_partition_file(
            ds,
            &[*country, Some(day)],
            &format!("part-{i}.parquet"),
            "x".into(),
        )
        .await?;
    }
    // Escaped on disk exactly as Hive and Spark write them.
    assert!(
        data.path()
            .join("events/country=São Paulo%2FBR/day=2024-01-01")
            .is_dir()
    );
    assert!(
        data.path()
            .join("events/country=__HIVE_DEFAULT_PARTITION__/day=2024-01-03")
            .is_dir()
    );
    assert!(
        data.path()
            .join("events/country=50%25 off/day=2024-01-01 10%3A00")
            .is_dir()
    );

    let all = lake.partitions(ds, &[]).await?;
    assert_eq!(all.len(), 6);
    let it = lake.partitions(ds, &[Filter::parse("country=IT")?]).await?;
    assert_eq!(it.len(), 2);
    assert!(
        it.iter()
            .all(|p| p.values[0].value.as_deref() == Some("IT"))
    );
    let chosen = lake
        .partitions(
            ds,
            &[
                Filter::parse("country=FR|São Paulo/BR|")?,
                Filter::parse("day=2024-01-01|2024-01-03")?,
            ],
        )
        .await?;
    let countries: Vec<Option<&str>> = chosen
        .iter()
        .map(|p| p.values[0].value.as_deref())
        .collect();
    assert_eq!(countries, [None, Some("FR"), Some("São Paulo/BR")]);
    let files = lake
        .partition_files(ds, &[Filter::parse("country=50% off")?])
        .await?;
    assert_eq!(files.len(), 1);
    assert!(
        files[0].uri.ends_with("/part-5.parquet"),
        "{}",
        files[0].uri
    );
    // The URI a file gets can be parsed back into its partition values.
    let decoded = percent_encoding::percent_decode_str(&files[0].uri)
        .decode_utf8_lossy()
        .into_owned();
    let values = partition::parse_partition_path(&decoded);
    assert_eq!(values[0], PartitionValue::new("country", Some("50% off")));
    assert_eq!(
        values[1],
        PartitionValue::new("day", Some("2024-01-01 10:00"))
    );

    let err = lake
        .partitions(ds, &[Filter::parse("region=EU")?])
        .await
        .err()
        .ok_or("bad column accepted")?;
    assert!(
        err.to_string().contains("partitioned by [country, day]"),
        "{err}"
    );
    assert!(
        lake.partition_file_uri(ds, &[Some("IT")], "x").is_err(),
        "one value per column"
    );
    assert!(Filter::parse("nocolumn").is_err());
    Ok(())
}
