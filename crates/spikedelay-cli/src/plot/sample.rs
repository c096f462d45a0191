//! One test sample through the evaluated network (`sample.png`): its input, every hidden
//! layer's spikes and the readout membranes whose per-step softmax, summed over time, makes the
//! decision (docs/method.md §12). The forward pass is the event-driven integer-delay engine that
//! `eval` uses.

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use spikedelay::Seq;
use spikedelay::data::{Dataset, make_batch};
use spikedelay::infer::EventNetwork;
use spikedelay::model::{Network, sum_softmax_cross_entropy};

use super::canvas::{Canvas, color, font, padded_range, tidy};

/// Height of one panel in pixels.
const PANEL_HEIGHT: u32 = 260;

/// What the network did with one sample.
pub struct SampleTrace {
    /// Index in the test split.
    pub index: usize,
    /// True class.
    pub label: usize,
    /// Decided class.
    pub predicted: usize,
    /// `(1, T, C_in)` input.
    pub input: Seq,
    /// `(1, T', H_l)` spikes of each hidden layer.
    pub spikes: Vec<Seq>,
    /// `(1, T'', classes)` readout membranes.
    pub readout: Seq,
    /// Class names, where the data has them.
    pub class_names: Vec<String>,
}

impl SampleTrace {
    /// Runs test sample `index` of `data` through `net` (rounded for evaluation here).
    pub fn run(net: &Network, data: &dyn Dataset, index: usize) -> Result<Self> {
        anyhow::ensure!(
            index < data.len(),
            "--sample {index} is out of range: the test split has {} samples",
            data.len()
        );
        let batch = make_batch(data, &[index]);
        let engine = EventNetwork::from_network(&net.rounded());
        let (readout, spikes) = engine.forward(&batch.x, &batch.lengths)?;
        let decision = sum_softmax_cross_entropy(&readout, &batch.labels, false)?;
        Ok(SampleTrace {
            index,
            label: batch.labels[0],
            predicted: decision.predictions[0],
            input: batch.x,
            spikes,
            readout,
            class_names: data.class_names(),
        })
    }

    fn class_name(&self, c: usize) -> String {
        self.class_names
            .get(c)
            .map_or_else(|| format!("class {c}"), |n| format!("{n} ({c})"))
    }
}

/// Draws a `(1, T, C)` sequence as a raster: a dot per non-zero entry, darker for larger values
/// (spike counts), or as a heat map when most entries are non-zero (audio features).
fn raster(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    seq: &Seq,
    time_step_ms: f64,
    span_ms: f64,
) -> Result<()> {
    let (_, steps, channels) = seq.shape();
    let ms = |t: f64| t * time_step_ms;
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(17))
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..span_ms, 0.0..channels.max(1) as f64)
        .context("laying out a raster")?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (ms)")
        .y_desc(y_desc)
        .x_label_formatter(&tidy)
        .y_label_formatter(&tidy)
        .light_line_style(WHITE)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()
        .context("drawing axes")?;
    let values = seq.sample(0);
    let dense = seq.density() > 0.5 || values.iter().any(|&v| v < 0.0);
    let (lo, hi) = padded_range(values.iter().map(|&v| f64::from(v)));
    let cells = (0..steps).flat_map(|t| (0..channels).map(move |c| (t, c)));
    if dense {
        chart
            .draw_series(cells.map(|(t, c)| {
                let v = (f64::from(values[t * channels + c]) - lo) / (hi - lo);
                let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
                Rectangle::new(
                    [
                        (ms(t as f64), c as f64),
                        (ms(t as f64 + 1.0), c as f64 + 1.0),
                    ],
                    RGBColor(shade, shade, 255).filled(),
                )
            }))
            .context("drawing a heat map")?;
    } else {
        let top = values.iter().copied().fold(1.0f32, f32::max);
        chart
            .draw_series(
                cells
                    .filter(|&(t, c)| values[t * channels + c] != 0.0)
                    .map(|(t, c)| {
                        let v = f64::from(values[t * channels + c] / top);
                        Circle::new(
                            (ms(t as f64 + 0.5), c as f64 + 0.5),
                            2,
                            BLACK.mix(0.35 + 0.65 * v).filled(),
                        )
                    }),
            )
            .context("drawing spikes")?;
    }
    Ok(())
}

