//! Cache policies that decide by dollars, and the baselines they are measured against.
//!
//! Every policy sees the same stream of accesses (time, object, version, size, what a miss
//! costs) and keeps its own entries; it pays for misses (egress plus request fees) and for the
//! bytes it holds over time (the cache medium's price). The trace benchmark replays traces
//! through these very types, and [`CostAwarePolicy`] is what the disk cache runs.
//!
//! lakeroute's policy ([`CostAwarePolicy`]) keeps an entry while the dollars it is expected to
//! save outrun what its bytes cost to store (the hazard-rate form of ski rental):
//! - **admission by dollars**: an object whose miss costs nothing worth saving (same-region data,
//!   by default) is never stored;
//! - **sessions**: reads closer together than the session window (4 hours) are one session; a
//!   read keeps the object through its session (or its break-even time, if shorter), because
//!   a re-read is likely soon;
//! - **read-rate expiry**: past its session, an object read in `k` sessions over the `t` seconds
//!   since it could first have been seen (the policy's start, or one break-even time before its
//!   first read if that is later: a process that runs for months must not rate a new object
//!   over months it did not exist) is estimated to be read `k / t` times a second, and keeping
//!   it pays while that rate exceeds `1 / break-even` (break-even: the time storing it costs what
//!   one re-download would), that is until `since + k x break-even`;
//! - **fading**: sessions and the time they are divided by are weighted by age, a session
//!   [`CostAwarePolicy::memory`] old (a month) counting 1/e of a new one, so what was popular
//!   long ago and no longer is does not keep its place for good (`k` below is that weight, and
//!   the expiry above solves the faded form of its inequality);
//! - **eviction and admission by value** when space runs out: evict the entries with the least
//!   expected saving per byte (`k x miss cost / size`, plus the measured in-session re-read rate
//!   while a session lasts), and do not store an object worth less than what it would evict;
//! - **writes**: an object overwritten or deleted through the cache stops counting at once
//!   ([`CostAwarePolicy::forget`]); what is known of its reads stays.

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

/// One event of a trace: a read, or a write (overwrite or delete) made through the cache.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A read.
    Read(Access),
    /// An overwrite or delete of `key` at `time`, made through the cache, which therefore
    /// drops its copy at once (as [`crate::cache::CachedStore`]'s `put`, `delete`, `copy` and
    /// `rename` do) rather than at the object's next read.
    Write {
        /// Seconds since the start of the trace.
        time: f64,
        /// The object.
        key: u64,
    },
}

impl Event {
    /// When it happened.
    pub fn time(&self) -> f64 {
        match self {
            Event::Read(a) => a.time,
            Event::Write { time, .. } => *time,
        }
    }
}

/// A cache policy under replay.
pub trait Policy {
    /// A short name for reports.
    fn name(&self) -> String;
    /// Handles one access; returns true when it was a hit.
    fn access(&mut self, a: &Access) -> bool;
    /// Handles a write of `key` through the cache at `time`: a copy held is worthless from now
    /// on and stops costing.
    fn write(&mut self, key: u64, time: f64);
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
    /// Sessions, each faded by its age (see [`CostAwarePolicy::memory`]), as of `last`.
    weight: f64,
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
    fn write(&mut self, _: u64, _: f64) {}
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

    fn write(&mut self, key: u64, time: f64) {
        self.store.remove(key, time);
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
        weight: 1.0,
        miss_cost: a.miss_cost,
        priority,
        expires,
    }
}

