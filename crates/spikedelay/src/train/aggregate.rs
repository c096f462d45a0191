//! Several seeds of one configuration (`OUT/seed<k>/`) summarised as papers report them: the
//! mean and sample standard deviation of each figure of `summary.json` (`aggregate.json`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::metrics::Summary;
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// Mean and sample standard deviation (`n − 1` in the denominator; 0 for one value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
}

impl MeanStd {
    /// Of `values` (at least one).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        MeanStd {
            mean,
            std: var.sqrt(),
        }
    }
}

/// `aggregate.json`: one configuration over several seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Dataset name.
    pub dataset: String,
    /// Delay mode.
    pub delays: String,
    /// How each seed's epoch was selected.
    pub selection: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// The seeds, in the order given.
    pub seeds: Vec<u64>,
    /// Test accuracy at each seed's selected epoch.
    pub test_accuracy: MeanStd,
    /// Test accuracy after each seed's last epoch.
    pub last_epoch_test_accuracy: MeanStd,
    /// Validation accuracy at each seed's selected epoch.
    pub best_valid_accuracy: MeanStd,
    /// Training wall time per seed, seconds.
    pub wall_seconds: MeanStd,
}

impl Aggregate {
    /// Summarises the runs of `summaries` (one per seed, at least one).
    pub fn of(summaries: &[Summary]) -> Result<Self> {
        let first = summaries
            .first()
            .ok_or_else(|| Error::config("seeds", "needs at least one finished run"))?;
        let stat =
            |f: fn(&Summary) -> f64| MeanStd::of(&summaries.iter().map(f).collect::<Vec<_>>());
        Ok(Aggregate {
            dataset: first.dataset.clone(),
            delays: first.delays.clone(),
            selection: first.selection.clone(),
            parameters: first.parameters,
            seeds: summaries.iter().map(|s| s.seed).collect(),
            test_accuracy: stat(|s| s.test_accuracy),
            last_epoch_test_accuracy: stat(|s| s.last_epoch_test_accuracy),
            best_valid_accuracy: stat(|s| s.best_valid_accuracy),
            wall_seconds: stat(|s| s.wall_seconds),
        })
    }

    /// Writes `aggregate.json` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("aggregate serialises");
        write_atomic(path, text.as_bytes())
    }
}

/// Reads a run's `summary.json`.
pub fn read_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "reading run summary",
        path: path.to_path_buf(),
        source,
    })?;
    let mut s: Summary = serde_json::from_str(&text)
        .map_err(|e| Error::data(path, format!("not a spikedelay summary.json ({e})")))?;
    // Summaries written before provenance was recorded counted epochs from 0.
    if s.provenance.is_none() && s.epochs > 0 {
        s.best_epoch += 1;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let m = MeanStd::of(&[0.9, 0.95, 1.0]);
        assert!((m.mean - 0.95).abs() < 1e-12);
        assert!((m.std - 0.05).abs() < 1e-12);
        assert_eq!(MeanStd::of(&[0.7]).std, 0.0);
    }
}