/// The readout membranes of every class over time; the true class in colour, the decided one
/// (if different) in a second colour, the others grey.
fn readout(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    trace: &SampleTrace,
    time_step_ms: f64,
    span_ms: f64,
) -> Result<()> {
    let (_, steps, classes) = trace.readout.shape();
    let v = trace.readout.sample(0);
    let (lo, hi) = padded_range(v.iter().map(|&x| f64::from(x)));
    let mut chart = ChartBuilder::on(area)
        .caption(
            "readout membranes (decision: argmax of Σ_t softmax)",
            font(17),
        )
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..span_ms, lo..hi)
        .context("laying out the readout panel")?;
    chart
        .configure_mesh()
        .x_desc("time (ms)")
        .y_desc("membrane")
        .x_label_formatter(&tidy)
        .y_label_formatter(&tidy)
        .light_line_style(WHITE)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()
        .context("drawing axes")?;
    let line = |c: usize| {
        (0..steps).map(move |t| {
            (
                (t as f64 + 0.5) * time_step_ms,
                f64::from(v[t * classes + c]),
            )
        })
    };
    for c in (0..classes).filter(|&c| c != trace.label && c != trace.predicted) {
        chart
            .draw_series(LineSeries::new(line(c), BLACK.mix(0.2)))
            .context("drawing a readout trace")?;
    }
    let mut highlighted = vec![(trace.label, color(0), "true")];
    if trace.predicted != trace.label {
        highlighted.push((trace.predicted, color(1), "decided"));
    }
    for (c, col, role) in highlighted {
        chart
            .draw_series(LineSeries::new(line(c), col.stroke_width(2)))
            .context("drawing a readout trace")?
            .label(format!("{role}: {}", trace.class_name(c)))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], col.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(font(13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("drawing a legend")?;
    Ok(())
}

/// The sample figure: input, hidden spikes, readout, one panel each.
pub fn sample_figure(trace: &SampleTrace, time_step_ms: f64, title: &str) -> Result<Canvas> {
    let panels = trace.spikes.len() + 2;
    let mut canvas = Canvas::new(1100, 60 + PANEL_HEIGHT * panels as u32);
    let verdict = if trace.label == trace.predicted {
        "correct"
    } else {
        "wrong"
    };
    let heading = format!(
        "{title}: test sample {}, {} — decided {} ({verdict})",
        trace.index,
        trace.class_name(trace.label),
        trace.class_name(trace.predicted)
    );
    // One time axis for all panels: each layer's output is longer than its input by the right
    // padding, so later panels show the delayed activity after the input ends.
    let steps = std::iter::once(&trace.input)
        .chain(&trace.spikes)
        .chain(std::iter::once(&trace.readout))
        .map(|s| s.shape().1)
        .max()
        .unwrap_or(1)
        .max(1);
    let span = steps as f64 * time_step_ms;
    canvas.draw(|root| {
        root.fill(&WHITE)?;
        let root = root.titled(&heading, font(20))?;
        let areas = root.split_evenly((panels, 1));
        raster(
            &areas[0],
            "input",
            "channel",
            &trace.input,
            time_step_ms,
            span,
        )?;
        for (l, (s, area)) in trace.spikes.iter().zip(&areas[1..]).enumerate() {
            let title = format!(
                "hidden layer {} spikes ({:.3} per neuron per step)",
                l + 1,
                s.density()
            );
            raster(area, &title, "neuron", s, time_step_ms, span)?;
        }
        readout(&areas[panels - 1], trace, time_step_ms, span)?;
        Ok(())
    })?;
    Ok(canvas)
}