/// Ordered floats for priority queues.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ord64(pub(crate) f64);
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

    fn write(&mut self, key: u64, time: f64) {
        if let Some(e) = self.store.remove(key, time) {
            self.queue.remove(&(Ord64(e.priority), key));
        }
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
    fn write(&mut self, key: u64, time: f64) {
        self.inner.forget(key, time);
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
    /// Entries by value, then by the time of their last read (eviction order: least value
    /// first, and among equal values the one read longest ago).
    queue: BTreeMap<(Ord64, Ord64, u64), ()>,
    /// Entries still inside the session window of their last read, by the time of that read.
    in_session: BTreeMap<(Ord64, u64), ()>,
    /// Entries by expiry time, so expiring is a walk from the front, not a scan.
    by_expiry: BTreeMap<(Ord64, u64), ()>,
    /// Objects whose miss costs less than this (dollars per byte) are not stored.
    pub admit_floor: f64,
    /// Whether an object's estimated read rate lengthens its time to live (else every read
    /// keeps it for one break-even time).
    pub frequency_extends: bool,
    /// Whether space pressure evicts by expected dollars saved per byte (else least recently
    /// used), and refuses an object worth less than what it would evict.
    pub gdsf_eviction: bool,
    /// Reads closer together than this belong to one session (a job re-scanning its input, a
    /// notebook re-running a cell); sessions, not reads, estimate an object's read rate.
    pub session_window: f64,
    /// Seconds after which a session counts 1/e as much as one now: read rates are averages
    /// weighted by age, so what was popular long ago, and no longer is, fades instead of
    /// holding its place for good. `f64::INFINITY` (or any value that is not a positive
    /// number): every session counts alike.
    pub memory: f64,
    /// What the policy knows of every object it has seen, kept after eviction so a returning
    /// object is recognised and its read rate estimated.
    seen: HashMap<u64, Seen>,
    /// Time of the first access the policy saw: read rates are counted from here.
    origin: Option<f64>,
    /// Reads seen, and those that came within a session window of the same object's previous
    /// read: their ratio is the measured chance of a re-read within a session.
    reads: u64,
    rereads: u64,
}

/// Accesses closer together than this (seconds) count as one read.
const SAME_READ: f64 = 1.0;

/// Objects the policy remembers at most, beyond those it holds (their read counts, about 40
/// bytes each).
const SEEN_LIMIT: usize = 1_000_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    sessions: u32,
    /// Sessions faded by their age, as of `last`.
    weight: f64,
    first: f64,
    last: f64,
}

/// What a policy knows of one object's reads; saved with its cache entry, so processes
/// sharing a folder value it alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reads {
    /// Sessions of reads (reads closer together than the session window are one).
    pub sessions: u32,
    /// Those sessions, each faded by its age (see [`CostAwarePolicy::memory`]), as of `last`.
    pub weight: f64,
    /// Time of the first read seen.
    pub first: f64,
    /// Time of the latest read (as saved: at a session's first read, and again whenever the
    /// latest read is half a grace past the saved one; see
    /// [`CostAwarePolicy::stale_history`]).
    pub last: f64,
}

/// Whether a [`CostAwarePolicy::memory`] of `memory` seconds fades counts.
fn fades(memory: f64) -> bool {
    memory.is_finite() && memory > 0.0
}

/// How much a session `dt` seconds old counts under a memory of `memory` seconds.
fn fade(memory: f64, dt: f64) -> f64 {
    if fades(memory) {
        (-dt.max(0.0) / memory).exp()
    } else {
        1.0
    }
}

/// The default [`CostAwarePolicy::memory`]: a month. On the trace benchmark's popularity that
/// moves every month it saves 4.8% at the bound over counts that never fade, and costs 0-0.6%
/// unbounded and 0-1.1% at the bound where popularity stays put; 60 and 90 days save less
/// (2.8%, 1.8%).
pub const MEMORY: f64 = 30.0 * 86_400.0;

