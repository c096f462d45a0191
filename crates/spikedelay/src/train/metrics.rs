//! Run records: one [`EpochMetrics`] per epoch (`metrics.jsonl`) and a final [`Summary`]
//! (`summary.json`), both written atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::provenance::{ConvPathCounts, Provenance};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// What one epoch did. Accuracies are correct / total over the split and losses are means per
/// sample; the `*_batch_mean` fields hold the reference's mean of per-batch accuracies (method
/// §12), which depends on the batch size, for comparing with numbers the reference prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, counted from 1 (as everywhere: progress lines, `best_epoch`, errors).
    pub epoch: usize,
    /// Training loss (training-mode forward: Gaussian kernels, dropout).
    pub train_loss: f64,
    /// Training accuracy from the same forward passes (before each optimiser step).
    pub train_accuracy: f64,
    /// The mean of per-batch training accuracies (the reference's figure).
    #[serde(default)]
    pub train_accuracy_batch_mean: f64,
    /// Validation loss of the rounded (integer-delay) model.
    pub valid_loss: f64,
    /// Validation accuracy of the rounded model: `valid_correct / valid_samples`.
    pub valid_accuracy: f64,
    /// Correctly classified validation samples.
    #[serde(default)]
    pub valid_correct: usize,
    /// Validation samples.
    #[serde(default)]
    pub valid_samples: usize,
    /// The mean of per-batch validation accuracies (the reference's figure).
    #[serde(default)]
    pub valid_accuracy_batch_mean: f64,
    /// Test loss of the rounded model.
    pub test_loss: f64,
    /// Test accuracy of the rounded model: `test_correct / test_samples`.
    pub test_accuracy: f64,
    /// Correctly classified test samples.
    #[serde(default)]
    pub test_correct: usize,
    /// Test samples.
    #[serde(default)]
    pub test_samples: usize,
    /// The mean of per-batch test accuracies (the reference's figure).
    #[serde(default)]
    pub test_accuracy_batch_mean: f64,
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
    /// Worker threads the epoch ran on.
    #[serde(default)]
    pub threads: usize,
    /// Training batches per convolution path, per delay layer.
    #[serde(default)]
    pub conv_paths: ConvPathCounts,
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
    /// Test accuracy (correct / total) at the selected epoch.
    pub test_accuracy: f64,
    /// Correctly classified test samples at the selected epoch.
    #[serde(default)]
    pub test_correct: usize,
    /// Test samples.
    #[serde(default)]
    pub test_samples: usize,
    /// Test accuracy after the last epoch.
    pub last_epoch_test_accuracy: f64,
    /// Selected epoch (best validation accuracy, earliest on ties), counted from 1.
    pub best_epoch: usize,
    /// Validation accuracy at `best_epoch`.
    pub best_valid_accuracy: f64,
    /// Correctly classified validation samples at `best_epoch`.
    #[serde(default)]
    pub valid_correct: usize,
    /// Validation samples.
    #[serde(default)]
    pub valid_samples: usize,
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
    /// The code, build, machine and data behind the figures (`None` in runs written before it
    /// was recorded).
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

/// Writes `metrics.jsonl` (one JSON object per line) atomically; a non-finite number (which
/// JSON would hold as `null`) is an error naming the epoch.
pub fn write_metrics(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut text = String::new();
    for m in history {
        let line = serde_json::to_string(m).expect("metrics serialise");
        if line.contains("null") {
            return Err(Error::data(
                path,
                format!(
                    "epoch {} has a non-finite number, not written: {line}",
                    m.epoch
                ),
            ));
        }
        text.push_str(&line);
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
    let mut history: Vec<EpochMetrics> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::data(path, format!("line {}: not an epoch record ({e})", n + 1))
            })
        })
        .collect::<Result<_>>()?;
    // Files written before epochs were counted from 1 start at 0.
    if history.first().is_some_and(|m| m.epoch == 0) {
        history.iter_mut().for_each(|m| m.epoch += 1);
    }
    Ok(history)
}

/// Writes `summary.json` atomically.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<()> {
    let text = serde_json::to_string_pretty(summary).expect("summary serialises");
    write_atomic(path, text.as_bytes())
}
