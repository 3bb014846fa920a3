//! [`CachedStore`]: the egress-aware disk cache as an `ObjectStore` wrapper.
//!
//! Per operation:
//! - `get` (whole or ranged): served from cached blocks when the entry is fresh; missing blocks
//!   are fetched with `If-Match` on the cached ETag (a changed object fails the condition, its
//!   entry is dropped and the read starts over). A stale entry is revalidated with a conditional
//!   GET (`If-None-Match`); "not modified" refreshes it, new bytes replace it.
//! - freshness: datasets declared `immutable` are never revalidated; otherwise entries are
//!   revalidated after `revalidate_after` (mode `ttl`) or on every read (mode `strict`).
//! - admission and eviction: [`CostAwarePolicy`] (dollars, not recency); same-region data is
//!   not cached unless `same_region: true`. An entry whose time to live has run out is
//!   deleted at this process's next read, unless another process has read it since (see
//!   [`Cache::retire`]); entries of processes that have ended go in the sweep a process
//!   opening the folder makes at most hourly, or at [`Cache::prune`].
//! - `head` and reads with their own conditions go to the store; writes, deletes, copies and
//!   renames go to the store and drop the entry before and after (a multipart upload: when it
//!   completes), so this process never reads its own overwritten data from the cache, even
//!   when a read was under way during the write.
//! - misses stream: the store's answer is passed on as it arrives, its complete blocks written
//!   to the cache on the way; hits longer than 64 MiB are read 40 MiB at a time.
//!
//! The key is the store's identity plus the path; blocks are named by ETag, so an object that
//! changed on the server is never served beyond what the freshness mode allows.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result,
};

use super::disk::{Disk, History, Meta, fnv};
use super::policy::{Access, CostAwarePolicy, Ord64};
use crate::meter::{Account, ReadCost};

/// When cached entries are checked against the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// After `revalidate_after` has passed since the last check.
    Ttl,
    /// On every read (a conditional GET; bytes come from the cache when unchanged).
    Strict,
}

/// Whether a read was answered from the cache (in `GetResult::extensions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Every byte came from the cache.
    Hit,
    /// Some or all bytes were fetched.
    Miss,
}

/// The shared cache of a lake: its folder and its policy.
#[derive(Debug)]
pub struct Cache {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) disk: Disk,
    pub(crate) policy: Mutex<CostAwarePolicy>,
    /// The policy's settings without its state: judges entries from their saved reads.
    judge: CostAwarePolicy,
    /// Entries this process's policy let go when their time to live ran out, but whose saved
    /// reads said another process had read them since: by when those reads run out, and the
    /// entry.
    pending: Mutex<BTreeMap<(Ord64, u64), ()>>,
    pub(crate) max_bytes: u64,
    pub(crate) block_size: u64,
    pub(crate) freshness: Freshness,
    pub(crate) revalidate_after: Duration,
    pub(crate) same_region: bool,
    /// Writes through the cache, counted per stripe of keys: a read that began before a write
    /// to its key (the stripe's count moved) does not cache what it fetched.
    generations: Vec<std::sync::atomic::AtomicU64>,
}

/// Stripes of [`Cache::generation`]: two keys in one stripe only make a read skip caching.
const GENERATION_STRIPES: usize = 256;

impl Cache {
    /// Opens the cache folder.
    pub(crate) fn open(settings: &crate::catalog::CacheSettings) -> std::io::Result<Self> {
        let origin = super::disk::origin(&settings.dir, now());
        let policy = || {
            let price =
                settings.medium_price_gb_month / (1024.0 * 1024.0 * 1024.0) / (30.0 * 86_400.0);
            let mut p = CostAwarePolicy::new(settings.max_bytes, price);
            p.memory = settings
                .read_memory
                .map_or(f64::INFINITY, |m| m.as_secs_f64());
            p.observe_since(origin);
            p
        };
        // The hourly sweep judges entries as this process's policy would; with a medium that
        // costs nothing, none ever outlives its worth (abandoned folders are still swept).
        let sweep: Option<super::disk::Outlived> =
            (settings.medium_price_gb_month > 0.0).then(|| {
                let judge = policy();
                Box::new(move |h: &History, size, now| {
                    judge.outlived(&h.reads, h.miss_cost, size, now)
                }) as super::disk::Outlived
            });
        let disk = Disk::open(&settings.dir, sweep)?;
        let (judge, policy) = (policy(), policy());
        Ok(Self {
            dir: settings.dir.clone(),
            disk,
            policy: Mutex::new(policy),
            judge,
            pending: Mutex::new(BTreeMap::new()),
            max_bytes: settings.max_bytes,
            block_size: settings.block_size.max(4096),
            freshness: settings.freshness,
            revalidate_after: settings.revalidate_after,
            same_region: settings.same_region,
            generations: (0..GENERATION_STRIPES)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        })
    }

