//! Hive-style partitions: `country=IT/year=2024/part-0.parquet`.
//!
//! Values are escaped the way Hive and Spark escape them (`FileUtils.escapePathName`, Spark's
//! `ExternalCatalogUtils.escapePathName`): control characters and `" # % ' * / : = ? \ { [ ] ^`
//! and DEL become `%XX` (upper-case hex). A null or empty value is written as
//! `__HIVE_DEFAULT_PARTITION__` and reads back as null, as Spark, Hive and pyarrow do.
//!
//! Listing partitions walks one partition column per level with delimiter listings, so finding
//! the partitions that match a filter costs one request per matching prefix, never a scan of
//! the table's files.

use std::fmt;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::lake::{Lake, ObjectInfo};

/// What Hive and Spark write for a null or empty partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{01}'
            ..='\u{1F}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7F}'
                | '{'
                | '['
                | ']'
                | '^'
    )
}

/// Escapes a partition column name or value for a path segment, as Hive and Spark do.
///
/// ```
/// assert_eq!(lakeroute::partition::escape("a/b=c%"), "a%2Fb%3Dc%25");
/// assert_eq!(lakeroute::partition::escape("São Paulo"), "São Paulo");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape`]: every `%XX` with two hex digits becomes its character; anything else
/// is kept as written (Hive's `unescapePathName`).
pub fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        if let (b'%', Some(h)) = (bytes[i], hex) {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push(digit(h[0]) * 16 + digit(h[1]));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One `column=value` level of a partition path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionValue {
    /// Column name.
    pub column: String,
    /// Value; `None` for null (written as [`DEFAULT_PARTITION`]).
    pub value: Option<String>,
}

impl PartitionValue {
    /// A value for `column`; an empty string is null, as in Hive.
    pub fn new(column: impl Into<String>, value: Option<&str>) -> Self {
        Self {
            column: column.into(),
            value: value.filter(|v| !v.is_empty()).map(str::to_string),
        }
    }

    /// The path segment: `column=escaped-value`.
    pub fn segment(&self) -> String {
        let value = match &self.value {
            Some(v) => escape(v),
            None => DEFAULT_PARTITION.to_string(),
        };
        format!("{}={value}", escape(&self.column))
    }

    /// Parses one path segment; `None` when it is not `column=value`.
    pub fn parse(segment: &str) -> Option<Self> {
        let (column, value) = segment.split_once('=')?;
        if column.is_empty() {
            return None;
        }
        let value = (value != DEFAULT_PARTITION).then(|| unescape(value));
        Some(Self {
            column: unescape(column),
            value: value.filter(|v| !v.is_empty()),
        })
    }
}

impl fmt::Display for PartitionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segment())
    }
}

/// The partition path for `values`, outermost first: `country=IT/year=2024`.
pub fn partition_path(values: &[PartitionValue]) -> String {
    values
        .iter()
        .map(PartitionValue::segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses the `column=value` segments of a path, skipping segments that are not partitions
/// (the file name, a table prefix).
pub fn parse_partition_path(path: &str) -> Vec<PartitionValue> {
    path.split('/').filter_map(PartitionValue::parse).collect()
}

/// A condition on one partition column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `column = value` (`None`: the null partition).
    Eq(String, Option<String>),
    /// `column IN (values)`.
    In(String, Vec<Option<String>>),
}

impl Filter {
    fn column(&self) -> &str {
        match self {
            Self::Eq(c, _) | Self::In(c, _) => c,
        }
    }

    fn accepts(&self, value: &Option<String>) -> bool {
        match self {
            Self::Eq(_, v) => v == value,
            Self::In(_, vs) => vs.contains(value),
        }
    }

    /// Parses `col=v` or `col=v1|v2` (IN); `__HIVE_DEFAULT_PARTITION__` or an empty value
    /// means null.
    ///
    /// ```
    /// use lakeroute::partition::Filter;
    /// assert_eq!(Filter::parse("country=IT|FR").unwrap(),
    ///            Filter::In("country".into(), vec![Some("IT".into()), Some("FR".into())]));
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let (column, values) = text
            .split_once('=')
            .ok_or_else(|| Error::InvalidPartition {
                input: text.to_string(),
                reason: "a filter is column=value or column=value1|value2".into(),
            })?;
        let value = |v: &str| (!v.is_empty() && v != DEFAULT_PARTITION).then(|| v.to_string());
        let column = column.trim().to_string();
        if column.is_empty() {
            return Err(Error::InvalidPartition {
                input: text.to_string(),
                reason: "the filter names no column".into(),
            });
        }
        if values.contains('|') {
            Ok(Self::In(column, values.split('|').map(value).collect()))
        } else {
            Ok(Self::Eq(column, value(values)))
        }
    }
}

/// A partition of a dataset: its values and its URI (a prefix ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Partition {
    /// The values, outermost column first.
    pub values: Vec<PartitionValue>,
    /// The partition's prefix URI.
    pub uri: String,
}

