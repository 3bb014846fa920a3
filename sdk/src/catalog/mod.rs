//! The catalog: a folder of YAML files in git, no server.
//!
//! ```text
//! catalog/
//!   lakeroute.yaml          storage profiles (named physical places)
//!   finance/customer.yaml   one dataset descriptor per file; the folder may give the domain
//!   marketing/...
//! ```
//!
//! Loading reads every file and collects every problem (YAML syntax, unknown or missing fields,
//! unknown profiles, overlapping locations, duplicate datasets) with file, line and column, so a
//! CI job sees all of them at once.

mod dataset;
mod environment;
mod job;
mod profile;
mod settings;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use dataset::{Column, Dataset, Mirror};
pub use environment::Environment;
pub use job::{Cluster, Framework, Job, JobDataset};
pub use profile::{Credentials, Provider, RetrySettings, StorageProfile};
pub use settings::{CacheSettings, RoleSpec};

use crate::error::{Error, Result};
use crate::pricing::PriceTable;
use crate::uri::DatasetId;
use dataset::LocationSpec;
use yaml::{Mark, Reader};

/// The catalog's own settings file at the catalog root.
pub const CATALOG_FILE: &str = "lakeroute.yaml";

/// One thing wrong in a catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// The declared datasets and storage profiles.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    dir: PathBuf,
    profiles: BTreeMap<String, StorageProfile>,
    datasets: BTreeMap<DatasetId, Dataset>,
    environments: BTreeMap<String, Environment>,
    default_environment: Option<String>,
    clusters: BTreeMap<String, Cluster>,
    prices: PriceTable,
    jobs: Vec<Job>,
    compute: Option<crate::pricing::Place>,
    cache: Option<CacheSettings>,
    budget: crate::meter::Budget,
    domain_roles: BTreeMap<String, RoleSpec>,
}

