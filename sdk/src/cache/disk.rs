//! The cache's files: one folder per object, a metadata file and checksummed blocks.
//!
//! ```text
//! <dir>/origin                                 when the folder began to count reads
//! <dir>/v1/<hash of location>/meta.json        location, ETag, size, last validation, reads
//! <dir>/v1/<hash of location>/<etag hash>.<n>  block n: bytes then their CRC-32
//! <dir>/seen/<hash of location>                reads of an object there was no room for
//! ```
//!
//! Every file is written to a temporary name and renamed into place, so readers in other
//! processes see a whole file or none; blocks are named after the object's ETag, so a changed
//! object never matches old blocks; a block whose checksum or length is wrong is deleted and
//! fetched again. Nothing lives only in memory: after a restart (or `kill -9`) the folder is the
//! index, and the space used is summed from it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::policy::Reads;

/// Stable 64-bit FNV-1a: names must be the same in every process and release.
pub(crate) fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What the cache knows about one object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub(crate) key: String,
    pub(crate) etag: String,
    pub(crate) version: Option<String>,
    pub(crate) size: u64,
    pub(crate) last_modified: String,
    pub(crate) validated: f64,
    /// What every process that shared the folder has seen of the object's reads, so a new
    /// process (a CLI call, a restarted service) values it as the last one did.
    pub(crate) history: Option<History>,
}

/// An entry's read history, as the policy counts it (times in seconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct History {
    pub(crate) reads: Reads,
    /// Dollars a miss costs (egress and request fees), for valuing the entry without its store.
    pub(crate) miss_cost: f64,
}

/// The cache folder.
#[derive(Debug)]
pub(crate) struct Disk {
    root: PathBuf,
    used: AtomicU64,
    /// The last walk of a full folder, standing in for the folder for [`WALK_FOR`]: misses in a
    /// full folder do not each walk it.
    walk: Mutex<Option<Walk>>,
    /// The count of the space used when the folder was opened, running in the background
    /// until something needs the figure (a command that only resolves or lists does not wait
    /// for a walk of a large folder), with the id of the process that started it: a child
    /// forked meanwhile has no such thread to wait for, and counts for itself.
    opening: Mutex<Option<(u32, std::thread::JoinHandle<Swept>)>>,
    /// What that count deleted, if it swept the folder, until a prune or clear reports it.
    swept_at_opening: Mutex<Swept>,
    /// Saved reads this process wrote: every [`SEEN_KEEP`] / 100 of them, the saved reads are
    /// pruned (as they are when the folder is opened).
    seen_saves: AtomicU64,
}

/// How long one walk of a full folder decides what to delete. What other processes write in
/// that time is not seen until the next walk (the folder may then exceed its bound by that
/// much, as when each process keeps only its own entries within it); what this process
/// writes and deletes is counted as it goes. A candidate found already deleted (by another
/// process, or by this one's policy) ends the walk's term early, though not before ten times
/// the walk's own duration, so walking takes at most a tenth of a busy process's time.
const WALK_FOR: Duration = Duration::from_secs(30);

/// Candidates a walk keeps: the least worth, at least [`WALK_KEEP_MIN`] of them and at least
/// half the bound in bytes beyond what the walk's own call needs (or all there are). A walk
/// that runs out of them ends its term early, and refuses the room it could not make.
const WALK_KEEP_MIN: usize = 256;

/// The entries a walk found, least worth keeping last (they come off the end).
#[derive(Debug)]
struct Walk {
    at: Instant,
    took: Duration,
    /// A candidate was found deleted, or none was left: the next call walks again once
    /// [`Walk::took`] x 10 has passed.
    stale: bool,
    /// Candidates were left out (only the least worth are kept).
    partial: bool,
    entries: Vec<Candidate>,
}

/// What to delete to make room (indices into a walk's candidates), candidates found already
/// deleted, and whether room for the incoming object was refused.
struct Choice {
    doomed: Vec<usize>,
    gone: Vec<usize>,
    refused: bool,
}

/// One entry of the folder, as a walk found it.
#[derive(Debug)]
struct Candidate {
    /// Value per byte of keeping it.
    worth: f64,
    bytes: u64,
    dir: PathBuf,
    /// Its location and read counts, saved as seen reads when it is deleted to make room, so
    /// the object is valued by them if it returns.
    history: Option<(String, History)>,
}

impl Walk {
    fn expired(&self) -> bool {
        let age = self.at.elapsed();
        age >= WALK_FOR || (self.stale && age >= self.took * 10)
    }
}

/// The `meta.json` in an entry's folder.
fn read_meta(dir: &Path) -> Option<Meta> {
    parse_meta(&std::fs::read(dir.join("meta.json")).ok()?)
}

/// An entry's `meta.json`.
fn parse_meta(text: &[u8]) -> Option<Meta> {
    let v: Value = serde_json::from_slice(text).ok()?;
    Some(Meta {
        key: v.get("key")?.as_str()?.to_string(),
        etag: v.get("etag")?.as_str()?.to_string(),
        version: v.get("version").and_then(Value::as_str).map(str::to_string),
        size: v.get("size")?.as_u64()?,
        last_modified: v.get("last_modified")?.as_str()?.to_string(),
        validated: v.get("validated")?.as_f64()?,
        // Absent in entries written before it was kept.
        history: v.get("history").and_then(parse_history),
    })
}

fn parse_history(h: &Value) -> Option<History> {
    let sessions = u32::try_from(h.get("sessions")?.as_u64()?).ok()?;
    Some(History {
        reads: Reads {
            sessions,
            // Saved before reads faded (or damaged): every session counts.
            weight: h
                .get("weight")
                .and_then(Value::as_f64)
                .filter(|w| w.is_finite() && *w >= 0.0)
                .unwrap_or(f64::from(sessions)),
            first: h.get("first")?.as_f64()?,
            last: h.get("last")?.as_f64()?,
        },
        miss_cost: h.get("miss_cost")?.as_f64()?,
    })
}

