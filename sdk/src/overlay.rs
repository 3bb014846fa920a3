//! [`OverlayStore`]: an environment that reads through to another (dev over prod).
//!
//! Reads look in the child first and fall through to the parent when the object is absent
//! there; listings show both, the child's object winning where both have one. Every write
//! (put, multipart, delete, copy and rename targets) goes to the child only, so nothing an
//! overlay environment does can change the parent. Deleting an object that exists only in the
//! parent therefore changes nothing: it stays visible through the overlay. Renaming one copies
//! it into the child and leaves the parent's in place.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, RenameTargetMode, Result,
};

use crate::mirror::Side;

/// A child environment over a parent; see the module docs.
#[derive(Debug, Clone)]
pub struct OverlayStore {
    child: Side,
    parent: Side,
}

impl fmt::Display for OverlayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OverlayStore({} over {})",
            self.child.location, self.parent.location
        )
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl OverlayStore {
    pub(crate) fn new(child: Side, parent: Side) -> Self {
        Self { child, parent }
    }

    async fn exists_in_parent(&self, location: &Path) -> Result<bool> {
        match self.parent.store.head(&self.parent.path(location)).await {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl ObjectStore for OverlayStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        // Create-only means "nothing visible here yet", and the parent's objects are visible.
        if opts.mode == PutMode::Create && self.exists_in_parent(location).await? {
            return Err(object_store::Error::AlreadyExists {
                path: location.to_string(),
                source: "the object exists in the environment this one overlays".into(),
            });
        }
        self.child
            .store
            .put_opts(&self.child.path(location), payload, opts)
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.child
            .store
            .put_multipart_opts(&self.child.path(location), opts)
            .await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        match self
            .child
            .store
            .get_opts(&self.child.path(location), options.clone())
            .await
        {
            Ok(mut r) => {
                r.meta = self.child.strip_meta(r.meta);
                Ok(r)
            }
            Err(e) if not_found(&e) => {
                let mut r = self
                    .parent
                    .store
                    .get_opts(&self.parent.path(location), options)
                    .await?;
                r.meta = self.parent.strip_meta(r.meta);
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.child
            .get_ranges_or(&self.parent, location, ranges, not_found)
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let child = self.child.clone();
        let inner = locations.map_ok(move |p| child.path(&p)).boxed();
        let child = self.child.clone();
        self.child
            .store
            .delete_stream(inner)
            .map_ok(move |p| child.strip(&p))
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let key = prefix.cloned().unwrap_or_default();
        let (child, parent) = (self.child.clone(), self.parent.clone());
        futures::stream::once(async move {
            let mut merged: BTreeMap<Path, ObjectMeta> = BTreeMap::new();
            let parent_list: Vec<ObjectMeta> = parent
                .store
                .list(Some(&parent.path(&key)))
                .try_collect()
                .await?;
            for m in parent_list {
                let m = parent.strip_meta(m);
                merged.insert(m.location.clone(), m);
            }
            let child_list: Vec<ObjectMeta> = child
                .store
                .list(Some(&child.path(&key)))
                .try_collect()
                .await?;
            for m in child_list {
                let m = child.strip_meta(m);
                merged.insert(m.location.clone(), m);
            }
            Ok::<_, object_store::Error>(futures::stream::iter(merged.into_values().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let key = prefix.cloned().unwrap_or_default();
        let parent = self
            .parent
            .store
            .list_with_delimiter(Some(&self.parent.path(&key)))
            .await?;
        let child = self
            .child
            .store
            .list_with_delimiter(Some(&self.child.path(&key)))
            .await?;
        let mut prefixes: Vec<Path> = parent
            .common_prefixes
            .iter()
            .map(|p| self.parent.strip(p))
            .chain(child.common_prefixes.iter().map(|p| self.child.strip(p)))
            .collect();
        prefixes.sort();
        prefixes.dedup();
        let mut objects: BTreeMap<Path, ObjectMeta> = BTreeMap::new();
        for m in parent.objects {
            let m = self.parent.strip_meta(m);
            objects.insert(m.location.clone(), m);
        }
        for m in child.objects {
            let m = self.child.strip_meta(m);
            objects.insert(m.location.clone(), m);
        }
        Ok(ListResult {
            common_prefixes: prefixes,
            objects: objects.into_values().collect(),
            extensions: child.extensions,
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if options.mode == CopyMode::Create && self.exists_in_parent(to).await? {
            return Err(object_store::Error::AlreadyExists {
                path: to.to_string(),
                source: "the object exists in the environment this one overlays".into(),
            });
        }
        let (child_from, child_to) = (self.child.path(from), self.child.path(to));
        match self
            .child
            .store
            .copy_opts(&child_from, &child_to, options.clone())
            .await
        {
            Err(e) if not_found(&e) => {
                // Only the parent has it: bring it into the child.
                crate::transfer::copy_across(
                    &self.parent.store,
                    &self.parent.path(from),
                    from.as_ref(),
                    &self.child.store,
                    &child_to,
                    to.as_ref(),
                    None,
                )
                .await
                .map(|_| ())
                .map_err(Into::into)
            }
            other => other,
        }
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let mode = match options.target_mode {
            RenameTargetMode::Create => CopyMode::Create,
            RenameTargetMode::Overwrite => CopyMode::Overwrite,
        };
        self.copy_opts(from, to, CopyOptions::new().with_mode(mode))
            .await?;
        match self.child.store.delete(&self.child.path(from)).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