impl Catalog {
    /// Loads a catalog folder; fails with [`Error::InvalidCatalog`] listing every problem.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let (catalog, problems) = Self::check(dir.as_ref())?;
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(Error::InvalidCatalog {
                dir: dir.as_ref().to_path_buf(),
                problems,
            })
        }
    }

    /// An empty catalog: only physical URIs resolve.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads a catalog folder and returns what loaded together with every problem found.
    /// Fails only when the folder itself cannot be read.
    pub fn check(dir: &Path) -> Result<(Self, Vec<Problem>)> {
        let meta = std::fs::metadata(dir).map_err(|source| Error::Io {
            action: "reading catalog folder",
            path: dir.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(Error::Io {
                action: "reading catalog folder",
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a folder; pass the catalog folder holding lakeroute.yaml",
                ),
            });
        }
        let abs_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut problems = Vec::new();
        let mut profiles = BTreeMap::new();
        let settings = dir.join(CATALOG_FILE);
        // The descriptors usually sit beside lakeroute.yaml; `descriptors: <folder>` takes them
        // from another catalog, so one set of datasets can be placed on another set of stores.
        let mut descriptor_dir = dir.to_path_buf();
        let mut environments = BTreeMap::new();
        let mut default_environment = None;
        let mut clusters = BTreeMap::new();
        let mut prices = PriceTable::default();
        let mut jobs = Vec::new();
        let mut compute = None;
        let mut cache = None;
        let mut budget = crate::meter::Budget::default();
        let mut domain_roles = BTreeMap::new();
        let settings_doc = parse_file(&settings, &mut problems)?;
        if let Some(doc) = settings_doc.as_ref() {
            let mut r = Reader::new(&settings, &mut problems);
            let valid = r.check_map(
                doc,
                CATALOG_FILE,
                &[
                    "storage",
                    "description",
                    "descriptors",
                    "environments",
                    "default_environment",
                    "clusters",
                    "prices",
                    "compute",
                    "cache",
                    "budget",
                    "domains",
                ],
                &[],
            );
            if let Some((folder, mark)) = r.string(doc, "descriptors", CATALOG_FILE) {
                let folder = dir.join(profile::expand_env(&folder));
                if folder.is_dir() {
                    descriptor_dir = folder;
                } else {
                    r.problem(
                        mark,
                        format!("descriptors: {} is not a folder", folder.display()),
                    );
                }
            }
            match doc.get("storage").map(|s| (s, &s.value)) {
                Some((_, yaml::Value::Map(entries))) if valid => {
                    for (key, node) in entries {
                        let Some(name) = key.scalar() else { continue };
                        if let Some(p) =
                            profile::read_profile(&mut r, name, node, &settings, &abs_dir)
                        {
                            profiles.insert(name.to_string(), p);
                        }
                        // Per-environment overrides become derived profiles named `name@env`.
                        if let Some(yaml::Value::Map(envs)) =
                            node.get("environments").map(|e| &e.value)
                        {
                            for (env, over) in envs {
                                let Some(env) = env.scalar() else { continue };
                                let derived = environment::merged(node, over, "environments");
                                let label = format!("{name}@{env}");
                                if let Some(p) = profile::read_profile(
                                    &mut r, &label, &derived, &settings, &abs_dir,
                                ) {
                                    profiles.insert(label, p);
                                }
                            }
                        }
                    }
                }
                Some((storage, _)) if valid && !storage.is_null() => {
                    r.problem(storage.mark, "storage must map profile names to profiles");
                }
                _ => {}
            }
        }

        if let Some(doc) = settings_doc.as_ref() {
            let mut r = Reader::new(&settings, &mut problems);
            if let Some(node) = doc.get("environments") {
                environments = environment::read_environments(&mut r, node);
            }
            if let Some(node) = doc.get("clusters") {
                clusters = job::read_clusters(&mut r, node)
                    .into_iter()
                    .map(|c| (c.name.clone(), c))
                    .collect();
            }
            if let Some(node) = doc.get("prices") {
                read_prices(&mut r, node, &mut prices);
            }
            if let Some(node) = doc.get("compute") {
                compute = settings::read_compute(&mut r, node);
            }
            if let Some(node) = doc.get("cache") {
                cache = settings::read_cache(&mut r, node, &abs_dir);
            }
            if let Some(node) = doc.get("budget") {
                budget = settings::read_budget(&mut r, node);
            }
            if let Some(yaml::Value::Map(entries)) = doc.get("domains").map(|n| &n.value) {
                for (k, v) in entries {
                    let Some(domain) = k.scalar() else { continue };
                    let what = format!("domains.{domain}");
                    domain_roles.insert(
                        domain.to_ascii_lowercase(),
                        settings::read_role_spec(&mut r, v, &what),
                    );
                }
            }
            if let Some((name, mark)) = r.string(doc, "default_environment", CATALOG_FILE) {
                if environments.contains_key(&name) {
                    default_environment = Some(name);
                } else {
                    r.problem(
                        mark,
                        format!("default_environment {name:?} is not declared under environments"),
                    );
                }
            }
        }
        let mut files = Vec::new();
        collect_yaml_files(&descriptor_dir, &mut files)?;
        files.sort();
        let mut datasets: BTreeMap<DatasetId, Dataset> = BTreeMap::new();
        let mut loaded = Vec::new();
        let own_settings = descriptor_dir.join(CATALOG_FILE);
        for file in files
            .iter()
            .filter(|f| **f != settings && **f != own_settings)
        {
            let Some(doc) = parse_file(file, &mut problems)? else {
                continue;
            };
            let folder_domain = file
                .parent()
                .filter(|p| *p != descriptor_dir)
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str());
            let mut r = Reader::new(file, &mut problems);
            if job::is_job(&doc) {
                jobs.extend(job::read_job(&mut r, &doc, file));
                continue;
            }
            if let Some(ds) = dataset::read_dataset(&mut r, &doc, file, folder_domain) {
                loaded.push((ds, doc.mark));
            }
        }

        for (mut ds, doc_mark) in loaded {
            let mut r = Reader::new(&ds.file, &mut problems);
            if !bind_location(&mut r, &mut ds, &mut profiles) {
                continue;
            }
            if let Some(first) = datasets.get(&ds.id) {
                r.problem(
                    doc_mark,
                    format!(
                        "duplicate dataset {}: already declared in {}",
                        ds.id,
                        first.file.display()
                    ),
                );
                continue;
            }
            datasets.insert(ds.id.clone(), ds);
        }

        let catalog = Self {
            dir: abs_dir,
            profiles,
            datasets,
            environments,
            default_environment,
            clusters,
            prices,
            jobs: Vec::new(),
            compute,
            cache,
            budget,
            domain_roles,
        };
        for j in &jobs {
            problems.extend(job::check_job(&catalog, j, catalog.default_environment()));
        }
        let mut catalog = catalog;
        catalog.jobs = jobs;
        catalog.check_overlaps(&mut problems);
        catalog.check_environments(&mut problems);
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Ok((catalog, problems))
    }

    /// Where this process computes: `LAKEROUTE_COMPUTE` (`provider/region`), else `compute:`.
    pub fn compute(&self) -> Option<crate::pricing::Place> {
        std::env::var("LAKEROUTE_COMPUTE")
            .ok()
            .and_then(|v| settings::parse_place(&v))
            .or_else(|| self.compute.clone())
    }

    /// The disk cache's settings, when the catalog enables it.
    pub fn cache_settings(&self) -> Option<&CacheSettings> {
        self.cache.as_ref()
    }

    /// The role a dataset's requests assume in `env`: the dataset's own, else its domain's.
    pub fn role_for<'a>(
        &'a self,
        ds: &'a Dataset,
        env: Option<&str>,
    ) -> Option<&'a crate::credentials::RoleSettings> {
        ds.role.as_ref().and_then(|r| r.for_env(env)).or_else(|| {
            self.domain_roles
                .get(ds.id.domain())
                .and_then(|r| r.for_env(env))
        })
    }

    /// The Azure client id a dataset's requests use in `env`: the dataset's own, else its
    /// domain's.
    pub fn azure_client_id_for<'a>(
        &'a self,
        ds: &'a Dataset,
        env: Option<&str>,
    ) -> Option<&'a str> {
        ds.role
            .as_ref()
            .and_then(|r| r.azure_client_id_for(env))
            .or_else(|| {
                self.domain_roles
                    .get(ds.id.domain())
                    .and_then(|r| r.azure_client_id_for(env))
            })
    }

    /// The profile a dataset's requests use in `env`: its location's profile, with the dataset's
    /// or domain's role (AWS profiles whose credentials come from the chain) or managed identity
    /// client id (Azure profiles whose credentials come from the chain) when one applies.
    pub fn effective_profile(
        &self,
        ds: &Dataset,
        env: Option<&str>,
    ) -> Result<(StorageProfile, Vec<String>)> {
        let (profile, root) = self.location_in(ds, env)?;
        let mut profile = profile.clone();
        if let Some(client_id) = self.azure_client_id_for(ds, env)
            && profile.provider == Provider::Azure
        {
            let mut identity = match &profile.credentials {
                Credentials::AzureChain(id) => id.clone(),
                Credentials::Ambient => crate::credentials::AzureIdentity::default(),
                _ => return Ok((profile, root)),
            };
            identity.client_id = Some(client_id.to_string());
            profile.name = format!("{}{}{client_id}", profile.name, profile::IDENTITY_SEPARATOR);
            profile.credentials = Credentials::AzureChain(identity);
            return Ok((profile, root));
        }
        if let Some(role) = self.role_for(ds, env)
            && profile.provider == Provider::Aws
        {
            let aws_profile = match &profile.credentials {
                Credentials::AwsChain { profile: p, .. } => p.clone(),
                Credentials::Ambient => None,
                _ => return Ok((profile, root)),
            };
            profile.name = format!(
                "{}{}{}",
                profile.name,
                profile::IDENTITY_SEPARATOR,
                role.role_arn
            );
            profile.credentials = Credentials::AwsChain {
                profile: aws_profile,
                role: Some(role.clone()),
            };
        }
        Ok((profile, root))
    }

    /// The egress budget for one process.
    pub fn budget(&self) -> crate::meter::Budget {
        self.budget
    }

    /// Every declared cluster, by name.
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.values()
    }

    /// The cluster with this name.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.get(name)
    }

    /// The egress price table (defaults, with the catalog's overrides).
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// Job descriptors found in the catalog folder (files with `specVersion`).
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Reads a job descriptor file and checks it against this catalog, collecting every problem.
    pub fn check_job_file(
        &self,
        file: &Path,
        env: Option<&str>,
    ) -> Result<(Option<Job>, Vec<Problem>)> {
        let mut problems = Vec::new();
        let Some(doc) = parse_file(file, &mut problems)? else {
            if problems.is_empty() {
                return Err(Error::Io {
                    action: "reading job descriptor",
                    path: file.to_path_buf(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                });
            }
            return Ok((None, problems));
        };
        let mut r = Reader::new(file, &mut problems);
        let job = job::read_job(&mut r, &doc, file);
        if let Some(j) = &job {
            problems.extend(job::check_job(self, j, env));
        }
        Ok((job, problems))
    }

    /// Every declared environment, by name.
    pub fn environments(&self) -> impl Iterator<Item = &Environment> {
        self.environments.values()
    }

    /// The environment with this name.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.get(name)
    }

    /// The environment used when none is chosen (`default_environment`).
    pub fn default_environment(&self) -> Option<&str> {
        self.default_environment.as_deref()
    }

    /// Where a dataset lives in environment `env` (`None`: the declared location): the profile
    /// (with its overrides for `env`) and the key segments of the dataset root in its store.
    pub fn location_in(
        &self,
        ds: &Dataset,
        env: Option<&str>,
    ) -> Result<(&StorageProfile, Vec<String>)> {
        let (profile_name, dataset_prefix, env_prefix) = match env {
            Some(e) => match ds.env_locations.get(e) {
                Some((p, prefix)) => (p.as_str(), prefix.as_slice(), &[][..]),
                None => (
                    ds.profile.as_str(),
                    ds.prefix.as_slice(),
                    self.environments
                        .get(e)
                        .map(|x| x.prefix.as_slice())
                        .unwrap_or(&[]),
                ),
            },
            None => (ds.profile.as_str(), ds.prefix.as_slice(), &[][..]),
        };
        let derived = env.map(|e| format!("{profile_name}@{e}"));
        let profile = derived
            .as_deref()
            .and_then(|d| self.profiles.get(d))
            .or_else(|| self.profiles.get(profile_name))
            .ok_or_else(|| Error::UnknownProfile {
                name: profile_name.to_string(),
                needed_by: format!("dataset {}", ds.id),
            })?;
        let mut root = profile.prefix.clone();
        root.extend(env_prefix.iter().cloned());
        root.extend(dataset_prefix.iter().cloned());
        Ok((profile, root))
    }

    /// The catalog folder (absolute), or empty for [`Catalog::empty`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every dataset, ordered by domain, name, version.
    pub fn datasets(&self) -> impl Iterator<Item = &Dataset> {
        self.datasets.values()
    }

    /// The dataset with this id.
    pub fn dataset(&self, id: &DatasetId) -> Option<&Dataset> {
        self.datasets.get(id)
    }

    /// Every storage profile (declared and implicit), by name.
    pub fn profiles(&self) -> impl Iterator<Item = &StorageProfile> {
        self.profiles.values()
    }

    /// The storage profile with this name.
    pub fn profile(&self, name: &str) -> Option<&StorageProfile> {
        self.profiles.get(name)
    }

    /// The profile holding a dataset.
    pub fn profile_of(&self, dataset: &Dataset) -> Result<&StorageProfile> {
        self.profiles
            .get(&dataset.profile)
            .ok_or_else(|| Error::UnknownProfile {
                name: dataset.profile.clone(),
                needed_by: format!("dataset {}", dataset.id),
            })
    }

    /// Up to three declared datasets closest to `id`, for "did you mean" hints.
    pub fn suggest(&self, id: &DatasetId) -> Vec<String> {
        let wanted = id.to_string();
        let mut scored: Vec<(f64, String)> = self
            .datasets
            .keys()
            .map(|k| {
                let s = k.to_string();
                (strsim::jaro_winkler(&wanted, &s), s)
            })
            .filter(|(score, _)| *score > 0.75)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(3).map(|(_, s)| s).collect()
    }

    /// A dataset's physical root: the store it is on and its key segments there.
    pub(crate) fn physical_root(&self, ds: &Dataset) -> Option<(String, Vec<String>)> {
        let p = self.profiles.get(&ds.profile)?;
        let (store, mut parts) = store_identity(p);
        parts.extend(p.prefix.iter().cloned());
        parts.extend(ds.prefix.iter().cloned());
        Some((store, parts))
    }

    /// Descriptors may only name declared environments, and an overlay environment must write
    /// somewhere other than the environment it overlays.
    fn check_environments(&self, problems: &mut Vec<Problem>) {
        // A profile's `environments:` keys (derived profiles `name@env`) must be declared too:
        // a misspelt one would silently leave that environment on the base settings.
        for p in self.profiles.values() {
            let Some((base, env)) = p.environment_override() else {
                continue;
            };
            if self.environments.contains_key(env) {
                continue;
            }
            let closest = self
                .environments
                .keys()
                .map(|k| (strsim::jaro_winkler(env, k), k))
                .filter(|(score, _)| *score > 0.75)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            problems.push(Problem {
                file: p.declared_at.0.clone(),
                line: p.declared_at.1,
                column: 1,
                message: format!(
                    "storage profile {base:?} has settings for environment {env:?}, which lakeroute.yaml does not declare under environments:{closest}"
                ),
            });
        }
        for ds in self.datasets.values() {
            for env in ds.env_locations.keys() {
                if !self.environments.contains_key(env) {
                    problems.push(Problem {
                        file: ds.file.clone(),
                        line: ds.location_mark.line,
                        column: ds.location_mark.col,
                        message: format!("coldStorage.environments names {env:?}, which lakeroute.yaml does not declare"),
                    });
                }
            }
            for env in self.environments.values() {
                let Some(parent) = env.overlay_of.as_deref() else {
                    continue;
                };
                let here = self
                    .location_in(ds, Some(&env.name))
                    .map(|(p, r)| (store_identity(p), p.prefix.clone(), r));
                let there = self
                    .location_in(ds, Some(parent))
                    .map(|(p, r)| (store_identity(p), p.prefix.clone(), r));
                if let (Ok(((s1, base1), _, r1)), Ok(((s2, base2), _, r2))) = (here, there) {
                    let full1: Vec<String> = base1.into_iter().chain(r1).collect();
                    let full2: Vec<String> = base2.into_iter().chain(r2).collect();
                    if s1 == s2 && (full1.starts_with(&full2) && full1.len() == full2.len()) {
                        problems.push(Problem {
                            file: ds.file.clone(),
                            line: ds.location_mark.line,
                            column: ds.location_mark.col,
                            message: format!(
                                "dataset {} would write to {parent}'s location in overlay environment {}; give {} a prefix in lakeroute.yaml or the dataset a location for it",
                                ds.id, env.name, env.name
                            ),
                        });
                    }
                }
            }
        }
    }

    /// The physical roots a dataset occupies: its location, and its mirror's.
    fn roots_of<'a>(
        &self,
        ds: &'a Dataset,
    ) -> Vec<(String, &'a Dataset, Mark, String, Vec<String>)> {
        let mut out = Vec::new();
        if let Some((store, parts)) = self.physical_root(ds) {
            out.push((ds.id.to_string(), ds, ds.location_mark, store, parts));
        }
        if let Some((m, p)) = ds
            .mirror
            .as_ref()
            .and_then(|m| self.profiles.get(&m.profile).map(|p| (m, p)))
        {
            let (store, mut parts) = store_identity(p);
            parts.extend(p.prefix.iter().cloned());
            parts.extend(m.prefix.iter().cloned());
            out.push((format!("{} (mirror)", ds.id), ds, m.mark, store, parts));
        }
        out
    }

    fn check_overlaps(&self, problems: &mut Vec<Problem>) {
        let roots: Vec<_> = self
            .datasets
            .values()
            .flat_map(|d| self.roots_of(d))
            .collect();
        for (i, (label_a, a, _, store_a, parts_a)) in roots.iter().enumerate() {
            for (label_b, b, mark_b, store_b, parts_b) in roots.iter().skip(i + 1) {
                if store_a != store_b {
                    continue;
                }
                let nested = parts_a.starts_with(parts_b) || parts_b.starts_with(parts_a);
                if nested {
                    let how = if parts_a == parts_b { "share" } else { "nest" };
                    problems.push(Problem {
                        file: b.file.clone(),
                        line: mark_b.line,
                        column: mark_b.col,
                        message: format!(
                            "datasets {label_a} and {label_b} {how} the physical prefix {store_b}/{}; give each dataset its own prefix (the other is declared in {})",
                            parts_b.join("/"),
                            a.file.display()
                        ),
                    });
                }
            }
        }
    }
}

