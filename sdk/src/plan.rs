//! Job plans: from a job descriptor to physical locations, ready engine configuration and the
//! egress bill of running it on a given cluster.
//!
//! For each source (read) and the sink (read-write) a plan gives the location in each engine's
//! own form (`s3a://` for Spark, `s3://`/`abfss://` for polars and delta-rs, `s3://`/`abfs://`
//! for fsspec) and the settings each needs. Credentials are referenced by mechanism (the
//! default provider chain, managed identity, anonymous); static keys from a storage profile are
//! written out only with [`PlanOptions::inline_credentials`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::catalog::{Cluster, Credentials, Job, Provider, StorageProfile};
use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::meter::Budget;
use crate::pricing::{GB, Place};
use crate::uri::{DatasetId, PhysicalScheme};

/// How to plan.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Plan for this cluster instead of the job's own.
    pub cluster: Option<String>,
    /// Write static keys into the configuration instead of referring to them.
    pub inline_credentials: bool,
    /// Skip listing the datasets (no requests; sizes and egress dollars stay unknown).
    pub skip_sizes: bool,
}

impl PlanOptions {
    /// Plans for `cluster`.
    pub fn with_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// Writes static keys into the configuration.
    pub fn with_inline_credentials(mut self, yes: bool) -> Self {
        self.inline_credentials = yes;
        self
    }

    /// Plans without listing anything (offline).
    pub fn with_skip_sizes(mut self, yes: bool) -> Self {
        self.skip_sizes = yes;
        self
    }
}

/// Where and how engines reach one dataset.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlannedDataset {
    /// `read` for sources, `read-write` for the sink.
    pub role: &'static str,
    /// The dataset.
    pub id: DatasetId,
    /// Storage format.
    pub format: String,
    /// Partition columns.
    pub partitioning_columns: Vec<String>,
    /// Where the data is (stand-ins count as the cloud they emulate).
    pub place: Place,
    /// The storage profile.
    pub profile: String,
    /// The physical URI of the dataset root.
    pub physical: String,
    /// Root URI for Spark (`s3a://`, `abfss://`).
    pub spark_uri: String,
    /// Spark settings (`spark.hadoop.fs.s3a.bucket.*`, `spark.hadoop.fs.azure.*`).
    pub spark_conf: BTreeMap<String, String>,
    /// Root URI for polars and delta-rs (object_store URLs).
    pub object_store_uri: String,
    /// polars / delta-rs `storage_options`.
    pub storage_options: BTreeMap<String, String>,
    /// Root URI for fsspec (s3fs, adlfs).
    pub fsspec_uri: String,
    /// fsspec filesystem options.
    pub fsspec_options: Value,
    /// How credentials are obtained, in words (never the secret unless inlined).
    pub credentials: String,
    /// Bytes under the dataset root, when it could be listed.
    pub bytes: Option<u64>,
    /// Why `bytes` is unknown, when it is.
    pub size_unknown: Option<String>,
    /// Dollars per GB to bring it to the cluster.
    pub egress_per_gb: f64,
    /// Dollars to read it all from the cluster (sources only).
    pub egress_dollars: f64,
}

/// A job planned for one cluster.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobPlan {
    /// The job's name.
    pub job: String,
    /// The cluster planned for.
    pub cluster: Cluster,
    /// The environment planned in.
    pub environment: Option<String>,
    /// Sources, in the descriptor's order.
    pub sources: Vec<PlannedDataset>,
    /// The sink.
    pub sink: Option<PlannedDataset>,
    /// Bytes the sources hold (known ones).
    pub egress_bytes: u64,
    /// Estimated egress dollars for reading every source once.
    pub egress_dollars: f64,
    /// Cross-cloud reads, unknown sizes, cross-cloud writes.
    pub warnings: Vec<String>,
    /// The budget the job's descriptor sets (checked: the plan fits in it).
    pub budget: Budget,
}

/// One cluster's estimate, for `--advise`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClusterAdvice {
    /// The cluster.
    pub cluster: Cluster,
    /// Bytes read from another region or cloud.
    pub bytes_crossing: u64,
    /// Estimated egress dollars.
    pub egress_dollars: f64,
    /// Sources on another cloud.
    pub cross_cloud_sources: usize,
    /// Whether the plan there fits the job's budget: `Some(true)` when it does or the job sets
    /// none, `None` when it cannot be told (a crossing source could not be sized).
    pub within_budget: Option<bool>,
}