fn history_json(h: &History) -> Value {
    let r = &h.reads;
    json!({"sessions": r.sessions, "weight": r.weight, "first": r.first, "last": r.last,
           "miss_cost": h.miss_cost})
}

/// Objects without an entry whose reads the folder remembers at most (a few hundred bytes
/// each); beyond that, the half written longest ago are forgotten.
const SEEN_KEEP: usize = 100_000;

/// Bytes of the object an entry's blocks hold (its meta and temporary files aside); with
/// `clean`, removes temporary files an interrupted writer left behind (older than ten
/// minutes).
fn dir_bytes(dir: &Path, clean: bool) -> u64 {
    let mut total = 0;
    for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        let Ok(meta) = f.metadata() else { continue };
        if clean && name.contains(".tmp.") {
            let old = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|a| a.as_secs() > 600);
            if old {
                let _ = std::fs::remove_file(f.path());
            }
        }
        total += block_bytes(&name, meta.len());
    }
    total
}

/// Bytes of the object the file `name` of an entry holds: a block's data, nothing for its
/// meta or a temporary file.
fn block_bytes(name: &str, file_len: u64) -> u64 {
    if name == "meta.json" || name.contains(".tmp.") {
        0
    } else {
        data_len(file_len)
    }
}

/// Bytes of the object a block file holds (its checksum aside): space is counted in the
/// policy's units, so one process alone never finds the folder over its bound.
fn data_len(file_len: u64) -> u64 {
    file_len.saturating_sub(4)
}

/// Bytes of objects in blocks on disk under `root` ([`dir_bytes`] of every entry).
fn scan(root: &Path, clean: bool) -> u64 {
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| dir_bytes(&entry.path(), clean))
        .sum()
}

/// Where the reads of `key` are saved when it has no entry (`root` is the entries' folder).
fn seen_path(root: &Path, key: &str) -> PathBuf {
    root.with_file_name("seen")
        .join(format!("{:016x}", fnv(key)))
}

/// Saves `key`'s reads, as [`Disk::save_seen`] does (without its pruning).
fn save_seen(root: &Path, key: &str, history: &History) {
    let path = seen_path(root, key);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut doc = history_json(history);
    doc["key"] = key.into();
    let _ = write_atomic(&path, &[doc.to_string().as_bytes()]);
}

/// Judges whether keeping an entry has stopped paying: its saved reads, its size and the
/// time now (seconds since the Unix epoch); see [`super::policy::CostAwarePolicy::outlived`].
pub(crate) type Judge<'a> = dyn Fn(&History, u64, f64) -> bool + Send + 'a;

/// A [`Judge`] the opening count's thread owns.
pub(crate) type Outlived = Box<Judge<'static>>;

/// How often the folder is swept of entries that outlived their worth: the process that opens
/// it this long after the last sweep sweeps it (reading every entry's meta, which costs about
/// as much again as counting the folder); others only count.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Whether the folder of entries `root` is due a [`sweep`]: none has finished in the last
/// [`SWEEP_EVERY`]. (One that a short-lived process began, and ended with it, does not count:
/// the next process sweeps again, and finds the part already swept smaller.)
fn sweep_due(root: &Path) -> bool {
    std::fs::metadata(root.with_file_name("swept"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age >= SWEEP_EVERY)
}

/// [`scan`] at opening: entries whose saved reads say keeping them has stopped paying are
/// deleted (their reads kept as seen reads) instead of counted, so a folder that no process
/// has filled still sheds what is not worth its space (the processes that held those entries
/// may have ended long ago); so are folders of blocks without a meta untouched for
/// [`SWEEP_EVERY`].
///
/// At most `limit` entries are deleted; a sweep that reaches it counts the rest and does not
/// mark the folder swept, so the next opening goes on.
fn sweep(
    root: &Path,
    outlived: Option<&Judge<'_>>,
    now: f64,
    remove: &dyn Fn(&Path) -> Option<u64>,
    limit: u64,
) -> Swept {
    let mut swept = Swept::default();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let dir = entry.path();
        if swept.deleted >= limit {
            swept.kept += dir_bytes(&dir, true);
            continue;
        }
        let doomed = match read_meta(&dir) {
            Some(m) => match m.history {
                Some(h) if outlived.is_some_and(|o| o(&h, m.size, now)) => {
                    save_seen(root, &m.key, &h);
                    true
                }
                _ => false,
            },
            // Blocks without a meta, nothing added or removed for as long: left by a writer
            // whose entry was deleted under it, or half deleted.
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= SWEEP_EVERY),
        };
        if doomed && let Some(freed) = remove(&dir) {
            swept.deleted += 1;
            swept.freed += freed;
            continue;
        }
        swept.kept += dir_bytes(&dir, true);
    }
    if swept.deleted < limit {
        let _ = write_atomic(&root.with_file_name("swept"), &[]);
    }
    swept
}

/// Entries the sweep at opening deletes at most: deleting one takes about half a millisecond
/// (its meta read, its reads saved, its files removed), and the process's first miss waits for
/// that sweep, so a folder idle for months sheds its outlived entries over several openings
/// instead of making one of them wait for seconds.
const SWEEP_DELETES: u64 = 1_000;

/// What a sweep of the cache folder (the hourly one at opening, or
/// [`Cache::prune`](super::Cache::prune)) or [`Cache::clear`](super::Cache::clear) did: bytes
/// of the entries it kept, and how many entries it deleted holding how many bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Bytes of objects in the entries left.
    pub kept: u64,
    /// Entries deleted.
    pub deleted: u64,
    /// Bytes of objects they held.
    pub freed: u64,
}

