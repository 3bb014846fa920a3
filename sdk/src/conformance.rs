//! The conformance suite: one set of checks every store lakeroute builds or wraps must pass.
//!
//! Written once, called for every backend (memory, local folder, S3, Azure, and wrappers such as
//! caches), always through [`Lake`] and a base URI, so the routing is exercised too. Each check
//! works below a fresh random prefix under `base` and deletes what it wrote.
//!
//! Enabled by the `conformance` feature; used by the workspace's `tests/` and `integration/`.
//!
//! ```no_run
//! # async fn run(lake: &lakeroute::Lake) -> lakeroute::conformance::CheckResult {
//! lakeroute::conformance::run_all(lake, "lake://conformance/local/v1/").await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::ops::Range;

use bytes::Bytes;
use rand::Rng;

use crate::{Error, Lake, StorageUri};

/// What a failed check returns: a message naming the check, the URI and what differed.
pub type CheckResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs every check below `base` (a URI ending in `/`).
pub async fn run_all(lake: &Lake, base: &str) -> CheckResult {
    put_get_head(lake, base).await?;
    ranges(lake, base).await?;
    list_recursive(lake, base).await?;
    list_delimiter(lake, base).await?;
    multipart_upload(lake, base, 21 * 1024 * 1024).await?;
    copy_and_rename(lake, base).await?;
    delete(lake, base).await?;
    create_only_put(lake, base).await?;
    unicode_and_spaces(lake, base).await?;
    empty_objects(lake, base).await?;
    rejects_prefix_writes(lake, base).await?;
    Ok(())
}

/// A fresh prefix below `base`, unique to this run.
pub fn fresh_prefix(base: &str, check: &str) -> Result<StorageUri, Error> {
    let id: u64 = rand::rng().random();
    StorageUri::parse(base)?.join(&format!("{check}-{id:016x}/"))
}

fn child(prefix: &StorageUri, key: &str) -> Result<String, Error> {
    prefix.join(key).map(|u| u.to_string())
}

/// Deterministic, non-repeating test bytes (a repeating pattern would hide misplaced parts).
pub fn pattern(len: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> CheckResult {
    if cond { Ok(()) } else { Err(msg().into()) }
}

/// Lists `prefix` recursively and checks it holds exactly `keys`; returns the listed URIs.
async fn expect_listing(
    lake: &Lake,
    prefix: &StorageUri,
    keys: &[&str],
) -> std::result::Result<BTreeSet<String>, Box<dyn std::error::Error + Send + Sync>> {
    let listed: BTreeSet<String> = lake
        .list_all(&prefix.to_string())
        .await?
        .into_iter()
        .map(|o| o.uri)
        .collect();
    let expected: BTreeSet<String> = keys
        .iter()
        .map(|k| child(prefix, k))
        .collect::<Result<_, _>>()?;
    ensure(listed == expected, || {
        format!("list {prefix}: got {listed:?}, want {expected:?}")
    })?;
    Ok(listed)
}

async fn cleanup(lake: &Lake, prefix: &StorageUri) -> CheckResult {
    let uri = prefix.to_string();
    lake.delete_prefix(&uri).await?;
    let left = lake.list_all(&uri).await?;
    ensure(left.is_empty(), || {
        format!("cleanup left {} objects below {uri}", left.len())
    })
}

/// put, get and head of one object.
pub async fn put_get_head(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "put-get")?;
    let uri = child(&prefix, "a/b.bin")?;
    let data = pattern(10_000, 1);
    let written = lake.put(&uri, data.clone().into()).await?;
    ensure(written.size == 10_000, || {
        format!("put {uri}: size {}", written.size)
    })?;
    let got = lake.get(&uri).await?;
    ensure(got == data, || format!("get {uri}: bytes differ"))?;
    let head = lake.head(&uri).await?;
    ensure(head.size == 10_000, || {
        format!("head {uri}: size {}", head.size)
    })?;
    ensure(head.uri == uri, || {
        format!("head {uri}: named {}", head.uri)
    })?;
    let missing = child(&prefix, "nope.bin")?;
    match lake.get(&missing).await {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("get {missing}: expected NotFound, got {other:?}").into()),
    }
    match lake.head(&missing).await {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("head {missing}: expected NotFound, got {other:?}").into()),
    }
    cleanup(lake, &prefix).await
}

