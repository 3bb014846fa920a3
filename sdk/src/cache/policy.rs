//! Cache policies that decide by dollars, and the baselines they are measured against.
//!
//! Every policy sees the same stream of accesses (time, object, version, size, what a miss
//! costs) and keeps its own entries; it pays for misses (egress plus request fees) and for the
//! bytes it holds over time (the cache medium's price). The trace benchmark replays traces
//! through these very types, and [`CostAwarePolicy`] is what the disk cache runs.
//!
//! lakeroute's policy ([`CostAwarePolicy`]) combines three rules:
//! - **admission by dollars**: an object whose miss costs nothing worth saving (same-region data,
//!   by default) is never stored;
//! - **break-even expiry**: an entry is dropped once it has gone unread for as long as storing
//!   it costs what one re-download would (ski rental; Macaron's offline rule applied online),
//!   extended in proportion to how often the object was read before;
//! - **GreedyDual-Size-Frequency** when space runs out: evict the entry with the least
//!   `frequency x miss cost / size`, aged by the last evicted value.

use std::collections::{BTreeMap, HashMap};

/// One access in a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// Seconds since the start of the trace.
    pub time: f64,
    /// The object.
    pub key: u64,
    /// Its version (an overwrite bumps it; a cached older version is worthless).
    pub version: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Dollars one miss costs: request fee plus size times the egress rate.
    pub miss_cost: f64,
}

/// A cache policy under replay.
pub trait Policy {
    /// A short name for reports.
    fn name(&self) -> String;
    /// Handles one access; returns true when it was a hit.
    fn access(&mut self, a: &Access) -> bool;
    /// Ends the replay at `time`; returns the byte-seconds held over the whole trace.
    fn finish(&mut self, time: f64) -> f64;
}

#[derive(Debug, Clone)]
struct Entry {
    version: u64,
    size: u64,
    since: f64,
    last: f64,
    freq: u32,
    miss_cost: f64,
    priority: f64,
    expires: f64,
}

/// Shared bookkeeping: entries, held bytes and byte-seconds.
#[derive(Debug, Default)]
struct Store {
    entries: HashMap<u64, Entry>,
    held: u64,
    byte_seconds: f64,
    removed: Vec<u64>,
}

impl Store {
    fn remove(&mut self, key: u64, at: f64) -> Option<Entry> {
        let e = self.entries.remove(&key)?;
        self.held -= e.size;
        self.removed.push(key);
        self.byte_seconds += e.size as f64 * (at.min(e.expires) - e.since).max(0.0);
        Some(e)
    }

    fn insert(&mut self, key: u64, e: Entry) {
        self.held += e.size;
        self.entries.insert(key, e);
    }

    fn finish(&mut self, time: f64) -> f64 {
        let keys: Vec<u64> = self.entries.keys().copied().collect();
        for k in keys {
            self.remove(k, time);
        }
        self.removed.clear();
        self.byte_seconds
    }
}

/// Never caches: every access is a miss.
#[derive(Debug, Default)]
pub struct NoCache;

impl Policy for NoCache {
    fn name(&self) -> String {
        "no cache".into()
    }
    fn access(&mut self, _: &Access) -> bool {
        false
    }
    fn finish(&mut self, _: f64) -> f64 {
        0.0
    }
}

/// Least recently used, bounded in bytes.
#[derive(Debug)]
pub struct Lru {
    capacity: u64,
    store: Store,
    order: BTreeMap<u64, u64>,
    tick: u64,
    ticks: HashMap<u64, u64>,
}

impl Lru {
    /// An LRU cache of `capacity` bytes (`u64::MAX`: unbounded).
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            store: Store::default(),
            order: BTreeMap::new(),
            tick: 0,
            ticks: HashMap::new(),
        }
    }
}

impl Policy for Lru {
    fn name(&self) -> String {
        "LRU by bytes".into()
    }