/// Deletes the entry folder `dir`: its `meta.json` first, so readers stop finding it at once,
/// then its other files. Returns the bytes of the blocks this call removed (only those may be
/// taken off the space used: two deleting one entry at once take its bytes off once), and
/// whether it removed the folder itself (not when it was gone already, or a writer put a
/// file in it meanwhile).
fn delete_entry(dir: &Path) -> (u64, bool) {
    let _ = std::fs::remove_file(dir.join("meta.json"));
    let mut freed = 0;
    for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let len = f.metadata().map_or(0, |m| m.len());
        if std::fs::remove_file(f.path()).is_ok() {
            freed += block_bytes(&f.file_name().to_string_lossy(), len);
        }
    }
    (freed, std::fs::remove_dir(dir).is_ok())
}

/// [`delete_entry`] as the sweep at opening does it (nothing counted yet): the bytes it held,
/// or `None` if the folder stayed.
fn remove_uncounted(dir: &Path) -> Option<u64> {
    let (freed, removed) = delete_entry(dir);
    removed.then_some(freed)
}

/// When the cache folder `dir` began to count reads (seconds since the Unix epoch): recorded
/// by the first process to open it, so every process rates objects over the same span. `now`
/// is recorded when no process has yet.
pub(crate) fn origin(dir: &Path, now: f64) -> f64 {
    let file = dir.join("origin");
    if let Some(t) = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
    {
        return t;
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = write_atomic(&file, &[now.to_string().as_bytes()]);
    now
}

/// Keeps at most `keep` saved reads in `dir`, forgetting the oldest beyond half of that.
fn prune_seen(dir: &Path, keep: usize) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    if files.len() <= keep {
        return;
    }
    let mut dated: Vec<(std::time::SystemTime, PathBuf)> = files
        .iter()
        .filter_map(|f| Some((f.metadata().ok()?.modified().ok()?, f.path())))
        .collect();
    dated.sort();
    for (_, path) in dated.iter().take(dated.len().saturating_sub(keep / 2)) {
        let _ = std::fs::remove_file(path);
    }
}

fn write_atomic(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    // Unique per process and write: two threads writing one block never share a file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        parts.iter().try_for_each(|p| f.write_all(p))?;
        std::fs::rename(&tmp, path)
    });
    // A full disk or a failed rename leaves no temporary file behind.
    written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

impl Disk {
    /// Opens (creating) the folder, and starts summing the space its entries use in the
    /// background: removing temporary files an interrupted writer left behind and, once an
    /// hour, sweeping (see [`sweep`]): deleting abandoned folders and, with `outlived`, the
    /// entries it judges no longer worth their space.
    pub(crate) fn open(dir: &Path, outlived: Option<Outlived>) -> std::io::Result<Self> {
        let root = dir.join("v1");
        std::fs::create_dir_all(&root)?;
        let scanned = root.clone();
        let opening = std::thread::Builder::new()
            .name("lakeroute-cache-scan".into())
            .spawn(move || {
                let swept = if sweep_due(&scanned) {
                    let now = super::store::now();
                    let judge = outlived.as_deref();
                    sweep(&scanned, judge, now, &remove_uncounted, SWEEP_DELETES)
                } else {
                    Swept {
                        kept: scan(&scanned, true),
                        ..Swept::default()
                    }
                };
                prune_seen(&scanned.with_file_name("seen"), SEEN_KEEP);
                swept
            })
            .ok()
            .map(|handle| (std::process::id(), handle));
        // No thread to spare: count now (the sweep waits for the next opening).
        let used = if opening.is_none() {
            scan(&root, true)
        } else {
            0
        };
        Ok(Self {
            root,
            used: AtomicU64::new(used),
            walk: Mutex::new(None),
            opening: Mutex::new(opening),
            swept_at_opening: Mutex::new(Swept::default()),
            seen_saves: AtomicU64::new(0),
        })
    }

    /// Waits for the count begun at opening, if it is still running, and adds it in. Nothing
    /// is written to the folder before (writes follow [`Self::used`]), so nothing is counted
    /// twice.
    fn settle(&self) {
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((pid, counting)) = opening.take() {
            let swept = if pid == std::process::id() {
                // A count that panicked adds nothing; the next walk of a full folder recounts.
                counting.join().unwrap_or_default()
            } else {
                // Forked while the count ran: the thread stayed with the parent.
                Swept {
                    kept: scan(&self.root, false),
                    ..Swept::default()
                }
            };
            self.used.fetch_add(swept.kept, Ordering::Relaxed);
            let mut reported = self
                .swept_at_opening
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            reported.deleted += swept.deleted;
            reported.freed += swept.freed;
        }
    }

    /// Whether the count begun at opening is still running ([`Self::used`] would wait for it).
    pub(crate) fn counting(&self) -> bool {
        self.opening.try_lock().map_or(true, |o| o.is_some())
    }

    /// Bytes of objects held in the folder, as this process counts them.
    pub(crate) fn used(&self) -> u64 {
        self.settle();
        self.used.load(Ordering::Relaxed)
    }

    /// Recounts the space used (other processes share the folder). A count still running
    /// from the opening (which may be deleting entries that outlived their worth) is as
    /// fresh: it is waited for instead.
    pub(crate) fn rescan(&self) -> u64 {
        let opening = self
            .opening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if opening {
            return self.used();
        }
        let n = scan(&self.root, false);
        self.used.store(n, Ordering::Relaxed);
        n
    }

    fn entry_dir(&self, key: &str) -> PathBuf {
        self.root.join(format!("{:016x}", fnv(key)))
    }

    pub(crate) fn meta(&self, key: &str) -> Option<Meta> {
        let text = std::fs::read(self.entry_dir(key).join("meta.json")).ok()?;
        // A hash collision names another object: treat as absent.
        parse_meta(&text).filter(|meta| meta.key == key)
    }

    pub(crate) fn write_meta(&self, m: &Meta) -> std::io::Result<()> {
        let dir = self.entry_dir(&m.key);
        std::fs::create_dir_all(&dir)?;
        self.write_meta_into(&dir, m)
    }

