//! Accounting: every request to a remote store, and every byte served from the cache, per
//! dataset (or physical store) and per storage profile, in requests, bytes and dollars.
//!
//! [`MeteredStore`] wraps the store that really goes over the network, so it counts exactly
//! the requests that are billed; the cache reports what it served instead. Dollars use the
//! catalog's price table from where the data lives to where this process runs (`compute:` in
//! lakeroute.yaml or `LAKEROUTE_COMPUTE=provider/region`). An egress budget, when set, is
//! checked before a read is sent.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result,
};
use serde_json::{Value, json};

use crate::error::Error;

/// Counters for one dataset (or physical store).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Counters {
    /// Requests sent to the remote store.
    pub requests: u64,
    /// Bytes read from the remote store.
    pub bytes_remote: u64,
    /// Bytes served from the cache instead.
    pub bytes_cached: u64,
    /// Bytes written to the remote store.
    pub bytes_written: u64,
    /// Reads answered by the cache.
    pub cache_hits: u64,
    /// Reads the cache had to fetch.
    pub cache_misses: u64,
    /// Dollars spent: egress plus request fees.
    pub dollars_spent: f64,
    /// Dollars the cache avoided.
    pub dollars_avoided: f64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.requests += o.requests;
        self.bytes_remote += o.bytes_remote;
        self.bytes_cached += o.bytes_cached;
        self.bytes_written += o.bytes_written;
        self.cache_hits += o.cache_hits;
        self.cache_misses += o.cache_misses;
        self.dollars_spent += o.dollars_spent;
        self.dollars_avoided += o.dollars_avoided;
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "bytes_remote": self.bytes_remote,
            "bytes_cached": self.bytes_cached,
            "bytes_written": self.bytes_written,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "dollars_spent": self.dollars_spent,
            "dollars_avoided": self.dollars_avoided,
        })
    }
}

/// A snapshot of the accounting.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Per dataset (`domain/name/vN`) or physical store (`s3://bucket`, for physical URIs into a
    /// declared storage profile).
    pub by_dataset: BTreeMap<String, Counters>,
    /// Per storage profile: the sum of its datasets' and physical stores' counters.
    pub by_profile: BTreeMap<String, Counters>,
    /// Everything together.
    pub total: Counters,
}

impl Stats {
    /// Adds another process's accounting to this one.
    pub fn merge(&mut self, other: &Stats) {
        for (k, c) in &other.by_dataset {
            self.by_dataset.entry(k.clone()).or_default().add(c);
        }
        for (k, c) in &other.by_profile {
            self.by_profile.entry(k.clone()).or_default().add(c);
        }
        self.total.add(&other.total);
    }

    /// Reads what [`Stats::to_json`] wrote.
    pub fn from_json(bytes: &[u8]) -> Option<Stats> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        let counters = |c: &Value| -> Counters {
            let n = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
            let f = |k: &str| c.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            Counters {
                requests: n("requests"),
                bytes_remote: n("bytes_remote"),
                bytes_cached: n("bytes_cached"),
                bytes_written: n("bytes_written"),
                cache_hits: n("cache_hits"),
                cache_misses: n("cache_misses"),
                dollars_spent: f("dollars_spent"),
                dollars_avoided: f("dollars_avoided"),
            }
        };
        let table = |v: &Value| -> Option<BTreeMap<String, Counters>> {
            Some(
                v.as_object()?
                    .iter()
                    .map(|(k, c)| (k.clone(), counters(c)))
                    .collect(),
            )
        };
        Some(Stats {
            total: counters(v.get("total")?),
            by_dataset: table(v.get("by_dataset")?)?,
            // Absent in what earlier versions saved.
            by_profile: v.get("by_profile").and_then(table).unwrap_or_default(),
        })
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "total": self.total.to_json(),
            "by_dataset": self.by_dataset.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
            "by_profile": self.by_profile.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// An egress budget: a process's (`budget:` in lakeroute.yaml, checked before every read) or a
/// job's (`budget:` in its descriptor, checked against its plan).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Budget {
    /// Bytes that may be read from remote stores.
    pub bytes: Option<u64>,
    /// Dollars that may be spent.
    pub dollars: Option<f64>,
}

impl Budget {
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.bytes.is_some() || self.dollars.is_some()
    }

    /// The limit that `bytes` and `dollars` in all would exceed, described (`"1048576 bytes"`,
    /// `"$20"`), or `None` when they fit.
    pub(crate) fn exceeded(&self, bytes: u64, dollars: f64) -> Option<String> {
        if let Some(b) = self.bytes.filter(|b| bytes > *b) {
            return Some(format!("{b} bytes"));
        }
        self.dollars
            .filter(|d| dollars > *d)
            .map(|d| format!("${d}"))
    }
}

/// The shared accounting of one lake.
#[derive(Debug, Default)]
pub struct Meter {
    /// By dataset (or physical store) and storage profile: a mirrored or overlay dataset reads
    /// and writes through two profiles.
    counters: Mutex<BTreeMap<(String, String), Counters>>,
    budget: Budget,
}

impl Meter {
    pub(crate) fn new(budget: Budget) -> Self {
        Self {
            counters: Mutex::default(),
            budget,
        }
    }

    pub(crate) fn record(&self, dataset: &str, profile: &str, f: impl FnOnce(&mut Counters)) {
        let mut map = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = map
            .entry((dataset.to_string(), profile.to_string()))
            .or_default();
        f(c);
        let c = *c;
        tracing::debug!(
            target: "lakeroute::metrics",
            dataset,
            profile,
            requests = c.requests,
            bytes_remote = c.bytes_remote,
            bytes_cached = c.bytes_cached,
            dollars_spent = c.dollars_spent,
            dollars_avoided = c.dollars_avoided,
            "accounting"
        );
    }

