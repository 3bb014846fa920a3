//! `lakeroute.Lake`: every operation, blocking (GIL released) and `_async`.

use std::future::Future;
use std::path::PathBuf;

use lakeroute::{Error, Lake, ObjectInfo};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use serde_json::{Value, json};

use crate::buffers::Buf as PyBytes;
use crate::errors::to_py;
use crate::json::Json;
use crate::writer::PyWriter;

/// Runs `fut` as a task on the shared runtime and waits for it with the GIL released; its error
/// becomes a Python exception through `convert` here, with the GIL (a runtime thread never asks
/// for it).
///
/// The task runs on the runtime's workers, where its sockets' readiness arrives: polled on the
/// calling thread instead (`Runtime::block_on(fut)`), every chunk of a response body cost a
/// wake-up across threads, and a 64 MiB GET took twice the time and three times the CPU of its
/// `_async` twin. A panic in the task resumes here, as it did when it ran on this thread.
///
/// It waits in slices of [`SIGNAL_CHECK`], looking at Python's signals in between, so Ctrl-C
/// (a notebook's "interrupt kernel") stops a slow call: the task is cancelled and the
/// `KeyboardInterrupt` raised.
pub(crate) fn block_on<T: Send + 'static, E: Send + 'static>(
    py: Python<'_>,
    fut: impl Future<Output = Result<T, E>> + Send + 'static,
    convert: fn(E) -> PyErr,
) -> PyResult<T> {
    wait(py, fut, convert, true)
}

/// As [`block_on`], but an interrupt leaves the task running to its end: for steps of a
/// multipart upload, which are not safe to cancel halfway (the writer would lose its buffered
/// part, or an upload would be left unfinished and billed).
pub(crate) fn block_on_to_the_end<T: Send + 'static, E: Send + 'static>(
    py: Python<'_>,
    fut: impl Future<Output = Result<T, E>> + Send + 'static,
    convert: fn(E) -> PyErr,
) -> PyResult<T> {
    wait(py, fut, convert, false)
}

fn wait<T: Send + 'static, E: Send + 'static>(
    py: Python<'_>,
    fut: impl Future<Output = Result<T, E>> + Send + 'static,
    convert: fn(E) -> PyErr,
    cancel: bool,
) -> PyResult<T> {
    // tokio refuses to block one of its own threads: fail before anything has started.
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "lakeroute: a blocking call cannot run on lakeroute's own runtime threads; use the _async method",
        ));
    }
    let runtime = crate::runtime::runtime(py)?;
    let mut task = runtime.spawn(fut);
    let joined = loop {
        let waited = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut task).await })
        });
        match waited {
            Ok(joined) => break joined,
            Err(_) => {
                if let Err(interrupted) = py.check_signals() {
                    if cancel {
                        task.abort();
                    }
                    return Err(interrupted);
                }
            }
        }
    };
    match joined {
        Ok(result) => result.map_err(convert),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "lakeroute: the operation was cancelled: {e}"
        ))),
    }
}

/// How long a blocking call waits before looking at Python's signals again.
const SIGNAL_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// What a cache prune or clear deleted, for Python.
fn swept(s: lakeroute::cache::Swept) -> Json {
    Json(json!({"entries": s.deleted, "bytes": s.freed}))
}

fn run<T: Send + 'static>(
    py: Python<'_>,
    fut: impl Future<Output = lakeroute::Result<T>> + Send + 'static,
) -> PyResult<T> {
    block_on(py, fut, to_py)
}

fn spawn<T>(
    py: Python<'_>,
    fut: impl Future<Output = lakeroute::Result<T>> + Send + 'static,
) -> PyResult<Bound<'_, PyAny>>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    crate::awaitable::spawn(py, fut, to_py)
}

fn info_json(o: &ObjectInfo) -> Value {
    json!({
        "uri": o.uri,
        "size": o.size,
        "last_modified": o.last_modified.to_rfc3339(),
        "e_tag": o.e_tag,
        "version": o.version,
    })
}

fn write_json(w: &lakeroute::WriteInfo) -> Value {
    json!({"uri": w.uri, "size": w.size, "e_tag": w.e_tag, "version": w.version})
}

