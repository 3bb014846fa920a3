//! Awaitables for asyncio, without a thread hop per result.
//!
//! pyo3-async-runtimes hands every finished future to tokio's blocking pool, which takes the GIL
//! and passes the result to the event loop: a thread wake-up and a GIL acquisition per request,
//! a large share of a small GET's client CPU. Here a finished future never takes the GIL: it
//! joins its event loop's queue of ready results and, if that queue was empty, writes one byte
//! to a socket the loop watches (`loop.add_reader`). The loop's own thread then drains the whole
//! queue in one callback, setting each asyncio future's result directly: one wake-up per batch,
//! no other thread contending for the GIL, no `call_soon_threadsafe` per result. Errors become
//! Python exceptions there too, on the loop's thread. Cancelling the awaitable drops the Rust
//! future; a panic in it becomes a `RuntimeError` on the awaitable. (One thing still takes the
//! GIL on a runtime thread: releasing the view of a caller's buffer that a zero-copy `put` held,
//! through the exit gate below.)
//!
//! Event loops that cannot watch a socket (Windows' proactor loop) get their results from one
//! completion thread instead, which takes the GIL once for each batch that has piled up and
//! passes every result to its loop with `call_soon_threadsafe`. At interpreter exit, a thread
//! that asks for the GIL once finalization has begun is ended with a forced unwind, which aborts
//! a Rust thread (`FATAL: exception not rethrown`, exit status 134). Python switches the GIL
//! between threads in the middle of Python code, so that thread can lose it halfway through a
//! batch, after the batch's last result let the main thread finish. An `atexit` hook therefore
//! closes a gate: it waits (without the GIL) for a batch in progress (or a buffer's release) to
//! finish, and later batches are left undelivered (nobody can await them), later views of
//! buffers unreleased (the process is ending).

use std::future::Future;
#[cfg(unix)]
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
#[cfg(unix)]
use std::sync::Arc;
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

/// Runs `fut` on the shared runtime; returns an asyncio future of the running loop. Its error,
/// if any, becomes a Python exception through `convert` where the result is delivered, with the
/// GIL held: a runtime thread never asks for the GIL (at interpreter exit that aborts it).
pub(crate) fn spawn<'py, T, E>(
    py: Python<'py>,
    fut: impl Future<Output = Result<T, E>> + Send + 'static,
    convert: fn(E) -> PyErr,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    E: Send + 'static,
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
    let route = route_for(&event_loop)?;
    let awaited = future.clone().unbind();
    crate::runtime::runtime(py)?.spawn(async move {
        let run = AssertUnwindSafe(fut).catch_unwind();
        let outcome = match select(Box::pin(run), cancel_rx).await {
            Either::Left((outcome, _)) => outcome,
            // The awaitable was cancelled (or is gone): drop the work.
            Either::Right(_) => return,
        };
        let result: Deliver = match outcome {
            Ok(result) => Box::new(move |py| result.map_err(convert)?.into_py_any(py)),
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
        match route {
            #[cfg(unix)]
            Route::Reader(queue) => queue.push(awaited, result),
            Route::Thread(event_loop) => {
                if let Some(tx) = completer() {
                    let _ = tx.send(Completion {
                        event_loop,
                        future: awaited,
                        result,
                    });
                }
            }
        }
    });
    Ok(future)
}

/// How results reach an event loop.
enum Route {
    /// Through its ready queue and the socket it watches.
    #[cfg(unix)]
    Reader(Arc<ReadyQueue>),
    /// Through the completion thread (the loop cannot watch a socket).
    Thread(Py<PyAny>),
}