    fn write_meta_into(&self, dir: &Path, m: &Meta) -> std::io::Result<()> {
        let history = m.history.as_ref().map(history_json);
        let doc = json!({
            "key": m.key, "etag": m.etag, "version": m.version, "size": m.size,
            "last_modified": m.last_modified, "validated": m.validated, "history": history,
        });
        write_atomic(&dir.join("meta.json"), &[doc.to_string().as_bytes()])
    }

    /// Saves `history` with `key`'s entry if it is still the version `etag` names: an entry
    /// another process replaced or deleted meanwhile is left alone, never recreated. True when
    /// saved.
    pub(crate) fn save_history(&self, key: &str, etag: &str, history: History) -> bool {
        let Some(mut meta) = self.meta(key).filter(|m| m.etag == etag) else {
            return false;
        };
        meta.history = Some(history);
        // Into the folder as it is: no `create_dir_all`, so a deleted entry stays deleted.
        self.write_meta_into(&self.entry_dir(key), &meta).is_ok()
    }

    fn seen_path(&self, key: &str) -> PathBuf {
        seen_path(&self.root, key)
    }

    /// The reads saved for `key` by a process that had no room for it, if any.
    pub(crate) fn seen(&self, key: &str) -> Option<History> {
        let text = std::fs::read(self.seen_path(key)).ok()?;
        let v: Value = serde_json::from_slice(&text).ok()?;
        // Another location whose name hashes alike has its own counts.
        if v.get("key")?.as_str()? != key {
            return None;
        }
        parse_history(&v)
    }

    /// Saves the reads of an object the folder had no room for, so the next process that
    /// reads it counts on from them (without them, an object read once by each of many
    /// short-lived processes would look read once for good, and never be kept).
    pub(crate) fn save_seen(&self, key: &str, history: &History) {
        save_seen(&self.root, key, history);
        let saves = self.seen_saves.fetch_add(1, Ordering::Relaxed) + 1;
        if saves.is_multiple_of(SEEN_KEEP as u64 / 100) {
            self.prune_seen();
        }
    }

    /// Forgets the saved reads of `key`: its entry holds them now.
    pub(crate) fn drop_seen(&self, key: &str) {
        let _ = std::fs::remove_file(self.seen_path(key));
    }

    /// Keeps at most [`SEEN_KEEP`] saved reads, forgetting the half written longest ago.
    fn prune_seen(&self) {
        prune_seen(&self.root.with_file_name("seen"), SEEN_KEEP);
    }

    fn block_path(&self, key: &str, etag: &str, index: u64) -> PathBuf {
        self.entry_dir(key)
            .join(format!("{:016x}.{index}", fnv(etag)))
    }

    /// Reads block `index` straight into `out` (its exact length) and checks it; false (and the
    /// damaged file deleted) when it is missing, short, long or fails its checksum.
    pub(crate) fn read_block_into(
        &self,
        key: &str,
        etag: &str,
        index: u64,
        out: &mut [u8],
    ) -> bool {
        use std::io::Read;
        let path = self.block_path(key, etag, index);
        let Ok(mut file) = std::fs::File::open(&path) else {
            return false;
        };
        let len_ok = file
            .metadata()
            .is_ok_and(|m| m.len() == out.len() as u64 + 4);
        let mut tail = [0u8; 4];
        let ok = len_ok
            && file.read_exact(out).is_ok()
            && file.read_exact(&mut tail).is_ok()
            && tail == crc32fast::hash(out).to_le_bytes();
        if !ok {
            self.drop_damaged(&path);
        }
        ok
    }

    /// Appends block `index` (`len` bytes) to `out` and checks it, reading data and checksum into
    /// the vector's spare capacity (nothing is zeroed first; the file's length, checked first,
    /// sizes the read, so it is one read plus the end-of-file probe). False when
    /// it is missing, short, long or fails its checksum: then `len` zero bytes are appended in
    /// its place and the damaged file is deleted.
    pub(crate) fn read_block_append(
        &self,
        key: &str,
        etag: &str,
        index: u64,
        len: usize,
        out: &mut Vec<u8>,
    ) -> bool {
        use std::io::Read;
        let path = self.block_path(key, etag, index);
        let start = out.len();
        let Ok(file) = std::fs::File::open(&path) else {
            out.resize(start + len, 0);
            return false;
        };
        // At most one byte past the checksum, so a long file shows without asking the file
        // system for its size (which `File::read_to_end` would, twice).
        let read = file.take(len as u64 + 5).read_to_end(out);
        let ok = read.is_ok_and(|n| n == len + 4) && {
            let (data, tail) = out[start..].split_at(len);
            tail == crc32fast::hash(data).to_le_bytes()
        };
        out.truncate(start + len.min(out.len() - start));
        if !ok {
            out.truncate(start);
            out.resize(start + len, 0);
            self.drop_damaged(&path);
        }
        ok
    }

    fn drop_damaged(&self, path: &Path) {
        tracing::warn!(target: "lakeroute::cache", path = %path.display(), "dropping a damaged cache block");
        self.settle();
        let size = std::fs::metadata(path).map_or(0, |m| data_len(m.len()));
        if std::fs::remove_file(path).is_ok() {
            self.uncount(size);
        }
    }