    /// How many writes through the cache `key`'s stripe has seen.
    pub(crate) fn generation(&self, key: &str) -> u64 {
        let stripe = fnv(key) as usize % GENERATION_STRIPES;
        self.generations
            .get(stripe)
            .map_or(0, |g| g.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Whether the policy holds `key` (without counting a read).
    fn holds(&self, key: &str) -> bool {
        self.policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .holds(fnv(key))
    }

    /// Entries and bytes in the cache folder.
    pub fn summary(&self) -> (u64, u64) {
        self.disk.summary()
    }

    /// Deletes now, whatever the time of the last sweep, the entries whose saved read counts
    /// say keeping them has stopped paying (their time to live, and a grace after it, have
    /// run out; their counts are kept for their return), and folders of blocks left without a
    /// meta for an hour: what each process opening the folder does at most once an hour.
    /// Safe while other processes use the folder: what they were reading is fetched again.
    pub fn prune(&self) -> super::Swept {
        self.disk
            .prune(&|h: &History, size, now| self.judge.outlived(&h.reads, h.miss_cost, size, now))
    }

    /// Deletes every entry in the folder, keeping their read counts (a few hundred bytes
    /// each) so the objects are valued as before when they return. Safe while other
    /// processes use the folder: what they were reading is fetched again.
    pub fn clear(&self) -> super::Swept {
        let forget_all = || {
            let mut p = self.policy();
            p.forget_all(now());
            p.take_removed();
        };
        forget_all();
        let swept = self.disk.clear();
        // Reads meanwhile may have held entries again whose files the clearing then deleted
        // (and an entry written after the clearing passed it is forgotten too: its next read
        // holds it again).
        forget_all();
        swept
    }

    /// The cache folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The size bound in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Saves a process's accounting beside the cache, so `lakeroute stats` can add up what
    /// every process that shared this cache spent and saved.
    pub(crate) fn save_accounting(&self, stats: &crate::meter::Stats) {
        if stats.total == crate::meter::Counters::default() {
            return;
        }
        let dir = self.dir.join("accounting");
        let name = format!(
            "{}-{}.json",
            std::process::id(),
            fnv(&format!("{:?}", std::time::SystemTime::now()))
        );
        let _ = std::fs::create_dir_all(&dir).and_then(|()| {
            let tmp = dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, stats.to_json().to_string())?;
            std::fs::rename(&tmp, dir.join(name))
        });
    }

    /// The accounting every process saved here.
    pub fn saved_accounting(&self) -> crate::meter::Stats {
        let mut all = crate::meter::Stats::default();
        for f in std::fs::read_dir(self.dir.join("accounting"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == "json")
                && let Some(s) = std::fs::read(f.path())
                    .ok()
                    .and_then(|b| crate::meter::Stats::from_json(&b))
            {
                all.merge(&s);
            }
        }
        all
    }

    /// Forgets an object overwritten, deleted or renamed through the cache: its files go, and
    /// the policy stops counting its bytes at once (else they would crowd out other entries
    /// until the object's next read).
    pub(crate) fn forget(&self, key: &str) {
        let stripe = fnv(key) as usize % GENERATION_STRIPES;
        if let Some(g) = self.generations.get(stripe) {
            g.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        let removed = {
            let mut p = self
                .policy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            p.forget(fnv(key), now());
            p.take_removed()
        };
        let hash = fnv(key);
        for k in &removed {
            self.disk.remove_hash(*k);
        }
        // Entries this process's policy does not hold (another process's) go too.
        if !removed.contains(&hash) {
            self.disk.remove(key);
        }
    }

    /// Runs the policy for one read; returns whether the object is (now) held and, when held,
    /// the read history to save with its entry if the saved one is out of date (a new session,
    /// a latest read well past the saved one, or the policy's first sight of it; see
    /// [`CostAwarePolicy::stale_history`]). An object not held for want of room keeps such a
    /// history as its seen reads instead. Deletes what the policy dropped, and the entries
    /// whose time to live ran out (see [`Cache::retire`]). `incoming` is how many bytes of it
    /// are about to be written (none on a hit): only those can take the folder over its bound.
    /// `known` is the history saved by whichever process read it before.
    #[allow(clippy::too_many_arguments)]
    async fn admit(
        self: &Arc<Self>,
        key: &str,
        version: &str,
        size: u64,
        incoming: u64,
        miss_cost: f64,
        cacheable: bool,
        known: Option<History>,
    ) -> (bool, Option<History>) {
        if !cacheable {
            return (false, None);
        }
        let hash = fnv(key);
        let t = now();
        let (held, changed, offered, removed, expired) = {
            let mut p = self.policy();
            // Entries whose time to live has run out go now, not when the folder next fills:
            // their bytes would cost the medium's price for nothing.
            p.expire(t);
            // With this process's latest read of each: one another process read since stays.
            let mut expired: Vec<(u64, f64)> = p
                .take_removed()
                .into_iter()
                .map(|k| (k, p.history(k).map_or(f64::INFINITY, |r| r.last)))
                .collect();
            if let Some(h) = known {
                p.recall(hash, h.reads);
            }
            p.touch(&Access {
                time: t,
                key: hash,
                version: fnv(version),
                size,
                miss_cost,
            });
            let held = p.holds(hash);
            // Counts are saved for what the folder could hold, not for what it never can.
            let worth_keeping = p.admits(size, miss_cost) && size <= self.max_bytes;
            // The object's own files go too when the policy dropped it and did not take it
            // back (expired, then refused room).
            let mut removed = p.take_removed();
            if !held && expired.iter().any(|(k, _)| *k == hash) {
                removed.push(hash);
            }
            removed.retain(|k| *k != hash || !held);
            expired.retain(|(k, _)| *k != hash);
            let history = p.history(hash).map(|reads| History { reads, miss_cost });
            let offered = history.map_or(0.0, |h| {
                p.worth_per_byte(&h.reads, miss_cost, size, t) * size as f64
            });
            let changed = history
                .filter(|h| {
                    known.is_none_or(|k| p.stale_history(&k.reads, &h.reads, size, miss_cost))
                })
                .filter(|_| worth_keeping);
            (held, changed, offered, removed, expired)
        };
        self.retire(removed, expired, t).await;
        let refused = |changed: Option<History>| {
            // What this read adds to its counts is kept for the next process that reads it.
            if let Some(h) = changed {
                self.disk.save_seen(key, &h);
            }
            (false, None)
        };
        if !held {
            return refused(changed);
        }
        // The policy keeps this process within the bound; other processes sharing the folder
        // may not have. Then make room on disk too, sparing the entry being read, or keep
        // nothing of it when what it would displace is worth more. Waiting for the count begun
        // when the folder was opened, and making room (which may walk the folder), run off the
        // async workers. A hit (nothing incoming) does not wait for that count: the next miss
        // brings the folder back within its bound.
        if incoming == 0 && self.disk.counting() {
            return (true, changed);
        }
        let used = self.counted().await;
        if used + incoming > self.max_bytes {
            let (cache, key) = (Arc::clone(self), key.to_string());
            let made = tokio::task::spawn_blocking(move || {
                let value = |m: &Meta| cache.worth_per_byte(m, t);
                cache
                    .disk
                    .make_room(cache.max_bytes, incoming, &key, &value, offered)
            })
            .await;
            // A walk that panicked made no room: nothing of this object is kept.
            if !made.unwrap_or(false) {
                let removed = {
                    let mut p = self.policy();
                    p.forget(hash, t);
                    p.take_removed()
                };
                self.retire(removed, Vec::new(), t).await;
                return refused(changed);
            }
        }
        (true, changed)
    }

    /// Deletes, off the async workers and outside the policy's lock, the entries the policy
    /// dropped (`removed`) and those whose time to live ran out (`expired`, with this
    /// process's latest read of each), with those whose recheck is due. An expired entry whose
    /// saved reads say another process read it after this one did stays, and is checked again
    /// when those reads run out (see [`CostAwarePolicy::outlived_at`]). An entry the policy
    /// holds again by the time its turn comes (read again meanwhile) stays. The read that
    /// found them waits for the deletions, so what it reports and writes follows them.
    async fn retire(self: &Arc<Self>, removed: Vec<u64>, mut expired: Vec<(u64, f64)>, now: f64) {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(entry) = pending.first_entry() {
                if entry.key().0.0 > now {
                    break;
                }
                // Due: judged by its saved reads alone.
                let ((_, k), ()) = entry.remove_entry();
                expired.push((k, f64::NEG_INFINITY));
            }
        }
        if removed.is_empty() && expired.is_empty() {
            return;
        }
        let cache = Arc::clone(self);
        // Should that task fail, what it did not delete stays until the folder fills.
        let _ = tokio::task::spawn_blocking(move || {
            let held = |k: u64| cache.policy().holds(k);
            for k in removed {
                if !held(k) {
                    cache.disk.remove_hash(k);
                }
            }
            for (k, mine) in expired {
                if held(k) {
                    continue;
                }
                let Some((h, size)) = cache.disk.saved_reads(k) else {
                    continue;
                };
                let until = if h.reads.last <= mine {
                    now
                } else {
                    cache.judge.outlived_at(&h.reads, h.miss_cost, size)
                };
                if now >= until {
                    cache.disk.remove_hash(k);
                } else if until.is_finite() {
                    cache
                        .pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((Ord64(until), k), ());
                }
            }
        })
        .await;
    }

    /// The space the folder's entries use ([`Disk::used`]), waiting for the count begun when
    /// the folder was opened, if it still runs, off the async workers.
    async fn counted(self: &Arc<Self>) -> u64 {
        if !self.disk.counting() {
            return self.disk.used();
        }
        let cache = Arc::clone(self);
        // Should that task fail, nothing is deleted now: the next walk counts again.
        tokio::task::spawn_blocking(move || cache.disk.used())
            .await
            .unwrap_or(0)
    }

    fn policy(&self) -> std::sync::MutexGuard<'_, CostAwarePolicy> {
        self.policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What an entry on disk is worth per byte, from the history saved with it (nothing, when
    /// it has none: it is evicted first).
    fn worth_per_byte(&self, m: &Meta, now: f64) -> f64 {
        m.history.map_or(f64::NEG_INFINITY, |h| {
            self.policy()
                .worth_per_byte(&h.reads, h.miss_cost, m.size, now)
        })
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A store read through the cache; see the module docs.
#[derive(Clone)]
pub struct CachedStore {
    inner: Arc<dyn ObjectStore>,
    cache: Arc<Cache>,
    /// The store's identity (its physical root URL), so keys are global.
    identity: String,
    immutable: bool,
    cost: ReadCost,
    account: Account,
}

impl fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &crate::secret::StoreName(&*self.inner))
            .field("cache", &self.cache)
            .field("identity", &self.identity)
            .field("immutable", &self.immutable)
            .field("cost", &self.cost)
            .field("account", &self.account)
            .finish()
    }
}

impl fmt::Display for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CachedStore({})", self.inner)
    }
}

