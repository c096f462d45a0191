//! A sweep's ablation table: one row per grid point with the test accuracy at the selected and
//! at the last epoch as mean ± sample std over the point's finished seeds (with n), the
//! validation accuracy, wall time per run, and links to the first seed's figures; as Markdown,
//! CSV or JSON.

use std::path::PathBuf;

use serde::Serialize;

use super::Sweep;
use crate::error::Result;
use crate::train::aggregate::{Aggregate, MeanStd};
use crate::train::layout::files;
use crate::train::report::FIGURES;

/// One grid point's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRow {
    /// The point's value for each grid axis, in axis order.
    pub point: Vec<String>,
    /// Finished seeds.
    pub n: usize,
    /// Seeds the sweep runs per point.
    pub seeds: usize,
    /// Test accuracy at each seed's selected epoch (`None` while no seed has finished).
    pub test_accuracy: Option<MeanStd>,
    /// Test accuracy at each seed's last epoch.
    pub last_epoch_test_accuracy: Option<MeanStd>,
    /// Validation accuracy at the selected epoch.
    pub valid_accuracy: Option<MeanStd>,
    /// Wall time per run, seconds.
    pub wall_seconds: Option<MeanStd>,
    /// The point's folder.
    pub dir: PathBuf,
    /// Figures found in the seeds' `plots/` folders.
    pub plots: Vec<PathBuf>,
}

/// The table's rows.
pub fn rows(sweep: &Sweep) -> Result<Vec<PointRow>> {
    let mut out = Vec::new();
    for point in sweep.points() {
        let summaries = sweep.point_summaries(&point)?;
        let agg = (!summaries.is_empty())
            .then(|| Aggregate::of(&summaries))
            .transpose()?;
        let dir = sweep.point_dir(&point);
        let plots = sweep
            .manifest()
            .seeds
            .iter()
            .flat_map(|s| {
                let plots = dir.join(format!("seed{s}")).join(files::PLOTS);
                FIGURES.iter().map(move |f| plots.join(f))
            })
            .filter(|p| p.is_file())
            .collect();
        out.push(PointRow {
            point,
            n: summaries.len(),
            seeds: sweep.manifest().seeds.len(),
            test_accuracy: agg.as_ref().map(|a| a.test_accuracy),
            last_epoch_test_accuracy: agg.as_ref().map(|a| a.last_epoch_test_accuracy),
            valid_accuracy: agg.as_ref().map(|a| a.best_valid_accuracy),
            wall_seconds: agg.as_ref().map(|a| a.wall_seconds),
            dir,
            plots,
        });
    }
    Ok(out)
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TableFormat {
    /// A Markdown table.
    Md,
    /// Comma-separated values, a header line first (accuracies as fractions).
    Csv,
    /// A JSON array of rows.
    Json,
}

fn pct(m: Option<MeanStd>) -> String {
    m.map_or_else(
        || "–".into(),
        |m| format!("{:.2} ± {:.2} %", 100.0 * m.mean, 100.0 * m.std),
    )
}

fn num(m: Option<MeanStd>, f: impl Fn(f64) -> String) -> (String, String) {
    m.map_or_else(|| (String::new(), String::new()), |m| (f(m.mean), f(m.std)))
}

/// The rows in `format`; `keys` names the grid axes (the first columns).
pub fn render(keys: &[String], rows: &[PointRow], format: TableFormat) -> String {
    match format {
        TableFormat::Json => serde_json::to_string_pretty(rows).expect("rows serialise") + "\n",
        TableFormat::Csv => {
            let mut s = keys.join(",");
            if !keys.is_empty() {
                s.push(',');
            }
            s.push_str(
                "n,seeds,test_accuracy_mean,test_accuracy_std,last_epoch_test_accuracy_mean,\
                 last_epoch_test_accuracy_std,valid_accuracy_mean,valid_accuracy_std,\
                 wall_seconds_mean,dir\n",
            );
            let g = |x: f64| format!("{x}");
            for r in rows {
                let cells: Vec<String> = r
                    .point
                    .iter()
                    .map(|v| csv_cell(v))
                    .chain([r.n.to_string(), r.seeds.to_string()])
                    .chain({
                        let (a, b) = num(r.test_accuracy, g);
                        let (c, d) = num(r.last_epoch_test_accuracy, g);
                        let (e, f) = num(r.valid_accuracy, g);
                        [
                            a,
                            b,
                            c,
                            d,
                            e,
                            f,
                            num(r.wall_seconds, |x| format!("{x:.1}")).0,
                        ]
                    })
                    .chain([csv_cell(&r.dir.display().to_string())])
                    .collect();
                s.push_str(&cells.join(","));
                s.push('\n');
            }
            s
        }
        TableFormat::Md => {
            let mut head: Vec<String> = keys.to_vec();
            head.extend(
                [
                    "n",
                    "test accuracy (selected epoch)",
                    "test accuracy (last epoch)",
                    "valid accuracy",
                    "wall time per run",
                    "plots",
                ]
                .map(String::from),
            );
            let mut s = format!("| {} |\n", head.join(" | "));
            s.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
            for r in rows {
                let mut cells = r.point.clone();
                cells.push(format!("{}/{}", r.n, r.seeds));
                cells.push(pct(r.test_accuracy));
                cells.push(pct(r.last_epoch_test_accuracy));
                cells.push(pct(r.valid_accuracy));
                cells.push(
                    r.wall_seconds
                        .map_or_else(|| "–".into(), |w| format!("{:.1} s", w.mean)),
                );
                cells.push(
                    r.plots
                        .iter()
                        .map(|p| {
                            let stem = p
                                .file_stem()
                                .map_or_else(String::new, |s| s.to_string_lossy().into());
                            format!("[{stem}]({})", p.display())
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                s.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            s
        }
    }
}

fn csv_cell(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}