impl CostAwarePolicy {
    /// A cache of `capacity` bytes whose medium costs `price` dollars per byte-second.
    pub fn new(capacity: u64, price: f64) -> Self {
        Self {
            capacity,
            price,
            store: Store::default(),
            queue: BTreeMap::new(),
            in_session: BTreeMap::new(),
            by_expiry: BTreeMap::new(),
            admit_floor: 1e-15,
            frequency_extends: true,
            gdsf_eviction: true,
            session_window: 4.0 * 3600.0,
            memory: MEMORY,
            seen: HashMap::new(),
            origin: None,
            reads: 0,
            rereads: 0,
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

    /// The measured rate of re-reads within a session, per second.
    fn reread_rate(&self) -> f64 {
        self.rereads as f64 / self.reads.max(1) as f64 / self.session_window.max(1e-9)
    }

    /// Whether counts fade: [`Self::memory`] is a positive number of seconds (anything else,
    /// infinity included, counts every session alike).
    fn fades(&self) -> bool {
        fades(self.memory)
    }

    /// `t` in units of [`Self::memory`] (0 when counts do not fade).
    fn in_memories(&self, t: f64) -> f64 {
        if self.fades() { t / self.memory } else { 0.0 }
    }

    /// How much a session `dt` seconds old counts.
    fn fade(&self, dt: f64) -> f64 {
        fade(self.memory, dt)
    }

    /// `elapsed` seconds of observation, as [`Self::memory`] weighs them: the denominator of
    /// every read rate.
    fn observed(&self, elapsed: f64) -> f64 {
        if self.fades() {
            self.memory * -(-elapsed.max(0.0) / self.memory).exp_m1()
        } else {
            elapsed.max(0.0)
        }
    }

    fn ttl(&self, a: &Access, sessions: u32, weight: f64, first: f64) -> f64 {
        let be = self.break_even(a.size, a.miss_cost);
        if !self.frequency_extends {
            return be;
        }
        // Inside a session another read is likely soon: keep through the session window (or
        // the break-even time, if shorter). Beyond it, reads look like a Poisson process whose
        // rate is the faded sessions over the faded time observed, since the policy started or
        // one break-even before the first read, whichever is later; keeping pays while that
        // rate exceeds 1 / break-even. Without fading that is until `since + sessions x
        // break-even`; with it, `w e^(-x/m) x be > m (1 - e^(-(now + x - since)/m))` holds
        // for `x < m ln(w be / m + e^(-(now - since)/m))` (computed as `ln_1p` of the excess
        // over 1, which a long memory would otherwise round away).
        let session = be.min(self.session_window);
        let since = self.origin.unwrap_or(first).max(first - be);
        if !self.fades() {
            return session.max(since + f64::from(sessions) * be - a.time);
        }
        let m = self.memory;
        let excess = weight * be / m + ((since - a.time) / m).exp_m1();
        session.max(if excess > 0.0 {
            m * excess.ln_1p()
        } else {
            0.0
        })
    }

    /// What keeping an entry is worth, as a priority: the log of the dollars it is expected to
    /// save per byte-second times the faded time observed (`weight x miss cost / size`, the
    /// weight being its faded sessions, plus the in-session re-read rate while the session
    /// lasts), plus `now / memory`. Every entry's rate shares that denominator, and every
    /// weight fades alike, so priorities computed at different times stay comparable without
    /// re-valuing the cache; [`Self::worth`] turns one back into dollars at a given time. When
    /// evicting by recency: the read time.
    fn value(&self, weight: f64, cost: f64, size: u64, now: f64, in_session: bool) -> f64 {
        if !self.gdsf_eviction {
            return now;
        }
        let observed = self.observed((now - self.origin.unwrap_or(now)).max(self.session_window));
        let mut weight = weight;
        if in_session {
            weight += self.reread_rate() * observed;
        }
        (weight * cost / size.max(1) as f64).ln() + self.in_memories(now)
    }

    /// A priority from [`Self::value`] as expected dollars saved per byte (times the shared
    /// denominator) at `now`. Meaningless when evicting by recency.
    fn worth(&self, priority: f64, now: f64) -> f64 {
        (priority - self.in_memories(now)).exp()
    }

    /// Puts `key`'s entry in the value, session and expiry orders.
    fn index(&mut self, key: u64, e: &Entry) {
        self.queue
            .insert((Ord64(e.priority), Ord64(e.last), key), ());
        self.in_session.insert((Ord64(e.last), key), ());
        self.by_expiry.insert((Ord64(e.expires), key), ());
    }

    /// Takes `key`'s entry out of those orders.
    fn unindex(&mut self, key: u64, e: &Entry) {
        self.queue.remove(&(Ord64(e.priority), Ord64(e.last), key));
        self.in_session.remove(&(Ord64(e.last), key));
        self.by_expiry.remove(&(Ord64(e.expires), key));
    }

    fn drop_entry(&mut self, key: u64, at: f64) {
        if let Some(e) = self.store.remove(key, at) {
            self.unindex(key, &e);
        }
    }

    /// Drops every entry whose time to live has run out by `now`.
    pub fn expire(&mut self, now: f64) {
        while let Some((&(expires, key), _)) = self.by_expiry.iter().next() {
            if expires.0 > now {
                break;
            }
            self.by_expiry.remove(&(expires, key));
            self.drop_entry(key, now);
        }
    }

    /// Forgets the half of the objects not held that were read longest ago, so a process that
    /// sees millions of objects keeps bounded memory.
    fn forget_oldest(&mut self) {
        let mut idle: Vec<(f64, u64)> = self
            .seen
            .iter()
            .filter(|(k, _)| !self.store.entries.contains_key(k))
            .map(|(k, s)| (s.last, *k))
            .collect();
        idle.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, k) in idle.iter().take(idle.len() / 2) {
            self.seen.remove(k);
        }
    }

    /// Re-values the entries whose session window has closed by `now`.
    fn close_sessions(&mut self, now: f64) {
        if !self.gdsf_eviction {
            return;
        }
        while let Some((&(last, key), _)) = self.in_session.iter().next() {
            let closed = last.0 + self.session_window;
            if closed > now {
                break;
            }
            self.in_session.remove(&(last, key));
            let Some(e) = self.store.entries.get(&key).cloned() else {
                continue;
            };
            self.queue.remove(&(Ord64(e.priority), Ord64(e.last), key));
            let weight = e.weight * self.fade(closed - e.last);
            let p = self.value(weight, e.miss_cost, e.size, closed, false);
            if let Some(e) = self.store.entries.get_mut(&key) {
                e.priority = p;
            }
            self.queue.insert((Ord64(p), Ord64(e.last), key), ());
        }
    }

    /// Makes room for `size` bytes worth `value` per byte; false (and nothing evicted) when it
    /// cannot without evicting entries worth more in all (value per byte times their size).
    fn make_room(&mut self, size: u64, at: f64, value: f64) -> bool {
        if size > self.capacity {
            return false;
        }
        if self.store.held + size > self.capacity {
            self.expire(at);
        }
        let need = (self.store.held + size).saturating_sub(self.capacity);
        let mut victims = Vec::new();
        let (mut freed, mut worth) = (0, 0.0);
        let offered = self.worth(value, at) * size as f64;
        for &(p, _, key) in self.queue.keys() {
            if freed >= need {
                break;
            }
            let victim = self.store.entries.get(&key).map_or(0, |e| e.size);
            worth += self.worth(p.0, at) * victim as f64;
            if self.gdsf_eviction && worth > offered {
                return false;
            }
            freed += victim;
            victims.push(key);
        }
        if freed < need {
            return false;
        }
        for key in victims {
            self.drop_entry(key, at);
        }
        true
    }

    /// Keys dropped since the last call (evicted, expired or replaced): the disk cache deletes
    /// their files.
    pub fn take_removed(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.store.removed)
    }