    pub(crate) fn write_block(
        &self,
        key: &str,
        etag: &str,
        index: u64,
        data: &[u8],
    ) -> std::io::Result<()> {
        let path = self.block_path(key, etag, index);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let crc = crc32fast::hash(data).to_le_bytes();
        self.settle();
        write_atomic(&path, &[data, &crc])?;
        self.used.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Forgets an object (all its versions), keeping the read counts saved with its entry as
    /// seen reads.
    pub(crate) fn remove(&self, key: &str) {
        let dir = self.entry_dir(key);
        self.retire(&dir, read_meta(&dir));
    }

    /// Deletes an entry ([`delete_entry`]), taking the blocks this call removed off the space
    /// used (after the count begun at opening, so nothing is taken off twice). The bytes freed
    /// when this call removed the folder itself; `None` when it was gone already or a writer
    /// put a file in it meanwhile.
    fn remove_dir(&self, dir: &Path) -> Option<u64> {
        self.settle();
        let (freed, removed) = delete_entry(dir);
        self.uncount(freed);
        removed.then_some(freed)
    }

    /// Sweeps the folder now, whatever the last sweep's time (see [`sweep`]): deletes the
    /// entries `outlived` judges no longer worth their space (keeping their reads as seen
    /// reads) and folders of blocks without a meta untouched for an hour. What the sweep at
    /// opening deleted, if this process's opening swept and nothing reported it yet, is
    /// counted in.
    pub(crate) fn prune(&self, outlived: &Judge<'_>) -> Swept {
        self.settle();
        let remove = |dir: &Path| self.remove_dir(dir);
        let now = super::store::now();
        let swept = sweep(&self.root, Some(outlived), now, &remove, u64::MAX);
        self.forget_walk();
        self.with_opening_sweep(swept)
    }

    /// Deletes every entry, keeping their reads as seen reads (as eviction does: the newest
    /// [`SEEN_KEEP`] at most). What the sweep at opening deleted is counted in, as for
    /// [`Self::prune`].
    pub(crate) fn clear(&self) -> Swept {
        self.settle();
        let mut swept = Swept::default();
        for entry in std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let dir = entry.path();
            // Not counted: gone already (another process), or written to meanwhile.
            if let Some(freed) = self.retire(&dir, read_meta(&dir)) {
                swept.deleted += 1;
                swept.freed += freed;
            }
        }
        self.forget_walk();
        swept.kept = self.rescan();
        self.with_opening_sweep(swept)
    }

    /// Forgets the last walk of the folder: its candidates are gone.
    fn forget_walk(&self) {
        *self.walk.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// `swept` plus what the sweep at opening deleted, which it reports once.
    fn with_opening_sweep(&self, swept: Swept) -> Swept {
        let at_opening = std::mem::take(
            &mut *self
                .swept_at_opening
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        Swept {
            kept: swept.kept,
            deleted: swept.deleted + at_opening.deleted,
            freed: swept.freed + at_opening.freed,
        }
    }

    /// Takes `bytes` off the space used, which other processes' deletions may already have
    /// brought below them.
    fn uncount(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }

    /// Forgets the object whose key hashes to `hash` (the policy's name for it), keeping the
    /// read counts saved with its entry as seen reads.
    pub(crate) fn remove_hash(&self, hash: u64) {
        let dir = self.root.join(format!("{hash:016x}"));
        self.retire(&dir, read_meta(&dir));
    }

    /// The reads saved with the entry of the object whose key hashes to `hash`, and its size.
    pub(crate) fn saved_reads(&self, hash: u64) -> Option<(History, u64)> {
        let meta = read_meta(&self.root.join(format!("{hash:016x}")))?;
        Some((meta.history?, meta.size))
    }

    /// Deletes the entry in `dir`, first saving the reads in its `meta` as seen reads; the
    /// bytes it held, as [`Self::remove_dir`] tells them.
    fn retire(&self, dir: &Path, meta: Option<Meta>) -> Option<u64> {
        if let Some((key, history)) = meta.and_then(|m| Some((m.key, m.history?))) {
            self.save_seen(&key, &history);
        }
        self.remove_dir(dir)
    }

    /// The entries on disk, most worth keeping first: by `value` of their meta (entries without
    /// a readable meta, half-written or from older versions, last), then most recently written.
    fn by_value(&self, value: &dyn Fn(&Meta) -> f64) -> Vec<Candidate> {
        let mut entries: Vec<(std::time::SystemTime, Candidate)> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let written = e.metadata().ok()?.modified().ok()?;
                let dir = e.path();
                let meta = std::fs::read(dir.join("meta.json"))
                    .ok()
                    .and_then(|b| parse_meta(&b));
                let worth = meta.as_ref().map_or(f64::NEG_INFINITY, value);
                let history = meta.and_then(|m| Some((m.key, m.history?)));
                let bytes = dir_bytes(&dir, false);
                Some((
                    written,
                    Candidate {
                        worth,
                        bytes,
                        dir,
                        history,
                    },
                ))
            })
            .collect();
        entries.sort_by(|(aw, a), (bw, b)| b.worth.total_cmp(&a.worth).then(bw.cmp(aw)));
        entries.into_iter().map(|(_, c)| c).collect()
    }

    /// Walks the folder: the space used, and the least worth candidates.
    fn walk_folder(&self, limit: u64, incoming: u64, value: &dyn Fn(&Meta) -> f64) -> Walk {
        let start = Instant::now();
        self.settle();
        let mut entries = self.by_value(value);
        let used = entries.iter().map(|c| c.bytes).sum::<u64>();
        self.used.store(used, Ordering::Relaxed);
        // Only the tail is used before the walk expires: keep that, enough for this call
        // (what is over the bound and the incoming bytes) and half the bound more.
        let want = (used + incoming).saturating_sub(limit) + limit / 2;
        let (mut kept, mut bytes) = (0, 0);
        for c in entries.iter().rev() {
            if kept >= WALK_KEEP_MIN && bytes >= want {
                break;
            }
            kept += 1;
            bytes += c.bytes;
        }
        let partial = kept < entries.len();
        entries.drain(..entries.len() - kept);
        Walk {
            at: Instant::now(),
            took: start.elapsed(),
            stale: false,
            partial,
            entries,
        }
    }

