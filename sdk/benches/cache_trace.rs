//! Trace benchmark for the egress-aware cache: total dollars (egress + request fees + cache
//! medium) of each policy on seeded synthetic traces, or on a trace file.
//!
//! `cargo bench -p lakeroute --bench cache_trace` (synthetic, Zipf 0.6, 0.9 and 1.2)
//! `cargo bench -p lakeroute --bench cache_trace -- --trace FILE` with lines
//! `timestamp,op,key,size,source`: op `read` or `write`, source `same-region`,
//! `cross-region`, `cross-cloud`, or an egress price in $/GB.

use std::collections::HashMap;

use lakeroute::cache::policy::{
    Access, BreakEvenTtl, CostAwarePolicy, Gdsf, Lru, NoCache, Policy, offline_optimum, replay,
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

/// A seeded trace: `objects` objects with log-uniform sizes from 4 KiB to 2 GiB, a third each
/// same-region, cross-region and cross-cloud; `requests` reads over 30 days. Half the reads pick
/// an object by Zipf(`s`) popularity (independent arrivals: re-access gaps from seconds to
/// weeks); the other half re-read an object read in the last few hours, as jobs re-scan their
/// inputs and notebooks re-run cells (the temporal locality of real object-store traces). 2% of
/// events overwrite an object.
fn synthetic(seed: u64, s: f64, objects: usize, requests: usize) -> Vec<Access> {
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
    let mut perm: Vec<usize> = (0..objects).collect();
    for i in (1..objects).rev() {
        perm.swap(i, rng.random_range(0..=i));
    }
    let mut times: Vec<f64> = (0..requests).map(|_| rng.random::<f64>() * MONTH).collect();
    times.sort_by(f64::total_cmp);
    let mut versions = vec![0u64; objects];
    let mut out: Vec<Access> = Vec::with_capacity(requests);
    for t in times {
        let recent = out
            .iter()
            .rev()
            .take_while(|a| t - a.time < 4.0 * 3600.0)
            .count();
        let obj = if recent > 0 && rng.random::<f64>() < 0.5 {
            out[out.len() - 1 - rng.random_range(0..recent)].key as usize
        } else {
            let u: f64 = rng.random();
            perm[cdf.partition_point(|c| *c < u).min(objects - 1)]
        };
        if rng.random::<f64>() < 0.02 {
            versions[obj] += 1;
            continue;
        }
        out.push(Access {
            time: t,
            key: obj as u64,
            version: versions[obj],
            size: sizes[obj],
            miss_cost: miss_cost(sizes[obj], rates[obj]),
        });
    }
    out
}

fn from_file(path: &str) -> Result<Vec<Access>, String> {
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
            "write" => *version += 1,
            "read" => out.push(Access {
                time,
                key: id,
                version: *version,
                size,
                miss_cost: miss_cost(size, rate),
            }),
            _ => return Err(bad("op (read or write)")),
        }
    }
    Ok(out)
}

fn report(title: &str, trace: &[Access]) -> (f64, f64, f64) {
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    for a in trace {
        sizes.insert(a.key, a.size);
    }
    let working_set: u64 = sizes.values().sum();
    let bound = working_set / 20;
    let optimum = offline_optimum(trace, DISK_PRICE);
    println!(
        "\n{title}: {} reads of {} objects, working set {:.1} GiB",
        trace.len(),
        sizes.len(),
        working_set as f64 / GIB
    );
    println!(
        "  {:<28} {:>14} {:>14}",
        "policy", "unbounded $", "bound 5% $"
    );
    let run = |mk: &dyn Fn(u64) -> Box<dyn Policy>| -> (String, f64, f64) {
        let mut a = mk(u64::MAX);
        let mut b = mk(bound);
        let name = a.name();
        (
            name,
            replay(a.as_mut(), trace, DISK_PRICE).0,
            replay(b.as_mut(), trace, DISK_PRICE).0,
        )
    };
    let rows = [
        run(&|_| Box::new(NoCache)),
        run(&|c| Box::new(Lru::new(c))),
        run(&|c| Box::new(Gdsf::new(c))),
        run(&|c| Box::new(BreakEvenTtl::new(c, DISK_PRICE))),
        run(&|c| Box::new(CostAwarePolicy::new(c, DISK_PRICE))),
    ];
    for (name, u, b) in &rows {
        println!("  {name:<28} {u:>14.2} {b:>14.2}");
    }
    println!("  {:<28} {optimum:>14.2} {:>14}", "offline optimum", "-");
    let (lru_b, gdsf_b) = (rows[1].2, rows[2].2);
    let (ours_u, ours_b) = (rows[4].1, rows[4].2);
    println!(
        "  lakeroute / optimum (unbounded) = {:.3} (target <= 1.10); at 5%: {:.1}% cheaper than LRU (target >= 20%), {:.3}x GDSF (target <= 1.00)",
        ours_u / optimum,
        100.0 * (1.0 - ours_b / lru_b),
        ours_b / gdsf_b
    );
    (ours_u / optimum, 1.0 - ours_b / lru_b, ours_b / gdsf_b)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!(
        "cache policy costs: egress + GET fees on misses + disk at $0.08/GB-month (public list prices)"
    );
    if let Some(i) = args.iter().position(|a| a == "--trace") {
        match args.get(i + 1).map(|p| from_file(p)) {
            Some(Ok(trace)) => {
                report("trace file", &trace);
            }
            Some(Err(e)) => eprintln!("cache_trace: {e}"),
            None => eprintln!("cache_trace: --trace needs a file"),
        }
        return;
    }
    for (seed, s) in [(1, 0.6), (2, 0.9), (3, 1.2)] {
        report(
            &format!("synthetic trace, Zipf {s}, seed {seed}"),
            &synthetic(seed, s, 20_000, 200_000),
        );
    }
}