impl Lake {
    /// Reads a job descriptor and fails listing every problem in it.
    pub fn load_job(&self, file: &Path) -> Result<Job> {
        let (job, problems) = self.catalog().check_job_file(file, self.environment())?;
        match job {
            Some(job) if problems.is_empty() => Ok(job),
            _ => Err(Error::InvalidCatalog {
                dir: file.to_path_buf(),
                problems,
            }),
        }
    }

    /// Plans `job` for its cluster (or the one in `options`). When the descriptor sets a
    /// `budget:`, fails with [`Error::JobOverBudget`], naming the first source that takes the
    /// estimate over it, before anything is read; a budget also needs every source that crosses
    /// a region or cloud sized, so it cannot be checked with [`PlanOptions::with_skip_sizes`].
    pub async fn plan(&self, job: &Job, options: &PlanOptions) -> Result<JobPlan> {
        let plan = self.estimate(job, options).await?;
        check_budget(job, &plan)?;
        Ok(plan)
    }

    /// This lake in the environment `job` names (its descriptor's `environment:`), if it names
    /// one: the job runs there, so its sources and sink are planned there.
    fn in_job_environment(&self, job: &Job) -> Result<Lake> {
        match job.environment.as_deref() {
            Some(env) if Some(env) != self.environment() => self.with_environment(env),
            _ => Ok(self.clone()),
        }
    }

    /// [`Lake::plan`] without the budget check.
    async fn estimate(&self, job: &Job, options: &PlanOptions) -> Result<JobPlan> {
        let lake = self.in_job_environment(job)?;
        lake.estimate_here(job, options).await
    }