    /// Drops `key`'s entry, if held: the object was overwritten or deleted through the cache.
    /// What is known of its reads stays, so its next version is valued by them.
    pub fn forget(&mut self, key: u64, at: f64) {
        self.drop_entry(key, at);
    }

    /// Drops every entry (the cache was cleared); what is known of the objects' reads stays.
    pub fn forget_all(&mut self, at: f64) {
        let keys: Vec<u64> = self.store.entries.keys().copied().collect();
        for key in keys {
            self.drop_entry(key, at);
        }
    }

    /// Counts observation from `time` (seconds), if that is earlier than what the policy has:
    /// a cache folder shared by many processes counts from its creation, so each process
    /// rates objects over the same span.
    pub fn observe_since(&mut self, time: f64) {
        self.origin = Some(self.origin.map_or(time, |o| o.min(time)));
    }

    /// Merges what other processes saw of `key`'s reads into what this one saw:
    /// the most sessions, the greater weight (both faded to the later latest read), the
    /// earliest first read and the latest read.
    pub fn recall(&mut self, key: u64, h: Reads) {
        let fade = |w: f64, from: f64, to: f64| w * self.fade(to - from);
        let merged = match self.seen.get(&key) {
            None => Seen {
                sessions: h.sessions,
                weight: h.weight,
                first: h.first,
                last: h.last,
            },
            Some(s) => {
                let last = s.last.max(h.last);
                Seen {
                    sessions: s.sessions.max(h.sessions),
                    weight: fade(s.weight, s.last, last).max(fade(h.weight, h.last, last)),
                    first: s.first.min(h.first),
                    last,
                }
            }
        };
        self.seen.insert(key, merged);
    }

    /// What the policy knows of `key`'s reads.
    pub fn history(&self, key: u64) -> Option<Reads> {
        self.seen.get(&key).map(|s| Reads {
            sessions: s.sessions,
            weight: s.weight,
            first: s.first,
            last: s.last,
        })
    }

