//! Job descriptors and clusters: batch jobs name their sources and sink logically and the
//! cluster they run on.

use std::path::{Path, PathBuf};

use super::Problem;
use super::profile::Provider;
use super::yaml::{Mark, Node, Reader, Value};
use crate::uri::{DatasetId, parse_name, parse_version};

/// A compute cluster a job can run on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cluster {
    /// Its name, as jobs refer to it.
    pub name: String,
    /// The cloud it runs in.
    pub provider: Provider,
    /// Its region.
    pub region: Option<String>,
    /// The engine (`spark-3.4.1`, `polars`, ...), free text.
    pub engine: Option<String>,
}

/// One dataset a job reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDataset {
    /// The dataset.
    pub id: DatasetId,
    pub(crate) mark: Mark,
}

/// The job's framework section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Framework {
    /// `spark-3.4.1-k8s-livy-scala`, ...
    pub kind: String,
    /// The cluster it is deployed to.
    pub cluster: Option<String>,
    /// Main class for JVM jobs.
    pub entrypoint_class: Option<String>,
    /// Extra packages.
    pub dependencies: Vec<String>,
    pub(crate) cluster_mark: Mark,
}

/// A job descriptor.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Job {
    /// The job's name.
    pub name: String,
    /// Descriptor schema version (`v1`).
    pub spec_version: String,
    /// Datasets read.
    pub sources: Vec<JobDataset>,
    /// Dataset written (also read, for appends and merges).
    pub sink: Option<JobDataset>,
    /// How and where it runs.
    pub framework: Framework,
    /// The environment it runs in, when the descriptor fixes one.
    pub environment: Option<String>,
    /// The most egress its plan may estimate (`budget:` in the descriptor); `lakeroute plan`
    /// refuses a plan over it.
    pub budget: crate::meter::Budget,
    /// The descriptor file.
    pub file: PathBuf,
}

const JOB_FIELDS: [&str; 8] = [
    "specVersion",
    "name",
    "description",
    "sources",
    "sink",
    "framework",
    "environment",
    "budget",
];
const DATASET_FIELDS: [&str; 3] = ["domain", "name", "version"];
const FRAMEWORK_FIELDS: [&str; 6] = [
    "kind",
    "cluster",
    "entrypointClass",
    "dependencies",
    "arguments",
    "conf",
];
const CLUSTER_FIELDS: [&str; 4] = ["provider", "region", "engine", "description"];

/// True when a YAML document is a job descriptor rather than a dataset descriptor.
pub(crate) fn is_job(doc: &Node) -> bool {
    doc.get("specVersion").is_some()
}

fn read_dataset_ref(r: &mut Reader<'_>, node: &Node, what: &str) -> Option<JobDataset> {
    if !r.check_map(node, what, &DATASET_FIELDS, &DATASET_FIELDS) {
        return None;
    }
    let name = |r: &mut Reader<'_>, key: &str, kind: &str| {
        let (raw, mark) = r.string(node, key, what)?;
        parse_name(&raw, kind)
            .map_err(|e| r.problem(mark, format!("{what}: {e}")))
            .ok()
    };
    let domain = name(r, "domain", "domain");
    let dataset = name(r, "name", "dataset");
    let version = r.string(node, "version", what).and_then(|(v, mark)| {
        parse_version(&v)
            .map_err(|e| r.problem(mark, format!("{what}: {e}")))
            .ok()
    });
    Some(JobDataset {
        id: DatasetId::new(&domain?, &dataset?, version?).ok()?,
        mark: node.mark,
    })
}

