//! Trace benchmark for the egress-aware cache: total dollars (egress + request fees + cache
//! medium) of each policy on seeded synthetic traces, or on a trace file.
//!
//! `cargo bench -p lakeroute --bench cache_trace` (synthetic, Zipf 0.6, 0.9 and 1.2)
//! `cargo bench -p lakeroute --bench cache_trace -- --trace FILE` with lines
//! `timestamp,op,key,size,source`: op `read` or `write`, source `same-region`,
//! `cross-region`, `cross-cloud`, or an egress price in $/GB.

use std::collections::{BTreeSet, HashMap};

use lakeroute::cache::policy::{
    Access, BreakEvenTtl, CostAwarePolicy, Event, Gdsf, Lru, NoCache, Policy, ReplayCost,
    offline_optimum, offline_optimum_parts, reads, replay, replay_parts,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MONTH: f64 = 30.0 * 86_400.0;
/// Block storage disk (gp3-like), $/GB-month, as dollars per byte-second.
const DISK_PRICE: f64 = 0.08 / GIB / MONTH;
const GET_FEE: f64 = 0.0004 / 1000.0;

fn egress_rate(source: &str) -> Option<f64> {
    match source {
        "same-region" => Some(0.0),
        "cross-region" => Some(0.02),
        "cross-cloud" => Some(0.09),
        other => other.parse().ok(),
    }
}

fn miss_cost(size: u64, rate: f64) -> f64 {
    GET_FEE + size as f64 / GIB * rate
}

/// Reads of one object closer together than this are a session (the generator's re-read window).
const SESSION: f64 = 4.0 * 3600.0;
/// How often the generator re-reads an object during its session, per second: half of all
/// reads pick one of the reads of the last `SESSION` seconds.
const REREAD_RATE: f64 = 0.5 / SESSION;
/// How late a scheduled job's run may start (uniformly), at most: queues and retries.
const JITTER: f64 = 600.0;

/// A reference policy for synthetic traces, told what no real cache knows: each object's true
/// rate of independent reads (its Zipf popularity) and the generator's in-session re-read rate.
/// Keeping an object pays while its read hazard exceeds 1 / break-even; under a size bound it
/// evicts the least hazard x miss cost / size and refuses an object worth less, in all, than what
/// it would evict. It is not a proven bound (it counts only the latest read of a session and
/// ignores overwrites), but for Poisson reads the hazard rule is the optimal online rule, so it
/// shows how much of the gap to the offline optimum, which also knows which read is each
/// object's last, is left once the rates are known.
struct KnownRates {
    capacity: u64,
    rates: Vec<f64>,
    entries: HashMap<u64, Held>,
    by_value: BTreeSet<(u64, u64)>,
    in_session: BTreeSet<(u64, u64)>,
    held: u64,
    byte_seconds: f64,
}

struct Held {
    version: u64,
    since: f64,
    size: u64,
    /// Miss cost per byte.
    density: f64,
    /// Expected dollars saved per byte-second.
    value: f64,
    last: f64,
    in_session: bool,
}

impl KnownRates {
    fn new(capacity: u64, rates: Vec<f64>) -> Self {
        Self {
            capacity,
            rates,
            entries: HashMap::new(),
            by_value: BTreeSet::new(),
            in_session: BTreeSet::new(),
            held: 0,
            byte_seconds: 0.0,
        }
    }

    fn drop_entry(&mut self, key: u64, at: f64) {
        if let Some(e) = self.entries.remove(&key) {
            self.byte_seconds += e.size as f64 * (at - e.since);
            self.held -= e.size;
            self.by_value.remove(&(e.value.to_bits(), key));
            if e.in_session {
                self.in_session.remove(&(e.last.to_bits(), key));
            }
        }
    }

    /// Ends the sessions that closed by `now`: an entry is re-valued at its own read rate, or
    /// dropped when that rate does not pay for its storage.
    fn close_sessions(&mut self, now: f64) {
        while let Some(&(last, key)) = self.in_session.iter().next() {
            let closed = f64::from_bits(last) + SESSION;
            if closed > now {
                break;
            }
            self.in_session.remove(&(last, key));
            let rate = self.rates[key as usize];
            let Some(e) = self.entries.get_mut(&key) else {
                continue;
            };
            e.in_session = false;
            self.by_value.remove(&(e.value.to_bits(), key));
            e.value = rate * e.density;
            self.by_value.insert((e.value.to_bits(), key));
            if e.value < DISK_PRICE {
                self.drop_entry(key, closed);
            }
        }
    }
}

impl Policy for KnownRates {
    fn name(&self) -> String {
        "online, true rates known".into()
    }

    fn access(&mut self, a: &Access) -> bool {
        self.close_sessions(a.time);
        let hit = self
            .entries
            .get(&a.key)
            .is_some_and(|e| e.version == a.version);
        self.drop_entry(a.key, a.time);
        let density = a.miss_cost / a.size as f64;
        let value = (self.rates[a.key as usize] + REREAD_RATE) * density;
        if value < DISK_PRICE || a.size > self.capacity {
            return hit;
        }
        let need = (self.held + a.size).saturating_sub(self.capacity);
        let (mut victims, mut freed, mut worth) = (Vec::new(), 0, 0.0);
        for &(v, key) in &self.by_value {
            if freed >= need {
                break;
            }
            let size = self.entries.get(&key).map_or(0, |e| e.size);
            worth += f64::from_bits(v) * size as f64;
            if worth > value * a.size as f64 {
                return hit;
            }
            freed += size;
            victims.push(key);
        }
        for key in victims {
            self.drop_entry(key, a.time);
        }
        self.held += a.size;
        self.by_value.insert((value.to_bits(), a.key));
        self.in_session.insert((a.time.to_bits(), a.key));
        self.entries.insert(
            a.key,
            Held {
                version: a.version,
                since: a.time,
                size: a.size,
                density,
                value,
                last: a.time,
                in_session: true,
            },
        );
        hit
    }

    fn write(&mut self, key: u64, time: f64) {
        self.drop_entry(key, time);
    }

    fn finish(&mut self, time: f64) -> f64 {
        let keys: Vec<u64> = self.entries.keys().copied().collect();
        for key in keys {
            self.drop_entry(key, time);
        }
        self.byte_seconds
    }
}

/// A seeded trace: `objects` objects with log-uniform sizes from 4 KiB to 2 GiB, a third each
/// same-region, cross-region and cross-cloud; `requests` reads over `span` seconds, in `phases`
/// equal parts each with its own popularity ranking (one: the same ranking throughout). Half
/// the reads pick an object by Zipf(`s`) popularity (re-access gaps from seconds to weeks); the
/// other half re-read an object read in the last few hours, as jobs re-scan their inputs and
/// notebooks re-run cells (the temporal locality of real object-store traces). 2% of events
/// overwrite an object through the cache.
///
/// How an object's Zipf reads arrive: a `scheduled` share of the objects (chosen at random) are
/// inputs of scheduled jobs, read once every `1 / rate` seconds from a random phase, each run
/// starting up to [`JITTER`] (or a tenth of the period, if shorter) late, as cron-driven batch
/// jobs read their sources; the others are read at independent (Poisson) times, as analysts
/// and ad-hoc queries do. With `scheduled` 0 every gap is memoryless, the case where no online
/// policy can know when the next read comes.
/// Returns the trace and each object's rate of Zipf reads per second (in the first phase).
fn synthetic(
    seed: u64,
    s: f64,
    objects: usize,
    requests: usize,
    span: f64,
    phases: usize,
    scheduled: f64,
) -> (Vec<Event>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let sizes: Vec<u64> = (0..objects)
        .map(|_| (4096.0 * (2.0 * GIB / 4096.0).powf(rng.random::<f64>())) as u64)
        .collect();
    let rates: Vec<f64> = (0..objects)
        .map(|_| [0.0, 0.02, 0.09][rng.random_range(0..3)])
        .collect();
    let weights: Vec<f64> = (1..=objects).map(|k| 1.0 / (k as f64).powf(s)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(objects);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    // Rank r is object perm[r], so popularity does not follow size.
    let perm = shuffled(&mut rng, objects);
    // Half the events are Zipf picks, 98% of those reads.
    let share = |rank: usize| weights[rank] / total * 0.5 * 0.98 * requests as f64 / span;
    let mut rates_of_reads = vec![0.0; objects];
    for (rank, &obj) in perm.iter().enumerate() {
        rates_of_reads[obj] = share(rank);
    }
    // Each later phase ranks the objects afresh: what was popular need not stay so.
    let mut perms = vec![perm];
    for _ in 1..phases {
        perms.push(shuffled(&mut rng, objects));
    }
    // (No draws when nothing is scheduled, so those traces stay what they were.)
    let on_schedule: Vec<bool> = if scheduled > 0.0 {
        (0..objects)
            .map(|_| rng.random::<f64>() < scheduled)
            .collect()
    } else {
        vec![false; objects]
    };
    // Every scheduled object's runs, phase by phase at that phase's rate; `None` marks a time
    // for an unscheduled read (a re-read or a Zipf pick).
    let mut times: Vec<(f64, Option<usize>)> = Vec::new();
    let length = span / phases as f64;
    for (phase, perm) in perms.iter().enumerate() {
        let (start, end) = (phase as f64 * length, (phase + 1) as f64 * length);
        for (rank, &obj) in perm.iter().enumerate() {
            if !on_schedule[obj] {
                continue;
            }
            let period = 1.0 / share(rank);
            let mut run = start + rng.random::<f64>() * period;
            while run < end {
                let late = rng.random::<f64>() * JITTER.min(period / 10.0);
                times.push((run + late, Some(obj)));
                run += period;
            }
        }
    }
    times.extend((0..requests).map(|_| (rng.random::<f64>() * span, None)));
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut versions = vec![0u64; objects];
    let mut out: Vec<Access> = Vec::with_capacity(requests);
    let mut events: Vec<Event> = Vec::with_capacity(requests);
    for (t, run) in times {
        let recent = out
            .iter()
            .rev()
            .take_while(|a| t - a.time < SESSION)
            .count();
        let obj = if let Some(obj) = run {
            obj
        } else if recent > 0 && rng.random::<f64>() < REREAD_RATE * SESSION {
            out[out.len() - 1 - rng.random_range(0..recent)].key as usize
        } else {
            let u: f64 = rng.random();
            let phase = ((t / span * phases as f64) as usize).min(phases - 1);
            let obj = perms[phase][cdf.partition_point(|c| *c < u).min(objects - 1)];
            if on_schedule[obj] {
                // Its reads come from its schedule.
                continue;
            }
            obj
        };
        if rng.random::<f64>() < 0.02 {
            versions[obj] += 1;
            events.push(Event::Write {
                time: t,
                key: obj as u64,
            });
            continue;
        }
        let read = Access {
            time: t,
            key: obj as u64,
            version: versions[obj],
            size: sizes[obj],
            miss_cost: miss_cost(sizes[obj], rates[obj]),
        };
        events.push(Event::Read(read.clone()));
        out.push(read);
    }
    (events, rates_of_reads)
}

/// `0..n` in a random order (Fisher-Yates).
fn shuffled(rng: &mut StdRng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

fn from_file(path: &str) -> Result<Vec<Event>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut keys: HashMap<String, u64> = HashMap::new();
    let mut versions: HashMap<u64, u64> = HashMap::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if line.trim().is_empty() || line.starts_with('#') || (n == 0 && f[0] == "timestamp") {
            continue;
        }
        let [time, op, key, size, source] = f.as_slice() else {
            return Err(format!(
                "{path}:{}: expected timestamp,op,key,size,source",
                n + 1
            ));
        };
        let bad = |what: &str| format!("{path}:{}: bad {what}", n + 1);
        let time: f64 = time.parse().map_err(|_| bad("timestamp"))?;
        let size: u64 = size.parse().map_err(|_| bad("size"))?;
        let rate = egress_rate(source).ok_or_else(|| bad("source"))?;
        let next = keys.len() as u64;
        let id = *keys.entry((*key).to_string()).or_insert(next);
        let version = versions.entry(id).or_insert(0);
        match *op {
            "write" => {
                *version += 1;
                out.push(Event::Write { time, key: id });
            }
            "read" => out.push(Event::Read(Access {
                time,
                key: id,
                version: *version,
                size,
                miss_cost: miss_cost(size, rate),
            })),
            _ => return Err(bad("op (read or write)")),
        }
    }
    Ok(out)
}

/// Prints every policy's dollars on `trace`; `rates` (synthetic traces only) adds the bound of an
/// online policy that knows each object's true read rate.
fn report(title: &str, trace: &[Event], rates: Option<&[f64]>) {
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    for a in reads(trace) {
        sizes.insert(a.key, a.size);
    }
    let working_set: u64 = sizes.values().sum();
    let bound = working_set / 20;
    let optimum = offline_optimum(trace, DISK_PRICE);
    println!(
        "\n{title}: {} reads and {} writes of {} objects, working set {:.1} GiB",
        reads(trace).count(),
        trace.len() - reads(trace).count(),
        sizes.len(),
        working_set as f64 / GIB
    );
    println!(
        "  {:<28} {:>14} {:>14}",
        "policy", "unbounded $", "bound 5% $"
    );
    // Each policy's name, unbounded cost (part by part) and cost at the bound.
    let run = |mk: &dyn Fn(u64) -> Box<dyn Policy>| -> (String, ReplayCost, f64) {
        let mut a = mk(u64::MAX);
        let mut b = mk(bound);
        let name = a.name();
        (
            name,
            replay_parts(a.as_mut(), trace, DISK_PRICE),
            replay(b.as_mut(), trace, DISK_PRICE).0,
        )
    };
    let total = |c: &ReplayCost| c.miss_dollars + c.storage_dollars;
    let rows = [
        run(&|_| Box::new(NoCache)),
        run(&|c| Box::new(Lru::new(c))),
        run(&|c| Box::new(Gdsf::new(c))),
        run(&|c| Box::new(BreakEvenTtl::new(c, DISK_PRICE))),
        run(&|c| Box::new(CostAwarePolicy::new(c, DISK_PRICE))),
        // The same, every session counting alike however old (as before reads faded).
        run(&|c| {
            let mut p = CostAwarePolicy::new(c, DISK_PRICE);
            p.memory = f64::INFINITY;
            Box::new(p)
        }),
    ];
    let known = rates.map(|r| run(&|c| Box::new(KnownRates::new(c, r.to_vec()))));
    for (name, u, b) in rows.iter().chain(&known) {
        println!("  {name:<28} {:>14.2} {b:>14.2}", total(u));
    }
    println!("  {:<28} {optimum:>14.2} {:>14}", "offline optimum", "-");
    let (lru_b, gdsf_b) = (rows[1].2, rows[2].2);
    let (ours, ours_b) = (rows[4].1, rows[4].2);
    let ours_u = total(&ours);
    println!(
        "  lakeroute / optimum (unbounded) = {:.3} (target <= 1.10); at 5%: {:.1}% cheaper than LRU (target >= 20%), {:.3}x GDSF (target <= 1.00)",
        ours_u / optimum,
        100.0 * (1.0 - ours_b / lru_b),
        ours_b / gdsf_b
    );
    // Where the unbounded dollars go: every policy pays each object version's first read; the
    // rest is re-reads that missed and bytes kept waiting for reads.
    let mut first_reads = std::collections::HashSet::new();
    let compulsory: f64 = reads(trace)
        .filter(|a| first_reads.insert((a.key, a.version)))
        .map(|a| a.miss_cost)
        .sum();
    let (opt_miss, opt_store) = offline_optimum_parts(trace, DISK_PRICE);
    println!(
        "  unbounded, part by part: first reads ${compulsory:.2} (every policy); re-reads missed: optimum ${:.2}, lakeroute ${:.2}; storage: optimum ${opt_store:.2}, lakeroute ${:.2}",
        opt_miss - compulsory,
        ours.miss_dollars - compulsory,
        ours.storage_dollars
    );
    if let Some((_, reference, _)) = &known {
        println!(
            "    reference (true rates): re-reads missed ${:.2}, storage ${:.2}",
            reference.miss_dollars - compulsory,
            reference.storage_dollars
        );
    }
    if let Some((_, known_u, known_b)) = known {
        let known_u = total(&known_u);
        println!(
            "  told the true read rates, the reference online policy reaches {:.3}x the optimum and {:.1}% cheaper than LRU; lakeroute is {:.3}x and {:.3}x its cost",
            known_u / optimum,
            100.0 * (1.0 - known_b / lru_b),
            ours_u / known_u,
            ours_b / known_b
        );
        if let Some(rates) = rates {
            weekly_gap(trace, rates, bound);
        }
    }
}

/// Where lakeroute's extra dollars at the bound go, against the reference that knows the
/// rates: replayed side by side, each week's misses that lakeroute took and the reference did
/// not, less the reverse. A gap that shrinks week by week is the cost of learning the rates.
fn weekly_gap(trace: &[Event], rates: &[f64], bound: u64) {
    let mut ours = CostAwarePolicy::new(bound, DISK_PRICE);
    let mut reference = KnownRates::new(bound, rates.to_vec());
    let mut weeks = [0.0; 5];
    for event in trace {
        match event {
            Event::Read(a) => {
                let (o, r) = (ours.access(a), reference.access(a));
                let week = ((a.time / (7.0 * 86_400.0)) as usize).min(weeks.len() - 1);
                if let Some(w) = weeks.get_mut(week) {
                    *w += a.miss_cost * (f64::from(u8::from(r)) - f64::from(u8::from(o)));
                }
            }
            Event::Write { key, time } => {
                ours.write(*key, *time);
                reference.write(*key, *time);
            }
        }
    }
    let shown: Vec<String> = weeks
        .iter()
        .map(|w| {
            let sign = if *w < 0.0 { "-" } else { "" };
            format!("{sign}${:.2}", w.abs())
        })
        .collect();
    println!(
        "  at the bound, lakeroute's misses less the reference's, by week (the last is days 29-30): {}",
        shown.join(", ")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!(
        "cache policy costs: egress + GET fees on misses + disk at $0.08/GB-month (public list prices)"
    );
    if let Some(i) = args.iter().position(|a| a == "--trace") {
        match args.get(i + 1).map(|p| from_file(p)) {
            Some(Ok(trace)) => report("trace file", &trace, None),
            Some(Err(e)) => {
                eprintln!("cache_trace: {e}");
                std::process::exit(2);
            }
            None => {
                eprintln!("cache_trace: --trace needs a file");
                std::process::exit(2);
            }
        }
        return;
    }
    for (seed, s) in [(1, 0.6), (2, 0.9), (3, 1.2)] {
        let (trace, rates) = synthetic(seed, s, 20_000, 200_000, MONTH, 1, 0.0);
        report(
            &format!("synthetic trace, Zipf {s}, seed {seed}, every gap memoryless"),
            &trace,
            Some(&rates),
        );
    }
    // Popularity that moves: three months at the same read rate, each with its own ranking.
    // What was read most in the first month is read like anything else later; a policy whose
    // counts never fade keeps it.
    let (trace, _) = synthetic(4, 0.9, 20_000, 600_000, 3.0 * MONTH, 3, 0.0);
    report(
        "synthetic trace, Zipf 0.9, seed 4, 90 days, popularity ranked afresh every 30 days",
        &trace,
        None,
    );
    // Half the objects read by scheduled jobs, half ad hoc.
    for (seed, s) in [(5, 0.6), (6, 0.9), (7, 1.2)] {
        let (trace, rates) = synthetic(seed, s, 20_000, 200_000, MONTH, 1, 0.5);
        report(
            &format!(
                "synthetic trace, Zipf {s}, seed {seed}, half the objects read by scheduled jobs"
            ),
            &trace,
            Some(&rates),
        );
    }
}