/// get_range and get_ranges, including overlapping and adjacent ranges.
pub async fn ranges(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "ranges")?;
    let uri = child(&prefix, "r.bin")?;
    let data = pattern(100_000, 2);
    lake.put(&uri, data.clone().into()).await?;
    let r = lake.get_range(&uri, 10..20).await?;
    ensure(r == data.slice(10..20), || {
        format!("get_range {uri}: 10..20 differs")
    })?;
    let wanted: Vec<Range<u64>> = vec![0..1, 5..50_000, 40_000..40_001, 99_990..100_000, 3..3];
    let got = lake.get_ranges(&uri, &wanted).await?;
    ensure(got.len() == wanted.len(), || {
        format!("get_ranges {uri}: {} results", got.len())
    })?;
    for (range, bytes) in wanted.iter().zip(&got) {
        let expect = data.slice(range.start as usize..range.end as usize);
        ensure(*bytes == expect, || {
            format!("get_ranges {uri}: range {range:?} differs")
        })?;
    }
    cleanup(lake, &prefix).await
}

/// Recursive listing names objects in the caller's own terms.
pub async fn list_recursive(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "list")?;
    let keys = ["a.txt", "d1/b.txt", "d1/d2/c.txt", "d3/e.txt"];
    for k in keys {
        lake.put(&child(&prefix, k)?, Bytes::from(k).into()).await?;
    }
    expect_listing(lake, &prefix, &keys).await?;
    let sub: Vec<_> = lake.list_all(&child(&prefix, "d1/")?).await?;
    ensure(sub.len() == 2, || {
        format!("list {prefix}d1/: {} objects, want 2", sub.len())
    })?;
    cleanup(lake, &prefix).await
}

/// One level at a time: sub-prefixes and direct objects.
pub async fn list_delimiter(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "delim")?;
    for k in ["top.txt", "x/1.txt", "x/2.txt", "y/z/3.txt"] {
        lake.put(&child(&prefix, k)?, Bytes::from(k).into()).await?;
    }
    let l = lake.list_with_delimiter(&prefix.to_string()).await?;
    let want_prefixes = vec![child(&prefix, "x/")?, child(&prefix, "y/")?];
    ensure(l.prefixes == want_prefixes, || {
        format!("delimiter list {prefix}: prefixes {:?}", l.prefixes)
    })?;
    let objects: Vec<&str> = l.objects.iter().map(|o| o.uri.as_str()).collect();
    ensure(objects == [child(&prefix, "top.txt")?], || {
        format!("delimiter list {prefix}: objects {objects:?}")
    })?;
    cleanup(lake, &prefix).await
}

/// A streamed upload of `size` bytes (multipart above one part), read back whole and by range.
pub async fn multipart_upload(lake: &Lake, base: &str, size: usize) -> CheckResult {
    let prefix = fresh_prefix(base, "multipart")?;
    let uri = child(&prefix, "big.bin")?;
    let data = pattern(size, 3);
    let mut reader: &[u8] = &data;
    let written = lake.upload(&uri, &mut reader, None).await?;
    ensure(written.size == size as u64, || {
        format!("upload {uri}: wrote {}", written.size)
    })?;
    let head = lake.head(&uri).await?;
    ensure(head.size == size as u64, || {
        format!("upload {uri}: head says {}", head.size)
    })?;
    let got = lake.get(&uri).await?;
    ensure(got == data, || {
        format!("upload {uri}: bytes differ after read-back")
    })?;
    let mid = (size / 2) as u64;
    let r = lake.get_range(&uri, mid..mid + 1000).await?;
    ensure(r == data.slice(mid as usize..mid as usize + 1000), || {
        format!("upload {uri}: range differs")
    })?;
    cleanup(lake, &prefix).await
}

/// copy keeps the source; rename removes it; both land the same bytes.
pub async fn copy_and_rename(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "copy")?;
    let (a, b, c) = (
        child(&prefix, "a.bin")?,
        child(&prefix, "b.bin")?,
        child(&prefix, "sub/c.bin")?,
    );
    let data = pattern(5000, 4);
    lake.put(&a, data.clone().into()).await?;
    let n = lake.copy(&a, &b).await?;
    ensure(n == 5000, || format!("copy {a} -> {b}: reported {n} bytes"))?;
    ensure(lake.get(&a).await? == data, || {
        format!("copy {a}: source changed")
    })?;
    ensure(lake.get(&b).await? == data, || {
        format!("copy {b}: bytes differ")
    })?;
    lake.rename(&b, &c).await?;
    ensure(lake.get(&c).await? == data, || {
        format!("rename {b} -> {c}: bytes differ")
    })?;
    match lake.head(&b).await {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("rename {b}: source still there: {other:?}").into()),
    }
    cleanup(lake, &prefix).await
}