fn result(
    location: &Path,
    meta: &Meta,
    range: Range<u64>,
    bytes: Bytes,
    status: CacheStatus,
) -> GetResult {
    let body = futures::stream::once(async move { Ok(bytes) }).boxed();
    streamed(location, meta, range, body, status)
}

/// [`result`] for a body that arrives as a stream.
fn streamed(
    location: &Path,
    meta: &Meta,
    range: Range<u64>,
    body: BoxStream<'static, Result<Bytes>>,
    status: CacheStatus,
) -> GetResult {
    let last_modified = chrono::DateTime::parse_from_rfc3339(&meta.last_modified)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    let mut r = GetResult {
        payload: GetResultPayload::Stream(body),
        meta: ObjectMeta {
            location: location.clone(),
            last_modified,
            size: meta.size,
            e_tag: Some(meta.etag.clone()),
            version: meta.version.clone(),
        },
        range,
        attributes: Default::default(),
        extensions: Default::default(),
    };
    r.extensions.insert(status);
    r
}

/// The byte range a read asks for, within an object of `size` bytes.
fn wanted(range: &Option<GetRange>, size: u64) -> Range<u64> {
    match range {
        None => 0..size,
        Some(GetRange::Bounded(r)) => r.start.min(size)..r.end.min(size),
        Some(GetRange::Offset(o)) => (*o).min(size)..size,
        Some(GetRange::Suffix(n)) => size.saturating_sub(*n)..size,
    }
}

