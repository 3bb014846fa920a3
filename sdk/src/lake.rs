//! [`Lake`]: every storage operation, on logical and physical URIs alike.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    GetOptions, ObjectMeta, ObjectStoreExt, PutMode, PutOptions, PutPayload, RenameOptions,
    RenameTargetMode,
};
use tokio::io::AsyncRead;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::mirror::ServedBy;
use crate::route::{Route, Router};
use crate::store::LakeStore;
use crate::transfer::{self, Progress};

/// The environment variable naming the catalog folder.
pub const CATALOG_ENV: &str = "LAKEROUTE_CATALOG";
/// The environment variable naming the environment (`dev`, `test`, `prod`, ...).
pub const ENV_VAR: &str = "LAKEROUTE_ENV";

/// One object, named the way the caller named its parent (`lake://` in, `lake://` out).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The object's URI.
    pub uri: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, as the store reports it.
    pub last_modified: DateTime<Utc>,
    /// The store's entity tag, when it has one.
    pub e_tag: Option<String>,
    /// The object's version, on versioned stores.
    pub version: Option<String>,
}

/// What a delimiter listing found directly below a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listing {
    /// Sub-prefixes ("folders"), each ending in `/`.
    pub prefixes: Vec<String>,
    /// Objects directly below the prefix.
    pub objects: Vec<ObjectInfo>,
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteInfo {
    /// The URI written.
    pub uri: String,
    /// Bytes written.
    pub size: u64,
    /// The new object's entity tag, when the store returns one.
    pub e_tag: Option<String>,
    /// The new object's version, on versioned stores.
    pub version: Option<String>,
}

/// The lake: a catalog plus the stores it routes to.
///
/// Cheap to clone and safe to share between tasks; each storage profile's store is built once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> lakeroute::Result<()> {
/// let lake = lakeroute::Lake::new(lakeroute::Catalog::empty());
/// lake.put("memory://scratch/hello.txt", "hi".into()).await?;
/// assert_eq!(lake.get("memory://scratch/hello.txt").await?, "hi");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Lake {
    router: Arc<Router>,
}

impl Lake {
    /// A lake over an already loaded catalog, in its default environment.
    pub fn new(catalog: Catalog) -> Self {
        let env = catalog.default_environment().map(str::to_string);
        Self {
            router: Arc::new(Router::new(catalog, env)),
        }
    }

    /// Loads the catalog folder `dir`, in the environment named by `LAKEROUTE_ENV` or else the
    /// catalog's default; fails listing every problem in the catalog.
    pub fn from_catalog(dir: impl AsRef<FsPath>) -> Result<Self> {
        let catalog = Catalog::load(dir)?;
        match std::env::var(ENV_VAR) {
            Ok(env) if !env.is_empty() => {
                check_environment(&catalog, &env)?;
                Ok(Self {
                    router: Arc::new(Router::new(catalog, Some(env))),
                })
            }
            _ => Ok(Self::new(catalog)),
        }
    }

    /// The same catalog in environment `name` (declared under `environments:`), sharing this
    /// lake's cache.
    pub fn with_environment(&self, name: &str) -> Result<Self> {
        check_environment(self.catalog(), name)?;
        Ok(Self {
            router: Arc::new(self.router.for_environment(Some(name.to_string()))),
        })
    }

    /// The environment in use, when the catalog declares environments.
    pub fn environment(&self) -> Option<&str> {
        self.router.environment()
    }