    /// [`Lake::estimate`] in this lake's environment.
    async fn estimate_here(&self, job: &Job, options: &PlanOptions) -> Result<JobPlan> {
        let name = options
            .cluster
            .clone()
            .or_else(|| job.framework.cluster.clone())
            .ok_or_else(|| Error::InvalidJob {
                job: job.name.clone(),
                reason: "it names no cluster; set framework.cluster or pass --cluster".into(),
            })?;
        let cluster = self.catalog().cluster(&name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.catalog().clusters().map(|c| c.name.as_str()).collect();
            Error::InvalidJob {
                job: job.name.clone(),
                reason: format!(
                    "unknown cluster {name:?}; declared under clusters: {}",
                    known.join(", ")
                ),
            }
        })?;
        let target = Place {
            provider: cluster.provider,
            region: cluster.region.clone(),
        };
        let mut warnings = Vec::new();
        let mut sources = Vec::new();
        // In an overlay environment (dev over prod) lakeroute's own reads fall through to the
        // parent; an engine cannot, and the overlay's own location is usually empty, so sources
        // are read where the parent keeps them. The sink stays in this environment.
        let overlaid = self
            .environment()
            .and_then(|e| self.catalog().environment(e))
            .and_then(|e| e.overlay_of.clone());
        let reader = match &overlaid {
            Some(parent) => self.with_environment(parent)?,
            None => self.clone(),
        };
        for d in &job.sources {
            let p = reader
                .plan_dataset(&d.id, "read", &target, cluster.engine.as_deref(), options)
                .await?;
            if let (Some(parent), Some(env)) = (&overlaid, self.environment()) {
                warnings.push(format!(
                    "{} is read from {parent}'s location, which {env} overlays: the engine does not see objects written in {env} ({})",
                    p.id.root_uri(),
                    self.resolve(&format!("{}/", p.id.root_uri()))?.physical()
                ));
            }
            if p.place.provider != target.provider {
                warnings.push(format!(
                    "cross-cloud read: {} is on {}, the cluster on {target}; every byte costs ${:.4}/GB",
                    p.id.root_uri(),
                    p.place,
                    p.egress_per_gb
                ));
            }
            if let (None, false) = (p.bytes, options.skip_sizes) {
                warnings.push(format!(
                    "could not size {}: {}; its egress is not counted",
                    p.id.root_uri(),
                    p.size_unknown.as_deref().unwrap_or("unknown")
                ));
            }
            sources.push(p);
        }
        let sink = match &job.sink {
            Some(d) => {
                let mut p = self
                    .plan_dataset(
                        &d.id,
                        "read-write",
                        &target,
                        cluster.engine.as_deref(),
                        options,
                    )
                    .await?;
                if p.place.provider != target.provider {
                    let out = self.catalog().prices().egress_per_gb(&target, &p.place);
                    warnings.push(format!(
                        "cross-cloud write: the sink {} is on {}, the cluster on {target}; every byte written costs ${out:.4}/GB",
                        p.id.root_uri(),
                        p.place
                    ));
                }
                p.egress_dollars = 0.0;
                Some(p)
            }
            None => None,
        };
        let egress_bytes = sources
            .iter()
            .filter(|s| s.egress_per_gb > 0.0)
            .filter_map(|s| s.bytes)
            .sum();
        let egress_dollars = sources.iter().map(|s| s.egress_dollars).sum();
        Ok(JobPlan {
            job: job.name.clone(),
            cluster,
            environment: self.environment().map(str::to_string),
            sources,
            sink,
            egress_bytes,
            egress_dollars,
            warnings,
            budget: job.budget,
        })
    }

    /// Every declared cluster with the job's estimated egress there, cheapest first.
    pub async fn advise(&self, job: &Job) -> Result<Vec<ClusterAdvice>> {
        let mut out = Vec::new();
        let clusters: Vec<Cluster> = self.catalog().clusters().cloned().collect();
        for c in clusters {
            let plan = self
                .estimate(job, &PlanOptions::default().with_cluster(c.name.clone()))
                .await?;
            out.push(ClusterAdvice {
                within_budget: match check_budget(job, &plan) {
                    Ok(()) => Some(true),
                    Err(Error::JobOverBudget { .. }) => Some(false),
                    Err(_) => None,
                },
                bytes_crossing: plan.egress_bytes,
                egress_dollars: plan.egress_dollars,
                cross_cloud_sources: plan
                    .sources
                    .iter()
                    .filter(|s| s.place.provider != c.provider)
                    .count(),
                cluster: c,
            });
        }
        out.sort_by(|a, b| {
            a.egress_dollars
                .total_cmp(&b.egress_dollars)
                .then(a.cross_cloud_sources.cmp(&b.cross_cloud_sources))
                .then(a.cluster.name.cmp(&b.cluster.name))
        });
        Ok(out)
    }

    async fn plan_dataset(
        &self,
        id: &DatasetId,
        role: &'static str,
        target: &Place,
        engine: Option<&str>,
        options: &PlanOptions,
    ) -> Result<PlannedDataset> {
        let catalog = self.catalog();
        let ds = catalog.dataset(id).ok_or_else(|| Error::DatasetNotFound {
            uri: id.root_uri().to_string(),
            suggestions: catalog.suggest(id),
        })?;
        // With the dataset's or its domain's role or managed identity, as its requests use.
        let (profile, root) = catalog.effective_profile(ds, self.environment())?;
        let profile = &profile;
        let place = Place {
            provider: profile.effective_provider(),
            region: profile.region.clone(),
        };
        let root_uri = format!("{}/", id.root_uri());
        let physical = self.resolve(&root_uri)?.physical().to_string();
        let (bytes, size_unknown) = if options.skip_sizes {
            (None, Some("sizes were skipped (--no-sizes)".to_string()))
        } else {
            match self.list_all(&root_uri).await {
                Ok(objects) => (Some(objects.iter().map(|o| o.size).sum()), None),
                Err(e) => (None, Some(format!("listing it failed: {e}"))),
            }
        };
        let per_gb = catalog.prices().egress_per_gb(&place, target);
        let mut planned = PlannedDataset {
            role,
            id: id.clone(),
            format: ds.format.clone(),
            partitioning_columns: ds.partitioning_columns.clone(),
            place,
            profile: profile.name.clone(),
            physical: physical.clone(),
            spark_uri: physical.clone(),
            spark_conf: BTreeMap::new(),
            object_store_uri: physical.clone(),
            storage_options: BTreeMap::new(),
            fsspec_uri: physical,
            fsspec_options: json!({}),
            credentials: String::new(),
            bytes,
            size_unknown,
            egress_per_gb: per_gb,
            egress_dollars: bytes.map_or(0.0, |b| b as f64 / GB * per_gb),
        };
        engine_config(
            &mut planned,
            profile,
            &root,
            options.inline_credentials,
            engine,
        );
        Ok(planned)
    }
}

/// Characters engines need percent-encoded in a URL path.
const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'%')
    .add(b'#')
    .add(b'?');