impl CachedStore {
    pub(crate) fn new(
        inner: Arc<dyn ObjectStore>,
        cache: Arc<Cache>,
        identity: String,
        immutable: bool,
        cost: ReadCost,
        account: Account,
    ) -> Self {
        Self {
            inner,
            cache,
            identity,
            immutable,
            cost,
            account,
        }
    }

    fn key(&self, location: &Path) -> String {
        format!("{}/{}", self.identity, location)
    }

    fn cacheable(&self) -> bool {
        self.cost.per_byte > 0.0 || self.cache.same_region
    }

    fn blocks(&self, r: &Range<u64>) -> Range<u64> {
        let b = self.cache.block_size;
        if r.is_empty() {
            return 0..0;
        }
        r.start / b..r.end.div_ceil(b)
    }

    fn block_len(&self, index: u64, size: u64) -> u64 {
        let b = self.cache.block_size;
        (size - (index * b).min(size)).min(b)
    }

    /// Stores the complete blocks inside `fetched` (a range of the object) with `bytes`.
    fn store_blocks(&self, key: &str, meta: &Meta, fetched: &Range<u64>, bytes: &Bytes) {
        let b = self.cache.block_size;
        for index in self.blocks(fetched) {
            let start = index * b;
            let len = self.block_len(index, meta.size);
            if start >= fetched.start && start + len <= fetched.end && len > 0 {
                let from = (start - fetched.start) as usize;
                let _ = self.cache.disk.write_block(
                    key,
                    &meta.etag,
                    index,
                    &bytes[from..from + len as usize],
                );
            }
        }
    }

    fn record(&self, hit: bool, bytes: u64) {
        self.record_part(hit, bytes, true);
    }

    /// [`Self::record`] for one window of a read; only the first (`counted`) counts the read.
    fn record_part(&self, hit: bool, bytes: u64, counted: bool) {
        let avoided = if hit { self.cost.of(bytes) } else { 0.0 };
        self.account.record(|c| {
            if hit {
                c.cache_hits += u64::from(counted);
                c.bytes_cached += bytes;
                c.dollars_avoided += avoided;
            } else {
                c.cache_misses += u64::from(counted);
            }
        });
    }

    /// Serves a read of a fresh entry as [`Self::serve`] does, but a read longer than
    /// [`HIT_WINDOW`] as a stream of [`STREAM_WINDOW`]s, each read from disk when the consumer
    /// asks for it: memory holds the windows still referred to, not the whole object. A window
    /// that finds the object changed (through `If-Match` on a block it lacked) drops the entry
    /// and ends the stream with an error. The answer's [`CacheStatus`], the hit or miss counted
    /// and the read the policy sees are the first window's; later windows add only the bytes
    /// they served.
    async fn serve_windows(
        &self,
        location: &Path,
        key: &str,
        meta: &Meta,
        asked: &Option<GetRange>,
    ) -> Result<Option<GetResult>> {
        let want = wanted(asked, meta.size);
        let b = self.cache.block_size;
        if want.end - want.start <= (HIT_WINDOW / b).max(1) * b {
            return self.serve(location, key, meta, asked, true).await;
        }
        let window = (STREAM_WINDOW / b).max(1) * b;
        // Windows end on multiples of `window`, so none shares a block with the next.
        let first = want.start..((want.start / window + 1) * window).min(want.end);
        let Some(head) = self
            .serve(
                location,
                key,
                meta,
                &Some(GetRange::Bounded(first.clone())),
                true,
            )
            .await?
        else {
            return Ok(None);
        };
        let this = self.clone();
        let (owned_location, owned_key, owned_meta) =
            (location.clone(), key.to_string(), meta.clone());
        let rest = futures::stream::try_unfold(first.end, move |at| {
            let (this, location, key, meta) = (
                this.clone(),
                owned_location.clone(),
                owned_key.clone(),
                owned_meta.clone(),
            );
            let end = want.end;
            async move {
                if at >= end {
                    return Ok(None);
                }
                let next = at..(at + window).min(end);
                let range = Some(GetRange::Bounded(next.clone()));
                match this.serve(&location, &key, &meta, &range, false).await? {
                    Some(part) => Ok(Some((part.bytes().await?, next.end))),
                    None => {
                        // The entry is of an old version: drop it, so the next read starts over.
                        this.cache.forget(&key);
                        Err(object_store::Error::Precondition {
                            path: location.to_string(),
                            source: "the object changed while it was read from the cache".into(),
                        })
                    }
                }
            }
        });
        let status = head.extensions.get::<CacheStatus>().copied();
        let body = head.into_stream().chain(rest).boxed();
        Ok(Some(streamed(
            location,
            meta,
            want,
            body,
            status.unwrap_or(CacheStatus::Miss),
        )))
    }

    /// Fetches `range` of the object (aligned to blocks when possible), caches it if the policy
    /// admits it, and answers the read.
    async fn fetch(&self, location: &Path, key: &str, options: GetOptions) -> Result<GetResult> {
        let asked = options.range.clone();
        // Widened to whole blocks where the range allows; a suffix is fetched as asked (its
        // first, partial block is not kept). Never more than the read needs plus two blocks.
        let b = self.cache.block_size;
        let aligned = match &asked {
            Some(GetRange::Bounded(r)) => {
                Some(GetRange::Bounded((r.start / b) * b..r.end.div_ceil(b) * b))
            }
            Some(GetRange::Offset(o)) => Some(GetRange::Offset((o / b) * b)),
            other => other.clone(),
        };
        let generation = self.cache.generation(key);
        let got = self
            .inner
            .get_opts(
                location,
                GetOptions {
                    range: aligned,
                    ..options
                },
            )
            .await?;
        let known = self.cache.disk.seen(key);
        self.absorb(location, key, &asked, got, generation, known)
            .await
    }