/// The lake: a catalog of datasets and the stores it routes to.
///
/// `Lake(catalog=None, environment=None)`: `catalog` is the catalog folder (default
/// `LAKEROUTE_CATALOG`; none means only physical URIs resolve), `environment` one of its
/// environments (default `LAKEROUTE_ENV`, then the catalog's default).
#[pyclass(name = "Lake", module = "lakeroute._lakeroute", frozen, subclass)]
pub(crate) struct PyLake {
    /// The lake, and the process that opened it: a forked child opens its own, since the
    /// parent's connections (and the tasks that serve them) do not exist there.
    lake: std::sync::Mutex<(u32, Lake)>,
    /// The catalog folder, absolute, so an unpickled lake finds it from any working directory.
    catalog: Option<PathBuf>,
    /// The environment in use, as resolved (argument, `LAKEROUTE_ENV` or the catalog's
    /// default), so an unpickled lake uses it whatever its process's environment variables.
    environment: Option<String>,
}

/// Opens the lake of `catalog` (none: only physical URIs resolve) in `environment`.
fn open_lake(catalog: Option<&std::path::Path>, environment: Option<&str>) -> PyResult<Lake> {
    let lake = match catalog {
        Some(dir) => Lake::from_catalog(dir),
        None => Ok(Lake::new(lakeroute::Catalog::empty())),
    }
    .map_err(to_py)?;
    match environment {
        Some(env) => lake.with_environment(env).map_err(to_py),
        None => Ok(lake),
    }
}

impl PyLake {
    /// The lake for this process (a forked child's first call opens its own). Called with the
    /// GIL held, as `os.fork` is, so a child never inherits the lock taken.
    fn lake(&self) -> PyResult<Lake> {
        let pid = std::process::id();
        let mut held = self
            .lake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.0 != pid {
            let fresh = (
                pid,
                open_lake(self.catalog.as_deref(), self.environment.as_deref())?,
            );
            // The parent's lake is the parent's: dropping it here would run its destructors in
            // the child (saving the parent's accounting once more, for one).
            std::mem::forget(std::mem::replace(&mut *held, fresh));
        }
        Ok(held.1.clone())
    }
}

/// Defines an operation's blocking method and its `_async` twin from one body.
macro_rules! twin {
    ($(#[$doc:meta])* $name:ident, $async_name:ident, ($($arg:ident : $ty:ty),*) -> $out:ty, |$lake:ident| $body:expr) => {
        #[pymethods]
        impl PyLake {
            $(#[$doc])*
            fn $name(&self, py: Python<'_>, $($arg: $ty),*) -> PyResult<$out> {
                let $lake = self.lake()?;
                run(py, async move { $body })
            }

            /// Awaitable twin of the method without `_async`.
            fn $async_name<'py>(&self, py: Python<'py>, $($arg: $ty),*) -> PyResult<Bound<'py, PyAny>> {
                let $lake = self.lake()?;
                spawn(py, async move { $body })
            }
        }
    };
}