    /// What keeping an object is worth per byte at `now`, on the scale entries are evicted by,
    /// from its reads: for comparing entries this policy does not hold (another process's)
    /// with its own.
    pub fn worth_per_byte(&self, h: &Reads, miss_cost: f64, size: u64, now: f64) -> f64 {
        let in_session = now - h.last < self.session_window;
        let weight = h.weight * self.fade(now - h.last);
        self.worth(self.value(weight, miss_cost, size, now, in_session), now)
    }

    /// When keeping an object stops paying, judged from its saved reads alone (for an entry
    /// this policy may not hold: another process's, or one left by a process that has ended):
    /// when its time to live from its latest saved read has run out, and a grace of one
    /// session window (or break-even time, if shorter) after it too. Saved reads lag the true
    /// latest read by at most half that grace (see [`CostAwarePolicy::stale_history`]), so an
    /// object still being read is never past this time. Infinite for a history without a
    /// finite latest read, and when storing costs nothing.
    pub fn outlived_at(&self, h: &Reads, miss_cost: f64, size: u64) -> f64 {
        if !h.last.is_finite() {
            return f64::INFINITY;
        }
        let a = Access {
            time: h.last,
            key: 0,
            version: 0,
            size,
            miss_cost,
        };
        let grace = self.break_even(size, miss_cost).min(self.session_window);
        let until = h.last + self.ttl(&a, h.sessions, h.weight, h.first) + grace;
        // A damaged history (no sessions, no weight) can make that NaN: then the session
        // window alone.
        if until.is_nan() {
            h.last + 2.0 * self.session_window
        } else {
            until
        }
    }

    /// Whether `now` is past [`CostAwarePolicy::outlived_at`].
    pub fn outlived(&self, h: &Reads, miss_cost: f64, size: u64, now: f64) -> bool {
        now > self.outlived_at(h, miss_cost, size)
    }

    /// Whether `saved` (an object's reads as saved with its entry) lags `now_known` (what this
    /// policy knows after a read) enough to save again: a new session, or a latest read half
    /// the grace of [`CostAwarePolicy::outlived`] later than the saved one. Reads within a
    /// session are otherwise not saved, so a hit writes nothing most of the time.
    pub fn stale_history(
        &self,
        saved: &Reads,
        now_known: &Reads,
        size: u64,
        miss_cost: f64,
    ) -> bool {
        let grace = self.break_even(size, miss_cost).min(self.session_window);
        saved.sessions != now_known.sessions || now_known.last - saved.last > grace / 2.0
    }

    /// True when `key` is held (after [`CostAwarePolicy::touch`], whether it was admitted).
    pub fn holds(&self, key: u64) -> bool {
        self.store.entries.contains_key(&key)
    }

    /// Handles one access (as [`Policy::access`]); exposed for the disk cache.
    pub fn touch(&mut self, a: &Access) -> bool {
        // Expiry is applied lazily (when space is needed) but charged exactly: an entry stops
        // costing at `expires`.
        self.origin.get_or_insert(a.time);
        let (window, memory) = (self.session_window, self.memory);
        let seen = self.seen.entry(a.key).or_insert(Seen {
            sessions: 0,
            weight: 0.0,
            first: a.time,
            last: f64::NEG_INFINITY,
        });
        let gap = a.time - seen.last;
        seen.weight *= fade(memory, gap);
        if gap > window {
            seen.sessions += 1;
            seen.weight += 1.0;
        }
        seen.last = a.time;
        let (sessions, weight, first) = (seen.sessions, seen.weight, seen.first);
        // Accesses within a second of each other are one read (the footer and column chunks of
        // one Parquet scan): they do not make re-reads look likelier than they are.
        if gap >= SAME_READ {
            self.reads += 1;
            self.rereads += u64::from(gap <= window);
        }
        // At least half of what is remembered is then not held, so forgetting half of that
        // frees a quarter: the scan is paid once per many accesses.
        if self.seen.len() > SEEN_LIMIT.max(2 * self.store.entries.len()) {
            self.forget_oldest();
        }
        self.close_sessions(a.time);
        let ttl = self.ttl(a, sessions, weight, first);
        if let Some(e) = self.store.entries.get(&a.key).cloned() {
            if e.version == a.version && e.expires > a.time {
                self.unindex(a.key, &e);
                let priority = self.value(weight, e.miss_cost, e.size, a.time, true);
                let renewed = Entry {
                    weight,
                    last: a.time,
                    expires: a.time + ttl,
                    priority,
                    ..e
                };
                self.index(a.key, &renewed);
                self.store.entries.insert(a.key, renewed);
                return true;
            }
            self.drop_entry(a.key, a.time);
        }
        let p = self.value(weight, a.miss_cost, a.size, a.time, true);
        if !self.admits(a.size, a.miss_cost) || !self.make_room(a.size, a.time, p) {
            return false;
        }
        let mut e = entry(a, p, a.time + ttl);
        e.weight = weight;
        self.index(a.key, &e);
        self.store.insert(a.key, e);
        false
    }
}