    /// Keeps the folder within `limit`, and makes room there for `incoming` more bytes, by
    /// deleting the entries least worth keeping (by `value` per byte, see [`Self::by_value`]),
    /// except `spare`'s: the safety net when several processes together exceed the bound, each
    /// policy knowing only its own entries. Room for the incoming bytes is not made, and false
    /// returned, when the entries it would take are worth more, in all (value x bytes), than
    /// `offered`; the folder is brought back within `limit` either way. A deleted entry's read
    /// counts are kept as seen reads.
    ///
    /// The folder is walked (every entry's meta read, its blocks summed) at most once per
    /// [`WALK_FOR`], or sooner when what that walk found no longer holds; until then its
    /// candidates, and the space this process has counted since, decide.
    pub(crate) fn make_room(
        &self,
        limit: u64,
        incoming: u64,
        spare: &str,
        value: &dyn Fn(&Meta) -> f64,
        offered: f64,
    ) -> bool {
        let spare = self.entry_dir(spare);
        let mut walk = self.walk.lock().unwrap_or_else(PoisonError::into_inner);
        let mut walked = false;
        let (walk, choice) = loop {
            let w = match walk.take() {
                Some(w) if !w.expired() => w,
                _ => {
                    walked = true;
                    self.walk_folder(limit, incoming, value)
                }
            };
            let w = walk.insert(w);
            let choice = self.choose(w, limit, incoming, &spare, offered);
            // What the walk found no longer holds (a candidate was deleted since: the count of
            // space may be out of date): walk again, once, rather than delete by it.
            if w.stale && !walked && w.expired() {
                continue;
            }
            break (w, choice);
        };
        let Choice {
            doomed,
            gone,
            refused,
        } = choice;
        let mut out: Vec<(usize, bool)> = doomed.into_iter().map(|i| (i, true)).collect();
        out.extend(gone.into_iter().map(|i| (i, false)));
        // From the end, so each removal leaves the next one's place alone. Candidates found
        // gone only leave the list: their folder may be a new entry by now.
        out.sort_unstable_by_key(|o| std::cmp::Reverse(o.0));
        for (i, delete) in out {
            let c = walk.entries.remove(i);
            if delete {
                if let Some((key, history)) = &c.history {
                    self.save_seen(key, history);
                }
                self.remove_dir(&c.dir);
            }
        }
        !refused
    }

    /// What [`Self::make_room`] deletes: indices into `walk`'s candidates, from the end.
    fn choose(
        &self,
        walk: &mut Walk,
        limit: u64,
        incoming: u64,
        spare: &Path,
        offered: f64,
    ) -> Choice {
        let used = self.used();
        if used + incoming <= limit {
            return Choice {
                doomed: Vec::new(),
                gone: Vec::new(),
                refused: false,
            };
        }
        // Bytes over the bound already (these go whatever they are worth), then bytes to free
        // for the incoming ones (these only if the object is worth more than they are).
        let mut over = used.saturating_sub(limit);
        let mut need = (used + incoming).saturating_sub(limit) - over;
        let (mut doomed, mut victims, mut worth) = (Vec::new(), Vec::new(), 0.0);
        let mut gone = Vec::new();
        let mut refused = false;
        for (i, c) in walk.entries.iter().enumerate().rev() {
            if c.dir == spare {
                continue;
            }
            if over == 0 && need == 0 {
                break;
            }
            // Deleted since the walk, by this process (its space is already uncounted) or by
            // another (then the count of space is out of date).
            if !c.dir.exists() {
                gone.push(i);
                walk.stale = true;
                continue;
            }
            if over > 0 {
                need = need.saturating_sub(c.bytes.saturating_sub(over));
                over = over.saturating_sub(c.bytes);
                doomed.push(i);
                continue;
            }
            worth += c.worth.max(0.0) * c.bytes as f64;
            if worth > offered {
                refused = true;
                break;
            }
            need = need.saturating_sub(c.bytes);
            victims.push(i);
        }
        if over > 0 || (need > 0 && !refused) {
            // Even all the candidates are not enough: walk again soon. When the walk left some
            // out, those might have outweighed the newcomer, so it is refused room; else
            // (another process is filling an entry) make what room there is.
            walk.stale = true;
            refused |= need > 0 && walk.partial;
        }
        if !refused {
            doomed.extend(victims);
        }
        Choice {
            doomed,
            gone,
            refused,
        }
    }