    fn access(&mut self, a: &Access) -> bool {
        self.tick += 1;
        if let Some(t) = self.ticks.insert(a.key, self.tick) {
            self.order.remove(&t);
        }
        self.order.insert(self.tick, a.key);
        let hit = self
            .store
            .entries
            .get(&a.key)
            .is_some_and(|e| e.version == a.version);
        if hit {
            return true;
        }
        self.store.remove(a.key, a.time);
        if a.size > self.capacity {
            return false;
        }
        while self.store.held + a.size > self.capacity {
            let Some((&t, &victim)) = self
                .order
                .iter()
                .find(|(_, k)| self.store.entries.contains_key(k))
            else {
                break;
            };
            self.order.remove(&t);
            self.ticks.remove(&victim);
            self.store.remove(victim, a.time);
        }
        self.store.insert(a.key, entry(a, 0.0, f64::INFINITY));
        false
    }

    fn finish(&mut self, time: f64) -> f64 {
        self.store.finish(time)
    }
}

fn entry(a: &Access, priority: f64, expires: f64) -> Entry {
    Entry {
        version: a.version,
        size: a.size,
        since: a.time,
        last: a.time,
        freq: 1,
        miss_cost: a.miss_cost,
        priority,
        expires,
    }
}

/// Ordered floats for priority queues.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ord64(f64);
impl Eq for Ord64 {}
impl PartialOrd for Ord64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ord64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// GreedyDual-Size-Frequency with miss cost = request fee + size x egress rate.
#[derive(Debug)]
pub struct Gdsf {
    capacity: u64,
    store: Store,
    queue: BTreeMap<(Ord64, u64), ()>,
    inflation: f64,
}

impl Gdsf {
    /// A GDSF cache of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            store: Store::default(),
            queue: BTreeMap::new(),
            inflation: 0.0,
        }
    }

    fn priority(&self, freq: u32, cost: f64, size: u64) -> f64 {
        self.inflation + f64::from(freq) * cost / size.max(1) as f64
    }

    /// Makes room for `size` bytes; false when it cannot.
    fn make_room(&mut self, size: u64, at: f64) -> bool {
        if size > self.capacity {
            return false;
        }
        while self.store.held + size > self.capacity {
            let Some((&(p, victim), _)) = self.queue.iter().next() else {
                return false;
            };
            self.queue.remove(&(p, victim));
            self.inflation = p.0;
            self.store.remove(victim, at);
        }
        true
    }
}

impl Policy for Gdsf {
    fn name(&self) -> String {
        "GreedyDual-Size-Frequency".into()
    }

    fn access(&mut self, a: &Access) -> bool {
        if let Some(e) = self.store.entries.get(&a.key).cloned() {
            self.queue.remove(&(Ord64(e.priority), a.key));
            if e.version == a.version {
                let p = self.priority(e.freq + 1, e.miss_cost, e.size);
                if let Some(e) = self.store.entries.get_mut(&a.key) {
                    e.freq += 1;
                    e.last = a.time;
                    e.priority = p;
                }
                self.queue.insert((Ord64(p), a.key), ());
                return true;
            }
            self.store.remove(a.key, a.time);
        }
        if self.make_room(a.size, a.time) {
            let p = self.priority(1, a.miss_cost, a.size);
            self.store.insert(a.key, entry(a, p, f64::INFINITY));
            self.queue.insert((Ord64(p), a.key), ());
        }
        false
    }

    fn finish(&mut self, time: f64) -> f64 {
        self.store.finish(time)
    }
}

/// Keeps every object for a fixed break-even time after each access: the time storing it
/// costs what one miss costs. Bounded by capacity with LRU order when full.
#[derive(Debug)]
pub struct BreakEvenTtl {
    inner: CostAwarePolicy,
}

impl BreakEvenTtl {
    /// A break-even TTL cache of `capacity` bytes; storage costs `price` dollars per byte-second.
    pub fn new(capacity: u64, price: f64) -> Self {
        let mut inner = CostAwarePolicy::new(capacity, price);
        inner.admit_floor = 0.0;
        inner.frequency_extends = false;
        inner.gdsf_eviction = false;
        Self { inner }
    }
}

impl Policy for BreakEvenTtl {
    fn name(&self) -> String {
        "break-even TTL".into()
    }
    fn access(&mut self, a: &Access) -> bool {
        self.inner.access(a)
    }
    fn finish(&mut self, time: f64) -> f64 {
        self.inner.finish(time)
    }
}