/// How results reach `event_loop`: its ready queue, made (and its socket watched) on its first
/// awaitable. Loops are looked up in a weak dictionary, so a loop run again later (or from
/// another thread) keeps its one queue. The dictionary holds the queue weakly too: the loop's
/// selector holds the reader, and with it the queue, until the loop closes; then the queue
/// (with its sockets and any results that came too late) goes once its last request ends, and
/// nothing keeps the loop. A loop that cannot be weakly referenced uses the completion thread.
#[cfg(unix)]
fn route_for(event_loop: &Bound<'_, PyAny>) -> PyResult<Route> {
    let py = event_loop.py();
    static ROUTES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let routes = ROUTES
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("weakref")?
                    .call_method0("WeakKeyDictionary")?
                    .unbind(),
            )
        })?
        .bind(py);
    let thread = || Ok(Route::Thread(event_loop.clone().unbind()));
    let Ok(known) = routes.call_method1("get", (event_loop,)) else {
        return thread();
    };
    if let Ok(known) = known.cast::<KnownQueue>()
        && let Some(queue) = known.get().0.upgrade()
    {
        return Ok(Route::Reader(queue));
    }
    if known.is_instance_of::<pyo3::types::PyBool>() {
        return thread();
    }
    match ReadyQueue::watch(event_loop) {
        Some(queue) => {
            routes.set_item(event_loop, KnownQueue(Arc::downgrade(&queue)))?;
            Ok(Route::Reader(queue))
        }
        None => {
            routes.set_item(event_loop, false)?;
            thread()
        }
    }
}

/// A loop's ready queue, as the route dictionary holds it: weakly.
#[cfg(unix)]
#[pyclass(frozen)]
struct KnownQueue(std::sync::Weak<ReadyQueue>);

/// Without Unix sockets, every loop gets its results through the completion thread.
#[cfg(not(unix))]
fn route_for(event_loop: &Bound<'_, PyAny>) -> PyResult<Route> {
    Ok(Route::Thread(event_loop.clone().unbind()))
}

/// Finished results waiting for their event loop's thread, and the socket pair that wakes it.
#[cfg(unix)]
struct ReadyQueue {
    ready: Mutex<Vec<(Py<PyAny>, Deliver)>>,
    /// Written (one byte) when the queue stops being empty.
    wake: UnixStream,
    /// Watched by the loop; drained before each delivery.
    watched: UnixStream,
}

#[cfg(unix)]
impl ReadyQueue {
    /// A queue whose socket `event_loop` watches (its reader callback holds the queue);
    /// `None` when the loop cannot watch it (no `add_reader`).
    fn watch(event_loop: &Bound<'_, PyAny>) -> Option<Arc<Self>> {
        let (wake, watched) = UnixStream::pair().ok()?;
        wake.set_nonblocking(true).ok()?;
        watched.set_nonblocking(true).ok()?;
        let fd = watched.as_raw_fd();
        let queue = Arc::new(Self {
            ready: Mutex::new(Vec::new()),
            wake,
            watched,
        });
        let reader = Deliverer {
            queue: Arc::clone(&queue),
        };
        event_loop
            .call_method1("add_reader", (fd, reader))
            .ok()
            .map(|_| queue)
    }

    /// Called on a runtime thread, without the GIL.
    fn push(&self, future: Py<PyAny>, result: Deliver) {
        let was_empty = {
            let mut ready = self
                .ready
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ready.push((future, result));
            ready.len() == 1
        };
        // The loop drains the socket before it takes the queue, so a result pushed after it
        // took the queue finds it empty and wakes the loop again. A full socket (it cannot be,
        // with one byte per batch) already wakes the loop.
        if was_empty {
            loop {
                match (&self.wake).write(&[1]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                        tracing::warn!(target: "lakeroute::python", error = %e, "cannot wake an asyncio event loop: results wait for its next wake-up");
                    }
                    _ => {}
                }
                break;
            }
        }
    }
}

/// The reader callback: delivers every ready result, on the loop's thread.
#[cfg(unix)]
#[pyclass(frozen)]
struct Deliverer {
    queue: Arc<ReadyQueue>,
}

