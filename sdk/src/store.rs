//! [`LakeStore`]: the lake as an `object_store::ObjectStore` over logical paths.
//!
//! Paths are `<domain>/<dataset>/v<major>/<key>`, exactly a `lake://` URI without its scheme, so
//! any engine built on `object_store` (parquet's async reader, DataFusion, delta-rs) reads and
//! writes logical data unchanged. Above the dataset level the store is virtual: listing
//! `finance/` enumerates the finance datasets from the catalog, then lists each one.

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, RenameTargetMode, Result,
};

use crate::Lake;
use crate::route::Route;
use crate::uri::{DatasetId, StorageUri, parse_version};

/// The lake as an [`ObjectStore`] over logical paths. Get one from [`Lake::store`].
#[derive(Debug, Clone)]
pub struct LakeStore {
    lake: Lake,
}

impl fmt::Display for LakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LakeStore({})", self.lake.catalog().dir().display())
    }
}

impl LakeStore {
    pub(crate) fn new(lake: Lake) -> Self {
        Self { lake }
    }

    /// The lake behind this store.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Routes a logical path of at least three parts (domain, dataset, version).
    fn route(&self, location: &Path) -> Result<(DatasetId, Route)> {
        let parts: Vec<String> = location.parts().map(|p| p.as_ref().to_string()).collect();
        let id = dataset_of(&parts).ok_or_else(|| object_store::Error::NotFound {
            path: location.to_string(),
            source: format!(
                "{location:?} is not inside a dataset; LakeStore paths are <domain>/<dataset>/v<major>/<key>"
            )
            .into(),
        })?;
        let uri = id.root_uri().join(&parts[3..].join("/"))?;
        let route = self.lake.router().route(StorageUri::Lake(uri))?;
        Ok((id, route))
    }

    /// Datasets at or below a prefix shorter than a dataset root.
    fn datasets_under(&self, parts: &[String]) -> Vec<DatasetId> {
        self.lake
            .catalog()
            .datasets()
            .map(|d| d.id.clone())
            .filter(|id| {
                let names = [
                    id.domain().to_string(),
                    id.name().to_string(),
                    format!("v{}", id.version()),
                ];
                parts
                    .iter()
                    .zip(names.iter())
                    .all(|(p, n)| p.eq_ignore_ascii_case(n))
            })
            .collect()
    }