/// Reads a job descriptor.
pub(crate) fn read_job(r: &mut Reader<'_>, doc: &Node, file: &Path) -> Option<Job> {
    let what = "job descriptor";
    if !r.check_map(
        doc,
        what,
        &JOB_FIELDS,
        &["specVersion", "name", "framework"],
    ) {
        return None;
    }
    let spec_version = r
        .string(doc, "specVersion", what)
        .map(|v| v.0)
        .unwrap_or_default();
    if spec_version != "v1"
        && let Some(n) = doc.get("specVersion")
    {
        r.problem(
            n.mark,
            format!("unsupported specVersion {spec_version:?}; this release reads v1"),
        );
    }
    let mut sources = Vec::new();
    match doc.get("sources").map(|n| &n.value) {
        Some(Value::Seq(items)) => {
            for item in items {
                sources.extend(read_dataset_ref(r, item, "sources item"));
            }
        }
        Some(_) => {
            if let Some(n) = doc.get("sources") {
                r.problem(n.mark, "sources must be a list of {domain, name, version}");
            }
        }
        None => {}
    }
    let sink = doc.get("sink").and_then(|n| read_dataset_ref(r, n, "sink"));
    let fw = doc.get("framework")?;
    let mut framework = Framework::default();
    if r.check_map(fw, "framework", &FRAMEWORK_FIELDS, &["kind"]) {
        framework.kind = r
            .string(fw, "kind", "framework")
            .map(|v| v.0)
            .unwrap_or_default();
        if let Some((c, mark)) = r.string(fw, "cluster", "framework") {
            framework.cluster = Some(c);
            framework.cluster_mark = mark;
        }
        framework.entrypoint_class = r.string(fw, "entrypointClass", "framework").map(|v| v.0);
        framework.dependencies = r
            .strings(fw, "dependencies", "framework")
            .into_iter()
            .map(|v| v.0)
            .collect();
    }
    let budget = doc
        .get("budget")
        .map(|n| super::settings::read_budget(r, n))
        .unwrap_or_default();
    Some(Job {
        name: r.string(doc, "name", what).map(|v| v.0).unwrap_or_default(),
        spec_version,
        sources,
        sink,
        framework,
        environment: r.string(doc, "environment", what).map(|v| v.0),
        budget,
        file: file.to_path_buf(),
    })
}

/// Reads the `clusters:` mapping of lakeroute.yaml.
pub(crate) fn read_clusters(r: &mut Reader<'_>, node: &Node) -> Vec<Cluster> {
    let Value::Map(entries) = &node.value else {
        r.problem(
            node.mark,
            "clusters must map names to {provider, region, engine}",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, c) in entries {
        let Some(name) = key.scalar() else { continue };
        let what = format!("cluster {name:?}");
        if !r.check_map(c, &what, &CLUSTER_FIELDS, &["provider"]) {
            continue;
        }
        let provider = match r.string(c, "provider", &what) {
            Some((p, _)) if p == "aws" => Provider::Aws,
            Some((p, _)) if p == "azure" => Provider::Azure,
            Some((p, mark)) => {
                r.problem(
                    mark,
                    format!("{what}: provider must be aws or azure, not {p:?}"),
                );
                continue;
            }
            None => continue,
        };
        out.push(Cluster {
            name: name.to_string(),
            provider,
            region: r.string(c, "region", &what).map(|v| v.0),
            engine: r.string(c, "engine", &what).map(|v| v.0),
        });
    }
    out
}

/// Problems of a job against a catalog: unknown datasets and clusters, unwritable sinks.
pub(crate) fn check_job(catalog: &super::Catalog, job: &Job, env: Option<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut at = |mark: Mark, message: String| {
        problems.push(Problem {
            file: job.file.clone(),
            line: mark.line,
            column: mark.col,
            message,
        });
    };
    for (role, d) in job
        .sources
        .iter()
        .map(|d| ("source", d))
        .chain(job.sink.iter().map(|d| ("sink", d)))
    {
        if catalog.dataset(&d.id).is_none() {
            let hint = catalog.suggest(&d.id);
            let hint = if hint.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", hint.join(" or "))
            };
            at(
                d.mark,
                format!("{role} {} is not declared in the catalog{hint}", d.id),
            );
        }
    }
    if let Some(c) = &job.framework.cluster
        && catalog.cluster(c).is_none()
    {
        let known: Vec<&str> = catalog.clusters().map(|c| c.name.as_str()).collect();
        at(
            job.framework.cluster_mark,
            format!(
                "unknown cluster {c:?}; declared clusters: {}",
                known.join(", ")
            ),
        );
    }
    let env = job.environment.as_deref().or(env);
    if let (Some(sink), Some(e)) = (&job.sink, env) {
        match catalog.environment(e) {
            Some(settings) if settings.read_only => at(
                sink.mark,
                format!(
                    "sink {} is not writable: environment {e:?} is read-only",
                    sink.id
                ),
            ),
            Some(_) => {}
            None => at(sink.mark, format!("unknown environment {e:?}")),
        }
    }
    problems
}