    /// Loads the catalog named by `LAKEROUTE_CATALOG`; with the variable unset, a lake with an
    /// empty catalog, where only physical URIs resolve.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os(CATALOG_ENV) {
            Some(dir) if !dir.is_empty() => Self::from_catalog(dir),
            _ => Ok(Self::new(Catalog::empty())),
        }
    }

    /// What this lake has read and written so far, per dataset: requests, bytes from the
    /// stores and from the cache, dollars spent and avoided.
    pub fn stats(&self) -> crate::meter::Stats {
        self.router.meter().stats()
    }

    /// The disk cache, when the catalog enables one.
    pub fn cache(&self) -> Option<&crate::cache::Cache> {
        self.router.cache()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.router.catalog()
    }

    /// Where a URI leads, without any I/O.
    ///
    /// ```
    /// # fn main() -> lakeroute::Result<()> {
    /// let lake = lakeroute::Lake::new(lakeroute::Catalog::empty());
    /// let route = lake.resolve("s3://bucket/raw/x.csv")?;
    /// assert_eq!(route.physical().to_string(), "s3://bucket/raw/x.csv");
    /// # Ok(()) }
    /// ```
    pub fn resolve(&self, uri: &str) -> Result<Route> {
        self.router.route_str(uri)
    }

    /// An [`object_store::ObjectStore`] over logical paths (`<domain>/<dataset>/v<N>/<key>`), for
    /// engines such as parquet's async reader or DataFusion.
    pub fn store(&self) -> LakeStore {
        LakeStore::new(self.clone())
    }

    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// Reads a whole object.
    pub async fn get(&self, uri: &str) -> Result<Bytes> {
        let route = self.resolve(uri)?;
        let r = route.store().get(&route.path()?).await;
        r.map_err(|e| Error::from_store(uri, e))?
            .bytes()
            .await
            .map_err(|e| Error::from_store(uri, e))
    }

    /// Reads a whole object and says where it came from: for a mirrored dataset, which side
    /// answered and whether that was a fail-over; otherwise the object's physical location.
    pub async fn get_served(&self, uri: &str) -> Result<(Bytes, ServedBy)> {
        let route = self.resolve(uri)?;
        let result = route
            .store()
            .get_opts(&route.path()?, GetOptions::default())
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        let served = result
            .extensions
            .get::<ServedBy>()
            .cloned()
            .unwrap_or_else(|| ServedBy {
                location: route.physical().to_string(),
                failover: false,
            });
        let bytes = result
            .bytes()
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        Ok((bytes, served))
    }

    /// Reads an object with options (ranges, conditions) and returns the raw result, whose
    /// payload can be streamed.
    pub async fn get_opts(
        &self,
        uri: &str,
        options: GetOptions,
    ) -> Result<object_store::GetResult> {
        let route = self.resolve(uri)?;
        route
            .store()
            .get_opts(&route.path()?, options)
            .await
            .map_err(|e| Error::from_store(uri, e))
    }

    /// Reads the bytes in `range` (end exclusive). An empty range reads nothing and sends no
    /// request (stores disagree on whether it is an error).
    pub async fn get_range(&self, uri: &str, range: Range<u64>) -> Result<Bytes> {
        let route = self.resolve(uri)?;
        check_range(uri, &range)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        route
            .store()
            .get_range(&route.path()?, range)
            .await
            .map_err(|e| Error::from_store(uri, e))
    }

    /// Reads several ranges at once; nearby ranges are fetched in one request. Results come
    /// in the order asked; empty ranges give empty buffers.
    pub async fn get_ranges(&self, uri: &str, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let route = self.resolve(uri)?;
        for r in ranges {
            check_range(uri, r)?;
        }
        let wanted: Vec<Range<u64>> = ranges.iter().filter(|r| !r.is_empty()).cloned().collect();
        let mut fetched = if wanted.is_empty() {
            Vec::new()
        } else {
            route
                .store()
                .get_ranges(&route.path()?, &wanted)
                .await
                .map_err(|e| Error::from_store(uri, e))?
        }
        .into_iter();
        Ok(ranges
            .iter()
            .map(|r| {
                if r.is_empty() {
                    Bytes::new()
                } else {
                    fetched.next().unwrap_or_default()
                }
            })
            .collect())
    }

    /// Size, time and version of an object.
    pub async fn head(&self, uri: &str) -> Result<ObjectInfo> {
        let route = self.resolve(uri)?;
        let meta = route
            .store()
            .head(&route.path()?)
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        Ok(info(&route, meta))
    }

    /// Writes an object in one request, replacing any existing one.
    pub async fn put(&self, uri: &str, payload: PutPayload) -> Result<WriteInfo> {
        self.put_mode(uri, payload, PutMode::Overwrite).await
    }

    /// Writes an object only if none exists at `uri`; otherwise fails with
    /// [`Error::AlreadyExists`] and changes nothing.
    pub async fn put_if_absent(&self, uri: &str, payload: PutPayload) -> Result<WriteInfo> {
        self.put_mode(uri, payload, PutMode::Create).await
    }

    /// Writes with an explicit [`PutMode`] (overwrite, create-only, or update-if-version).
    pub async fn put_mode(
        &self,
        uri: &str,
        payload: PutPayload,
        mode: PutMode,
    ) -> Result<WriteInfo> {
        let route = self.writable(uri)?;
        let size = payload.content_length() as u64;
        let result = route
            .store()
            .put_opts(&route.path()?, payload, PutOptions::from(mode))
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        Ok(WriteInfo {
            uri: route.uri().to_string(),
            size,
            e_tag: result.e_tag,
            version: result.version,
        })
    }

    /// Streams `reader` into `uri` in parts with bounded memory, whatever its size.
    pub async fn upload(
        &self,
        uri: &str,
        reader: &mut (dyn AsyncRead + Unpin + Send),
        progress: Progress<'_>,
    ) -> Result<WriteInfo> {
        let route = self.writable(uri)?;
        let size = transfer::upload(route.store(), &route.path()?, uri, reader, progress).await?;
        Ok(WriteInfo {
            uri: route.uri().to_string(),
            size,
            e_tag: None,
            version: None,
        })
    }

    /// A writer that streams into `uri` in parts (8 MiB, 4 in flight) as bytes arrive; the
    /// object appears when the writer is shut down, and `abort` leaves nothing behind.
    pub fn writer(&self, uri: &str) -> Result<object_store::buffered::BufWriter> {
        let route = self.writable(uri)?;
        Ok(transfer::writer(route.store(), &route.path()?))
    }

    /// Every object below `uri`, recursively. A URI without a trailing `/` lists the prefix
    /// it names as a folder (`lake://d/n/v1` lists the whole dataset).
    pub fn list(&self, uri: &str) -> Result<BoxStream<'static, Result<ObjectInfo>>> {
        let route = self.resolve(uri)?;
        let prefix = route.path()?;
        let shown = uri.to_string();
        let stream = route
            .store()
            .list(Some(&prefix))
            .map(move |item| match item {
                Ok(meta) => Ok(info(&route, meta)),
                Err(e) => Err(Error::from_store(shown.as_str(), e)),
            });
        Ok(stream.boxed())
    }

    /// Every object below `uri` whose URI sorts after `offset` (a URI below `uri` too), for
    /// resuming a listing.
    pub fn list_with_offset(
        &self,
        uri: &str,
        offset: &str,
    ) -> Result<BoxStream<'static, Result<ObjectInfo>>> {
        let route = self.resolve(uri)?;
        let prefix = route.path()?;
        let offset_path = self.resolve(offset)?.path()?;
        let shown = uri.to_string();
        // Azurite ignores Azure's `startFrom` (Azure/Azurite#2619) and object_store only filters
        // client-side in emulator mode; filtering here too makes the offset hold on every store.
        let stream = route
            .store()
            .list_with_offset(Some(&prefix), &offset_path)
            .try_filter(move |m| futures::future::ready(m.location > offset_path))
            .map(move |item| match item {
                Ok(meta) => Ok(info(&route, meta)),
                Err(e) => Err(Error::from_store(shown.as_str(), e)),
            });
        Ok(stream.boxed())
    }

    /// Every object below `uri`, collected and sorted by URI.
    pub async fn list_all(&self, uri: &str) -> Result<Vec<ObjectInfo>> {
        let mut all: Vec<ObjectInfo> = self.list(uri)?.try_collect().await?;
        all.sort_by(|a, b| a.uri.cmp(&b.uri));
        Ok(all)
    }

    /// Objects and sub-prefixes directly below `uri`.
    pub async fn list_with_delimiter(&self, uri: &str) -> Result<Listing> {
        let route = self.resolve(uri)?;
        let prefix = route.path()?;
        let found = route
            .store()
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        let mut listing = Listing {
            prefixes: found
                .common_prefixes
                .iter()
                .map(|p| route.prefix_uri_for(p))
                .collect(),
            objects: found.objects.into_iter().map(|m| info(&route, m)).collect(),
        };
        listing.prefixes.sort();
        listing.objects.sort_by(|a, b| a.uri.cmp(&b.uri));
        Ok(listing)
    }

    /// Deletes an object. Deleting a missing object succeeds, as on S3 and Azure.
    pub async fn delete(&self, uri: &str) -> Result<()> {
        let route = self.writable(uri)?;
        match route.store().delete(&route.path()?).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::from_store(uri, e)),
        }
    }

    /// Deletes every object below `uri`; returns how many were deleted.
    pub async fn delete_prefix(&self, uri: &str) -> Result<u64> {
        let route = self.resolve(uri)?;
        route.check_writable()?;
        let prefix = route.path()?;
        let store = Arc::clone(route.store());
        let locations = store.list(Some(&prefix)).map_ok(|m| m.location).boxed();
        let deleted: Vec<Path> = store
            .delete_stream(locations)
            .try_collect()
            .await
            .map_err(|e| Error::from_store(uri, e))?;
        Ok(deleted.len() as u64)
    }

    /// Copies one object; across stores (clouds) it streams in parts with bounded memory.
    /// Returns the bytes copied.
    pub async fn copy(&self, from: &str, to: &str) -> Result<u64> {
        self.copy_with_progress(from, to, None).await
    }

    /// [`Lake::copy`], reporting bytes moved so far to `progress`.
    pub async fn copy_with_progress(
        &self,
        from: &str,
        to: &str,
        progress: Progress<'_>,
    ) -> Result<u64> {
        let src = self.resolve(from)?;
        let dst = self.writable(to)?;
        reject_prefix(&src, from)?;
        let (src_path, dst_path) = (src.path()?, dst.path()?);
        if src.same_store(&dst) {
            let size = src
                .store()
                .head(&src_path)
                .await
                .map_err(|e| Error::from_store(from, e))?
                .size;
            // Through the destination's wrappers, so its cache entry is dropped.
            dst.store()
                .copy(&src_path, &dst_path)
                .await
                .map_err(|e| Error::from_store(to, e))?;
            if let Some(cb) = progress {
                cb(size);
            }
            return Ok(size);
        }
        transfer::copy_across(
            src.store(),
            &src_path,
            from,
            dst.store(),
            &dst_path,
            to,
            progress,
        )
        .await
    }

    /// Moves one object. Within one store this is the store's rename; across stores, a copy
    /// followed by deleting the source once the copy is complete.
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.rename_mode(from, to, RenameTargetMode::Overwrite)
            .await
    }

    /// Moves one object only if nothing exists at `to`.
    pub async fn rename_if_absent(&self, from: &str, to: &str) -> Result<()> {
        self.rename_mode(from, to, RenameTargetMode::Create).await
    }

    async fn rename_mode(&self, from: &str, to: &str, mode: RenameTargetMode) -> Result<()> {
        let src = self.writable(from)?;
        let dst = self.writable(to)?;
        // Onto itself: nothing to move (a store that renames by copy then delete would delete
        // the object). Unless the target must be new: then it exists.
        if src.same_store(&dst) && src.path()? == dst.path()? {
            return match mode {
                RenameTargetMode::Create => Err(Error::AlreadyExists {
                    uri: to.to_string(),
                    source: object_store::Error::AlreadyExists {
                        path: to.to_string(),
                        source: "rename target is the source".into(),
                    },
                }),
                _ => Ok(()),
            };
        }
        if src.same_store(&dst) {
            return src
                .store()
                .rename_opts(
                    &src.path()?,
                    &dst.path()?,
                    RenameOptions::new().with_target_mode(mode),
                )
                .await
                .map_err(|e| Error::from_store(from, e));
        }
        if mode == RenameTargetMode::Create {
            match dst.store().head(&dst.path()?).await {
                Ok(_) => {
                    return Err(Error::AlreadyExists {
                        uri: to.to_string(),
                        source: object_store::Error::AlreadyExists {
                            path: to.to_string(),
                            source: "rename target exists".into(),
                        },
                    });
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(Error::from_store(to, e)),
            }
        }
        self.copy(from, to).await?;
        self.delete(from).await
    }
}

