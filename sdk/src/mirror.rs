//! [`MirroredStore`]: one dataset on two stores (usually two clouds).
//!
//! Reads go to the primary and fail over to the mirror when the primary cannot answer
//! (connection refused, timeout, server errors after retries). An answer such as "not found" or
//! "precondition failed" is the primary's truth and is not retried elsewhere. Which side served a
//! read is recorded in the `GetResult`'s extensions as a [`ServedBy`].
//!
//! Writes go to the primary and then, with [`MirrorWrites::Both`], to the mirror (multipart
//! uploads send every part to both); with [`MirrorWrites::Primary`] the mirror is brought up to
//! date by `lakeroute sync`. A mirror write that fails after the primary succeeded is reported as
//! an error naming the mirror, so the caller knows to sync.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};

/// Where mirrored writes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MirrorWrites {
    /// Every write goes to the primary, then to the mirror.
    #[default]
    Both,
    /// Writes go to the primary only; `lakeroute sync` brings the mirror up to date.
    Primary,
}

/// Which side of a mirrored dataset answered a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedBy {
    /// The physical URL of the dataset root on the side that answered (for a dataset that is
    /// not mirrored: the object's own physical URL).
    pub location: String,
    /// True when the mirror answered because the primary could not.
    pub failover: bool,
}

/// One side of a mirror: a store and the dataset's root in it.
#[derive(Clone)]
pub(crate) struct Side {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) root: Path,
    pub(crate) location: String,
}

impl fmt::Debug for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Side")
            .field("store", &crate::secret::StoreName(&*self.store))
            .field("root", &self.root)
            .field("location", &self.location)
            .finish()
    }
}

impl Side {
    pub(crate) fn path(&self, key: &Path) -> Path {
        self.root.parts().chain(key.parts()).collect()
    }

    pub(crate) fn strip(&self, path: &Path) -> Path {
        match path.prefix_match(&self.root) {
            Some(rest) => rest.collect(),
            None => path.clone(),
        }
    }

    /// Reads ranges from this side, or from `other` when this side's error is one `fall_back`
    /// accepts (the mirror's "unavailable", the overlay's "not found").
    pub(crate) async fn get_ranges_or(
        &self,
        other: &Side,
        location: &Path,
        ranges: &[Range<u64>],
        fall_back: fn(&object_store::Error) -> bool,
    ) -> Result<Vec<Bytes>> {
        match self.store.get_ranges(&self.path(location), ranges).await {
            Err(e) if fall_back(&e) => other.store.get_ranges(&other.path(location), ranges).await,
            found => found,
        }
    }

    pub(crate) fn strip_meta(&self, mut meta: ObjectMeta) -> ObjectMeta {
        meta.location = self.strip(&meta.location);
        meta
    }
}

/// A dataset kept on two stores; see the module docs.
#[derive(Debug, Clone)]
pub struct MirroredStore {
    primary: Side,
    mirror: Side,
    writes: MirrorWrites,
}

impl fmt::Display for MirroredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MirroredStore({} mirrored to {})",
            self.primary.location, self.mirror.location
        )
    }
}

/// True for failures that mean "this side cannot answer now", as opposed to an answer.
fn unavailable(e: &object_store::Error) -> bool {
    matches!(
        e,
        object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
    )
}

fn mirror_failed(side: &Side, e: object_store::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "lakeroute mirror",
        source: format!(
            "the primary was written but the mirror {} was not ({e}); run `lakeroute sync` to bring it up to date",
            side.location
        )
        .into(),
    }
}

impl MirroredStore {
    pub(crate) fn new(primary: Side, mirror: Side, writes: MirrorWrites) -> Self {
        Self {
            primary,
            mirror,
            writes,
        }
    }

    fn mirror_writes(&self) -> bool {
        self.writes == MirrorWrites::Both
    }
}