    fn list_dataset(
        &self,
        id: &DatasetId,
        prefix: &[String],
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let mut full = vec![
            id.domain().to_string(),
            id.name().to_string(),
            format!("v{}", id.version()),
        ];
        full.extend(prefix.iter().cloned());
        let path = match Path::parse(full.join("/")) {
            Ok(p) => p,
            Err(e) => return stream::once(async move { Err(e.into()) }).boxed(),
        };
        match self.route(&path) {
            Ok((id, route)) => match route.path() {
                Ok(inner) => route
                    .store()
                    .list(Some(&inner))
                    .map_ok(move |m| to_logical(&id, &route, m))
                    .boxed(),
                Err(e) => stream::once(async move { Err(e.into()) }).boxed(),
            },
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }
}

fn dataset_of(parts: &[String]) -> Option<DatasetId> {
    if parts.len() < 3 {
        return None;
    }
    let version = parse_version(&parts[2]).ok()?;
    DatasetId::new(&parts[0], &parts[1], version).ok()
}

/// A store path below a dataset root, named as a logical path.
fn logical_path(id: &DatasetId, route: &Route, location: &Path) -> Path {
    let rest = route.key_below_root(location);
    let mut joined = id.to_string();
    for seg in rest {
        joined.push('/');
        joined.push_str(&seg);
    }
    Path::parse(&joined).unwrap_or_else(|_| Path::from(joined.as_str()))
}

fn to_logical(id: &DatasetId, route: &Route, mut meta: ObjectMeta) -> ObjectMeta {
    meta.location = logical_path(id, route, &meta.location);
    meta
}

#[async_trait]
impl ObjectStore for LakeStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let (_, route) = self.route(location)?;
        route.store().put_opts(&route.path()?, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let (_, route) = self.route(location)?;
        route.check_writable()?;
        route.store().put_multipart_opts(&route.path()?, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let (id, route) = self.route(location)?;
        let mut result = route.store().get_opts(&route.path()?, options).await?;
        result.meta.location = logical_path(&id, &route, &result.meta.location);
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let (_, route) = self.route(location)?;
        route.store().get_ranges(&route.path()?, ranges).await
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
                    let (_, route) = this.route(&location)?;
                    route.check_writable()?;
                    match route.store().delete(&route.path()?).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(location),
                        Err(e) => Err(e),
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let parts: Vec<String> = prefix
            .map(|p| p.parts().map(|x| x.as_ref().to_string()).collect())
            .unwrap_or_default();
        if parts.len() >= 3 {
            return match dataset_of(&parts) {
                Some(id) => self.list_dataset(&id, &parts[3..]),
                None => stream::empty().boxed(),
            };
        }
        let this = self.clone();
        stream::iter(self.datasets_under(&parts))
            .flat_map(move |id| this.list_dataset(&id, &[]))
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let offset = offset.clone();
        self.list(prefix)
            .try_filter(move |m| futures::future::ready(m.location > offset))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let parts: Vec<String> = prefix
            .map(|p| p.parts().map(|x| x.as_ref().to_string()).collect())
            .unwrap_or_default();
        if parts.len() < 3 {
            // Virtual levels: the next name of every dataset below the prefix.
            let mut common: Vec<Path> = self
                .datasets_under(&parts)
                .into_iter()
                .map(|id| {
                    let names = [
                        id.domain().to_string(),
                        id.name().to_string(),
                        format!("v{}", id.version()),
                    ];
                    Path::from_iter(names[..=parts.len()].iter().map(String::as_str))
                })
                .collect();
            common.sort();
            common.dedup();
            return Ok(ListResult {
                common_prefixes: common,
                objects: Vec::new(),
                extensions: Default::default(),
            });
        }
        let path = prefix.cloned().unwrap_or_default();
        let (id, route) = self.route(&path)?;
        let found = route
            .store()
            .list_with_delimiter(Some(&route.path()?))
            .await?;
        Ok(ListResult {
            common_prefixes: found
                .common_prefixes
                .iter()
                .map(|p| logical_path(&id, &route, p))
                .collect(),
            objects: found
                .objects
                .into_iter()
                .map(|m| to_logical(&id, &route, m))
                .collect(),
            extensions: found.extensions,
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let (_, src) = self.route(from)?;
        let (_, dst) = self.route(to)?;
        dst.check_writable()?;
        if src.same_store(&dst) {
            return src
                .store()
                .copy_opts(&src.path()?, &dst.path()?, options)
                .await;
        }
        if options.mode == CopyMode::Create && dst.store().head(&dst.path()?).await.is_ok() {
            return Err(object_store::Error::AlreadyExists {
                path: to.to_string(),
                source: "copy target exists".into(),
            });
        }
        let (from_uri, to_uri) = (src.uri().to_string(), dst.uri().to_string());
        self.lake
            .copy(&from_uri, &to_uri)
            .await
            .map(|_| ())
            .map_err(Into::into)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let (_, src) = self.route(from)?;
        let (_, dst) = self.route(to)?;
        src.check_writable()?;
        dst.check_writable()?;
        if src.same_store(&dst) {
            return src
                .store()
                .rename_opts(&src.path()?, &dst.path()?, options)
                .await;
        }
        let (from_uri, to_uri) = (src.uri().to_string(), dst.uri().to_string());
        let result = match options.target_mode {
            RenameTargetMode::Create => self.lake.rename_if_absent(&from_uri, &to_uri).await,
            RenameTargetMode::Overwrite => self.lake.rename(&from_uri, &to_uri).await,
        };
        result.map_err(Into::into)
    }
}