/// delete removes; deleting a missing object succeeds.
pub async fn delete(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "delete")?;
    let uri = child(&prefix, "gone.txt")?;
    lake.put(&uri, Bytes::from_static(b"x").into()).await?;
    lake.delete(&uri).await?;
    match lake.head(&uri).await {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("delete {uri}: still there: {other:?}").into()),
    }
    lake.delete(&uri).await?;
    lake.delete(&child(&prefix, "never-existed.txt")?).await?;
    cleanup(lake, &prefix).await
}

/// A create-only put fails on an existing object and leaves it unchanged.
pub async fn create_only_put(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "create")?;
    let uri = child(&prefix, "once.txt")?;
    lake.put_if_absent(&uri, Bytes::from_static(b"first").into())
        .await?;
    match lake
        .put_if_absent(&uri, Bytes::from_static(b"second").into())
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => {
            return Err(
                format!("create-only put {uri}: expected AlreadyExists, got {other:?}").into(),
            );
        }
    }
    ensure(lake.get(&uri).await? == "first", || {
        format!("create-only put {uri}: object changed")
    })?;
    cleanup(lake, &prefix).await
}

/// Keys with non-ASCII characters, spaces and a literal `%` survive a round trip and a listing.
pub async fn unicode_and_spaces(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "unicode")?;
    let keys = [
        "naïve café/файл 1.txt",
        "with space.txt",
        "50%.csv",
        "日本語/データ.bin",
        "a+b=c,d;e@f.txt",
    ];
    for k in keys {
        let uri = child(&prefix, k)?;
        lake.put(&uri, Bytes::from(k.to_string()).into()).await?;
        ensure(lake.get(&uri).await? == k.as_bytes(), || {
            format!("unicode key {uri}: bytes differ")
        })?;
    }
    let listed = expect_listing(lake, &prefix, &keys).await?;
    for uri in &listed {
        // Every listed name must itself be usable as a URI.
        lake.head(uri).await?;
    }
    cleanup(lake, &prefix).await
}

/// Empty objects exist, list, and read back empty.
pub async fn empty_objects(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "empty")?;
    let uri = child(&prefix, "empty.bin")?;
    lake.put(&uri, Bytes::new().into()).await?;
    ensure(lake.get(&uri).await?.is_empty(), || {
        format!("empty {uri}: not empty")
    })?;
    ensure(lake.head(&uri).await?.size == 0, || {
        format!("empty {uri}: size not 0")
    })?;
    let listed = lake.list_all(&prefix.to_string()).await?;
    ensure(listed.len() == 1 && listed[0].size == 0, || {
        format!("empty {prefix}: listed {listed:?}")
    })?;
    let streamed = child(&prefix, "streamed-empty.bin")?;
    let mut nothing: &[u8] = &[];
    lake.upload(&streamed, &mut nothing, None).await?;
    ensure(lake.head(&streamed).await?.size == 0, || {
        format!("empty upload {streamed}: size not 0")
    })?;
    cleanup(lake, &prefix).await
}

/// Writing to a URI that names a prefix is refused and writes nothing.
pub async fn rejects_prefix_writes(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "prefix-write")?;
    let dir = child(&prefix, "folder/")?;
    match lake.put(&dir, Bytes::from_static(b"x").into()).await {
        Err(Error::InvalidUri { .. }) => {}
        other => return Err(format!("put {dir}: expected InvalidUri, got {other:?}").into()),
    }
    let listed = lake.list_all(&prefix.to_string()).await?;
    ensure(listed.is_empty(), || format!("put {dir}: wrote {listed:?}"))
}