    /// Answers a read with what the store sent back, streamed through: if the policy admits the
    /// object, its complete blocks are written to the cache as they pass, so memory holds at
    /// most one block whatever the object's size.
    async fn absorb(
        &self,
        location: &Path,
        key: &str,
        asked: &Option<GetRange>,
        got: GetResult,
        generation: u64,
        known: Option<History>,
    ) -> Result<GetResult> {
        let size = got.meta.size;
        let fetched = got.range.clone();
        let etag = got.meta.e_tag.clone();
        let mut meta = etag.map(|etag| Meta {
            key: key.to_string(),
            etag,
            version: got.meta.version.clone(),
            size,
            last_modified: got.meta.last_modified.to_rfc3339(),
            validated: now(),
            history: known,
        });
        // A write through the cache since the request went out: what came back may be the old
        // version, so it is passed on but not kept.
        let unchanged = self.cache.generation(key) == generation;
        let held = match meta.as_mut().filter(|_| unchanged) {
            Some(meta) => {
                let (held, history) = self
                    .cache
                    .admit(
                        key,
                        &meta.etag,
                        size,
                        fetched.end - fetched.start,
                        self.cost.of(size),
                        self.cacheable(),
                        known,
                    )
                    .await;
                meta.history = history.or(known);
                let kept = held && self.cache.disk.write_meta(meta).is_ok();
                if kept {
                    self.cache.disk.drop_seen(key);
                }
                kept
            }
            None => false,
        };
        self.record(false, 0);
        let want = wanted(asked, size);
        let blocks = meta.as_ref().filter(|_| held).map(|meta| Blocks {
            cache: Arc::clone(&self.cache),
            key: key.to_string(),
            etag: meta.etag.clone(),
            size,
            block: self.cache.block_size,
            index: fetched.start.div_ceil(self.cache.block_size),
            buf: Vec::new(),
            generation,
            stopped: false,
        });
        let body = pass_through(got.into_stream(), fetched.start, want.clone(), blocks);
        let fallback = Meta {
            key: key.to_string(),
            etag: String::new(),
            version: None,
            size,
            last_modified: chrono::Utc::now().to_rfc3339(),
            validated: now(),
            history: None,
        };
        Ok(streamed(
            location,
            meta.as_ref().unwrap_or(&fallback),
            want,
            body,
            CacheStatus::Miss,
        ))
    }

    /// Serves a read from a fresh entry, fetching blocks it lacks. `None`: the object changed.
    ///
    /// The whole blocks under the range are read straight into one buffer (each checked against
    /// its CRC), and the answer is a slice of it: one allocation and one copy per read.
    async fn serve(
        &self,
        location: &Path,
        key: &str,
        meta: &Meta,
        asked: &Option<GetRange>,
        counted: bool,
    ) -> Result<Option<GetResult>> {
        let want = wanted(asked, meta.size);
        let generation = self.cache.generation(key);
        let b = self.cache.block_size;
        let blocks = self.blocks(&want);
        let span = (blocks.start * b).min(meta.size)..(blocks.end * b).min(meta.size);
        let plan: Vec<(u64, usize)> = blocks
            .clone()
            .map(|index| (index, self.block_len(index, meta.size) as usize))
            .collect();
        let total = (span.end - span.start) as usize;
        // Small reads from the page cache take less than handing them to another thread would;
        // large ones run off the async workers, split between threads.
        let (mut buf, missing) = if total < PARALLEL_READ_BYTES {
            read_blocks(&self.cache.disk, key, &meta.etag, &plan, total)
        } else {
            let (cache, key, etag) = (Arc::clone(&self.cache), key.to_string(), meta.etag.clone());
            tokio::task::spawn_blocking(move || read_blocks(&cache.disk, &key, &etag, &plan, total))
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "lakeroute cache",
                    source: Box::new(e),
                })?
        };
        let mut fetched = None;
        if let (Some(first), Some(last)) = (missing.first().copied(), missing.last().copied()) {
            let fetch = first * b..((last + 1) * b).min(meta.size);
            let opts = GetOptions::new()
                .with_range(Some(fetch.clone()))
                .with_if_match(Some(meta.etag.clone()));
            let got = match self.inner.get_opts(location, opts).await {
                Ok(g) => g,
                Err(object_store::Error::Precondition { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            let bytes = got.bytes().await?;
            if bytes.len() as u64 != fetch.end - fetch.start {
                return Ok(None);
            }
            let at = (fetch.start - span.start) as usize;
            buf[at..at + bytes.len()].copy_from_slice(&bytes);
            fetched = Some((fetch, bytes));
        }
        let hit = missing.is_empty();
        // The windows after a long read's first are the same read: they do not count another
        // with the policy.
        let held = if counted {
            let (held, history) = self
                .cache
                .admit(
                    key,
                    &meta.etag,
                    meta.size,
                    fetched.as_ref().map_or(0, |(_, b)| b.len() as u64),
                    self.cost.of(meta.size),
                    self.cacheable(),
                    meta.history,
                )
                .await;
            // A new session, or a latest read well past the saved one: saved for the
            // processes that come after (most hits inside a session write nothing).
            if let Some(h) = history
                && self.cache.generation(key) == generation
                && self.cache.disk.save_history(key, &meta.etag, h)
            {
                self.cache.disk.drop_seen(key);
            }
            held
        } else {
            self.cache.holds(key)
        };
        // Blocks are stored only for an entry the policy holds (else its files were dropped),
        // and not when the object was written through the cache meanwhile.
        let unchanged = self.cache.generation(key) == generation;
        if let (true, true, Some((fetch, bytes))) = (held, unchanged, fetched) {
            // A long hit's later windows come here without the policy's wait for the count
            // begun when the folder was opened: the writes must not wait on the async workers.
            self.cache.counted().await;
            self.store_blocks(key, meta, &fetch, &bytes);
        }
        let out = Bytes::from(buf)
            .slice((want.start - span.start) as usize..(want.end - span.start) as usize);
        let n = out.len() as u64;
        self.record_part(hit, if hit { n } else { 0 }, counted);
        let status = if hit {
            CacheStatus::Hit
        } else {
            CacheStatus::Miss
        };
        Ok(Some(result(location, meta, want, out, status)))
    }
}

/// A multipart upload through the cache: the object is forgotten again when the upload
/// completes, so a read that ran while it was under way cannot leave the old version behind.
#[derive(Debug)]
struct ForgetOnComplete {
    upload: Box<dyn MultipartUpload>,
    cache: Arc<Cache>,
    key: String,
}

#[async_trait]
impl MultipartUpload for ForgetOnComplete {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let done = self.upload.complete().await;
        self.cache.forget(&self.key);
        done
    }

    async fn abort(&mut self) -> Result<()> {
        self.upload.abort().await
    }
}