/// Which physical store a profile writes to, and the key segments of its root there.
fn store_identity(p: &StorageProfile) -> (String, Vec<String>) {
    match p.provider {
        Provider::Aws => (
            format!(
                "s3://{}{}",
                p.bucket.as_deref().unwrap_or_default(),
                p.endpoint
                    .as_deref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default()
            ),
            Vec::new(),
        ),
        Provider::Azure => (
            format!(
                "az://{}/{}",
                p.account.as_deref().unwrap_or_default(),
                p.container.as_deref().unwrap_or_default()
            ),
            Vec::new(),
        ),
        Provider::Local => (
            "file://".to_string(),
            p.root
                .as_deref()
                .map(|r| {
                    r.components()
                        .filter_map(|c| match c {
                            std::path::Component::Normal(s) => s.to_str().map(str::to_string),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Provider::Memory => (format!("memory://{}", p.name), Vec::new()),
    }
}

/// Matches a dataset's location (and mirror) to profiles. Returns false (with a problem) when
/// it cannot.
fn bind_location(
    r: &mut Reader<'_>,
    ds: &mut Dataset,
    profiles: &mut BTreeMap<String, StorageProfile>,
) -> bool {
    let declared_at = (ds.file.clone(), ds.location_mark.line);
    let Some(profile) = bind(
        r,
        &ds.location,
        &mut ds.prefix,
        declared_at.clone(),
        profiles,
    ) else {
        return false;
    };
    ds.profile = profile;
    if let Some(m) = ds.mirror.as_mut() {
        let Some(profile) = bind(r, &m.location, &mut m.prefix, declared_at.clone(), profiles)
        else {
            return false;
        };
        m.profile = profile;
    }
    for (env, spec, prefix) in ds.env_specs.clone() {
        let mut prefix = prefix;
        let Some(profile) = bind(r, &spec, &mut prefix, declared_at.clone(), profiles) else {
            return false;
        };
        ds.env_locations.insert(env, (profile, prefix));
    }
    true
}

/// The profile serving one location, creating an implicit one for an inline cloud location no
/// declared profile serves. A stand-in's bucket becomes the first prefix segment.
fn bind(
    r: &mut Reader<'_>,
    spec: &LocationSpec,
    prefix: &mut Vec<String>,
    declared_at: (PathBuf, usize),
    profiles: &mut BTreeMap<String, StorageProfile>,
) -> Option<String> {
    match spec {
        LocationSpec::Profile { name, mark } => {
            if profiles.contains_key(name) {
                return Some(name.clone());
            }
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            let hint = yaml::closest(name, &names)
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_else(|| format!("; declared profiles: {}", names.join(", ")));
            r.problem(
                *mark,
                format!("unknown storage profile {name:?} (declare it under storage: in lakeroute.yaml){hint}"),
            );
            None
        }
        LocationSpec::Inline {
            provider,
            bucket,
            account,
            region,
        } => {
            // A declared profile for the same bucket wins: it carries the endpoint, region and
            // credentials. A stand-in (a local folder emulating the cloud) serves its buckets
            // as sub-folders, so the same descriptor runs on a laptop and in the cloud.
            let declared = profiles.values().find_map(|p| {
                let same_place = p.provider == *provider
                    && match provider {
                        Provider::Azure => {
                            p.container.as_deref() == Some(bucket.as_str()) && p.account == *account
                        }
                        _ => p.bucket.as_deref() == Some(bucket.as_str()),
                    };
                if same_place {
                    return Some((p.name.clone(), false));
                }
                let stands_in = p.emulates == Some(*provider) && p.buckets.contains(bucket);
                stands_in.then(|| (p.name.clone(), true))
            });
            match declared {
                Some((name, stand_in)) => {
                    if stand_in {
                        prefix.insert(0, bucket.clone());
                    }
                    Some(name)
                }
                None => {
                    let p = StorageProfile::implicit(
                        *provider,
                        bucket,
                        account.as_deref(),
                        region.clone(),
                        declared_at,
                    );
                    let name = p.name.clone();
                    profiles.entry(name.clone()).or_insert(p);
                    Some(name)
                }
            }
        }
    }
}

fn read_prices(r: &mut Reader<'_>, node: &yaml::Node, prices: &mut PriceTable) {
    if !r.check_map(
        node,
        "prices",
        &["egress_internet", "egress_cross_region", "source"],
        &[],
    ) {
        return;
    }
    for (key, table) in [
        ("egress_internet", &mut prices.egress_internet),
        ("egress_cross_region", &mut prices.egress_cross_region),
    ] {
        let Some(m) = node.get(key) else { continue };
        let what = format!("prices.{key}");
        if !r.check_map(m, &what, &["aws", "azure"], &[]) {
            continue;
        }
        for (provider, name) in [(Provider::Aws, "aws"), (Provider::Azure, "azure")] {
            if let Some((v, mark)) = r.string(m, name, &what) {
                match v.parse::<f64>() {
                    Ok(x) if x >= 0.0 => {
                        table.insert(provider, x);
                    }
                    _ => r.problem(
                        mark,
                        format!("{what}.{name}: {v:?} is not a price in dollars per GB"),
                    ),
                }
            }
        }
    }
}

fn parse_file(file: &Path, problems: &mut Vec<Problem>) -> Result<Option<yaml::Node>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                action: "reading",
                path: file.to_path_buf(),
                source,
            });
        }
    };
    match yaml::parse(&text) {
        Ok(doc) => Ok(Some(doc)),
        Err((mark, msg)) => {
            let Mark { line, col } = mark;
            problems.push(Problem {
                file: file.to_path_buf(),
                line,
                column: col,
                message: format!("YAML syntax error: {msg}"),
            });
            Ok(None)
        }
    }
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        action: "reading catalog folder",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            action: "reading catalog folder",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