/// lakeroute's policy; see the module docs.
#[derive(Debug)]
pub struct CostAwarePolicy {
    capacity: u64,
    price: f64,
    store: Store,
    queue: BTreeMap<(Ord64, u64), ()>,
    inflation: f64,
    /// Objects whose miss costs less than this (dollars per byte) are not stored.
    pub admit_floor: f64,
    /// Whether past reads lengthen an entry's time to live.
    pub frequency_extends: bool,
    /// Whether space pressure evicts by GDSF value (else least recently used).
    pub gdsf_eviction: bool,
    /// How long an object's first read keeps it, as a fraction of its break-even time.
    pub first_ttl: f64,
    /// Read count and first read time of objects seen, kept after eviction so a returning
    /// object is recognised and its read rate estimated.
    seen: HashMap<u64, (u32, f64)>,
}

impl CostAwarePolicy {
    /// A cache of `capacity` bytes whose medium costs `price` dollars per byte-second.
    pub fn new(capacity: u64, price: f64) -> Self {
        Self {
            capacity,
            price,
            store: Store::default(),
            queue: BTreeMap::new(),
            inflation: 0.0,
            admit_floor: 1e-15,
            frequency_extends: true,
            gdsf_eviction: true,
            first_ttl: 1.0,
            seen: HashMap::new(),
        }
    }

    /// Seconds after which keeping `size` bytes costs `miss_cost`.
    pub fn break_even(&self, size: u64, miss_cost: f64) -> f64 {
        miss_cost / (size.max(1) as f64 * self.price)
    }

    /// Whether an object with this miss cost is worth storing at all.
    pub fn admits(&self, size: u64, miss_cost: f64) -> bool {
        miss_cost / size.max(1) as f64 >= self.admit_floor && miss_cost > 0.0
    }

    fn ttl(&self, a: &Access, freq: u32, first: f64) -> f64 {
        let be = self.break_even(a.size, a.miss_cost);
        if !self.frequency_extends {
            return be;
        }
        // An object read n times is more likely read again soon: keep it (n + 1) / 2
        // break-evens, but never longer than its reads so far span (a burst of reads long ago
        // says little about today).
        let extended = be * f64::from(freq + 1) / 2.0 * self.first_ttl;
        if freq < 2 {
            be * self.first_ttl
        } else {
            extended.min(be.max(a.time - first))
        }
    }

    fn value(&self, freq: u32, cost: f64, size: u64, last: f64) -> f64 {
        if self.gdsf_eviction {
            self.inflation + f64::from(freq) * cost / size.max(1) as f64
        } else {
            last
        }
    }

    /// Drops every entry whose time to live has run out by `now`.
    pub fn expire(&mut self, now: f64) {
        let expired: Vec<u64> = self
            .store
            .entries
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(e) = self.store.remove(k, now) {
                self.queue.remove(&(Ord64(e.priority), k));
            }
        }
    }

    fn make_room(&mut self, size: u64, at: f64) -> bool {
        if size > self.capacity {
            return false;
        }
        if self.store.held + size > self.capacity {
            self.expire(at);
        }
        while self.store.held + size > self.capacity {
            let Some((&(p, victim), _)) = self.queue.iter().next() else {
                return false;
            };
            self.queue.remove(&(p, victim));
            if self.gdsf_eviction {
                self.inflation = p.0;
            }
            self.store.remove(victim, at);
        }
        true
    }

    /// Keys dropped since the last call (evicted, expired or replaced): the disk cache deletes
    /// their files.
    pub fn take_removed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.store.removed)
    }

    /// True when `key` is held (after [`CostAwarePolicy::touch`], whether it was admitted).
    pub fn holds(&self, key: u64) -> bool {
        self.store.entries.contains_key(&key)
    }

    /// Handles one access (as [`Policy::access`]); exposed for the disk cache.
    pub fn touch(&mut self, a: &Access) -> bool {
        // Expiry is applied lazily (when space is needed) but charged exactly: an entry stops
        // costing at `expires`.
        let (freq, first) = {
            let f = self.seen.entry(a.key).or_insert((0, a.time));
            f.0 += 1;
            *f
        };
        if let Some(e) = self.store.entries.get(&a.key).cloned() {
            self.queue.remove(&(Ord64(e.priority), a.key));
            if e.version == a.version && e.expires > a.time {
                let ttl = self.ttl(a, freq, first);
                let p = self.value(freq, e.miss_cost, e.size, a.time);
                if let Some(e) = self.store.entries.get_mut(&a.key) {
                    e.freq = freq;
                    e.last = a.time;
                    e.expires = a.time + ttl;
                    e.priority = p;
                }
                self.queue.insert((Ord64(p), a.key), ());
                return true;
            }
            self.store.remove(a.key, a.time);
        }
        if !self.admits(a.size, a.miss_cost) || !self.make_room(a.size, a.time) {
            return false;
        }
        let p = self.value(freq, a.miss_cost, a.size, a.time);
        let mut e = entry(a, p, a.time + self.ttl(a, freq, first));
        e.freq = freq;
        self.store.insert(a.key, e);
        self.queue.insert((Ord64(p), a.key), ());
        false
    }
}

