//! The tokio runtime the bindings run every operation on, one per process.
//!
//! A child forked from a process that had started it (`multiprocessing` with the fork start
//! method, PyTorch's `DataLoader` workers, `ProcessPoolExecutor`) inherits the runtime without
//! its worker threads: a task spawned there would never run, and the call waiting for it would
//! hang. So the runtime is built per process: a process that is not the one that built the
//! runtime builds its own, and leaves the inherited one alone (dropping it would wait for
//! threads that do not exist in the child).

use std::sync::Mutex;

use pyo3::Python;
use tokio::runtime::Runtime;

/// The current process's runtime and that process, once built. Runtimes are leaked: one lives
/// as long as its process, and a forked child's inherited one cannot be shut down.
///
/// Taken only with the GIL held (see [`runtime`]): `os.fork` runs with the GIL too, so no other
/// thread can hold this lock at the moment of a fork, and the child always finds it free.
static CURRENT: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// This process's runtime, built on first use (and again, once, in a forked child). `_py`: the
/// GIL must be held.
pub(crate) fn runtime(_py: Python<'_>) -> std::io::Result<&'static Runtime> {
    let pid = std::process::id();
    let mut current = CURRENT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match *current {
        Some((owner, runtime)) if owner == pid => Ok(runtime),
        _ => {
            let runtime: &'static Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("lakeroute-runtime")
                    .build()?,
            ));
            *current = Some((pid, runtime));
            Ok(runtime)
        }
    }
}