fn check_range(uri: &str, range: &Range<u64>) -> Result<()> {
    if range.start > range.end {
        return Err(Error::InvalidRange {
            uri: uri.to_string(),
            start: range.start,
            end: range.end,
        });
    }
    Ok(())
}

fn check_environment(catalog: &Catalog, name: &str) -> Result<()> {
    if catalog.environment(name).is_some() {
        return Ok(());
    }
    Err(Error::UnknownEnvironment {
        name: name.to_string(),
        known: catalog.environments().map(|e| e.name.clone()).collect(),
    })
}

impl Lake {
    /// Routes a URI that is about to be written: an object (not a prefix) in a writable
    /// environment.
    fn writable(&self, uri: &str) -> Result<Route> {
        let route = self.resolve(uri)?;
        reject_prefix(&route, uri)?;
        route.check_writable()?;
        Ok(route)
    }
}

fn reject_prefix(route: &Route, uri: &str) -> Result<()> {
    if route.uri().is_prefix() {
        return Err(Error::invalid_uri(
            uri,
            "this names a prefix (it ends in '/'); name an object, without the trailing slash",
        ));
    }
    Ok(())
}

fn info(route: &Route, meta: ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        uri: route.uri_for(&meta.location),
        size: meta.size,
        last_modified: meta.last_modified,
        e_tag: meta.e_tag,
        version: meta.version,
    }
}