    /// Entries, and the bytes of objects they hold (checksums aside).
    pub(crate) fn summary(&self) -> (u64, u64) {
        let bytes = self.rescan();
        let entries = std::fs::read_dir(&self.root).into_iter().flatten().count() as u64;
        (entries, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(disk: &Disk, key: &str, sessions: u32) -> std::io::Result<()> {
        entry_of(disk, key, sessions, 1000)
    }

    fn entry_of(disk: &Disk, key: &str, sessions: u32, size: usize) -> std::io::Result<()> {
        disk.write_meta(&Meta {
            key: key.to_string(),
            etag: "e".into(),
            version: None,
            size: size as u64,
            last_modified: String::new(),
            validated: 0.0,
            history: Some(History {
                reads: Reads {
                    sessions,
                    weight: f64::from(sessions),
                    first: 0.0,
                    last: 0.0,
                },
                miss_cost: 1.0,
            }),
        })?;
        disk.write_block(key, "e", 0, &vec![7; size])
    }

    #[test]
    fn a_sweep_deletes_what_outlived_and_blocks_abandoned_without_a_meta() -> std::io::Result<()> {
        // Entries with 1 to 4 sessions; the judge says those with fewer than 3 outlived their
        // worth. Two folders of blocks lost their meta (a writer whose entry was deleted under
        // it): one an hour ago, one just now. The sweep at opening deletes the two outlived
        // entries (keeping their reads) and the abandoned folder, counts the rest, and marks
        // the folder swept, so the next opening within the hour only counts.
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        for i in 1..=4 {
            entry(&disk, &format!("e-{i}"), i)?;
        }
        for orphan in ["lost-old", "lost-new"] {
            entry(&disk, orphan, 1)?;
            std::fs::remove_file(disk.entry_dir(orphan).join("meta.json"))?;
        }
        let an_hour_ago = std::time::SystemTime::now() - SWEEP_EVERY - Duration::from_secs(1);
        std::fs::File::open(disk.entry_dir("lost-old"))?.set_modified(an_hour_ago)?;
        // The first opening swept the empty folder (its writes above waited for that): the
        // next is due once its mark is an hour old.
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("swept"))?
            .set_modified(an_hour_ago)?;
        let judge = || -> Outlived { Box::new(|h: &History, _, _| h.reads.sessions < 3) };
        let swept = Disk::open(dir.path(), Some(judge()))?;
        assert_eq!(swept.used(), 3000, "e-3, e-4 and lost-new");
        let exists = |key: &str| disk.entry_dir(key).exists();
        assert!(!exists("e-1") && !exists("e-2") && !exists("lost-old"));
        assert!(exists("e-3") && exists("e-4") && exists("lost-new"));
        assert_eq!(disk.seen("e-2").map(|h| h.reads.sessions), Some(2));
        let marked = std::fs::metadata(dir.path().join("swept"))?.modified()?;
        assert!(
            marked.elapsed().is_ok_and(|age| age < SWEEP_EVERY),
            "marked swept now"
        );
        entry(&disk, "e-1", 1)?;
        assert_eq!(
            Disk::open(dir.path(), Some(judge()))?.used(),
            4000,
            "not due again"
        );
        assert!(exists("e-1"));
        Ok(())
    }

    #[test]
    fn a_sweep_that_reaches_its_limit_leaves_the_rest_to_the_next() -> std::io::Result<()> {
        // Three outlived entries, a limit of two: two go, the third is counted, and the folder
        // is not marked swept; the next sweep deletes the third and marks it.
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        for i in 1..=3 {
            entry(&disk, &format!("e-{i}"), 1)?;
        }
        let _ = std::fs::remove_file(dir.path().join("swept"));
        let all: &Judge<'_> = &|_: &History, _, _| true;
        let first = sweep(&disk.root, Some(all), 0.0, &remove_uncounted, 2);
        assert_eq!((first.deleted, first.freed, first.kept), (2, 2000, 1000));
        assert!(!dir.path().join("swept").exists());
        let second = sweep(&disk.root, Some(all), 0.0, &remove_uncounted, 2);
        assert_eq!((second.deleted, second.kept), (1, 0));
        assert!(dir.path().join("swept").exists());
        Ok(())
    }

    #[test]
    fn misses_in_a_full_folder_share_one_walk() -> std::io::Result<()> {
        // Eight entries of 1000 bytes, worth 1 to 8 per byte, fill an 8000-byte folder. Three
        // misses each need 1000 bytes: the first two are worth more than the least worth
        // entry and take its place; the third is worth less and is refused. One walk of the
        // folder (eight entries valued) serves all three.
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        for i in 1..=8 {
            entry(&disk, &format!("old-{i}"), i)?;
        }
        // Another process opening the folder counts what is there (in the background, waited
        // for when asked).
        assert_eq!(Disk::open(dir.path(), None)?.used(), 8000);
        let valued = AtomicU64::new(0);
        let value = |m: &Meta| {
            valued.fetch_add(1, Ordering::Relaxed);
            m.history.map_or(0.0, |h| f64::from(h.reads.sessions))
        };
        let exists = |key: &str| disk.entry_dir(key).exists();
        assert!(disk.make_room(8000, 1000, "new-1", &value, 1e9));
        assert!(!exists("old-1") && exists("old-2"));
        entry(&disk, "new-1", 9)?;
        assert!(disk.make_room(8000, 1000, "new-2", &value, 1e9));
        assert!(!exists("old-2") && exists("old-3"));
        entry(&disk, "new-2", 9)?;
        // Room for a third would take `old-3`, worth 3 x 1000.
        assert!(!disk.make_room(8000, 1000, "new-3", &value, 2999.0));
        assert!(exists("old-3"));
        assert_eq!(disk.used(), 8000);
        assert_eq!(valued.load(Ordering::Relaxed), 8, "entries valued");
        Ok(())
    }

    #[test]
    fn saved_reads_are_kept_until_pruned_newest_first() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        let h = |sessions| History {
            reads: Reads {
                sessions,
                weight: 0.5,
                first: 1.0,
                last: 2.0,
            },
            miss_cost: 0.5,
        };
        let epoch = std::time::SystemTime::UNIX_EPOCH;
        for i in 0..10 {
            let key = format!("k{i}");
            disk.save_seen(&key, &h(i));
            // Written a minute apart, whatever the file system's resolution.
            std::fs::File::options()
                .write(true)
                .open(disk.seen_path(&key))?
                .set_modified(epoch + Duration::from_secs(1_700_000_000 + 60 * u64::from(i)))?;
        }
        assert_eq!(disk.seen("k3"), Some(h(3)));
        // A location whose name hashes alike does not get k3's counts.
        let copy = std::fs::read(disk.seen_path("k3"))?;
        std::fs::write(
            disk.seen_path("k3"),
            String::from_utf8_lossy(&copy).replace("k3", "k4"),
        )?;
        assert_eq!(disk.seen("k3"), None);
        disk.save_seen("k3", &h(3));
        std::fs::File::options()
            .write(true)
            .open(disk.seen_path("k3"))?
            .set_modified(epoch + Duration::from_secs(1_700_000_000 + 180))?;
        prune_seen(&dir.path().join("seen"), 20);
        assert_eq!(disk.seen("k0"), Some(h(0)), "under the limit, nothing goes");
        // Over it, only the newest half of the limit stays.
        prune_seen(&dir.path().join("seen"), 4);
        let kept: Vec<u32> = (0..10)
            .filter_map(|i| disk.seen(&format!("k{i}")).map(|h| h.reads.sessions))
            .collect();
        assert_eq!(kept, [8, 9]);
        disk.drop_seen("k9");
        assert_eq!(disk.seen("k9"), None);
        Ok(())
    }