#[async_trait]
impl ObjectStore for MirroredStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let result = self
            .primary
            .store
            .put_opts(&self.primary.path(location), payload.clone(), opts.clone())
            .await?;
        if self.mirror_writes() {
            // The primary decided any condition; the mirror follows it unconditionally.
            let follow = PutOptions {
                mode: PutMode::Overwrite,
                ..opts
            };
            self.mirror
                .store
                .put_opts(&self.mirror.path(location), payload, follow)
                .await
                .map_err(|e| mirror_failed(&self.mirror, e))?;
        }
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let primary = self
            .primary
            .store
            .put_multipart_opts(&self.primary.path(location), opts.clone())
            .await?;
        let mirror = if self.mirror_writes() {
            match self
                .mirror
                .store
                .put_multipart_opts(&self.mirror.path(location), opts)
                .await
            {
                Ok(m) => Some(m),
                Err(e) => {
                    let mut primary = primary;
                    let _ = primary.abort().await;
                    return Err(mirror_failed(&self.mirror, e));
                }
            }
        } else {
            None
        };
        Ok(Box::new(TeeUpload {
            primary,
            mirror,
            mirror_side: self.mirror.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let (result, side, failover) = match self
            .primary
            .store
            .get_opts(&self.primary.path(location), options.clone())
            .await
        {
            Ok(r) => (r, &self.primary, false),
            Err(e) if unavailable(&e) => {
                let r = self
                    .mirror
                    .store
                    .get_opts(&self.mirror.path(location), options)
                    .await?;
                (r, &self.mirror, true)
            }
            Err(e) => return Err(e),
        };
        let mut result = result;
        result.meta = side.strip_meta(result.meta);
        result.extensions.insert(ServedBy {
            location: side.location.clone(),
            failover,
        });
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.primary
            .get_ranges_or(&self.mirror, location, ranges, unavailable)
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let this = self.clone();
        locations
            .then(move |location| {
                let this = this.clone();
                async move {
                    let location = location?;
                    let sides: &[&Side] = if this.mirror_writes() {
                        &[&this.primary, &this.mirror]
                    } else {
                        &[&this.primary]
                    };
                    for side in sides {
                        let one =
                            futures::stream::once(futures::future::ready(Ok(side.path(&location))))
                                .boxed();
                        let mut results = side.store.delete_stream(one);
                        while let Some(r) = results.next().await {
                            match r {
                                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let key = prefix.cloned().unwrap_or_default();
        let (primary, mirror) = (self.primary.clone(), self.mirror.clone());
        // Peek at the primary's first answer: if it cannot answer, list the mirror instead.
        async move {
            // Fused: an empty listing has ended, and is not polled again.
            let mut stream = primary.store.list(Some(&primary.path(&key))).fuse();
            match stream.next().await {
                Some(Err(e)) if unavailable(&e) => mirror
                    .store
                    .list(Some(&mirror.path(&key)))
                    .map_ok(move |m| mirror.strip_meta(m))
                    .boxed(),
                first => {
                    let p = primary.clone();
                    futures::stream::iter(first)
                        .chain(stream)
                        .map_ok(move |m| p.strip_meta(m))
                        .boxed()
                }
            }
        }
        .flatten_stream()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let key = prefix.cloned().unwrap_or_default();
        let (side, found) = match self
            .primary
            .store
            .list_with_delimiter(Some(&self.primary.path(&key)))
            .await
        {
            Ok(r) => (&self.primary, r),
            Err(e) if unavailable(&e) => (
                &self.mirror,
                self.mirror
                    .store
                    .list_with_delimiter(Some(&self.mirror.path(&key)))
                    .await?,
            ),
            Err(e) => return Err(e),
        };
        Ok(ListResult {
            common_prefixes: found
                .common_prefixes
                .iter()
                .map(|p| side.strip(p))
                .collect(),
            objects: found
                .objects
                .into_iter()
                .map(|m| side.strip_meta(m))
                .collect(),
            extensions: found.extensions,
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.primary
            .store
            .copy_opts(
                &self.primary.path(from),
                &self.primary.path(to),
                options.clone(),
            )
            .await?;
        if self.mirror_writes() {
            self.mirror
                .store
                .copy_opts(
                    &self.mirror.path(from),
                    &self.mirror.path(to),
                    CopyOptions::new(),
                )
                .await
                .map_err(|e| mirror_failed(&self.mirror, e))?;
        }
        Ok(())
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.primary
            .store
            .rename_opts(&self.primary.path(from), &self.primary.path(to), options)
            .await?;
        if self.mirror_writes() {
            self.mirror
                .store
                .rename_opts(
                    &self.mirror.path(from),
                    &self.mirror.path(to),
                    RenameOptions::new(),
                )
                .await
                .map_err(|e| mirror_failed(&self.mirror, e))?;
        }
        Ok(())
    }
}

/// A multipart upload that sends every part to the primary and the mirror.
#[derive(Debug)]
struct TeeUpload {
    primary: Box<dyn MultipartUpload>,
    mirror: Option<Box<dyn MultipartUpload>>,
    mirror_side: Side,
}

#[async_trait]
impl MultipartUpload for TeeUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let primary = self.primary.put_part(data.clone());
        let Some(mirror) = self.mirror.as_mut() else {
            return primary;
        };
        let mirror = mirror.put_part(data);
        let side = self.mirror_side.clone();
        async move {
            let (p, m) = futures::join!(primary, mirror);
            p?;
            m.map_err(|e| mirror_failed(&side, e))
        }
        .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let result = self.primary.complete().await?;
        if let Some(m) = self.mirror.as_mut() {
            m.complete()
                .await
                .map_err(|e| mirror_failed(&self.mirror_side, e))?;
        }
        Ok(result)
    }

    async fn abort(&mut self) -> Result<()> {
        let p = self.primary.abort().await;
        if let Some(m) = self.mirror.as_mut() {
            m.abort().await?;
        }
        p
    }
}
