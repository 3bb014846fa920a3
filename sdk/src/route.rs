//! Routing: from a URI to a store and a path in it.
//!
//! A logical URI goes through the catalog (dataset -> storage profile -> physical root); a
//! physical URI goes to the profile that serves its bucket, container or memory store, or to an
//! ambient store for it. Either way the result is a [`Route`]: the store, the key inside it, and
//! how to name listed objects back in the caller's own terms (`lake://` in, `lake://` out).
//! Every route into S3 or Azure, ambient ones included, reads and writes through the accounting
//! (and, when enabled, the cache) wrappers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use object_store::ObjectStore;
use object_store::path::Path;

use crate::cache::{Cache, CachedStore};
use crate::catalog::{Catalog, Mirror, Provider, StorageProfile};
use crate::error::{Error, Result};
use crate::meter::{Account, Meter, MeteredStore, ReadCost};
use crate::mirror::{MirroredStore, Side};
use crate::overlay::OverlayStore;
use crate::pricing::Place;
use crate::stores::{
    StoreKey, StoreRegistry, ambient_settings, build_ambient_store, build_profile_store,
};
use crate::uri::{DatasetId, LakeUri, PhysicalScheme, PhysicalUri, StorageUri};

/// Where a URI leads: which dataset and profile, which store, and which key.
#[derive(Debug, Clone)]
pub struct Route {
    uri: StorageUri,
    target: Arc<Target>,
}

/// Everything about a route but its key. For a dataset it is computed once and shared by
/// every URI into the dataset, which keeps warm resolution to a parse and a hash lookup.
struct Target {
    read_only: Option<String>,
    namespace: Namespace,
    profile: Option<String>,
    store: Arc<dyn ObjectStore>,
    /// The store under the accounting and cache wrappers: routes with the same base can copy
    /// on the server.
    base: Arc<dyn ObjectStore>,
    store_base: PhysicalUri,
    key_root: Vec<String>,
    /// `key_root` joined by `/`, ready to prefix keys.
    root_text: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::secret::StoreName;
        f.debug_struct("Target")
            .field("read_only", &self.read_only)
            .field("namespace", &self.namespace)
            .field("profile", &self.profile)
            .field("store", &StoreName(&*self.store))
            .field("base", &StoreName(&*self.base))
            .field("store_base", &self.store_base)
            .field("key_root", &self.key_root)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn new(
        namespace: Namespace,
        profile: Option<String>,
        store: Arc<dyn ObjectStore>,
        store_base: PhysicalUri,
        key_root: Vec<String>,
    ) -> Self {
        let root_text = key_root.join("/");
        Self {
            read_only: None,
            namespace,
            profile,
            base: Arc::clone(&store),
            store,
            store_base,
            key_root,
            root_text,
        }
    }
}

/// How store paths are named back to the caller.
#[derive(Debug, Clone)]
enum Namespace {
    Lake(DatasetId),
    Physical(PhysicalUri),
}

impl Route {
    /// The key segments the URI names below its root.
    fn key(&self) -> &[String] {
        match &self.uri {
            StorageUri::Lake(u) => u.key_segments(),
            StorageUri::Physical(u) => u.key_segments(),
        }
    }

    /// The URI as parsed.
    pub fn uri(&self) -> &StorageUri {
        &self.uri
    }

    /// The dataset, for a logical URI.
    pub fn dataset(&self) -> Option<&DatasetId> {
        match &self.target.namespace {
            Namespace::Lake(id) => Some(id),
            Namespace::Physical(_) => None,
        }
    }

    /// The storage profile serving the URI, when one does.
    pub fn profile(&self) -> Option<&str> {
        self.target.profile.as_deref()
    }

    /// Where the bytes really are.
    pub fn physical(&self) -> PhysicalUri {
        let t = &self.target;
        let mut key = t.store_base.key_segments().to_vec();
        key.extend(t.key_root.iter().cloned());
        key.extend(self.key().iter().cloned());
        t.store_base.with_key(key, self.uri.is_prefix())
    }

