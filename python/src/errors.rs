//! Library errors as Python exceptions: the message is the library's; the type follows the kind
//! (a missing file is `FileNotFoundError`, a bad configuration value `ValueError`, an
//! interrupted run `KeyboardInterrupt`).

use pyo3::PyErr;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError,
    PyValueError,
};
use spikedelay::Error;

/// Converts a library error.
pub fn to_py(e: Error) -> PyErr {
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        msg.push_str(&format!(": {c}"));
        cause = c.source();
    }
    match e {
        Error::NotFound { .. } => PyFileNotFoundError::new_err(msg),
        Error::Config { .. }
        | Error::ConfigParse { .. }
        | Error::Shape { .. }
        | Error::Data { .. } => PyValueError::new_err(msg),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { .. } | Error::Download { .. } => PyOSError::new_err(msg),
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(msg),
        Error::Memory { .. } => PyMemoryError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}