/// The blocks of an object being fetched, written to the cache as the bytes go by.
struct Blocks {
    cache: Arc<Cache>,
    key: String,
    etag: String,
    size: u64,
    block: u64,
    /// The block being filled (bytes before its start are not cached: a read that began
    /// mid-block cannot complete that block).
    index: u64,
    buf: Vec<u8>,
    /// The key's write count when the request went out: a write since stops the caching.
    generation: u64,
    /// Set once a block could not be kept: the rest streams through uncached.
    stopped: bool,
}

impl Blocks {
    /// Whether blocks may still be kept: not when the object was written through the cache or
    /// dropped by the policy since the request went out (they could be the old version, or
    /// bytes the policy does not count).
    fn live(&self) -> bool {
        self.cache.generation(&self.key) == self.generation && self.cache.holds(&self.key)
    }

    /// Writes block `index` if `live` (checked once per chunk, on its first complete block,
    /// so small blocks do not take the policy's lock each): false when nothing more is kept.
    fn write(&self, index: u64, data: &[u8], live: &mut Option<bool>) -> bool {
        if !*live.get_or_insert_with(|| self.live()) {
            return false;
        }
        let _ = self
            .cache
            .disk
            .write_block(&self.key, &self.etag, index, data);
        true
    }

    /// Takes the bytes of the object at `[at, at + data.len())`, which follow those taken before.
    fn take(&mut self, at: u64, data: &[u8]) {
        let (mut pos, mut rest) = (at, data);
        let mut live = None;
        while !rest.is_empty() && !self.stopped {
            let start = self.index * self.block;
            if start >= self.size {
                // More bytes than the object has: nothing past its end is a block.
                return;
            }
            if pos < start {
                let skip = ((start - pos) as usize).min(rest.len());
                rest = &rest[skip..];
                pos += skip as u64;
                continue;
            }
            let end = (start + self.block).min(self.size);
            let take = ((end - pos) as usize).min(rest.len());
            let (head, tail) = rest.split_at(take);
            let whole = self.buf.is_empty() && take as u64 == end - start;
            let mut kept = true;
            if whole {
                // The chunk holds the whole block: write it from there, without a copy.
                kept = self.write(self.index, head, &mut live);
            } else {
                self.buf.extend_from_slice(head);
            }
            rest = tail;
            pos += take as u64;
            if pos == end {
                if !whole {
                    kept = self.write(self.index, &self.buf, &mut live);
                    self.buf.clear();
                }
                self.index += 1;
            }
            if !kept {
                self.stopped = true;
                self.buf = Vec::new();
            }
        }
    }
}

/// The body of a fetched range that starts at `start`, trimmed to `want`, its complete blocks
/// handed to `blocks` (when the object is being cached) on the way.
fn pass_through(
    body: BoxStream<'static, Result<Bytes>>,
    start: u64,
    want: Range<u64>,
    mut blocks: Option<Blocks>,
) -> BoxStream<'static, Result<Bytes>> {
    let mut pos = start;
    body.map(move |chunk| {
        let chunk = chunk?;
        let at = pos;
        pos += chunk.len() as u64;
        if let Some(b) = blocks.as_mut() {
            b.take(at, &chunk);
        }
        let from = want.start.clamp(at, pos) - at;
        let to = want.end.clamp(at, pos) - at;
        Ok(chunk.slice(from as usize..to as usize))
    })
    .filter(|c| futures::future::ready(!matches!(c, Ok(b) if b.is_empty())))
    .boxed()
}

/// Hits up to this long are answered in one piece; longer ones are streamed.
const HIT_WINDOW: u64 = 64 * 1024 * 1024;

/// The window of a streamed hit: what memory holds per window still referred to (a copy's
/// parts in flight keep a few alive). Above glibc's largest dynamic mmap threshold (32 MiB),
/// so a window's memory goes back to the system when it is freed: 16 MiB windows, reused
/// from the heap, left `lakeroute get` of a 600 MB hit at a higher peak than 64 MiB ones.
const STREAM_WINDOW: u64 = 40 * 1024 * 1024;

/// Reads below this size run on the calling task, in one thread; from it up, off the async
/// workers, with the blocks split between threads.
const PARALLEL_READ_BYTES: usize = 16 * 1024 * 1024;

