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
    /// A file ends before the length its own header gives: an interrupted download, copy or
    /// write.
    #[error(
        "{path}: truncated: the file has {size} bytes but its {format} header says {expected}; \
         copy, download or write it again"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The format whose header was read (`HDF5`, `safetensors`).
        format: &'static str,
        /// Bytes on disk.
        size: u64,
        /// Bytes the header says the file holds.
        expected: u64,
    },
    /// A dataset kind read from a folder was given none.
    #[error(
        "invalid configuration: `data.dir` is required for a `{kind}` dataset (the folder holding \
         its files)"
    )]
    DataDirMissing {
        /// The dataset kind (`spike-file`, `audio-folder`).
        kind: String,
    },
    /// A folder was given to a dataset kind that reads none.
    #[error(
        "invalid configuration: `data.dir` does not apply to `{kind}`: the task is generated, not \
         read from a folder"
    )]
    DataDirNotApplicable {
        /// The dataset kind.
        kind: String,
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

    // === Runs ===
    /// A run's output folder cannot be used as asked (another writer holds it, it holds a run
    /// that would be replaced, nothing to resume).
    #[error("run folder {path}: {message}")]
    RunFolder {
        /// The folder.
        path: PathBuf,
        /// What is in the way and what to do.
        message: String,
    },
    /// A fresh run was asked for in a folder that holds one.
    #[error("run folder {path} holds a run ({what})")]
    RunExists {
        /// The folder.
        path: PathBuf,
        /// What makes it a run (`a finished run: summary.json`, ...).
        what: &'static str,
    },
    /// A seed's folder holds a run of another configuration than the one asked for.
    #[error("run folder {path} holds a run of another configuration (its config.toml differs)")]
    OtherConfiguration {
        /// The folder.
        path: PathBuf,
    },
    /// Resuming was asked for, but no epoch of a run in the folder has finished.
    #[error("run folder {path}: nothing to resume yet: {reason}; start the run afresh")]
    NothingToResume {
        /// The folder.
        path: PathBuf,
        /// Why (no folder, no finished epoch).
        reason: String,
    },
    /// Training produced a non-finite loss or parameter; nothing of that batch was saved.
    #[error(
        "training diverged in epoch {epoch}, batch {batch}: {what} is not finite; \
         the last checkpoint (after the previous epoch) is intact. Lower train.max_lr or \
         train.lr_positions, or check the input data"
    )]
    NonFinite {
        /// Epoch, counted from 1.
        epoch: usize,
        /// Batch within the epoch, counted from 1.
        batch: usize,
        /// The first offending quantity (`loss`, or a tensor name as in checkpoints).
        what: String,
    },
    /// The observer asked to stop (an interrupt); the last finished epoch's checkpoint is intact.
    #[error(
        "training interrupted in epoch {epoch} after batch {batch}; the last checkpoint \
         (after the previous epoch) is intact"
    )]
    Interrupted {
        /// Epoch, counted from 1.
        epoch: usize,
        /// Batch within the epoch, counted from 1.
        batch: usize,
    },
    // === Deployment ===
    /// Synapses whose delays exceed what an export target can hold.
    #[error(
        "layer {layer}: {count} synapses have delays above {target}'s {limit} steps (largest \
         {largest}); retrain with a shorter model.max_delay_ms, or clip them to {limit}"
    )]
    DelaysBeyondLimit {
        /// The target (`Loihi 2`).
        target: &'static str,
        /// The layer (0-based; the readout is the last).
        layer: usize,
        /// Synapses beyond the limit.
        count: usize,
        /// The target's largest delay, in steps.
        limit: usize,
        /// The layer's largest delay, in steps.
        largest: usize,
    },

    // === Resources ===
    /// A size from a configuration or a file would need more memory than the machine has.
    #[error("{what} needs an estimated {needed} but {available} is available; {hint}")]
    Memory {
        /// What was being sized, naming the fields.
        what: String,
        /// The estimate, human-readable.
        needed: String,
        /// What the machine has, human-readable.
        available: String,
        /// Which fields to reduce.
        hint: String,
    },
    /// The device a run asked for (`--device`) cannot be used: no driver or library, no
    /// such GPU, or a failure inside it (the message names which and what was looked for).
    #[error("device: {0}")]
    Device(String),
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

    /// A run-folder error for `path`.
    pub fn run_folder(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::RunFolder {
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