#[cfg(unix)]
#[pymethods]
impl Deliverer {
    /// Sets every ready result. An exception that is not an `Exception` (`KeyboardInterrupt`,
    /// `SystemExit`) raised while a result is set is passed on, after the rest of the batch is
    /// set, for the loop to raise.
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let mut sink = [0u8; 64];
        while matches!((&self.queue.watched).read(&mut sink), Ok(n) if n > 0) {}
        let batch = std::mem::take(
            &mut *self
                .queue
                .ready
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut interrupt = None;
        for (future, result) in batch {
            let (ok, value) = outcome(py, result);
            // A result that cannot be set (its awaitable is gone) must not hold up the rest.
            if let Err(e) = settle(future.bind(py), ok, value.bind(py))
                && !e.is_instance_of::<pyo3::exceptions::PyException>(py)
            {
                interrupt.get_or_insert(e);
            }
        }
        interrupt.map_or(Ok(()), Err)
    }
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

/// A finished request's result as [`settle`] takes it: whether it succeeded, and the value or
/// the exception.
fn outcome(py: Python<'_>, result: Deliver) -> (bool, Py<PyAny>) {
    match result(py) {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
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

/// Whether threads that are not Python's may still take the GIL, and how many are at it.
struct Gate {
    closed: bool,
    busy: usize,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    closed: false,
    busy: 0,
});
static GATE_IDLE: Condvar = Condvar::new();
/// The process that imported the module (and so runs the threads the gate counts).
static REGISTERED_BY: OnceLock<u32> = OnceLock::new();

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f`, which may take the GIL, unless the interpreter has begun to exit: then `f` is
/// handed back unrun, for the caller to leak what it owns (dropping it could need the GIL).
pub(crate) fn unless_exiting<F: FnOnce()>(f: F) -> Result<(), F> {
    {
        let mut g = gate();
        if g.closed {
            return Err(f);
        }
        g.busy += 1;
    }
    // Counts `f` out when it ends, even by a panic, so `close_gate` cannot wait for ever.
    let _busy = Busy;
    f();
    Ok(())
}

/// Registers [`close_gate`] with `atexit`, when the module is imported.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let _ = REGISTERED_BY.set(std::process::id());
    py.import("atexit")?
        .call_method1("register", (wrap_pyfunction!(close_gate, py)?,))?;
    Ok(())
}

/// Run by `atexit`: lets what is taking the GIL through [`unless_exiting`] finish (a batch of
/// results, a buffer's release), then keeps those threads away from the GIL for good.
#[pyfunction]
fn close_gate(py: Python<'_>) {
    py.detach(|| {
        let mut g = gate();
        g.closed = true;
        // A forked child has none of its parent's other threads: a count it inherited from
        // them will never go down.
        if REGISTERED_BY.get() != Some(&std::process::id()) {
            return;
        }
        while g.busy > 0 {
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
        let delivered = unless_exiting(|| {
            Python::attach(|py| {
                let Ok(settle) = SETTLE.get_or_try_init(py, || {
                    Ok::<_, PyErr>(wrap_pyfunction!(settle, py)?.into_any().unbind())
                }) else {
                    return;
                };
                for c in batch {
                    let (ok, value) = outcome(py, c.result);
                    // A closed loop cannot take the result; nobody is waiting for it then.
                    let _ = c.event_loop.bind(py).call_method1(
                        "call_soon_threadsafe",
                        (settle.bind(py), c.future.bind(py), ok, value),
                    );
                }
            })
        });
        // The interpreter is exiting: dropping the batch's Python objects would need the GIL,
        // so they are left to the process's end.
        if let Err(undelivered) = delivered {
            std::mem::forget(undelivered);
        }
    }
}

/// Counts one user of the GIL out of the gate when dropped.
struct Busy;

impl Drop for Busy {
    fn drop(&mut self) {
        gate().busy -= 1;
        GATE_IDLE.notify_all();
    }
}