/// Reads `plan`'s blocks (index, length), back to back, into a buffer of `total` bytes; returns
/// it with the indexes that are missing or damaged. Large reads are split into runs of blocks
/// read on scoped threads, one per core up to four: reading from the page cache and checking
/// CRCs is CPU-bound.
fn read_blocks(
    disk: &Disk,
    key: &str,
    etag: &str,
    plan: &[(u64, usize)],
    total: usize,
) -> (Vec<u8>, Vec<u64>) {
    if total < PARALLEL_READ_BYTES {
        // One thread: blocks are appended to the buffer's spare capacity, never zeroed first.
        let mut buf = Vec::with_capacity(total + 5);
        let missing = plan
            .iter()
            .filter(|&&(index, len)| !disk.read_block_append(key, etag, index, len, &mut buf))
            .map(|&(index, _)| index)
            .collect();
        return (buf, missing);
    }
    let mut buf = vec![0u8; total];
    let missing = read_blocks_into(disk, key, etag, plan, &mut buf);
    (buf, missing)
}

fn read_blocks_into(
    disk: &Disk,
    key: &str,
    etag: &str,
    plan: &[(u64, usize)],
    buf: &mut [u8],
) -> Vec<u64> {
    let read_run = |run: &[(u64, usize)], out: &mut [u8]| {
        let mut missing = Vec::new();
        let mut at = 0;
        for &(index, len) in run {
            if !disk.read_block_into(key, etag, index, &mut out[at..at + len]) {
                missing.push(index);
            }
            at += len;
        }
        missing
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(4)
        .min(plan.len());
    if buf.len() < PARALLEL_READ_BYTES || threads < 2 {
        return read_run(plan, buf);
    }
    let per = plan.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut rest = &mut *buf;
        let mut handles = Vec::new();
        for run in plan.chunks(per) {
            let bytes: usize = run.iter().map(|(_, len)| len).sum();
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(bytes);
            rest = tail;
            handles.push(scope.spawn(move || read_run(run, mine)));
        }
        let mut missing = Vec::new();
        for h in handles {
            match h.join() {
                Ok(m) => missing.extend(m),
                // A panicking reader leaves its blocks unread: fetch them again.
                Err(_) => return plan.iter().map(|(i, _)| *i).collect(),
            }
        }
        missing.sort_unstable();
        missing
    })
}