    /// The store itself.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.target.store
    }

    /// The object's path inside the store.
    pub fn path(&self) -> Result<Path> {
        let mut text = String::with_capacity(
            self.target.root_text.len() + self.key().iter().map(|k| k.len() + 1).sum::<usize>(),
        );
        text.push_str(&self.target.root_text);
        for seg in self.key() {
            if !text.is_empty() {
                text.push('/');
            }
            text.push_str(seg);
        }
        Path::parse(&text).map_err(|e| Error::InvalidUri {
            uri: self.uri.to_string(),
            reason: e.to_string(),
        })
    }

    /// Fails when the route leads into a read-only environment.
    pub(crate) fn check_writable(&self) -> Result<()> {
        match &self.target.read_only {
            Some(env) => Err(Error::ReadOnly {
                uri: self.uri.to_string(),
                environment: env.clone(),
            }),
            None => Ok(()),
        }
    }

    /// True when both routes go to the same store, so a copy can stay on the server.
    pub(crate) fn same_store(&self, other: &Route) -> bool {
        Arc::ptr_eq(&self.target.base, &other.target.base)
    }

    /// Names a store path in the caller's terms (`lake://...` for a logical route).
    pub fn uri_for(&self, location: &Path) -> String {
        let rest = self.key_below_root(location);
        match &self.target.namespace {
            Namespace::Lake(id) => {
                let root = id.root_uri();
                // Keys from a store are plain segments; `join` re-checks them.
                root.join(&rest.join("/"))
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| format!("{root}/{}", rest.join("/")))
            }
            Namespace::Physical(base) => base.with_key(rest, false).to_string(),
        }
    }

    /// The segments of a store path below the caller's namespace root.
    pub(crate) fn key_below_root(&self, location: &Path) -> Vec<String> {
        let parts: Vec<String> = location.parts().map(|p| p.as_ref().to_string()).collect();
        parts
            .strip_prefix(self.target.key_root.as_slice())
            .unwrap_or(parts.as_slice())
            .to_vec()
    }

    /// Names a common prefix from a delimiter listing (ends in `/`).
    pub fn prefix_uri_for(&self, location: &Path) -> String {
        let mut s = self.uri_for(location);
        if !s.ends_with('/') {
            s.push('/');
        }
        s
    }
}

/// The catalog plus the stores built for it.
#[derive(Debug, Default)]
pub(crate) struct Router {
    catalog: Catalog,
    environment: Option<String>,
    stores: StoreRegistry,
    targets: RwLock<HashMap<DatasetId, Arc<Target>>>,
    /// Targets of physical URIs (into declared profiles, or ambient S3 and Azure stores), by
    /// bucket or container.
    physical_targets: RwLock<HashMap<PhysicalUri, Arc<Target>>>,
    meter: Arc<Meter>,
    cache: Option<Arc<Cache>>,
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(cache) = &self.cache {
            cache.save_accounting(&self.meter.stats());
        }
    }
}

impl Router {
    pub(crate) fn new(catalog: Catalog, environment: Option<String>) -> Self {
        let cache = catalog.cache_settings().and_then(|s| match Cache::open(s) {
            Ok(c) => Some(Arc::new(c)),
            Err(e) => {
                tracing::warn!(target: "lakeroute::cache", dir = %s.dir.display(), error = %e, "cache disabled: its folder cannot be used");
                None
            }
        });
        Self::sharing(catalog, environment, cache, StoreRegistry::default())
    }

    /// A router in another environment of the same catalog, sharing this one's cache (one
    /// folder scan and one policy per process, not one per environment) and credential chains
    /// (one refresh per identity).
    pub(crate) fn for_environment(&self, environment: Option<String>) -> Self {
        Self::sharing(
            self.catalog.clone(),
            environment,
            self.cache.clone(),
            self.stores.sharing_credentials(),
        )
    }

    fn sharing(
        catalog: Catalog,
        environment: Option<String>,
        cache: Option<Arc<Cache>>,
        stores: StoreRegistry,
    ) -> Self {
        Self {
            meter: Arc::new(Meter::new(catalog.budget())),
            cache,
            catalog,
            environment,
            stores,
            targets: RwLock::default(),
            physical_targets: RwLock::default(),
        }
    }

    pub(crate) fn stores(&self) -> &StoreRegistry {
        &self.stores
    }