/// Copies a `size`-byte object from below `from_base` to below `to_base` (another store),
/// streaming in parts, and checks the bytes.
pub async fn copy_between(lake: &Lake, from_base: &str, to_base: &str, size: usize) -> CheckResult {
    let src_prefix = fresh_prefix(from_base, "xcopy-src")?;
    let dst_prefix = fresh_prefix(to_base, "xcopy-dst")?;
    let (src, dst) = (
        child(&src_prefix, "obj.bin")?,
        child(&dst_prefix, "obj.bin")?,
    );
    let data = pattern(size, 5);
    let mut reader: &[u8] = &data;
    lake.upload(&src, &mut reader, None).await?;
    let n = lake.copy(&src, &dst).await?;
    ensure(n == size as u64, || {
        format!("copy {src} -> {dst}: {n} bytes")
    })?;
    ensure(lake.get(&dst).await? == data, || {
        format!("copy {src} -> {dst}: bytes differ")
    })?;
    let moved = child(&dst_prefix, "moved.bin")?;
    lake.rename(&src, &moved).await?;
    ensure(lake.get(&moved).await? == data, || {
        format!("rename {src} -> {moved}: bytes differ")
    })?;
    ensure(
        lake.list_all(&src_prefix.to_string()).await?.is_empty(),
        || format!("rename {src}: source left"),
    )?;
    cleanup(lake, &src_prefix).await?;
    cleanup(lake, &dst_prefix).await
}

/// Everything [`run_all`] checks, plus the checks that need a real object store's semantics:
/// a multipart upload of `multipart_size` bytes, an aborted upload leaving nothing behind,
/// ETag-conditional updates, `If-None-Match` reads, listing with an offset, and concurrent
/// create-only puts of one key (see [`concurrent_create_only`] for `atomic_create_only`).
pub async fn run_extended(
    lake: &Lake,
    base: &str,
    multipart_size: usize,
    atomic_create_only: bool,
) -> CheckResult {
    run_all(lake, base).await?;
    multipart_upload(lake, base, multipart_size).await?;
    failed_upload_leaves_nothing(lake, base).await?;
    conditional_update(lake, base).await?;
    if_none_match_read(lake, base).await?;
    list_with_offset(lake, base).await?;
    concurrent_create_only(lake, base, 8, atomic_create_only).await?;
    Ok(())
}

/// A reader that yields `left` bytes, then fails like a broken source would.
struct BrokenSource {
    left: usize,
}

impl tokio::io::AsyncRead for BrokenSource {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("source failed mid-way")));
        }
        let n = self.left.min(buf.remaining()).min(256 * 1024);
        buf.put_slice(&vec![0x5a; n]);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

/// An upload that fails after several parts aborts: no object, nothing listed.
pub async fn failed_upload_leaves_nothing(lake: &Lake, base: &str) -> CheckResult {
    let prefix = fresh_prefix(base, "abort")?;
    let uri = child(&prefix, "partial.bin")?;
    let mut source = BrokenSource {
        left: 2 * crate::PART_SIZE + 4096,
    };
    match lake.upload(&uri, &mut source, None).await {
        Err(e) if e.to_string().contains("source failed mid-way") => {}
        other => {
            return Err(format!("upload {uri}: expected the source's error, got {other:?}").into());
        }
    }
    match lake.head(&uri).await {
        Err(Error::NotFound { .. }) => {}
        other => return Err(format!("aborted upload {uri}: object visible: {other:?}").into()),
    }
    let listed = lake.list_all(&prefix.to_string()).await?;
    ensure(listed.is_empty(), || {
        format!("aborted upload {uri}: listed {listed:?}")
    })
}

/// An update conditional on the current ETag succeeds; one on a stale ETag fails.
pub async fn conditional_update(lake: &Lake, base: &str) -> CheckResult {
    use object_store::{PutMode, UpdateVersion};
    let prefix = fresh_prefix(base, "cas")?;
    let uri = child(&prefix, "state.json")?;
    let first = lake.put(&uri, Bytes::from_static(b"v1").into()).await?;
    let stale = UpdateVersion {
        e_tag: first.e_tag.clone(),
        version: first.version.clone(),
    };
    ensure(stale.e_tag.is_some(), || {
        format!("put {uri}: no ETag returned")
    })?;
    let second = lake
        .put_mode(
            &uri,
            Bytes::from_static(b"v2").into(),
            PutMode::Update(stale.clone()),
        )
        .await?;
    match lake
        .put_mode(
            &uri,
            Bytes::from_static(b"v3").into(),
            PutMode::Update(stale),
        )
        .await
    {
        Err(Error::Precondition { .. }) => {}
        other => {
            return Err(format!(
                "update {uri} with a stale ETag: expected Precondition, got {other:?}"
            )
            .into());
        }
    }
    ensure(lake.get(&uri).await? == "v2", || {
        format!("conditional update {uri}: wrong content")
    })?;
    ensure(second.e_tag != first.e_tag, || {
        format!("update {uri}: ETag unchanged")
    })?;
    cleanup(lake, &prefix).await
}