impl Policy for CostAwarePolicy {
    fn name(&self) -> String {
        if self.fades() {
            "lakeroute (cost-aware)".into()
        } else {
            "lakeroute, counts never fade".into()
        }
    }
    fn access(&mut self, a: &Access) -> bool {
        self.touch(a)
    }
    fn write(&mut self, key: u64, time: f64) {
        self.forget(key, time);
    }
    fn finish(&mut self, time: f64) -> f64 {
        self.store.finish(time)
    }
}

/// The offline optimum without a size bound: for each object, keep it across a gap between
/// two reads of one version only if storing it over the gap costs less than fetching it again.
/// Returns total dollars (misses plus storage).
pub fn offline_optimum(trace: &[Event], price: f64) -> f64 {
    let (misses, storage) = offline_optimum_parts(trace, price);
    misses + storage
}

/// [`offline_optimum`]'s dollars split into misses and storage.
/// A write ends the version it overwrites: the reads after it carry a new version.
pub fn offline_optimum_parts(trace: &[Event], price: f64) -> (f64, f64) {
    let mut last: HashMap<u64, (f64, u64)> = HashMap::new();
    let (mut misses, mut storage) = (0.0, 0.0);
    for a in reads(trace) {
        match last.get(&a.key) {
            Some(&(t, v)) if v == a.version => {
                let keep = a.size as f64 * price * (a.time - t);
                if keep < a.miss_cost {
                    storage += keep;
                } else {
                    misses += a.miss_cost;
                }
            }
            _ => misses += a.miss_cost,
        }
        last.insert(a.key, (a.time, a.version));
    }
    (misses, storage)
}

/// The reads of a trace, in order.
pub fn reads(trace: &[Event]) -> impl Iterator<Item = &Access> {
    trace.iter().filter_map(|e| match e {
        Event::Read(a) => Some(a),
        Event::Write { .. } => None,
    })
}

/// Dollars a policy spends on a trace: misses plus storage.
pub fn replay(policy: &mut dyn Policy, trace: &[Event], price: f64) -> (f64, u64) {
    let r = replay_parts(policy, trace, price);
    (r.miss_dollars + r.storage_dollars, r.misses)
}

/// What a replay cost, part by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayCost {
    /// Accesses that missed.
    pub misses: u64,
    /// Dollars the misses cost (egress and request fees).
    pub miss_dollars: f64,
    /// Dollars the cached bytes cost over the trace.
    pub storage_dollars: f64,
}

