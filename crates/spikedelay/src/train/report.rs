//! `spikedelay report`: runs side by side as Markdown tables — their results (epochs, the
//! selected epoch, validation accuracy, test accuracy as correct/total) and their provenance
//! (code, build, machine, data, evaluation, convolution paths). A run is a folder holding a
//! `summary.json` (one seed) or an `aggregate.json` (several seeds; mean ± sample std).

use std::path::{Path, PathBuf};

use super::aggregate::{Aggregate, MeanStd, read_summary};
use super::layout::{RunLayout, files};
use super::metrics::Summary;
use super::provenance::describe_paths;
use crate::error::{Error, Result};

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The run's folder.
    pub dir: PathBuf,
    /// Dataset name.
    pub dataset: String,
    /// Delay mode.
    pub delays: String,
    /// Trainable parameters.
    pub parameters: usize,
    /// How the epoch was selected, in words.
    pub selection: String,
    /// Seeds behind the figures.
    pub seeds: usize,
    /// Test accuracy at the selected epoch.
    pub test_accuracy: MeanStd,
    /// Test accuracy at the last epoch.
    pub last_epoch_test_accuracy: MeanStd,
    /// Wall time per seed, seconds.
    pub wall_seconds: MeanStd,
    /// Validation accuracy at the selected epoch.
    pub valid_accuracy: MeanStd,
    /// Each seed's summary (those found: `seed<k>/summary.json` of a several-seeds folder).
    pub summaries: Vec<Summary>,
    /// The figures found in `dir/plots` (written by `spikedelay plot`), in the order of
    /// [`FIGURES`].
    pub plots: Vec<PathBuf>,
}

/// The figure files `spikedelay plot` writes into `RUN/plots`, which a report links to.
pub const FIGURES: [&str; 4] = ["curves.png", "delays.png", "weight-delay.png", "sample.png"];

impl RunRow {
    /// Reads `dir`'s `aggregate.json`, else its `summary.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let layout = RunLayout::new(dir);
        let agg_path = layout.aggregate();
        let mut summaries = Vec::new();
        let agg = if agg_path.is_file() {
            let text = std::fs::read_to_string(&agg_path).map_err(|source| Error::Io {
                action: "reading",
                path: agg_path.clone(),
                source,
            })?;
            let agg = serde_json::from_str::<Aggregate>(&text).map_err(|e| {
                Error::data(&agg_path, format!("not a spikedelay aggregate.json ({e})"))
            })?;
            for &seed in &agg.seeds {
                let path = layout.seed(seed).summary();
                if path.is_file() {
                    summaries.push(read_summary(&path)?);
                }
            }
            agg
        } else if layout.summary().is_file() {
            summaries.push(read_summary(&layout.summary())?);
            Aggregate::of(&summaries)?
        } else {
            return Err(Error::NotFound {
                path: dir.to_path_buf(),
                what: "a finished run (a folder with summary.json or aggregate.json)".into(),
            });
        };
        Ok(RunRow {
            dir: dir.to_path_buf(),
            dataset: agg.dataset,
            delays: agg.delays,
            parameters: agg.parameters,
            selection: agg.selection,
            seeds: agg.seeds.len(),
            test_accuracy: agg.test_accuracy,
            last_epoch_test_accuracy: agg.last_epoch_test_accuracy,
            wall_seconds: agg.wall_seconds,
            valid_accuracy: agg.best_valid_accuracy,
            summaries,
            plots: FIGURES
                .iter()
                .map(|f| dir.join(files::PLOTS).join(f))
                .filter(|p| p.is_file())
                .collect(),
        })
    }
}

fn percent(m: MeanStd, seeds: usize) -> String {
    if seeds > 1 {
        format!("{:.2} ± {:.2} %", 100.0 * m.mean, 100.0 * m.std)
    } else {
        format!("{:.2} %", 100.0 * m.mean)
    }
}

/// Markdown links to a row's figures, named by file stem (`[curves](run/plots/curves.png)`).
fn plot_links(r: &RunRow) -> String {
    r.plots
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into());
            format!("[{stem}]({})", p.display())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `f(summary)` of each seed, comma-separated (`?` where no summary was found).
fn per_seed(r: &RunRow, f: impl Fn(&Summary) -> String) -> String {
    if r.summaries.is_empty() {
        return "?".into();
    }
    r.summaries.iter().map(f).collect::<Vec<_>>().join(", ")
}

/// The rows as Markdown: a table of results (with a column of plot links when any run has
/// plots), then one of provenance.
pub fn markdown(rows: &[RunRow]) -> String {
    let with_plots = rows.iter().any(|r| !r.plots.is_empty());
    let mut out = String::from(
        "| run | dataset | delays | parameters | selected on | seeds | epochs | selected epoch | \
         valid accuracy | test accuracy (selected epoch) | test correct/total | test accuracy \
         (last epoch) | wall time per seed |",
    );
    out.push_str(if with_plots { " plots |\n" } else { "\n" });
    out.push_str(&"| --- ".repeat(13));
    out.push_str(if with_plots { "| --- |\n" } else { "|\n" });
    for r in rows {
        let selected_on = if r.selection.starts_with("best TEST") {
            "test (optimistic)"
        } else {
            "validation"
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            r.dir.display(),
            r.dataset,
            r.delays,
            r.parameters,
            selected_on,
            r.seeds,
            per_seed(r, |s| s.epochs.to_string()),
            per_seed(r, |s| s.best_epoch.to_string()),
            percent(r.valid_accuracy, r.seeds),
            percent(r.test_accuracy, r.seeds),
            per_seed(r, |s| format!("{}/{}", s.test_correct, s.test_samples)),
            percent(r.last_epoch_test_accuracy, r.seeds),
            r.wall_seconds.mean,
        ));
        if with_plots {
            out.push_str(&format!(" {} |", plot_links(r)));
        }
        out.push('\n');
    }
    out.push_str(
        "\n| run | spikedelay | build | SIMD | threads | device | data | evaluation steps | \
         convolution paths (batches per layer) |\n",
    );
    out.push_str(&"| --- ".repeat(9));
    out.push_str("|\n");
    for r in rows {
        // Seeds of one folder ran alike; each distinct provenance gets a line.
        let mut seen = Vec::new();
        for s in &r.summaries {
            let line = match &s.provenance {
                Some(p) => format!(
                    "| {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} |",
                    r.dir.display(),
                    p.code(),
                    p.build,
                    p.simd,
                    p.threads,
                    p.device,
                    p.device_name,
                    p.data,
                    p.eval_steps,
                    describe_paths(&p.conv_paths)
                ),
                None => format!(
                    "| {} | (not recorded: written by an older spikedelay) | | | | | | | |",
                    r.dir.display()
                ),
            };
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
        for line in seen {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
