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
pub(crate) use zero_copy::Buf;

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

#[cfg(feature = "buffer-protocol")]
mod zero_copy {
    use bytes::Bytes;
    use pyo3::prelude::*;

    /// `lakeroute.Bytes` going out, and any C-contiguous buffer coming in without a copy
    /// (`pyo3_bytes::PyBytes`). A caller's buffer is viewed until the last copy of its bytes
    /// is dropped, and releasing the view takes the GIL: on a runtime thread while the
    /// interpreter exits that would abort the process, so once it has begun to exit the view
    /// is left to the process's end (see `awaitable::unless_exiting`).
    pub(crate) struct Buf(pyo3_bytes::PyBytes);

    impl Buf {
        pub(crate) fn new(bytes: Bytes) -> Self {
            Self(pyo3_bytes::PyBytes::new(bytes))
        }

        pub(crate) fn into_inner(self) -> Bytes {
            Bytes::from_owner(Lent(Some(self.0.into_inner())))
        }
    }

    impl AsRef<[u8]> for Buf {
        fn as_ref(&self) -> &[u8] {
            self.0.as_ref()
        }
    }

    impl<'py> IntoPyObject<'py> for Buf {
        type Target = pyo3_bytes::PyBytes;
        type Output = Bound<'py, pyo3_bytes::PyBytes>;
        type Error = PyErr;

        fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
            Bound::new(py, self.0)
        }
    }

    impl<'py> FromPyObject<'_, 'py> for Buf {
        type Error = PyErr;

        fn extract(obj: Borrowed<'_, 'py, PyAny>) -> Result<Self, Self::Error> {
            obj.extract::<pyo3_bytes::PyBytes>().map(Self)
        }
    }

    /// Bytes that may view a caller's buffer, released only while the interpreter runs.
    struct Lent(Option<Bytes>);

    impl AsRef<[u8]> for Lent {
        fn as_ref(&self) -> &[u8] {
            self.0.as_deref().unwrap_or_default()
        }
    }

    impl Drop for Lent {
        fn drop(&mut self) {
            if let Some(bytes) = self.0.take()
                && let Err(release) = crate::awaitable::unless_exiting(move || drop(bytes))
            {
                std::mem::forget(release);
            }
        }
    }
}