/// [`replay`], with the dollars split into misses and storage.
pub fn replay_parts(policy: &mut dyn Policy, trace: &[Event], price: f64) -> ReplayCost {
    let (mut misses, mut miss_dollars) = (0, 0.0);
    for event in trace {
        match event {
            Event::Read(a) => {
                if !policy.access(a) {
                    miss_dollars += a.miss_cost;
                    misses += 1;
                }
            }
            Event::Write { time, key } => policy.write(*key, *time),
        }
    }
    let end = trace.last().map_or(0.0, Event::time);
    ReplayCost {
        misses,
        miss_dollars,
        storage_dollars: policy.finish(end) * price,
    }
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
        let t = [a(0.0, 1, 1, 10.0), a(5.0, 1, 1, 10.0), a(100.0, 1, 1, 10.0)].map(Event::Read);
        // First read misses (10), the 5 s gap is kept (5), the 95 s gap is not (10).
        assert_eq!(offline_optimum(&t, 1.0), 25.0);
        assert_eq!(offline_optimum_parts(&t, 1.0), (20.0, 5.0));
        let mut p = CostAwarePolicy::new(u64::MAX, 1.0);
        p.frequency_extends = false;
        let (dollars, misses) = replay(&mut p, &t, 1.0);
        let mut q = CostAwarePolicy::new(u64::MAX, 1.0);
        q.frequency_extends = false;
        let parts = replay_parts(&mut q, &t, 1.0);
        assert_eq!(parts.misses, misses);
        assert_eq!(parts.miss_dollars, 20.0, "two misses of 10 $");
        assert_eq!(parts.miss_dollars + parts.storage_dollars, dollars);
        // Online: the break-even TTL of 10 s keeps the first gap, then pays 10 s of storage
        // before the entry expires: within twice the optimum, as ski rental promises.
        assert_eq!(misses, 2);
        assert!(dollars <= 2.0 * 25.0, "{dollars}");
    }

    #[test]
    fn read_rate_sets_how_long_an_entry_stays() {
        // 1 byte at 1 $/s, a miss costs 10 $: break-even 10 s; sessions last 2 s.
        let mut p = CostAwarePolicy::new(u64::MAX, 1.0);
        p.session_window = 2.0;
        // Object 1 is read in a new session every 5 s: 2 sessions per break-even, so it stays.
        for t in 0..8 {
            let hit = p.access(&a(f64::from(t) * 5.0, 1, 1, 10.0));
            assert_eq!(hit, t > 0, "read at {}", t * 5);
        }
        // Object 2, read once at 1 s: kept for one break-even from the start, then dropped
        // (one session in 11 s is less than one per break-even).
        assert!(!p.access(&a(1.0, 2, 1, 10.0)));
        assert!(
            p.access(&a(9.5, 2, 1, 10.0)),
            "kept for one break-even from the start"
        );
        assert!(
            !p.access(&a(45.0, 2, 1, 10.0)),
            "two sessions in 45 s do not pay"
        );
    }

    #[test]
    fn accesses_within_a_second_are_one_read_and_memory_is_bounded() {
        let mut p = CostAwarePolicy::new(u64::MAX, 1e-12);
        for i in 0..10 {
            p.access(&a(100.0 + f64::from(i) * 0.01, 1, 10, 1.0));
        }
        assert_eq!((p.reads, p.rereads), (1, 0), "the ranges of one scan");
        for key in 0..(SEEN_LIMIT as u64 + 10) {
            p.access(&a(200.0 + key as f64, key + 2, 10, 0.0));
        }
        assert!(p.seen.len() <= SEEN_LIMIT, "{}", p.seen.len());
    }

    #[test]
    fn a_full_cache_refuses_what_is_worth_less_than_it_holds() {
        let mut p = CostAwarePolicy::new(10, 1e-9);
        p.session_window = 1.0;
        for t in 0..5 {
            p.access(&a(f64::from(t) * 10.0, 1, 10, 1.0));
        }
        assert!(
            !p.access(&a(51.0, 2, 10, 1.0)),
            "a first read of another object"
        );
        assert!(
            !p.holds(2),
            "worth less than the object read in five sessions"
        );
        assert!(p.access(&a(52.0, 1, 10, 1.0)), "still held");
        // An object whose misses cost far more per byte displaces it.
        assert!(!p.access(&a(53.0, 3, 10, 100.0)));
        assert!(p.holds(3) && !p.holds(1));
    }

    #[test]
    fn among_equal_values_the_least_recently_read_goes() {
        // Room for two; four objects of equal value read in turn, twice over. Keys are
        // ordered against recency, so a tie broken by key would keep the wrong ones.
        let mut p = CostAwarePolicy::new(20, 1e-9);
        for round in 0..2 {
            for (i, key) in [40, 30, 20, 10].into_iter().enumerate() {
                p.access(&a(f64::from(round) * 0.1 + i as f64 * 0.01, key, 10, 1.0));
            }
        }
        assert!(p.holds(20) && p.holds(10), "the two read last are held");
        assert!(p.access(&a(1.0, 10, 10, 1.0)), "the latest read is a hit");
    }

    #[test]
    fn a_write_through_the_cache_drops_the_copy_at_once() {
        // 1 byte at 1 $/s, a miss costs 10 $; object 1 (4 bytes) is overwritten at 3 s and
        // read again at 8 s. Each policy pays storage only until the write, frees the space
        // for object 2 and misses the new version.
        let mut newer = a(8.0, 1, 4, 10.0);
        newer.version = 1;
        let t = [
            Event::Read(a(0.0, 1, 4, 10.0)),
            Event::Write { time: 3.0, key: 1 },
            Event::Read(a(4.0, 2, 4, 10.0)),
            Event::Read(a(5.0, 2, 4, 10.0)),
            Event::Read(newer),
        ];
        let policies: Vec<Box<dyn Policy>> = vec![
            Box::new(Lru::new(4)),
            Box::new(Gdsf::new(4)),
            Box::new(BreakEvenTtl::new(4, 1.0)),
            Box::new(CostAwarePolicy::new(4, 1.0)),
        ];
        for mut p in policies {
            let r = replay_parts(p.as_mut(), &t, 1.0);
            assert_eq!(r.misses, 3, "{}: object 2's second read hits", p.name());
            // Object 1 held 3 s (not 8); object 2 from 4 s until it makes room for or
            // outlives the new version of object 1.
            assert!(r.storage_dollars >= 4.0 * 3.0 + 4.0, "{}: {r:?}", p.name());
            assert!(
                r.storage_dollars <= 4.0 * 3.0 + 4.0 * 4.0,
                "{}: {r:?}",
                p.name()
            );
        }
        // The optimum, too, stops paying for a version at its last read.
        assert_eq!(offline_optimum_parts(&t, 1.0), (30.0, 4.0));
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

    #[test]
    fn popularity_from_long_ago_fades() {
        // Room for one 1-byte object. A is read in ten daily sessions, then never again; two
        // months later B is read in four daily sessions. With counts that fade (a month to
        // 1/e), A's ten weigh about 1.1 by then, B's first two about 2: B takes the room at its
        // second session and hits after. With counts that never fade, A holds the room and B
        // is refused every time.
        let day = 86_400.0;
        let run = |memory: f64| {
            let mut p = CostAwarePolicy::new(1, 1e-12);
            p.memory = memory;
            for d in 0..10 {
                p.access(&a(f64::from(d) * day, 1, 1, 1.0));
            }
            let hits: Vec<bool> = (0..4)
                .map(|d| p.access(&a((70.0 + f64::from(d)) * day, 2, 1, 1.0)))
                .collect();
            (hits, p.holds(2))
        };
        assert_eq!(run(MEMORY), (vec![false, false, true, true], true));
        assert_eq!(run(f64::INFINITY), (vec![false; 4], false));
    }

    #[test]
    fn saved_reads_judge_an_entry_outlived_only_a_grace_after_its_expiry() {
        // One byte at 1 $/s, a miss at 10 $: break-even 10 s, grace 10 s. Read once at 100 s
        // (the policy began at 100 s), the entry expires at 110 s; judged from the saved
        // reads, it has outlived its worth only after 120 s. A medium that costs nothing
        // never expires anything.
        for memory in [MEMORY, f64::INFINITY] {
            let mut p = CostAwarePolicy::new(1 << 20, 1.0);
            p.memory = memory;
            p.access(&a(100.0, 1, 1, 10.0));
            let h = p.history(1).unwrap_or(Reads {
                sessions: 0,
                weight: 0.0,
                first: 0.0,
                last: 0.0,
            });
            p.expire(109.0);
            assert!(p.holds(1), "memory {memory}: expired early");
            p.expire(111.0);
            assert!(!p.holds(1), "memory {memory}: not expired");
            assert!(!p.outlived(&h, 10.0, 1, 119.0), "memory {memory}");
            assert!(p.outlived(&h, 10.0, 1, 121.0), "memory {memory}");
            let mut free = CostAwarePolicy::new(1 << 20, 0.0);
            free.memory = memory;
            free.access(&a(100.0, 1, 1, 10.0));
            free.expire(1e12);
            assert!(free.holds(1) && !free.outlived(&h, 10.0, 1, 1e12));
        }
        // Saved reads are renewed once the latest read is half the grace newer.
        let p = CostAwarePolicy::new(1 << 20, 1.0);
        let at = |last: f64| Reads {
            sessions: 1,
            weight: 1.0,
            first: 100.0,
            last,
        };
        assert!(!p.stale_history(&at(100.0), &at(104.0), 1, 10.0));
        assert!(p.stale_history(&at(100.0), &at(106.0), 1, 10.0));
    }
}
