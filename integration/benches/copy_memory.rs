//! Peak memory of a 1 GiB copy from S3 to Azure (local moto to local Azurite), directly and
//! through the egress-aware cache.
//!
//! The copy streams in parts, so the process's peak resident memory should grow by about
//! `PART_SIZE x (MAX_CONCURRENCY + 1)` (the part being filled and the parts in flight) plus a
//! small constant for HTTP buffers, not by the object's size. Through the cache (a process on
//! Azure reading S3, so every byte is cached): a miss streams through with one block in memory,
//! a hit is read from disk 40 MiB at a time, so neither grows with the object either. The
//! baseline is the process's resident memory just before each copy, measured in the same run;
//! the kernel's peak counter is reset there (`/proc/self/clear_refs`), so the peak is the
//! copy's own.
//!
//! `cargo bench -p lakeroute-integration --bench copy_memory` (servers from integration/start).
//! `LAKEROUTE_COPY_MIB` changes the object size (default 1024).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use lakeroute::conformance::pattern;
use lakeroute_integration::{ItCatalog, descriptor, run_id, servers};
use tokio::io::{AsyncRead, ReadBuf};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A reader of `left` bytes that repeats one 1 MiB block, so the source needs no memory.
struct Generated {
    block: bytes::Bytes,
    left: usize,
    pos: usize,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let pos = self.pos;
        let n = self.left.min(buf.remaining()).min(self.block.len() - pos);
        let block = self.block.clone();
        buf.put_slice(&block[pos..pos + n]);
        self.left -= n;
        self.pos = (pos + n) % block.len();
        Poll::Ready(Ok(()))
    }
}

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Result<u64, Error> {
    let text = std::fs::read_to_string("/proc/self/status")?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no {field} in /proc/self/status").into())
}

/// What one measured copy did: bytes copied, seconds, and peak and baseline resident memory
/// (KiB) of the process around it.
struct Measured {
    copied: u64,
    secs: f64,
    peak: u64,
    baseline: u64,
}

impl Measured {
    fn grew_mib(&self) -> f64 {
        self.peak.saturating_sub(self.baseline) as f64 / 1024.0
    }
}

/// Copies `src` to `dst` alone under the kernel's peak counter (reset first; Linux >= 4.0),
/// then checks the copy's size and its last 4 KiB.
async fn measured_copy(lake: &lakeroute::Lake, src: &str, dst: &str) -> Result<Measured, Error> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    let baseline = status_kib("VmRSS")?;
    let t = Instant::now();
    let copied = lake.copy(src, dst).await?;
    let secs = t.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM")?;
    let size = lake.head(dst).await?.size;
    assert_eq!(copied, size, "{dst}: copied {copied} bytes of {size}");
    let spot = lake.get_range(dst, size.saturating_sub(4096)..size).await?;
    let block = pattern(1024 * 1024, 11);
    assert!(
        spot == block.slice(block.len() - spot.len()..),
        "{dst}: copied bytes differ"
    );
    Ok(Measured {
        copied,
        secs,
        peak,
        baseline,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Some(s) = servers() else { return Ok(()) };
    let mib: usize = std::env::var("LAKEROUTE_COPY_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let cat = ItCatalog::new(
        &s,
        &s.s3,
        "",
        &[
            (
                "bench/s3.yaml",
                descriptor("bench", "s3", "s3", "bench-copy", ""),
            ),
            (
                "bench/azure.yaml",
                descriptor("bench", "azure", "azure", "bench-copy", ""),
            ),
        ],
    )?;
    let lake = cat.lake()?;
    let run = run_id();
    let (src, dst) = (
        format!("lake://bench/s3/v1/{run}/big.bin"),
        format!("lake://bench/azure/v1/{run}/big.bin"),
    );
    let size = mib * 1024 * 1024;
    let mut source = Generated {
        block: pattern(1024 * 1024, 11),
        left: size,
        pos: 0,
    };
    let t = Instant::now();
    lake.upload(&src, &mut source, None).await?;
    println!(
        "seeded {mib} MiB on S3 in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let m = measured_copy(&lake, &src, &dst).await?;
    assert_eq!(m.copied, size as u64);

    // The part being filled plus the parts in flight.
    let budget_mib = (lakeroute::PART_SIZE * (lakeroute::MAX_CONCURRENCY + 1)) as f64 / 1048576.0;
    let grew_mib = m.grew_mib();
    println!(
        "copy S3 -> Azure: {mib} MiB in {:.1} s ({:.0} MiB/s)",
        m.secs,
        mib as f64 / m.secs
    );
    println!(
        "peak RSS {:.1} MiB; baseline before the copy {:.1} MiB; growth {grew_mib:.1} MiB",
        m.peak as f64 / 1024.0,
        m.baseline as f64 / 1024.0
    );
    println!(
        "part size x (concurrency + 1) = {budget_mib:.0} MiB; constant above it = {:.1} MiB; growth / object size = {:.3}",
        grew_mib - budget_mib,
        grew_mib / mib as f64
    );
    lake.delete(&dst).await?;

    // The same copy through the cache: first a miss, then a hit.
    let cache = tempfile::tempdir()?;
    cat.prepend_settings(&format!(
        "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: {}, max_bytes: {}MiB, block_size: 1MiB}}",
        cache.path().display(),
        2 * mib
    ))?;
    let cached = cat.lake()?;
    for pass in ["miss", "hit"] {
        let dst = format!("lake://bench/azure/v1/{run}/cached-{pass}.bin");
        let m = measured_copy(&cached, &src, &dst).await?;
        assert_eq!(m.copied, size as u64);
        println!(
            "copy through the cache ({pass}): {mib} MiB in {:.1} s; peak RSS {:.1} MiB, growth {:.1} MiB; growth / object size = {:.3}",
            m.secs,
            m.peak as f64 / 1024.0,
            m.grew_mib(),
            m.grew_mib() / mib as f64
        );
        cached.delete(&dst).await?;
    }
    let st = cached.stats().by_dataset["bench/s3/v1"];
    assert_eq!((st.cache_misses, st.cache_hits), (1, 1), "{st:?}");
    lake.delete(&src).await?;
    Ok(())
}
