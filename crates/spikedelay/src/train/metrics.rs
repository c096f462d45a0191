//! Run records: one [`EpochMetrics`] per epoch (`metrics.jsonl`) and a final [`Summary`]
//! (`summary.json`), both written atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// What one epoch did. Losses and accuracies are means of per-batch means (method §12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index (0-based).
    pub epoch: usize,
    /// Training loss (training-mode forward: Gaussian kernels, dropout).
    pub train_loss: f64,
    /// Training accuracy from the same forward passes.
    pub train_accuracy: f64,
    /// Validation loss of the rounded (integer-delay) model.
    pub valid_loss: f64,
    /// Validation accuracy of the rounded model.
    pub valid_accuracy: f64,
    /// Test loss of the rounded model.
    pub test_loss: f64,
    /// Test accuracy of the rounded model.
    pub test_accuracy: f64,
    /// Effective kernel width σ used in training (`|SIG| + 0.27`; 0 for integer kernels).
    pub sigma: f64,
    /// Learning rate of weights and BatchNorm (one-cycle).
    pub lr_weights: f64,
    /// Learning rate of positions (cosine; 0 when positions are not learned).
    pub lr_positions: f64,
    /// Adam β1 of the weights (cycled).
    pub beta1: f64,
    /// Mean spike rate of each hidden layer in training (spikes per neuron per step).
    pub spike_rates: Vec<f64>,
    /// Wall time of the epoch including evaluation, seconds.
    pub seconds: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Dataset name.
    pub dataset: String,
    /// Delay mode.
    pub delays: String,
    /// Training seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Test accuracy at the epoch selected on the validation split.
    pub test_accuracy: f64,
    /// Test accuracy after the last epoch.
    pub last_epoch_test_accuracy: f64,
    /// Selected epoch (best validation accuracy, earliest on ties; 0-based).
    pub best_epoch: usize,
    /// Validation accuracy at `best_epoch`.
    pub best_valid_accuracy: f64,
    /// How `best_epoch` was chosen.
    pub selection: String,
    /// The input pipeline (dataset, binning or features).
    #[serde(default)]
    pub input: String,
    /// How accuracies are measured.
    pub evaluation: String,
    /// Training wall time, seconds (all sessions of a resumed run).
    pub wall_seconds: f64,
    /// Trainable parameters (method §20).
    pub parameters: usize,
}

/// Writes `metrics.jsonl` (one JSON object per line) atomically.
pub fn write_metrics(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut text = String::new();
    for m in history {
        text.push_str(&serde_json::to_string(m).expect("metrics serialise"));
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads `metrics.jsonl`, naming the line that does not parse.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "reading metrics",
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| Error::Io {
                action: "parsing metrics",
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line {}: {e}", n + 1),
                ),
            })
        })
        .collect()
}

/// Writes `summary.json` atomically.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<()> {
    let text = serde_json::to_string_pretty(summary).expect("summary serialises");
    write_atomic(path, text.as_bytes())
}