    pub(crate) fn meter(&self) -> &Meter {
        &self.meter
    }

    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.cache.as_deref()
    }

    /// What reading from `place` costs this process.
    fn read_cost(&self, place: &Place) -> ReadCost {
        let prices = self.catalog.prices();
        let per_request = prices
            .get_request
            .get(&place.provider)
            .copied()
            .unwrap_or(0.0);
        let per_byte = self
            .catalog
            .compute()
            .map(|c| prices.egress_per_gb(place, &c) / crate::pricing::GB)
            .unwrap_or(0.0);
        ReadCost {
            per_byte,
            per_request,
        }
    }

    /// Wraps a store with accounting (under `label` and the profile) and, when enabled, the
    /// cache. Every route into a profile's store reads and writes through such a wrapper, so a
    /// write by one name drops what the cache holds for all of them.
    fn wrap(
        &self,
        store: Arc<dyn ObjectStore>,
        profile: &StorageProfile,
        label: String,
        immutable: bool,
    ) -> Arc<dyn ObjectStore> {
        let place = Place {
            provider: profile.effective_provider(),
            region: profile.region.clone(),
        };
        // Accounted under the declared profile: a role or managed identity a dataset adds to it
        // is not another place.
        let account = profile.declared_name().to_string();
        let identity = cache_identity(&profile_base(profile), profile.endpoint.as_deref());
        self.wrap_at(store, &place, label, account, identity, immutable)
    }

    /// [`Self::wrap`] for a store at `place`, accounted under `label` and `account` (a profile's
    /// name), cached under `identity` (see [`cache_identity`]).
    fn wrap_at(
        &self,
        store: Arc<dyn ObjectStore>,
        place: &Place,
        label: String,
        account: String,
        identity: String,
        immutable: bool,
    ) -> Arc<dyn ObjectStore> {
        let account = Account::new(Arc::clone(&self.meter), label, account);
        let cost = self.read_cost(place);
        let put_fee = self
            .catalog
            .prices()
            .put_request
            .get(&place.provider)
            .copied()
            .unwrap_or(0.0);
        let metered: Arc<dyn ObjectStore> =
            Arc::new(MeteredStore::new(store, account.clone(), cost, put_fee));
        match &self.cache {
            Some(cache) => Arc::new(CachedStore::new(
                metered,
                Arc::clone(cache),
                identity,
                immutable,
                cost,
                account,
            )),
            None => metered,
        }
    }

    pub(crate) fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Parses and routes a URI.
    pub(crate) fn route_str(&self, uri: &str) -> Result<Route> {
        self.route(StorageUri::parse(uri)?)
    }

    /// Routes a parsed URI.
    pub(crate) fn route(&self, uri: StorageUri) -> Result<Route> {
        let target = match &uri {
            StorageUri::Lake(lake) => self.lake_target(lake)?,
            StorageUri::Physical(phys) => self.physical_target(phys)?,
        };
        Ok(Route { uri, target })
    }

    /// The target of a dataset, built on first use and shared after.
    fn lake_target(&self, lake: &LakeUri) -> Result<Arc<Target>> {
        let id = lake.dataset();
        let cached = self.targets.read().ok().and_then(|t| t.get(id).cloned());
        let target = match cached {
            Some(t) => t,
            None => {
                let t = Arc::new(self.dataset_target(id, lake)?);
                if let Ok(mut map) = self.targets.write() {
                    map.insert(id.clone(), Arc::clone(&t));
                }
                t
            }
        };
        Ok(target)
    }

    /// Where a dataset's keys go: its profile's store (or a mirrored pair) and root.
    fn dataset_target(&self, id: &DatasetId, lake: &LakeUri) -> Result<Target> {
        let ds = self
            .catalog
            .dataset(id)
            .ok_or_else(|| Error::DatasetNotFound {
                uri: lake.to_string(),
                suggestions: self.catalog.suggest(id),
            })?;
        let env = self.environment.as_deref();
        // With the dataset's or domain's role, when one applies.
        let (effective, key_root) = self.catalog.effective_profile(ds, env)?;
        let profile = &effective;
        let store = self.profile_store(profile)?;
        let env_settings = env.and_then(|e| self.catalog.environment(e));
        let mut target = if let Some(parent) = env_settings.and_then(|e| e.overlay_of.as_deref()) {
            self.overlay_target(id, profile, store, key_root, parent, ds)?
        } else if let Some(m) = ds
            .mirror
            .as_ref()
            .filter(|_| env.is_none() || env == self.catalog.default_environment())
        {
            // Mirrors are declared for the dataset's own location, which is the default
            // environment's; other environments place the dataset elsewhere.
            self.mirrored_target(id, profile, store, key_root, m, ds.immutable)?
        } else {
            self.wrapped_target(
                Namespace::Lake(id.clone()),
                profile,
                store,
                key_root,
                ds.immutable,
            )
        };
        if env_settings.is_some_and(|e| e.read_only) {
            target.read_only = env.map(str::to_string);
        }
        Ok(target)
    }

    /// A target on one profile's store, under the accounting and cache wrappers (labelled by
    /// the namespace: the dataset, or the physical store), whose base is the bare store.
    fn wrapped_target(
        &self,
        namespace: Namespace,
        profile: &StorageProfile,
        store: Arc<dyn ObjectStore>,
        key_root: Vec<String>,
        immutable: bool,
    ) -> Target {
        let label = match &namespace {
            Namespace::Lake(id) => id.to_string(),
            Namespace::Physical(base) => base.to_string(),
        };
        let wrapped = self.wrap(Arc::clone(&store), profile, label, immutable);
        let mut t = Target::new(
            namespace,
            Some(profile.name.clone()),
            wrapped,
            profile_base(profile),
            key_root,
        );
        t.base = store;
        t
    }

    /// An overlay environment routes to an [`OverlayStore`] over the parent's location.
    fn overlay_target(
        &self,
        id: &DatasetId,
        profile: &StorageProfile,
        store: Arc<dyn ObjectStore>,
        key_root: Vec<String>,
        parent_env: &str,
        ds: &crate::Dataset,
    ) -> Result<Target> {
        let shown = StorageUri::Lake(id.root_uri());
        let (parent_profile, parent_root) = self.catalog.location_in(ds, Some(parent_env))?;
        let side =
            |store: Arc<dyn ObjectStore>, p: &StorageProfile, root: &[String]| -> Result<Side> {
                Ok(Side {
                    store,
                    root: to_path(&shown, root.iter())?,
                    location: rooted(p, root).to_string(),
                })
            };
        // Each side is accounted under its own profile and read through the cache.
        let wrap = |store, p| self.wrap(store, p, id.to_string(), ds.immutable);
        let child = side(wrap(store, profile), profile, &key_root)?;
        let parent = side(
            wrap(self.profile_store(parent_profile)?, parent_profile),
            parent_profile,
            &parent_root,
        )?;
        Ok(Target::new(
            Namespace::Lake(id.clone()),
            Some(profile.name.clone()),
            Arc::new(OverlayStore::new(child, parent)),
            rooted(profile, &key_root),
            Vec::new(),
        ))
    }

    /// A mirrored dataset routes to a [`MirroredStore`] that holds both roots itself.
    fn mirrored_target(
        &self,
        id: &DatasetId,
        profile: &StorageProfile,
        primary_store: Arc<dyn ObjectStore>,
        primary_root: Vec<String>,
        m: &Mirror,
        immutable: bool,
    ) -> Result<Target> {
        let shown = StorageUri::Lake(id.root_uri());
        let mirror_profile =
            self.catalog
                .profile(&m.profile)
                .ok_or_else(|| Error::UnknownProfile {
                    name: m.profile.clone(),
                    needed_by: format!("the mirror of dataset {id}"),
                })?;
        let mut mirror_root = mirror_profile.prefix.clone();
        mirror_root.extend(m.prefix.iter().cloned());
        let side =
            |store: Arc<dyn ObjectStore>, p: &StorageProfile, root: &[String]| -> Result<Side> {
                let base = profile_base(p);
                let mut key = base.key_segments().to_vec();
                key.extend(root.iter().cloned());
                Ok(Side {
                    store,
                    root: to_path(&shown, root.iter())?,
                    location: base.with_key(key, false).to_string(),
                })
            };
        // Each side is accounted under its own profile and read through the cache, so a write
        // to either side drops what the cache holds of it.
        let wrap = |store, p| self.wrap(store, p, id.to_string(), immutable);
        let primary = side(wrap(primary_store, profile), profile, &primary_root)?;
        let mirror = side(
            wrap(self.profile_store(mirror_profile)?, mirror_profile),
            mirror_profile,
            &mirror_root,
        )?;
        let store_base = {
            let base = profile_base(profile);
            let mut key = base.key_segments().to_vec();
            key.extend(primary_root.iter().cloned());
            base.with_key(key, false)
        };
        let store: Arc<dyn ObjectStore> = Arc::new(MirroredStore::new(primary, mirror, m.writes));
        Ok(Target::new(
            Namespace::Lake(id.clone()),
            Some(profile.name.clone()),
            store,
            store_base,
            Vec::new(),
        ))
    }

    /// The target of a physical URI's bucket or container, built on first use and shared after.
    fn physical_target(&self, phys: &PhysicalUri) -> Result<Arc<Target>> {
        let ns_base = phys.with_key(Vec::new(), false);
        let known = self
            .physical_targets
            .read()
            .ok()
            .and_then(|t| t.get(&ns_base).cloned());
        if let Some(target) = known {
            return Ok(target);
        }
        let (profile, key_root, store, store_base) = match phys.scheme() {
            PhysicalScheme::File => (
                None,
                Vec::new(),
                self.stores.get_or_build(&StoreKey::FileSystem, || {
                    build_ambient_store(&StoreKey::FileSystem, &self.stores)
                })?,
                PhysicalUri::from_parts(PhysicalScheme::File, "", None, Vec::new()),
            ),
            scheme => match self.serving_profile(scheme, phys) {
                Some((p, key_root)) => {
                    // Accounted as the physical store, under its profile, and read through the
                    // cache: one entry, whichever name reads it.
                    let namespace = Namespace::Physical(ns_base.clone());
                    let mut t =
                        self.wrapped_target(namespace, p, self.profile_store(p)?, key_root, false);
                    t.read_only = self.read_only_environment(scheme);
                    let target = Arc::new(t);
                    if let Ok(mut map) = self.physical_targets.write() {
                        map.insert(ns_base, Arc::clone(&target));
                    }
                    return Ok(target);
                }
                None => {
                    let (key, provider) = match scheme {
                        PhysicalScheme::S3 => {
                            (StoreKey::S3(phys.container().to_string()), Provider::Aws)
                        }
                        PhysicalScheme::Azure => (
                            StoreKey::Azure(
                                phys.account().map(str::to_string),
                                phys.container().to_string(),
                            ),
                            Provider::Azure,
                        ),
                        _ => (
                            StoreKey::Memory(phys.container().to_string()),
                            Provider::Memory,
                        ),
                    };
                    let store = self
                        .stores
                        .get_or_build(&key, || build_ambient_store(&key, &self.stores))?;
                    if provider == Provider::Memory {
                        (None, Vec::new(), store, ns_base.clone())
                    } else {
                        // A bucket or container no profile serves is still accounted (under
                        // its own name, as profile and as dataset), counts against the budget
                        // and reads through the cache. Its region is the one the ambient
                        // store signs for (S3), or unknown (Azure: priced as another region).
                        let ambient = ambient_settings(&key);
                        let place = Place {
                            provider,
                            region: ambient.region,
                        };
                        let name = ns_base.to_string();
                        // Cached as the container of the account the store really uses.
                        let root = PhysicalUri::from_parts(
                            scheme,
                            phys.container(),
                            ambient.account.as_deref().or(phys.account()),
                            Vec::new(),
                        );
                        let wrapped = self.wrap_at(
                            Arc::clone(&store),
                            &place,
                            name.clone(),
                            name,
                            cache_identity(&root, ambient.endpoint.as_deref()),
                            false,
                        );
                        let mut t = Target::new(
                            Namespace::Physical(ns_base.clone()),
                            None,
                            wrapped,
                            ns_base.clone(),
                            Vec::new(),
                        );
                        t.base = store;
                        t.read_only = self.read_only_environment(scheme);
                        let target = Arc::new(t);
                        if let Ok(mut map) = self.physical_targets.write() {
                            map.insert(ns_base, Arc::clone(&target));
                        }
                        return Ok(target);
                    }
                }
            },
        };
        Ok(Arc::new(Target::new(
            Namespace::Physical(ns_base),
            profile,
            store,
            store_base,
            key_root,
        )))
    }

    /// The declared profile for a bucket/container/memory name, and the store segments that
    /// precede the URI's key there (a stand-in keeps each bucket in a sub-folder).
    fn serving_profile(
        &self,
        scheme: PhysicalScheme,
        phys: &PhysicalUri,
    ) -> Option<(&StorageProfile, Vec<String>)> {
        let name = phys.container();
        let provider = match scheme {
            PhysicalScheme::S3 => Provider::Aws,
            PhysicalScheme::Azure => Provider::Azure,
            _ => Provider::Memory,
        };
        let serves = |p: &StorageProfile| {
            let direct = p.provider == provider
                && match provider {
                    Provider::Aws => p.bucket.as_deref() == Some(name),
                    Provider::Azure => {
                        p.container.as_deref() == Some(name)
                            && (phys.account().is_none() || p.account.as_deref() == phys.account())
                    }
                    _ => p.name == name,
                };
            if direct {
                return Some(Vec::new());
            }
            let stand_in = p.emulates == Some(provider) && p.buckets.iter().any(|b| b == name);
            stand_in.then(|| vec![name.to_string()])
        };
        // A profile's settings for this lake's environment (`name@env`, its credentials say)
        // win over its own; other environments' are not this lake's to use.
        let mut found = None;
        for p in self.catalog.profiles() {
            let of_env = p.environment_override().map(|(_, env)| env);
            if of_env.is_some() && of_env != self.environment.as_deref() {
                continue;
            }
            if let Some(key_root) = serves(p) {
                if of_env.is_some() {
                    return Some((p, key_root));
                }
                found.get_or_insert((p, key_root));
            }
        }
        found
    }

    /// This lake's environment, if it is read-only and `scheme` is a cloud's: writes to S3
    /// and Azure are refused in it whether they name a dataset or a bucket. Local files are
    /// not (downloads write them).
    fn read_only_environment(&self, scheme: PhysicalScheme) -> Option<String> {
        let env = self.environment.as_deref()?;
        let cloud = matches!(scheme, PhysicalScheme::S3 | PhysicalScheme::Azure);
        (cloud && self.catalog.environment(env).is_some_and(|e| e.read_only))
            .then(|| env.to_string())
    }

    fn profile_store(&self, p: &StorageProfile) -> Result<Arc<dyn ObjectStore>> {
        self.stores
            .get_or_build(&StoreKey::Profile(p.name.clone()), || {
                build_profile_store(p, &self.stores)
            })
    }
}