impl Lake {
    fn partition_columns(&self, dataset: &str) -> Result<(crate::LakeUri, Vec<String>)> {
        let uri = crate::LakeUri::parse(dataset)?;
        let ds = self
            .catalog()
            .dataset(uri.dataset())
            .ok_or_else(|| Error::DatasetNotFound {
                uri: dataset.to_string(),
                suggestions: self.catalog().suggest(uri.dataset()),
            })?;
        Ok((uri.dataset().root_uri(), ds.partitioning_columns.clone()))
    }

    /// The dataset's partitions that pass every filter, found level by level with delimiter
    /// listings. Filters on columns the dataset is not partitioned by are an error.
    pub async fn partitions(&self, dataset: &str, filters: &[Filter]) -> Result<Vec<Partition>> {
        let (root, columns) = self.partition_columns(dataset)?;
        if let Some(f) = filters
            .iter()
            .find(|f| !columns.iter().any(|c| c == f.column()))
        {
            return Err(Error::InvalidPartition {
                input: f.column().to_string(),
                reason: format!(
                    "{} is partitioned by [{}]; filter on those columns",
                    root,
                    columns.join(", ")
                ),
            });
        }
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        self.walk(
            format!("{root}/"),
            Vec::new(),
            &columns,
            filters,
            &mut found,
        )
        .await?;
        found.sort_by(|a, b| a.values.cmp(&b.values));
        Ok(found)
    }

    fn walk<'a>(
        &'a self,
        prefix: String,
        values: Vec<PartitionValue>,
        columns: &'a [String],
        filters: &'a [Filter],
        found: &'a mut Vec<Partition>,
    ) -> BoxFuture<'a, Result<()>> {
        async move {
            let Some(column) = columns.get(values.len()) else {
                found.push(Partition {
                    values,
                    uri: prefix,
                });
                return Ok(());
            };
            let listing = self.list_with_delimiter(&prefix).await?;
            for sub in listing.prefixes {
                let segment = sub
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                // URIs percent-encode `%` and spaces; the partition segment is the decoded key.
                let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                let Some(pv) = PartitionValue::parse(&decoded) else {
                    continue;
                };
                if pv.column != *column {
                    continue;
                }
                if filters
                    .iter()
                    .filter(|f| f.column() == column)
                    .all(|f| f.accepts(&pv.value))
                {
                    let mut next = values.clone();
                    next.push(pv);
                    self.walk(sub, next, columns, filters, found).await?;
                }
            }
            Ok(())
        }
        .boxed()
    }

    /// Every file in the partitions that pass the filters.
    pub async fn partition_files(
        &self,
        dataset: &str,
        filters: &[Filter],
    ) -> Result<Vec<ObjectInfo>> {
        let mut files = Vec::new();
        for p in self.partitions(dataset, filters).await? {
            files.extend(self.list_all(&p.uri).await?);
        }
        Ok(files)
    }

    /// The URI of `file_name` in the partition given by `values` (one per partition column,
    /// in the dataset's order).
    pub fn partition_file_uri(
        &self,
        dataset: &str,
        values: &[Option<&str>],
        file_name: &str,
    ) -> Result<String> {
        let (root, columns) = self.partition_columns(dataset)?;
        if values.len() != columns.len() {
            return Err(Error::InvalidPartition {
                input: format!("{values:?}"),
                reason: format!(
                    "{root} is partitioned by [{}]: give one value per column",
                    columns.join(", ")
                ),
            });
        }
        let pvs: Vec<PartitionValue> = columns
            .iter()
            .zip(values)
            .map(|(c, v)| PartitionValue::new(c.as_str(), *v))
            .collect();
        let key = format!("{}/{file_name}", partition_path(&pvs));
        Ok(crate::StorageUri::Lake(root).join(&key)?.to_string())
    }

    /// Writes `payload` as `file_name` in the partition given by `values`.
    pub async fn put_partition_file(
        &self,
        dataset: &str,
        values: &[Option<&str>],
        file_name: &str,
        payload: object_store::PutPayload,
    ) -> Result<crate::WriteInfo> {
        let uri = self.partition_file_uri(dataset, values, file_name)?;
        self.put(&uri, payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_hive() {
        assert_eq!(escape("2024-01-01 10:00"), "2024-01-01 10%3A00");
        assert_eq!(
            escape("a\"b#c'd*e?f\\g{h[i]j^k\u{7f}l\u{1}"),
            "a%22b%23c%27d%2Ae%3Ff%5Cg%7Bh%5Bi%5Dj%5Ek%7Fl%01"
        );
        assert_eq!(unescape("a%2Fb%zz%"), "a/b%zz%");
        let pv = PartitionValue::new("country", Some(""));
        assert_eq!(pv.segment(), "country=__HIVE_DEFAULT_PARTITION__");
        assert_eq!(
            PartitionValue::parse(&pv.segment()),
            Some(PartitionValue::new("country", None))
        );
    }
}