/// Fails when the job sets a budget and the egress of its sources, in order, exceeds it, or
/// when a source that crosses a region or cloud has no known size.
fn check_budget(job: &Job, plan: &JobPlan) -> Result<()> {
    if !job.budget.is_set() {
        return Ok(());
    }
    let (mut bytes, mut dollars) = (0u64, 0.0);
    for s in plan.sources.iter().filter(|s| s.egress_per_gb > 0.0) {
        let Some(n) = s.bytes else {
            return Err(Error::InvalidJob {
                job: job.name.clone(),
                reason: format!(
                    "its budget cannot be checked: the size of {} is unknown ({}); plan with sizes, or remove budget: from the descriptor",
                    s.id.root_uri(),
                    s.size_unknown.as_deref().unwrap_or("not listed")
                ),
            });
        };
        if let Some(budget) = job.budget.exceeded(bytes + n, dollars + s.egress_dollars) {
            return Err(Error::JobOverBudget {
                job: job.name.clone(),
                dataset: s.id.to_string(),
                budget,
                spent: format!("{bytes} bytes, ${dollars:.6}"),
                needed: format!("{n} bytes, ${:.6}", s.egress_dollars),
            });
        }
        bytes += n;
        dollars += s.egress_dollars;
    }
    Ok(())
}

/// The key prefix `root` as a path ending in `/`: percent-encoded for a URL that object_store
/// parses (it decodes paths), as written for Hadoop and fsspec (Hadoop's `Path` quotes every
/// `%`, and s3fs and adlfs do not decode, so an encoded space would name another key).
fn key_path(root: &[String], encode: bool) -> String {
    let segments: Vec<String> = root
        .iter()
        .map(|s| {
            if encode {
                percent_encoding::utf8_percent_encode(s, URL_PATH).to_string()
            } else {
                s.clone()
            }
        })
        .collect();
    let mut path = segments.join("/");
    if !path.is_empty() {
        path.push('/');
    }
    path
}

/// The class of the AWS SDK's default credential chain for S3A on `engine`: Spark 4 ships
/// Hadoop 3.4, built on the AWS SDK v2, which maps only a few v1 class names; earlier Spark
/// ships Hadoop 3.3 and the v1 SDK.
fn aws_default_chain_class(engine: Option<&str>) -> &'static str {
    let spark_major = engine
        .and_then(|e| e.strip_prefix("spark-"))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    if spark_major.is_some_and(|m| m >= 4) {
        "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
    } else {
        "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
    }
}