/// The name a store's cache entries go under: its physical root, and the endpoint when one is
/// set (two servers can each hold a bucket of the same name, and a cache folder may be shared
/// by processes that talk to both).
fn cache_identity(root: &PhysicalUri, endpoint: Option<&str>) -> String {
    // The endpoint first: it may have a path, which must not run into the object's.
    match endpoint {
        Some(e) => format!("{e} {root}"),
        None => root.to_string(),
    }
}

/// The physical URI of `root` in a profile's store.
fn rooted(p: &StorageProfile, root: &[String]) -> PhysicalUri {
    let base = profile_base(p);
    let mut key = base.key_segments().to_vec();
    key.extend(root.iter().cloned());
    base.with_key(key, false)
}

/// The physical URI of a profile's store root.
fn profile_base(p: &StorageProfile) -> PhysicalUri {
    match p.provider {
        Provider::Aws => PhysicalUri::from_parts(
            PhysicalScheme::S3,
            p.bucket.as_deref().unwrap_or_default(),
            None,
            Vec::new(),
        ),
        Provider::Azure => PhysicalUri::from_parts(
            PhysicalScheme::Azure,
            p.container.as_deref().unwrap_or_default(),
            p.account.as_deref(),
            Vec::new(),
        ),
        Provider::Local => PhysicalUri::from_parts(
            PhysicalScheme::File,
            "",
            None,
            p.root
                .as_deref()
                .map(|r| {
                    r.components()
                        .filter_map(|c| match c {
                            std::path::Component::Normal(s) => {
                                Some(s.to_string_lossy().into_owned())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Provider::Memory => {
            PhysicalUri::from_parts(PhysicalScheme::Memory, &p.name, None, Vec::new())
        }
    }
}

fn to_path<'a>(uri: &StorageUri, segments: impl Iterator<Item = &'a String>) -> Result<Path> {
    let joined = segments.map(String::as_str).collect::<Vec<_>>().join("/");
    Path::parse(&joined).map_err(|e| Error::InvalidUri {
        uri: uri.to_string(),
        reason: e.to_string(),
    })
}