/// A read with `If-None-Match` of the current ETag is "not modified"; a changed object reads.
pub async fn if_none_match_read(lake: &Lake, base: &str) -> CheckResult {
    use object_store::GetOptions;
    let prefix = fresh_prefix(base, "inm")?;
    let uri = child(&prefix, "cached.bin")?;
    let put = lake.put(&uri, Bytes::from_static(b"same").into()).await?;
    let etag = put.e_tag.ok_or_else(|| format!("put {uri}: no ETag"))?;
    let opts = GetOptions::new().with_if_none_match(Some(etag.clone()));
    match lake.get_opts(&uri, opts).await {
        Err(Error::NotModified { .. }) => {}
        other => {
            return Err(format!(
                "get {uri} If-None-Match current: expected NotModified, got {:?}",
                other.map(|r| r.meta)
            )
            .into());
        }
    }
    lake.put(&uri, Bytes::from_static(b"changed").into())
        .await?;
    let opts = GetOptions::new().with_if_none_match(Some(etag));
    let body = lake.get_opts(&uri, opts).await?.bytes().await?;
    ensure(body == "changed", || {
        format!("get {uri} If-None-Match stale: got {body:?}")
    })?;
    cleanup(lake, &prefix).await
}

/// Listing after an offset returns exactly the later keys.
pub async fn list_with_offset(lake: &Lake, base: &str) -> CheckResult {
    use futures::TryStreamExt;
    let prefix = fresh_prefix(base, "offset")?;
    for k in ["a", "b", "c/d", "e"] {
        lake.put(&child(&prefix, k)?, Bytes::from_static(b"x").into())
            .await?;
    }
    let mut after: Vec<String> = lake
        .list_with_offset(&prefix.to_string(), &child(&prefix, "b")?)?
        .map_ok(|o| o.uri)
        .try_collect()
        .await?;
    after.sort();
    let want = vec![child(&prefix, "c/d")?, child(&prefix, "e")?];
    ensure(after == want, || {
        format!("list {prefix} after b: got {after:?}, want {want:?}")
    })?;
    cleanup(lake, &prefix).await
}

/// `writers` concurrent create-only puts of one key. With `atomic` (S3, Azure, local folders)
/// exactly one wins and the rest conflict. Without it, for servers whose check and write are
/// two steps (moto checks `If-None-Match: *` and then stores, with no lock between), at least
/// one wins, every other writer conflicts, and the object holds a winner's bytes.
pub async fn concurrent_create_only(
    lake: &Lake,
    base: &str,
    writers: usize,
    atomic: bool,
) -> CheckResult {
    let prefix = fresh_prefix(base, "race")?;
    let uri = child(&prefix, "lock")?;
    let tasks: Vec<_> = (0..writers)
        .map(|i| {
            let (lake, uri) = (lake.clone(), uri.clone());
            tokio::spawn(async move {
                lake.put_if_absent(&uri, Bytes::from(format!("writer {i}")).into())
                    .await
            })
        })
        .collect();
    let mut wins = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await? {
            Ok(_) => wins.push(i),
            // Every writer that did not win must have been refused as a conflict.
            Err(Error::AlreadyExists { .. }) | Err(Error::Precondition { .. }) => {}
            Err(e) => return Err(format!("create-only race on {uri}: writer {i}: {e}").into()),
        }
    }
    ensure(wins.len() == 1 || (!atomic && !wins.is_empty()), || {
        format!("create-only race on {uri}: winners {wins:?}")
    })?;
    let body = lake.get(&uri).await?;
    ensure(
        wins.iter()
            .any(|w| body == format!("writer {w}").as_bytes()),
        || format!("create-only race on {uri}: content {body:?}, winners {wins:?}"),
    )?;
    cleanup(lake, &prefix).await
}
