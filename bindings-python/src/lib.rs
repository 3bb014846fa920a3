//! Python bindings for lakeroute: the `lakeroute._lakeroute` extension module.
//!
//! Every operation has a blocking form, which releases the GIL while it waits, and an `_async`
//! twin that returns an awaitable; both run on one shared tokio runtime. Bytes come back as
//! `lakeroute.Bytes`, which exposes the buffer protocol over the received memory without
//! copying it (on CPython 3.11+; see `buffers`).

mod awaitable;
mod buffers;
mod errors;
mod json;
mod lake;
mod runtime;
mod writer;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _lakeroute(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // LAKEROUTE_LOG=debug (any tracing filter) writes diagnostics to stderr, as the CLI does.
    lakeroute::logging::init_from_env();
    m.add_class::<lake::PyLake>()?;
    m.add_class::<writer::PyWriter>()?;
    buffers::register(m)?;
    awaitable::register(m)?;
    Ok(())
}