impl Policy for CostAwarePolicy {
    fn name(&self) -> String {
        "lakeroute (cost-aware)".into()
    }
    fn access(&mut self, a: &Access) -> bool {
        self.touch(a)
    }
    fn finish(&mut self, time: f64) -> f64 {
        self.store.finish(time)
    }
}

/// The offline optimum without a size bound: for each object, keep it across a gap between
/// two reads of one version only if storing it over the gap costs less than fetching it again.
/// Returns total dollars (misses plus storage).
pub fn offline_optimum(trace: &[Access], price: f64) -> f64 {
    let mut last: HashMap<u64, (f64, u64)> = HashMap::new();
    let mut total = 0.0;
    for a in trace {
        match last.get(&a.key) {
            Some(&(t, v)) if v == a.version => {
                let keep = a.size as f64 * price * (a.time - t);
                total += keep.min(a.miss_cost);
            }
            _ => total += a.miss_cost,
        }
        last.insert(a.key, (a.time, a.version));
    }
    total
}

/// Dollars a policy spends on a trace: misses plus storage.
pub fn replay(policy: &mut dyn Policy, trace: &[Access], price: f64) -> (f64, u64) {
    let mut dollars = 0.0;
    let mut misses = 0;
    for a in trace {
        if !policy.access(a) {
            dollars += a.miss_cost;
            misses += 1;
        }
    }
    let end = trace.last().map_or(0.0, |a| a.time);
    dollars += policy.finish(end) * price;
    (dollars, misses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(time: f64, key: u64, size: u64, cost: f64) -> Access {
        Access {
            time,
            key,
            version: 0,
            size,
            miss_cost: cost,
        }
    }

    #[test]
    fn optimum_keeps_only_what_pays() {
        // 1 byte costs 1 $/s to keep; a miss costs 10 $.
        let t = [a(0.0, 1, 1, 10.0), a(5.0, 1, 1, 10.0), a(100.0, 1, 1, 10.0)];
        // First read misses (10), the 5 s gap is kept (5), the 95 s gap is not (10).
        assert_eq!(offline_optimum(&t, 1.0), 25.0);
        let mut p = CostAwarePolicy::new(u64::MAX, 1.0);
        p.frequency_extends = false;
        let (dollars, misses) = replay(&mut p, &t, 1.0);
        // Online: the break-even TTL of 10 s keeps the first gap, then pays 10 s of storage
        // before the entry expires: within twice the optimum, as ski rental promises.
        assert_eq!(misses, 2);
        assert!(dollars <= 2.0 * 25.0, "{dollars}");
    }

    #[test]
    fn bounded_policies_respect_capacity_and_versions() {
        let mut lru = Lru::new(10);
        assert!(!lru.access(&a(0.0, 1, 6, 1.0)));
        assert!(lru.access(&a(1.0, 1, 6, 1.0)));
        assert!(!lru.access(&a(2.0, 2, 6, 1.0)));
        assert!(!lru.access(&a(3.0, 1, 6, 1.0)), "evicted to make room");
        let mut g = Gdsf::new(100);
        g.access(&a(0.0, 1, 10, 1.0));
        let mut newer = a(1.0, 1, 10, 1.0);
        newer.version = 1;
        assert!(!g.access(&newer), "an overwritten object is a miss");
        let mut c = CostAwarePolicy::new(100, 1e-9);
        assert!(!c.access(&a(0.0, 1, 10, 0.0)));
        assert!(
            !c.access(&a(1.0, 1, 10, 0.0)),
            "free misses are never cached"
        );
    }
}