fn engine_config(
    p: &mut PlannedDataset,
    profile: &StorageProfile,
    root: &[String],
    inline: bool,
    engine: Option<&str>,
) {
    let (path, url_path) = (key_path(root, false), key_path(root, true));
    match profile.provider {
        Provider::Aws => {
            let bucket = profile.bucket.clone().unwrap_or_default();
            p.spark_uri = format!("s3a://{bucket}/{path}");
            p.object_store_uri = format!("s3://{bucket}/{url_path}");
            p.fsspec_uri = format!("s3://{bucket}/{path}");
            let key = |k: &str| format!("spark.hadoop.fs.s3a.bucket.{bucket}.{k}");
            let mut conf = BTreeMap::new();
            let mut opts = BTreeMap::new();
            let mut client = serde_json::Map::new();
            if let Some(region) = &profile.region {
                conf.insert(key("endpoint.region"), region.clone());
                opts.insert("aws_region".into(), region.clone());
                client.insert("region_name".into(), json!(region));
            }
            if let Some(endpoint) = &profile.endpoint {
                conf.insert(key("endpoint"), endpoint.clone());
                opts.insert("aws_endpoint".into(), endpoint.clone());
                client.insert("endpoint_url".into(), json!(endpoint));
                if endpoint.starts_with("http://") {
                    conf.insert(key("connection.ssl.enabled"), "false".into());
                    opts.insert("aws_allow_http".into(), "true".into());
                }
            }
            if profile.path_style {
                conf.insert(key("path.style.access"), "true".into());
                opts.insert("aws_virtual_hosted_style_request".into(), "false".into());
            }
            let mut fs = json!({"anon": false, "client_kwargs": client});
            p.credentials = match &profile.credentials {
                Credentials::Anonymous => {
                    conf.insert(
                        key("aws.credentials.provider"),
                        "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider".into(),
                    );
                    opts.insert("aws_skip_signature".into(), "true".into());
                    fs["anon"] = json!(true);
                    "anonymous (unsigned requests)".into()
                }
                Credentials::AwsKeys {
                    access_key_id,
                    secret_access_key,
                    session_token,
                } if inline => {
                    conf.insert(key("access.key"), access_key_id.clone());
                    conf.insert(key("secret.key"), secret_access_key.expose().to_string());
                    opts.insert("aws_access_key_id".into(), access_key_id.clone());
                    opts.insert(
                        "aws_secret_access_key".into(),
                        secret_access_key.expose().to_string(),
                    );
                    fs["key"] = json!(access_key_id);
                    fs["secret"] = json!(secret_access_key.expose());
                    if let Some(t) = session_token {
                        conf.insert(key("session.token"), t.expose().to_string());
                        conf.insert(
                            key("aws.credentials.provider"),
                            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider".into(),
                        );
                        opts.insert("aws_session_token".into(), t.expose().to_string());
                        fs["token"] = json!(t.expose());
                    }
                    format!("static keys of storage profile {} (inlined)", profile.name)
                }
                Credentials::AwsKeys { access_key_id, .. } => {
                    conf.insert(
                        key("aws.credentials.provider"),
                        "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider".into(),
                    );
                    format!(
                        "static keys ({access_key_id}) of storage profile {}: not inlined; pass --inline-credentials or supply them to the engine",
                        profile.name
                    )
                }
                Credentials::AwsChain { role: Some(r), .. } => {
                    conf.insert(
                        key("aws.credentials.provider"),
                        "org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider".into(),
                    );
                    conf.insert(key("assumed.role.arn"), r.role_arn.clone());
                    conf.insert(
                        key("assumed.role.session.name"),
                        r.session_name.clone().unwrap_or_else(|| "lakeroute".into()),
                    );
                    conf.insert(
                        key("assumed.role.credentials.provider"),
                        aws_default_chain_class(engine).into(),
                    );
                    let external = if r.external_id.is_some() {
                        " (the role's external id is not passed to Spark; S3A has no setting for it)"
                    } else {
                        ""
                    };
                    format!(
                        "role {} assumed on top of the default AWS chain on the cluster{external}",
                        r.role_arn
                    )
                }
                _ => {
                    conf.insert(
                        key("aws.credentials.provider"),
                        aws_default_chain_class(engine).into(),
                    );
                    "the default AWS chain on the cluster (instance profile, IRSA web identity, environment)".into()
                }
            };
            p.spark_conf = conf;
            p.storage_options = opts;
            p.fsspec_options = fs;
        }
        Provider::Azure => {
            let account = profile.account.clone().unwrap_or_default();
            let container = profile.container.clone().unwrap_or_default();
            let host = format!("{account}.dfs.core.windows.net");
            p.spark_uri = format!("abfss://{container}@{host}/{path}");
            p.object_store_uri = format!("abfss://{container}@{host}/{url_path}");
            p.fsspec_uri = format!("abfs://{container}/{path}");
            let key = |k: &str| format!("spark.hadoop.fs.azure.{k}.{host}");
            let mut conf = BTreeMap::new();
            let mut opts =
                BTreeMap::from([("azure_storage_account_name".to_string(), account.clone())]);
            let mut fs = json!({"account_name": account, "anon": false});
            if let Some(endpoint) = &profile.endpoint {
                opts.insert("azure_storage_endpoint".into(), endpoint.clone());
                if endpoint.starts_with("http://") {
                    opts.insert("allow_http".into(), "true".into());
                }
            }
            p.credentials = match &profile.credentials {
                Credentials::AzureAccountKey { account_key } if inline => {
                    conf.insert(key("account.auth.type"), "SharedKey".into());
                    conf.insert(key("account.key"), account_key.expose().to_string());
                    opts.insert(
                        "azure_storage_account_key".into(),
                        account_key.expose().to_string(),
                    );
                    fs["account_key"] = json!(account_key.expose());
                    format!("account key of storage profile {} (inlined)", profile.name)
                }
                Credentials::AzureSas { token } if inline => {
                    conf.insert(key("account.auth.type"), "SAS".into());
                    // hadoop-azure's fixed SAS token (HADOOP-18516, Hadoop 3.3.6 and 3.4).
                    let bare = token.expose().trim_start_matches('?').to_string();
                    conf.insert(key("sas.fixed.token"), bare);
                    opts.insert("azure_storage_sas_key".into(), token.expose().to_string());
                    fs["sas_token"] = json!(token.expose());
                    format!(
                        "SAS token of storage profile {} (inlined; Spark reads it as hadoop-azure's fixed SAS token, Hadoop 3.3.6 or later)",
                        profile.name
                    )
                }
                Credentials::AzureSas { .. } => {
                    conf.insert(key("account.auth.type"), "SAS".into());
                    format!(
                        "SAS token of storage profile {}: not inlined; pass --inline-credentials or give Spark {} (or a SASTokenProvider)",
                        profile.name,
                        key("sas.fixed.token")
                    )
                }
                Credentials::AzureAccountKey { .. } => {
                    conf.insert(key("account.auth.type"), "SharedKey".into());
                    format!(
                        "{} of storage profile {}: not inlined; pass --inline-credentials or give Spark {}",
                        profile.credentials.describe(),
                        profile.name,
                        key("account.key")
                    )
                }
                Credentials::Anonymous => {
                    fs["anon"] = json!(true);
                    opts.insert("azure_skip_signature".into(), "true".into());
                    "anonymous (public container)".into()
                }
                other => {
                    conf.insert(key("account.auth.type"), "OAuth".into());
                    conf.insert(
                        key("account.oauth.provider.type"),
                        "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider".into(),
                    );
                    // A user-assigned identity (the profile's, or its dataset's domain's).
                    if let Credentials::AzureChain(id) = other
                        && let Some(client) = &id.client_id
                    {
                        conf.insert(key("account.oauth2.client.id"), client.clone());
                        opts.insert("azure_client_id".into(), client.clone());
                        fs["client_id"] = json!(client);
                        format!(
                            "the cluster's managed or workload identity with client id {client} (Azure AD token)"
                        )
                    } else {
                        "the cluster's managed or workload identity (Azure AD token)".into()
                    }
                }
            };
            p.spark_conf = conf;
            p.storage_options = opts;
            p.fsspec_options = fs;
        }
        Provider::Local | Provider::Memory => {
            let emulated = profile
                .emulates
                .map(|e| format!(" standing in for {e}"))
                .unwrap_or_default();
            p.credentials = format!(
                "none: {} profile {}{emulated}",
                profile.provider, profile.name
            );
            if profile.provider == Provider::Local {
                p.fsspec_options = json!({"auto_mkdir": true});
            }
            // Engines on the cluster cannot reach a laptop folder or process memory.
            if let Ok(uri) = crate::PhysicalUri::parse(&p.physical)
                && uri.scheme() == PhysicalScheme::Memory
            {
                p.spark_uri = String::new();
            }
        }
    }
}

