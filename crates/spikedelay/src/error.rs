//! The library's error type: every variant names the file, field or option at fault.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in spikedelay, grouped by area.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // === Configuration ===
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: `{key}` {message}")]
    Config {
        /// The TOML key at fault (e.g. `model.max_delay_ms`).
        key: String,
        /// What was expected.
        message: String,
    },
    /// A TOML file could not be parsed (unknown keys, wrong types).
    #[error("cannot parse config file {path}: {message}")]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key.
        message: String,
    },

    // === Shapes ===
    /// Two tensors that must agree do not.
    #[error("shape mismatch in {what}: expected {expected}, got {actual}")]
    Shape {
        /// The operation or tensor.
        what: String,
        /// The expected shape.
        expected: String,
        /// The shape found.
        actual: String,
    },

    // === Files ===
    /// An I/O failure on a named file (the cause is the error's `source`).
    #[error("{action} {path}")]
    Io {
        /// What was being done (`reading`, `writing`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file or folder a dataset needs does not exist.
    #[error("{path}: not found (expected {what})")]
    NotFound {
        /// The missing file or folder.
        path: PathBuf,
        /// What should be there.
        what: String,
    },
    /// A data file or folder is unreadable or malformed.
    #[error("{path}: {message}")]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong, naming the sample index and field.
        message: String,
    },
    /// A download failed.
    #[error("downloading {url}: {message}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A checkpoint is unreadable or does not hold what it must.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensor or metadata key.
        message: String,
    },
}

impl Error {
    /// A configuration error for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A checkpoint error for `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A data error for `path`.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A shape error.
    pub fn shape(
        what: impl Into<String>,
        expected: impl std::fmt::Display,
        actual: impl std::fmt::Display,
    ) -> Self {
        Error::Shape {
            what: what.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
}
