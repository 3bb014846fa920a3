//! Awaitables for asyncio, without a thread hop per result.
//!
//! pyo3-async-runtimes hands every finished future to tokio's blocking pool, which takes the GIL
//! and passes the result to the event loop: a thread wake-up and a GIL acquisition per request,
//! a large share of a small GET's client CPU. Here finished futures go down a channel to one
//! completion thread, which takes the GIL once for each batch that has piled up and passes every
//! result to its event loop with `call_soon_threadsafe`. Cancelling the awaitable drops the Rust
//! future; a panic in it becomes a `RuntimeError` on the awaitable.
//!
//! At interpreter exit, a thread that asks for the GIL once finalization has begun is ended
//! with a forced unwind, which aborts a Rust thread (`FATAL: exception not rethrown`, exit
//! status 134). Python switches the GIL between threads in the middle of Python code, so the
//! completion thread can lose it halfway through a batch, after the batch's last result let the
//! main thread finish. An `atexit` hook therefore closes a gate: it waits (without the GIL) for
//! a batch in progress to finish, and later batches are left undelivered (nobody can await them).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Condvar, Mutex, OnceLock};

use futures::FutureExt;
use futures::future::{Either, select};
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::sync::oneshot;

type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

struct Completion {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    result: Deliver,
}

/// Runs `fut` on the shared runtime; returns an asyncio future of the running loop.
pub(crate) fn spawn<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = PyResult<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let event_loop = GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
        })?
        .bind(py)
        .call0()?;
    let future = event_loop.call_method0("create_future")?;
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    future.call_method1(
        "add_done_callback",
        (CancelOnDone {
            tx: Mutex::new(Some(cancel_tx)),
        },),
    )?;
    let completion = (event_loop.unbind(), future.clone().unbind());
    pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        let run = AssertUnwindSafe(fut).catch_unwind();
        let outcome = match select(Box::pin(run), cancel_rx).await {
            Either::Left((outcome, _)) => outcome,
            // The awaitable was cancelled (or is gone): drop the work.
            Either::Right(_) => return,
        };
        let result: Deliver = match outcome {
            Ok(result) => Box::new(move |py| result.and_then(|v| v.into_py_any(py))),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Box::new(move |_| {
                    Err(PyRuntimeError::new_err(format!(
                        "lakeroute panicked: {what}"
                    )))
                })
            }
        };
        let (event_loop, future) = completion;
        if let Some(tx) = completer() {
            let _ = tx.send(Completion {
                event_loop,
                future,
                result,
            });
        }
    });
    Ok(future)
}

/// Tells the Rust side that the awaitable is done (cancelled, or given its result).
#[pyclass(frozen)]
struct CancelOnDone {
    tx: Mutex<Option<oneshot::Sender<()>>>,
}

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
    }
}

/// Sets an asyncio future's result or exception, in its loop, unless it is already done.
#[pyfunction]
fn settle(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.extract::<bool>()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    future.call_method1(method, (value,))?;
    Ok(())
}

fn completer() -> Option<&'static Sender<Completion>> {
    static TX: OnceLock<Option<Sender<Completion>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("lakeroute-asyncio".into())
            .spawn(move || complete(&rx))
            .ok()
            .map(|_| tx)
    })
    .as_ref()
}

/// Whether the completion thread may still take the GIL, and whether it is delivering a batch.
struct Gate {
    closed: bool,
    busy: bool,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    closed: false,
    busy: false,
});
static GATE_IDLE: Condvar = Condvar::new();

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers [`close_gate`] with `atexit`, when the module is imported.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    py.import("atexit")?
        .call_method1("register", (wrap_pyfunction!(close_gate, py)?,))?;
    Ok(())
}

/// Run by `atexit`: lets a batch in progress finish, then keeps the completion thread away from
/// the GIL for good.
#[pyfunction]
fn close_gate(py: Python<'_>) {
    py.detach(|| {
        let mut g = gate();
        g.closed = true;
        while g.busy {
            g = GATE_IDLE
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    });
}

/// Hands finished results to their event loops, one GIL acquisition per batch.
fn complete(rx: &Receiver<Completion>) {
    static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    while let Ok(first) = rx.recv() {
        let batch: Vec<Completion> = std::iter::once(first).chain(rx.try_iter()).collect();
        {
            let mut g = gate();
            if g.closed {
                // The interpreter is exiting: dropping the batch's Python objects would need
                // the GIL, so they are left to the process's end.
                std::mem::forget(batch);
                continue;
            }
            g.busy = true;
        }
        // Marks the batch delivered when it ends, even by a panic, so `close_gate` cannot
        // wait for ever.
        let _busy = Busy;
        Python::attach(|py| {
            let Ok(settle) = SETTLE.get_or_try_init(py, || {
                Ok::<_, PyErr>(wrap_pyfunction!(settle, py)?.into_any().unbind())
            }) else {
                return;
            };
            for c in batch {
                let (ok, value) = match (c.result)(py) {
                    Ok(v) => (true, v),
                    Err(e) => (false, e.into_value(py).into_any()),
                };
                // A closed loop cannot take the result; nobody is waiting for it then.
                let _ = c.event_loop.bind(py).call_method1(
                    "call_soon_threadsafe",
                    (settle.bind(py), c.future.bind(py), ok, value),
                );
            }
        });
    }
}

/// Clears the gate's `busy` flag when dropped.
struct Busy;

impl Drop for Busy {
    fn drop(&mut self) {
        gate().busy = false;
        GATE_IDLE.notify_all();
    }
}
