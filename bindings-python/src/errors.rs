//! lakeroute errors as Python exceptions from `lakeroute.exceptions`.
//!
//! The classes live in Python so they can inherit from both `LakeError` and the builtin a
//! Python user expects (`FileNotFoundError`, `FileExistsError`, `PermissionError`,
//! `ValueError`), which PyO3's single-base exceptions cannot express.

use lakeroute::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

fn class_of(e: &Error) -> &'static str {
    match e {
        Error::InvalidUri { .. } | Error::InvalidRange { .. } | Error::InvalidPartition { .. } => {
            "InvalidUriError"
        }
        Error::PathEscape { .. } => "PathEscapeError",
        Error::DatasetNotFound { .. } => "DatasetNotFoundError",
        Error::NotFound { .. } => "NotFoundError",
        Error::AlreadyExists { .. } => "AlreadyExistsError",
        Error::PermissionDenied { .. } => "PermissionDeniedError",
        Error::ReadOnly { .. } => "ReadOnlyError",
        Error::Precondition { .. } => "PreconditionError",
        Error::NotModified { .. } => "NotModifiedError",
        Error::InvalidCatalog { .. }
        | Error::UnknownProfile { .. }
        | Error::InvalidProfile { .. }
        | Error::UnknownEnvironment { .. }
        | Error::InvalidJob { .. } => "CatalogError",
        Error::Unsupported { .. } => "UnsupportedError",
        Error::Io { .. } => "LocalIOError",
        Error::BudgetExceeded { .. } | Error::JobOverBudget { .. } => "BudgetExceededError",
        _ => "StorageError",
    }
}

/// Converts a lakeroute error into the matching Python exception.
pub(crate) fn to_py(e: Error) -> PyErr {
    Python::attach(|py| {
        let make = || -> PyResult<PyErr> {
            let cls = py.import("lakeroute.exceptions")?.getattr(class_of(&e))?;
            Ok(PyErr::from_value(cls.call1((e.to_string(),))?))
        };
        make().unwrap_or_else(|_| PyRuntimeError::new_err(e.to_string()))
    })
}