impl PlannedDataset {
    /// The dataset's part of a plan as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "role": self.role,
            "dataset": self.id.root_uri().to_string(),
            "format": self.format,
            "partitioning_columns": self.partitioning_columns,
            "provider": self.place.provider.as_str(),
            "region": self.place.region,
            "profile": self.profile,
            "physical": self.physical,
            "spark": {"uri": self.spark_uri, "conf": self.spark_conf},
            "polars_delta_rs": {"uri": self.object_store_uri, "storage_options": self.storage_options},
            "fsspec": {"uri": self.fsspec_uri, "options": self.fsspec_options},
            "credentials": self.credentials,
            "bytes": self.bytes,
            "size_unknown": self.size_unknown,
            "egress_per_gb": self.egress_per_gb,
            "egress_dollars": self.egress_dollars,
        })
    }
}

impl JobPlan {
    /// The plan as JSON, for `lakeroute plan --output json` and the Python API.
    pub fn to_json(&self) -> Value {
        json!({
            "job": self.job,
            "cluster": {
                "name": self.cluster.name,
                "provider": self.cluster.provider.as_str(),
                "region": self.cluster.region,
                "engine": self.cluster.engine,
            },
            "environment": self.environment,
            "sources": self.sources.iter().map(PlannedDataset::to_json).collect::<Vec<_>>(),
            "sink": self.sink.as_ref().map(PlannedDataset::to_json),
            "egress": {
                "bytes": self.egress_bytes,
                "dollars": self.egress_dollars,
                "prices": crate::pricing::PRICE_SOURCE,
                "budget": {"bytes": self.budget.bytes, "dollars": self.budget.dollars},
            },
            "warnings": self.warnings,
        })
    }
}
