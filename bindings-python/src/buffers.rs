//! Bytes across the boundary.
//!
//! With the `buffer-protocol` feature (the default: abi3 wheels for CPython 3.11+), data comes
//! back as `lakeroute.Bytes`, which exposes the received memory through the buffer protocol
//! without copying it, and any buffer goes in without a copy. Python's stable ABI has the
//! buffer protocol only from 3.11, so the abi3 wheels for CPython 3.9 and 3.10 (built without
//! `buffer-protocol`, with `pyo3/abi3-py39`) return `bytes` (one copy) and take any buffer
//! through `memoryview(obj).tobytes()`; there `lakeroute.Bytes` is `bytes` itself.

use pyo3::prelude::*;

#[cfg(feature = "buffer-protocol")]
pub(crate) use pyo3_bytes::PyBytes as Buf;

#[cfg(not(feature = "buffer-protocol"))]
pub(crate) use copying::Buf;

/// Adds `Bytes` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(feature = "buffer-protocol")]
    m.add_class::<pyo3_bytes::PyBytes>()?;
    #[cfg(not(feature = "buffer-protocol"))]
    m.add("Bytes", m.py().get_type::<pyo3::types::PyBytes>())?;
    Ok(())
}

#[cfg(not(feature = "buffer-protocol"))]
mod copying {
    use std::convert::Infallible;

    use bytes::Bytes;
    use pyo3::prelude::*;
    use pyo3::types::PyBytes;

    /// Bytes that cross into Python as `bytes`, and out of any buffer by copying it.
    pub(crate) struct Buf(Bytes);

    impl Buf {
        pub(crate) fn new(bytes: Bytes) -> Self {
            Self(bytes)
        }

        pub(crate) fn into_inner(self) -> Bytes {
            self.0
        }
    }

    impl AsRef<[u8]> for Buf {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl<'py> IntoPyObject<'py> for Buf {
        type Target = PyBytes;
        type Output = Bound<'py, PyBytes>;
        type Error = Infallible;

        fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
            Ok(PyBytes::new(py, &self.0))
        }
    }

    impl<'py> FromPyObject<'_, 'py> for Buf {
        type Error = PyErr;

        fn extract(obj: Borrowed<'_, 'py, PyAny>) -> Result<Self, Self::Error> {
            if let Ok(b) = obj.cast::<PyBytes>() {
                return Ok(Self(Bytes::copy_from_slice(b.as_bytes())));
            }
            // memoryview() accepts exactly the objects that have a buffer (an int or a str
            // is a TypeError, as in CPython's own APIs); like the 3.11+ wheel, only contiguous
            // buffers of bytes are taken.
            let view = obj
                .py()
                .import("builtins")?
                .getattr("memoryview")?
                .call1((obj,))?;
            let contiguous: bool = view.getattr("c_contiguous")?.extract()?;
            let itemsize: usize = view.getattr("itemsize")?.extract()?;
            if !contiguous || itemsize != 1 {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "expected a C-contiguous buffer of bytes (itemsize 1)",
                ));
            }
            let copied = view.call_method0("tobytes")?;
            let b = copied.cast::<PyBytes>()?;
            Ok(Self(Bytes::copy_from_slice(b.as_bytes())))
        }
    }
}