#[pymethods]
impl PyLake {
    #[new]
    #[pyo3(signature = (catalog=None, environment=None))]
    fn new(catalog: Option<PathBuf>, environment: Option<String>) -> PyResult<Self> {
        let catalog = catalog
            .or_else(|| {
                std::env::var_os(lakeroute::CATALOG_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        let lake = open_lake(catalog.as_deref(), environment.as_deref())?;
        let environment = lake.environment().map(str::to_string);
        Ok(Self {
            lake: std::sync::Mutex::new((std::process::id(), lake)),
            catalog,
            environment,
        })
    }

    /// Pickles as its catalog folder (absolute) and the environment it resolved; the unpickled
    /// lake rebuilds its stores and resolves credentials where it lands.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.get();
        let args = (this.catalog.clone(), this.environment.clone());
        PyTuple::new(
            py,
            [
                slf.get_type().into_any(),
                args.into_pyobject(py)?.into_any(),
            ],
        )
    }

    fn __repr__(&self) -> String {
        let quoted = |v: Option<String>| v.map_or("None".to_string(), |s| format!("{s:?}"));
        format!(
            "Lake(catalog={}, environment={})",
            quoted(self.catalog.as_ref().map(|p| p.display().to_string())),
            quoted(self.environment.clone())
        )
    }

    /// The catalog folder, if any.
    #[getter]
    fn catalog(&self) -> Option<String> {
        self.catalog.as_ref().map(|p| p.display().to_string())
    }

    /// The environment in use, if the catalog declares environments.
    #[getter]
    fn environment(&self) -> Option<String> {
        self.environment.clone()
    }

    /// The physical URI a logical (or physical) URI resolves to. No I/O.
    fn resolve(&self, uri: &str) -> PyResult<String> {
        self.lake()?
            .resolve(uri)
            .map(|r| r.physical().to_string())
            .map_err(to_py)
    }

    /// The URI of `file_name` in the partition given by `values` (one per partition column,
    /// `None` for null), escaped as Hive and Spark escape partition paths.
    fn partition_file_uri(
        &self,
        uri: &str,
        values: Vec<Option<String>>,
        file_name: &str,
    ) -> PyResult<String> {
        let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        self.lake()?
            .partition_file_uri(uri, &values, file_name)
            .map_err(to_py)
    }

    /// What this lake has read and written: `{"total": {...}, "by_dataset": {...},
    /// "by_profile": {...}}` (per dataset or physical store, and per storage profile) with
    /// requests, bytes from stores and from the cache, hits, misses, dollars spent and avoided.
    fn stats(&self) -> PyResult<Json> {
        Ok(Json(self.lake()?.stats().to_json()))
    }

    /// The cache folder, if the catalog has one: `{"dir", "entries", "bytes", "max_bytes"}`
    /// (`bytes`: of objects, checksums aside); `None` without a cache.
    fn cache_info(&self, py: Python<'_>) -> PyResult<Option<Json>> {
        let lake = self.lake()?;
        let Some(cache) = lake.cache() else {
            return Ok(None);
        };
        let (entries, bytes) = py.detach(|| cache.summary());
        Ok(Some(Json(json!({
            "dir": cache.dir().display().to_string(),
            "entries": entries,
            "bytes": bytes,
            "max_bytes": cache.max_bytes(),
        }))))
    }

    /// Deletes now the cache entries whose time to live has run out (what a process opening
    /// the folder does at most once an hour): `{"entries", "bytes"}` deleted; `None` without
    /// a cache. Safe while other processes use the folder.
    fn cache_prune(&self, py: Python<'_>) -> PyResult<Option<Json>> {
        let lake = self.lake()?;
        Ok(lake.cache().map(|cache| swept(py.detach(|| cache.prune()))))
    }

    /// Deletes every cache entry, keeping their read counts: `{"entries", "bytes"}` deleted;
    /// `None` without a cache. Safe while other processes use the folder.
    fn cache_clear(&self, py: Python<'_>) -> PyResult<Option<Json>> {
        let lake = self.lake()?;
        Ok(lake.cache().map(|cache| swept(py.detach(|| cache.clear()))))
    }

    /// A streaming writer for `uri` (used by `open(uri, "wb")`).
    fn writer(&self, uri: String) -> PyResult<PyWriter> {
        let w = self.lake()?.writer(&uri).map_err(to_py)?;
        Ok(PyWriter::new(uri, w))
    }
}

twin!(
    /// The whole object, as a zero-copy `Bytes` buffer.
    get, get_async, (uri: String) -> PyBytes,
    |lake| lake.get(&uri).await.map(PyBytes::new)
);

twin!(
    /// Bytes `start` to `end` (exclusive).
    get_range, get_range_async, (uri: String, start: u64, end: u64) -> PyBytes,
    |lake| lake.get_range(&uri, start..end).await.map(PyBytes::new)
);

twin!(
    /// Several ranges at once (nearby ranges are fetched together).
    get_ranges, get_ranges_async, (uri: String, starts: Vec<u64>, ends: Vec<u64>) -> Vec<PyBytes>,
    |lake| {
        if starts.len() != ends.len() {
            return Err(Error::InvalidPartition {
                input: uri.clone(),
                reason: format!("{} starts but {} ends", starts.len(), ends.len()),
            });
        }
        let ranges: Vec<_> = starts.iter().zip(&ends).map(|(s, e)| *s..*e).collect();
        let found: Vec<bytes::Bytes> = lake.get_ranges(&uri, &ranges).await?;
        Ok(found.into_iter().map(PyBytes::new).collect::<Vec<_>>())
    }
);

twin!(
    /// Size, time, ETag and version: `{"uri", "size", "last_modified", "e_tag", "version"}`.
    head, head_async, (uri: String) -> Json,
    |lake| lake.head(&uri).await.map(|o| Json(info_json(&o)))
);

twin!(
    /// Writes `data` (bytes, bytearray, memoryview, numpy arrays: any contiguous buffer).
    put, put_async, (uri: String, data: PyBytes) -> Json,
    |lake| lake.put(&uri, data.into_inner().into()).await.map(|w| Json(write_json(&w)))
);

twin!(
    /// Writes `data` only if nothing exists at `uri` (else `FileExistsError`).
    put_if_absent, put_if_absent_async, (uri: String, data: PyBytes) -> Json,
    |lake| lake.put_if_absent(&uri, data.into_inner().into()).await.map(|w| Json(write_json(&w)))
);

twin!(
    /// Uploads a local file, streamed in parts.
    put_file, put_file_async, (uri: String, path: PathBuf) -> Json,
    |lake| {
        let mut file = tokio::fs::File::open(&path).await.map_err(|source| Error::Io {
            action: "opening",
            path: path.clone(),
            source,
        })?;
        lake.upload(&uri, &mut file, None).await.map(|w| Json(write_json(&w)))
    }
);

twin!(
    /// Every object below `uri`, recursively, sorted.
    list, list_async, (uri: String) -> Json,
    |lake| lake.list_all(&uri).await.map(|v| Json(Value::Array(v.iter().map(info_json).collect())))
);

twin!(
    /// One level below `uri`: `{"prefixes": [...], "objects": [...]}`.
    ls, ls_async, (uri: String) -> Json,
    |lake| lake.list_with_delimiter(&uri).await.map(|l| Json(json!({
        "prefixes": l.prefixes,
        "objects": l.objects.iter().map(info_json).collect::<Vec<_>>(),
    })))
);

twin!(
    /// Deletes an object (a missing one is fine).
    delete, delete_async, (uri: String) -> (),
    |lake| lake.delete(&uri).await
);

twin!(
    /// Deletes everything below `uri`; returns how many objects.
    delete_prefix, delete_prefix_async, (uri: String) -> u64,
    |lake| lake.delete_prefix(&uri).await
);

twin!(
    /// Copies one object (streamed across stores); returns the bytes copied.
    copy, copy_async, (src: String, dst: String) -> u64,
    |lake| lake.copy(&src, &dst).await
);

twin!(
    /// Moves one object.
    rename, rename_async, (src: String, dst: String) -> (),
    |lake| lake.rename(&src, &dst).await
);

twin!(
    /// Copies what differs below `src` to `dst`: `{"copied", "skipped", "bytes"}`.
    sync, sync_async, (src: String, dst: String) -> Json,
    |lake| lake.sync(&src, &dst).await.map(|r| Json(json!({"copied": r.copied, "skipped": r.skipped, "bytes": r.bytes})))
);

twin!(
    /// The dataset's partitions passing the filters (`"country=IT"`, `"day=1|2"`).
    partitions, partitions_async, (uri: String, filters: Vec<String>) -> Json,
    |lake| {
        let parsed = filters.iter().map(|f| lakeroute::partition::Filter::parse(f)).collect::<lakeroute::Result<Vec<_>>>()?;
        let found = lake.partitions(&uri, &parsed).await?;
        Ok(Json(Value::Array(found.iter().map(|p| json!({
            "uri": p.uri,
            "values": p.values.iter().map(|v| (v.column.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>(),
        })).collect())))
    }
);

twin!(
    /// Plans a job descriptor for its cluster (or `cluster`): the same JSON as
    /// `lakeroute plan --output json`.
    plan, plan_async, (job: PathBuf, cluster: Option<String>, inline_credentials: bool) -> Json,
    |lake| {
        let job = lake.load_job(&job)?;
        let mut options = lakeroute::plan::PlanOptions::default().with_inline_credentials(inline_credentials);
        if let Some(c) = cluster {
            options = options.with_cluster(c);
        }
        lake.plan(&job, &options).await.map(|p| Json(p.to_json()))
    }
);
