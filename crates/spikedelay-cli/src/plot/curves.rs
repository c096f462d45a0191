//! Learning curves (`curves.png`): loss, train/valid/test accuracy, σ and both learning rates
//! per epoch. With several seeds each curve is the mean over the seeds with a band of ± one
//! sample standard deviation.

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use spikedelay::train::{EpochMetrics, MeanStd};

use super::canvas::{Canvas, color, font, padded_range, tidy};

/// One curve: per epoch (1-based), the mean and spread over the seeds.
struct Curve {
    label: &'static str,
    points: Vec<(f64, MeanStd)>,
}

/// The curve of `f` over the epochs every seed reached.
fn curve(
    histories: &[Vec<EpochMetrics>],
    label: &'static str,
    f: impl Fn(&EpochMetrics) -> f64,
) -> Curve {
    let epochs = histories.iter().map(Vec::len).min().unwrap_or(0);
    let points = (0..epochs)
        .map(|e| {
            let values: Vec<f64> = histories.iter().map(|h| f(&h[e])).collect();
            ((e + 1) as f64, MeanStd::of(&values))
        })
        .collect();
    Curve { label, points }
}

/// Draws `curves` in one panel; `scale` maps a value to the plotted one (e.g. to percent). With
/// `log`, the y axis is logarithmic and non-positive values are left out (a learning rate of 0
/// when positions are not learned).
fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    curves: &[Curve],
    scale: f64,
    log: bool,
    legend: SeriesLabelPosition,
) -> Result<()> {
    let epochs = curves
        .iter()
        .map(|c| c.points.len())
        .max()
        .unwrap_or(0)
        .max(2) as f64;
    let values = curves.iter().flat_map(|c| {
        c.points
            .iter()
            .flat_map(|(_, m)| [scale * (m.mean - m.std), scale * (m.mean + m.std)])
    });
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, font(18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64);
    if log {
        let (lo, hi) = values
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.5, hi * 1.5)
        } else {
            (1e-6, 1.0)
        };
        let chart = builder
            .build_cartesian_2d(1.0..epochs, (lo..hi).log_scale())
            .context("laying out a learning-curve panel")?;
        draw_curves(
            chart,
            y_desc,
            curves,
            scale,
            |v| v > 0.0,
            legend,
            |y| format!("{y:.0e}"),
        )
    } else {
        let (lo, hi) = padded_range(values);
        let chart = builder
            .build_cartesian_2d(1.0..epochs, lo..hi)
            .context("laying out a learning-curve panel")?;
        draw_curves(chart, y_desc, curves, scale, f64::is_finite, legend, tidy)
    }
}

/// Axes, bands, lines and legend of one panel.
fn draw_curves<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    y_desc: &str,
    curves: &[Curve],
    scale: f64,
    shown: impl Fn(f64) -> bool,
    legend: SeriesLabelPosition,
    y_label: fn(&f64) -> String,
) -> Result<()>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_label_formatter(&tidy)
        .y_label_formatter(&y_label)
        .light_line_style(WHITE)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()
        .context("drawing axes")?;
    for (i, c) in curves.iter().enumerate() {
        let col = color(i);
        let points: Vec<(f64, MeanStd)> = c
            .points
            .iter()
            .copied()
            .filter(|(_, m)| shown(scale * m.mean))
            .collect();
        if points.is_empty() {
            continue;
        }
        if points.iter().any(|(_, m)| m.std > 0.0) {
            let lower = |m: &MeanStd| {
                let v = scale * (m.mean - m.std);
                if shown(v) { v } else { scale * m.mean }
            };
            let band: Vec<(f64, f64)> = points
                .iter()
                .map(|(x, m)| (*x, scale * (m.mean + m.std)))
                .chain(points.iter().rev().map(|(x, m)| (*x, lower(m))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, col.mix(0.2).filled())))
                .context("drawing a spread band")?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, m)| (*x, scale * m.mean)),
                col.stroke_width(2),
            ))
            .context("drawing a curve")?
            .label(c.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], col.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(font(13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .position(legend)
        .draw()
        .context("drawing a legend")?;
    Ok(())
}

/// The 2 × 2 learning-curve figure of one run (`histories` holds one history per seed).
pub fn learning_curves(histories: &[Vec<EpochMetrics>], title: &str) -> Result<Canvas> {
    let seeds = histories.len();
    let spread = if seeds > 1 {
        " (mean ± sample std)".to_string()
    } else {
        String::new()
    };
    let loss = [
        curve(histories, "train", |m| m.train_loss),
        curve(histories, "valid", |m| m.valid_loss),
        curve(histories, "test", |m| m.test_loss),
    ];
    let accuracy = [
        curve(histories, "train", |m| m.train_accuracy),
        curve(histories, "valid", |m| m.valid_accuracy),
        curve(histories, "test", |m| m.test_accuracy),
    ];
    let sigma = [curve(histories, "σ", |m| m.sigma)];
    let lr = [
        curve(histories, "weights", |m| m.lr_weights),
        curve(histories, "positions", |m| m.lr_positions),
    ];
    let mut canvas = Canvas::new(1280, 860);
    canvas.draw(|root| {
        root.fill(&WHITE)?;
        let root = root.titled(&format!("{title}{spread}"), font(22))?;
        let panels = root.split_evenly((2, 2));
        panel(
            &panels[0],
            "loss",
            "cross-entropy per sample",
            &loss,
            1.0,
            false,
            SeriesLabelPosition::UpperRight,
        )?;
        panel(
            &panels[1],
            "accuracy (rounded model for valid/test)",
            "accuracy (%)",
            &accuracy,
            100.0,
            false,
            SeriesLabelPosition::LowerRight,
        )?;
        panel(
            &panels[2],
            "kernel width",
            "σ (steps)",
            &sigma,
            1.0,
            false,
            SeriesLabelPosition::UpperRight,
        )?;
        panel(
            &panels[3],
            "learning rates",
            "learning rate",
            &lr,
            1.0,
            true,
            SeriesLabelPosition::LowerLeft,
        )?;
        Ok(())
    })?;
    Ok(canvas)
}