    /// A snapshot.
    pub fn stats(&self) -> Stats {
        let map = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stats = Stats::default();
        for ((dataset, profile), c) in map.iter() {
            stats.total.add(c);
            stats.by_dataset.entry(dataset.clone()).or_default().add(c);
            stats.by_profile.entry(profile.clone()).or_default().add(c);
        }
        stats
    }

    /// Everything together (what [`Meter::stats`] gives as `total`, without the tables).
    fn total(&self) -> Counters {
        let map = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut total = Counters::default();
        for c in map.values() {
            total.add(c);
        }
        total
    }

    /// Fails when reading `bytes` more at `per_byte` dollars would exceed the budget.
    pub(crate) fn check_budget(
        &self,
        dataset: &str,
        bytes: u64,
        dollars: f64,
    ) -> std::result::Result<(), Error> {
        let total = self.total();
        if let Some(budget) = self
            .budget
            .exceeded(total.bytes_remote + bytes, total.dollars_spent + dollars)
        {
            return Err(Error::BudgetExceeded {
                dataset: dataset.to_string(),
                budget,
                spent: format!("{} bytes, ${:.6}", total.bytes_remote, total.dollars_spent),
                needed: format!("{bytes} bytes, ${dollars:.6}"),
            });
        }
        Ok(())
    }
}

/// Where a wrapper's counters go: one lake's meter, under a dataset (or physical store) and the
/// storage profile whose store the wrapper reads and writes.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    meter: Arc<Meter>,
    dataset: String,
    profile: String,
}

impl Account {
    pub(crate) fn new(meter: Arc<Meter>, dataset: String, profile: String) -> Self {
        Self {
            meter,
            dataset,
            profile,
        }
    }

    pub(crate) fn record(&self, f: impl FnOnce(&mut Counters)) {
        self.meter.record(&self.dataset, &self.profile, f);
    }

    /// Whether reads are checked against an egress budget.
    fn budgeted(&self) -> bool {
        self.meter.budget.is_set()
    }

    /// Fails when reading `bytes` more for `dollars` would exceed the budget.
    fn check_budget(&self, bytes: u64, dollars: f64) -> std::result::Result<(), Error> {
        self.meter.check_budget(&self.dataset, bytes, dollars)
    }
}

/// What a read from one place costs: egress per byte and the request fee.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadCost {
    /// Dollars per byte moved to the compute location.
    pub per_byte: f64,
    /// Dollars per request.
    pub per_request: f64,
}

impl ReadCost {
    /// Dollars for one read of `bytes`.
    pub fn of(&self, bytes: u64) -> f64 {
        self.per_request + bytes as f64 * self.per_byte
    }
}

/// Counts what goes to the remote store behind it; see the module docs.
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    account: Account,
    cost: ReadCost,
    write_fee: f64,
}

impl MeteredStore {
    pub(crate) fn new(
        inner: Arc<dyn ObjectStore>,
        account: Account,
        cost: ReadCost,
        write_fee: f64,
    ) -> Self {
        Self {
            inner,
            account,
            cost,
            write_fee,
        }
    }

    fn count_request(&self) {
        self.account.record(|c| {
            c.requests += 1;
            c.dollars_spent += self.cost.per_request;
        });
    }
}

impl fmt::Debug for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredStore")
            .field("inner", &crate::secret::StoreName(&*self.inner))
            .field("account", &self.account)
            .field("cost", &self.cost)
            .field("write_fee", &self.write_fee)
            .finish()
    }
}

impl fmt::Display for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MeteredStore({})", self.inner)
    }
}

fn range_len(r: &GetRange) -> Option<u64> {
    match r {
        GetRange::Bounded(b) => Some(b.end.saturating_sub(b.start)),
        GetRange::Suffix(n) => Some(*n),
        GetRange::Offset(_) => None,
    }
}

#[async_trait]
impl ObjectStore for MeteredStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let n = payload.content_length() as u64;
        let r = self.inner.put_opts(location, payload, opts).await;
        self.account.record(|c| {
            c.requests += 1;
            c.dollars_spent += self.write_fee;
            if r.is_ok() {
                c.bytes_written += n;
            }
        });
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.count_request();
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if !options.head && self.account.budgeted() {
            let bytes = match options.range.as_ref().and_then(range_len) {
                Some(n) => n,
                None => {
                    self.count_request();
                    self.inner.head(location).await?.size
                }
            };
            self.account
                .check_budget(bytes, self.cost.of(bytes))
                .map_err(|e| object_store::Error::Generic {
                    store: "lakeroute",
                    source: Box::new(e),
                })?;
        }
        let r = self.inner.get_opts(location, options).await;
        let bytes = r.as_ref().map(|g| g.range.end - g.range.start).unwrap_or(0);
        self.account.record(|c| {
            c.requests += 1;
            c.bytes_remote += bytes;
            c.dollars_spent += self.cost.of(bytes);
        });
        r
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        // Coalesce as object_store does, but through get_opts so every request is counted.
        object_store::coalesce_ranges(
            ranges,
            |r| async move {
                self.get_opts(location, GetOptions::new().with_range(Some(r)))
                    .await?
                    .bytes()
                    .await
            },
            object_store::OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.count_request();
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.count_request();
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.count_request();
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.count_request();
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.count_request();
        self.inner.rename_opts(from, to, options).await
    }
}