    /// Nine entries of 1000 bytes, `old-1` to `old-9`, each worth its number per byte.
    fn nine(dir: &Path) -> std::io::Result<Disk> {
        let disk = Disk::open(dir, None)?;
        for i in 1..=9 {
            entry(&disk, &format!("old-{i}"), i)?;
        }
        Ok(disk)
    }

    fn sessions(m: &Meta) -> f64 {
        m.history.map_or(0.0, |h| f64::from(h.reads.sessions))
    }

    #[test]
    fn a_folder_over_its_bound_sheds_the_excess_then_makes_room_by_worth() -> std::io::Result<()> {
        // 10,000 bytes in a 9,000-byte folder, and 1,000 more to come: the least worth entry
        // goes because the folder is over, the next because the newcomer outweighs it.
        let dir = tempfile::tempdir()?;
        let disk = nine(dir.path())?;
        entry(&disk, "old-10", 10)?;
        let exists = |key: &str| disk.entry_dir(key).exists();
        assert!(disk.make_room(9000, 1000, "new", &sessions, 2500.0));
        assert!(!exists("old-1") && !exists("old-2") && exists("old-3"));
        // Over again: the excess goes whatever it is worth (`old-3`), but a newcomer worth
        // less than `old-4` (4 x 1000) is refused room.
        entry(&disk, "old-11", 11)?;
        entry(&disk, "old-12", 12)?;
        assert!(!disk.make_room(9000, 1000, "new-2", &sessions, 3999.0));
        assert!(!exists("old-3") && exists("old-4") && disk.used() == 9000);
        // The deleted entries' counts are kept as seen reads.
        assert_eq!(disk.seen("old-2").map(|h| h.reads.sessions), Some(2));
        Ok(())
    }

    #[test]
    fn a_candidate_another_process_deleted_makes_the_walk_start_over() -> std::io::Result<()> {
        // A walks a full folder and needs to delete nothing. B then deletes `old-1` to make
        // room, and writes nothing. A, asked for room again, finds `old-1` gone: its count of
        // the space used is out of date, so it walks again and sees there is room, instead of
        // deleting `old-2` too.
        let dir = tempfile::tempdir()?;
        let a = nine(dir.path())?;
        let b = Disk::open(dir.path(), None)?;
        assert!(a.make_room(9000, 0, "none", &sessions, 0.0));
        assert!(b.make_room(9000, 1000, "new-b", &sessions, 1e9));
        assert!(!a.entry_dir("old-1").exists());
        // A's walk took well under a millisecond; ten times that has passed.
        std::thread::sleep(Duration::from_millis(300));
        assert!(a.make_room(9000, 1000, "new-a", &sessions, 1e9));
        assert!(
            a.entry_dir("old-2").exists(),
            "deleted by an out-of-date count"
        );
        assert_eq!(a.used(), 8000);
        Ok(())
    }

    #[test]
    fn room_the_remembered_candidates_cannot_cover_is_refused() -> std::io::Result<()> {
        // 400 entries of 10 bytes fill a 4,000-byte folder. A first call walks it and keeps
        // only the least worth candidates. A second asks for more room than those hold: the
        // candidates left out might outweigh the newcomer, so room is refused and nothing of
        // what was kept is deleted.
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        for i in 0..400 {
            entry_of(&disk, &format!("e-{i}"), 1, 10)?;
        }
        assert!(disk.make_room(4000, 10, "first", &sessions, 1e9));
        let left = || std::fs::read_dir(dir.path().join("v1")).map(|d| d.count());
        assert_eq!(left()?, 399);
        assert!(!disk.make_room(4000, 3500, "second", &sessions, 1e9));
        assert_eq!(left()?, 399);
        Ok(())
    }

    #[test]
    fn a_block_too_long_too_short_or_altered_is_dropped() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let disk = Disk::open(dir.path(), None)?;
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let path = disk.block_path("k", "e", 0);
        type Damage = fn(&mut Vec<u8>);
        let damages: [(&str, Damage); 4] = [
            ("intact", |_| {}),
            ("one byte longer", |b| b.push(0)),
            ("one byte shorter", |b| {
                b.pop();
            }),
            ("one bit flipped", |b| b[10] ^= 1),
        ];
        for (what, damage) in damages {
            disk.write_block("k", "e", 0, &data)?;
            let mut bytes = std::fs::read(&path)?;
            damage(&mut bytes);
            std::fs::write(&path, &bytes)?;
            let mut out = vec![9u8; 3];
            let ok = disk.read_block_append("k", "e", 0, data.len(), &mut out);
            assert_eq!(ok, what == "intact", "{what}");
            assert_eq!(
                out.len(),
                3 + data.len(),
                "{what}: the buffer grows by the block"
            );
            assert_eq!(path.exists(), ok, "{what}: a damaged block is deleted");
            if ok {
                assert!(out[3..] == data[..], "{what}");
            }
        }
        Ok(())
    }

    #[test]
    fn a_child_forked_while_the_opening_count_ran_counts_for_itself() -> std::io::Result<()> {
        // A forked child inherits the handle of a count whose thread stayed with its parent:
        // it must count itself, not wait for a thread that will never end.
        let dir = tempfile::tempdir()?;
        let disk = nine(dir.path())?;
        let (hold, held) = std::sync::mpsc::channel::<()>();
        let never = std::thread::spawn(move || {
            let _ = held.recv();
            Swept::default()
        });
        *disk.opening.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((std::process::id().wrapping_add(1), never));
        disk.used.store(0, Ordering::Relaxed);
        let disk = std::sync::Arc::new(disk);
        let (tx, rx) = std::sync::mpsc::channel();
        let counting = std::sync::Arc::clone(&disk);
        std::thread::spawn(move || tx.send(counting.used()));
        let used = rx.recv_timeout(Duration::from_secs(10));
        drop(hold);
        assert_eq!(used.ok(), Some(9000), "waited for the parent's thread");
        Ok(())
    }
}
