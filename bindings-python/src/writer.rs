//! A streaming writer: `Lake.open(uri, "wb")` and `Lake.put` of file objects write through it,
//! in parts, so memory stays bounded whatever the size.

use std::sync::Arc;

use lakeroute::object_store::buffered::BufWriter;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::errors::to_py;
use crate::lake::block_on_to_the_end;

/// An object being written; nothing is visible at its URI until `close()` succeeds, and
/// `abort()` (or an error) leaves nothing behind.
#[pyclass(name = "Writer", module = "lakeroute._lakeroute", frozen)]
pub(crate) struct PyWriter {
    uri: String,
    inner: Arc<Mutex<Option<BufWriter>>>,
}

impl PyWriter {
    pub(crate) fn new(uri: String, writer: BufWriter) -> Self {
        Self {
            uri,
            inner: Arc::new(Mutex::new(Some(writer))),
        }
    }
}

/// Why a writer's call failed; it becomes a Python exception once the call is back on its
/// Python thread (a runtime thread never asks for the GIL).
enum Failure {
    Closed(String),
    Store(lakeroute::Error),
}

fn to_py_failure(f: Failure) -> PyErr {
    match f {
        Failure::Closed(uri) => PyValueError::new_err(format!("the writer for {uri} is closed")),
        Failure::Store(e) => to_py(e),
    }
}

fn closed(uri: &str) -> Failure {
    Failure::Closed(uri.to_string())
}

fn store_err(uri: &str, e: lakeroute::object_store::Error) -> Failure {
    Failure::Store(lakeroute::Error::from_store(uri, e))
}

fn io_err(uri: &str, e: std::io::Error) -> Failure {
    let source = lakeroute::object_store::Error::Generic {
        store: "lakeroute",
        source: Box::new(e),
    };
    store_err(uri, source)
}

#[pymethods]
impl PyWriter {
    /// Appends bytes (any buffer-protocol object); returns the number written.
    fn write(&self, py: Python<'_>, data: crate::buffers::Buf) -> PyResult<usize> {
        // The caller may reuse its buffer as soon as this returns (io.BufferedWriter does),
        // while the part is still being filled: keep a copy, not a view.
        let bytes = bytes::Bytes::copy_from_slice(data.as_ref());
        let n = bytes.len();
        let (inner, uri) = (Arc::clone(&self.inner), self.uri.clone());
        block_on_to_the_end(
            py,
            async move {
                let mut guard = inner.lock().await;
                let w = guard.as_mut().ok_or_else(|| closed(&uri))?;
                w.put(bytes).await.map_err(|e| store_err(&uri, e))
            },
            to_py_failure,
        )?;
        Ok(n)
    }

    /// Completes the object.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let (inner, uri) = (Arc::clone(&self.inner), self.uri.clone());
        block_on_to_the_end(
            py,
            async move {
                let mut guard = inner.lock().await;
                let Some(mut w) = guard.take() else {
                    return Ok(());
                };
                if let Err(e) = w.shutdown().await {
                    let _ = w.abort().await;
                    return Err(io_err(&uri, e));
                }
                Ok(())
            },
            to_py_failure,
        )
    }

    /// Abandons the object: nothing is written.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let (inner, uri) = (Arc::clone(&self.inner), self.uri.clone());
        block_on_to_the_end(
            py,
            async move {
                let mut guard = inner.lock().await;
                if let Some(mut w) = guard.take() {
                    w.abort().await.map_err(|e| store_err(&uri, e))?;
                }
                Ok(())
            },
            to_py_failure,
        )
    }

    /// True once closed or aborted.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        let inner = Arc::clone(&self.inner);
        block_on_to_the_end(
            py,
            async move { Ok(inner.lock().await.is_none()) },
            to_py_failure,
        )
    }
}