#[async_trait]
impl ObjectStore for CachedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        // Forgotten before (so this process stops serving it) and after (so a read that was
        // under way cannot leave the old version behind).
        let key = self.key(location);
        self.cache.forget(&key);
        let done = self.inner.put_opts(location, payload, opts).await;
        self.cache.forget(&key);
        done
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let key = self.key(location);
        self.cache.forget(&key);
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(ForgetOnComplete {
            upload,
            cache: Arc::clone(&self.cache),
            key,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let conditional = options.if_match.is_some()
            || options.if_none_match.is_some()
            || options.if_modified_since.is_some()
            || options.if_unmodified_since.is_some()
            || options.version.is_some();
        // What the cache would not keep (same-region data, by default) streams straight through.
        if options.head || conditional || !self.cacheable() {
            return self.inner.get_opts(location, options).await;
        }
        let key = self.key(location);
        for _ in 0..2 {
            let Some(mut meta) = self.cache.disk.meta(&key) else {
                return self.fetch(location, &key, options).await;
            };
            let age = now() - meta.validated;
            let fresh = self.immutable
                || (self.cache.freshness == Freshness::Ttl
                    && age < self.cache.revalidate_after.as_secs_f64());
            if !fresh {
                let check = GetOptions::new()
                    .with_if_none_match(Some(meta.etag.clone()))
                    .with_range(options.range.clone());
                let generation = self.cache.generation(&key);
                match self.inner.get_opts(location, check).await {
                    Err(object_store::Error::NotModified { .. }) => {
                        meta.validated = now();
                        if self.cache.generation(&key) == generation {
                            let _ = self.cache.disk.write_meta(&meta);
                        }
                    }
                    Ok(changed) => {
                        // New bytes: forget the old entry and keep what just arrived.
                        self.cache.disk.remove(&key);
                        return self
                            .absorb(
                                location,
                                &key,
                                &options.range,
                                changed,
                                generation,
                                meta.history,
                            )
                            .await;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(r) = self
                .serve_windows(location, &key, &meta, &options.range)
                .await?
            {
                return Ok(r);
            }
            // The object changed under a fresh entry (seen through If-Match): start over.
            self.cache.disk.remove(&key);
        }
        self.fetch(location, &key, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if !self.cacheable() {
            // The inner store coalesces nearby ranges into fewer requests.
            return self.inner.get_ranges(location, ranges).await;
        }
        // Each range goes through the cache on its own (hits cost no request); misses are
        // fetched concurrently rather than one after another.
        futures::future::try_join_all(ranges.iter().map(|r| async move {
            self.get_opts(location, GetOptions::new().with_range(Some(r.clone())))
                .await?
                .bytes()
                .await
        }))
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let (cache, identity) = (Arc::clone(&self.cache), self.identity.clone());
        let forget = move |l: Result<Path>| {
            if let Ok(p) = &l {
                cache.forget(&format!("{identity}/{p}"));
            }
            l
        };
        let after = forget.clone();
        self.inner
            .delete_stream(locations.map(forget).boxed())
            .map(after)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let key = self.key(to);
        self.cache.forget(&key);
        let done = self.inner.copy_opts(from, to, options).await;
        self.cache.forget(&key);
        done
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let keys = [self.key(from), self.key(to)];
        keys.iter().for_each(|k| self.cache.forget(k));
        let done = self.inner.rename_opts(from, to, options).await;
        keys.iter().for_each(|k| self.cache.forget(k));
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::{Budget, Meter};
    use object_store::ObjectStoreExt;
    use object_store::local::LocalFileSystem;
    use std::sync::atomic::{AtomicU8, Ordering};
    use tokio::sync::Notify;

    /// Where an armed [`Gate`] holds a GET.
    const HOLD_ANSWER: u8 = 1;
    const HOLD_SECOND_CHUNK: u8 = 2;

    /// A real store whose next GET, once armed, is held (its answer, or its body after the
    /// first chunk: the old version's open file either way) until released, so a read and a
    /// write interleave in a chosen order.
    #[derive(Debug)]
    struct Gate {
        inner: Arc<dyn ObjectStore>,
        armed: AtomicU8,
        reached: Arc<Notify>,
        release: Arc<Notify>,
    }

    impl fmt::Display for Gate {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Gate({})", self.inner)
        }
    }

    #[async_trait]
    impl ObjectStore for Gate {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            let got = self.inner.get_opts(l, o).await?;
            let (reached, release) = (Arc::clone(&self.reached), Arc::clone(&self.release));
            match self.armed.swap(0, Ordering::SeqCst) {
                HOLD_ANSWER => {
                    reached.notify_one();
                    release.notified().await;
                    Ok(got)
                }
                HOLD_SECOND_CHUNK => {
                    let (meta, range, attributes) =
                        (got.meta.clone(), got.range.clone(), got.attributes.clone());
                    let body = got
                        .into_stream()
                        .enumerate()
                        .then(move |(i, chunk)| {
                            let (reached, release) = (Arc::clone(&reached), Arc::clone(&release));
                            async move {
                                if i == 1 {
                                    reached.notify_one();
                                    release.notified().await;
                                }
                                chunk
                            }
                        })
                        .boxed();
                    Ok(GetResult {
                        payload: GetResultPayload::Stream(body),
                        meta,
                        range,
                        attributes,
                        extensions: Default::default(),
                    })
                }
                _ => Ok(got),
            }
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(&self, from: &Path, to: &Path, o: CopyOptions) -> Result<()> {
            self.inner.copy_opts(from, to, o).await
        }
    }

    fn cached(
        gate: Arc<Gate>,
        dir: &std::path::Path,
    ) -> std::result::Result<CachedStore, Box<dyn std::error::Error>> {
        let cache = Cache::open(&crate::catalog::CacheSettings {
            dir: dir.to_path_buf(),
            max_bytes: 1 << 30,
            block_size: 4096,
            freshness: Freshness::Ttl,
            revalidate_after: Duration::from_secs(3600),
            same_region: false,
            medium_price_gb_month: 0.08,
            read_memory: Some(Duration::from_secs(30 * 86_400)),
        })?;
        let meter = Arc::new(Meter::new(Budget::default()));
        Ok(CachedStore::new(
            gate,
            Arc::new(cache),
            "file:///gated".into(),
            // Immutable: an entry is never revalidated, so a stale one would be served for good.
            true,
            ReadCost {
                per_byte: 0.09 / 1e9,
                per_request: 0.0,
            },
            Account::new(meter, "d/n/v1".into(), "p".into()),
        ))
    }

    /// Files of entries in the cache folder (metadata and blocks).
    fn entry_files(dir: &std::path::Path) -> usize {
        let mut n = 0;
        let mut todo = vec![dir.join("v1")];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    n += 1;
                }
            }
        }
        n
    }

    /// A read whose answer was on its way, or half taken in, when the object was overwritten
    /// through the cache keeps nothing of it: no file of the old version stays on disk, and
    /// the next read gets the new version, never the old one for good.
    #[tokio::test]
    async fn a_read_that_raced_a_write_leaves_nothing_stale()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let (data, cache_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let gate = Arc::new(Gate {
            inner: Arc::new(LocalFileSystem::new_with_prefix(data.path())?),
            armed: AtomicU8::new(0),
            reached: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
        });
        let store = Arc::new(cached(Arc::clone(&gate), cache_dir.path())?);
        let path = Path::from("t/object.bin");
        // Several 8 KiB chunks of the local store's stream, two 4 KiB blocks each.
        let (old, new) = (vec![1u8; 40_000], vec![2u8; 40_000]);
        let cases = [
            (HOLD_ANSWER, None),
            (HOLD_ANSWER, Some(GetRange::Bounded(4096..12_288))),
            (HOLD_SECOND_CHUNK, None),
        ];
        for (hold, range) in cases {
            store.put(&path, old.clone().into()).await?;
            gate.armed.store(hold, Ordering::SeqCst);
            let reader = {
                let (store, path, range) = (Arc::clone(&store), path.clone(), range.clone());
                tokio::spawn(async move {
                    let opts = GetOptions::new().with_range(range);
                    store.get_opts(&path, opts).await?.bytes().await
                })
            };
            // A read that never reaches the store (served from the cache) fails here, not hangs.
            tokio::time::timeout(Duration::from_secs(10), gate.reached.notified())
                .await
                .map_err(|_| {
                    format!("hold {hold}, range {range:?}: the read never reached the store")
                })?;
            store.put(&path, new.clone().into()).await?;
            gate.release.notify_one();
            let raced = reader.await??;
            assert!(
                raced.iter().all(|b| *b == 1),
                "the racing read sees the old bytes"
            );
            assert_eq!(
                entry_files(cache_dir.path()),
                0,
                "hold {hold}, range {range:?}: something of the old version was kept"
            );
            let opts = GetOptions::new().with_range(range.clone());
            let after = store.get_opts(&path, opts).await?.bytes().await?;
            assert!(
                after.iter().all(|b| *b == 2),
                "hold {hold}, range {range:?}: a read after the write gets the new version"
            );
        }
        Ok(())
    }
}
