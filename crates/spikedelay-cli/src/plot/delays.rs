//! The learned delays of a trained network: their histogram per layer in ms (`delays.png`, the
//! paper's figure) and weight against delay (`weight-delay.png`). Delays are those of the
//! evaluated model: positions rounded half-to-even, `delay = D//2 − round(P)` steps
//! (docs/method.md §3, §15).

use anyhow::{Context, Result};
use plotters::prelude::*;
use spikedelay::model::{DclsLayer, KernelKind, Network};

use super::canvas::{Canvas, color, font, padded_range, tidy};

/// Most points drawn per weight-against-delay panel (an evenly strided subset beyond it).
const MAX_POINTS: usize = 40_000;

/// The layers that have delays, with their names ("layer 1: 700 → 256", "output: 256 → 20").
fn delay_layers(net: &Network) -> Vec<(String, &DclsLayer)> {
    let hidden = net.blocks.len();
    net.layers()
        .enumerate()
        .filter(|(_, l)| l.kind != KernelKind::Linear)
        .map(|(i, l)| {
            let name = if i < hidden {
                format!("layer {}: {} → {}", i + 1, l.c_in, l.c_out)
            } else {
                format!("output: {} → {}", l.c_in, l.c_out)
            };
            (name, l)
        })
        .collect()
}

/// Synapses per integer delay (`taps` bins) of layer `layer` of every network, averaged over
/// the networks.
fn histogram(networks: &[Network], layer: usize) -> Vec<f64> {
    let taps = networks[0].config.taps;
    let mut counts = vec![0.0; taps];
    for net in networks {
        let (_, l) = &delay_layers(net)[layer];
        for j in 0..l.elements() {
            counts[l.delay_of(j)] += 1.0;
        }
    }
    counts.iter_mut().for_each(|c| *c /= networks.len() as f64);
    counts
}

/// Why a network has no delay figures, if it has none.
pub fn no_delays(net: &Network) -> Option<&'static str> {
    delay_layers(net)
        .is_empty()
        .then_some("the network has no delays (`delays = \"none\"`)")
}

/// One panel per delay layer, side by side.
fn panels(canvas_width: u32, layers: usize) -> (u32, u32) {
    let width = canvas_width.max(360 * layers as u32);
    (width, 460)
}

/// The histogram of integer delays per layer, in ms (mean counts when several seeds are given).
pub fn delay_histogram(networks: &[Network], time_step_ms: f64, title: &str) -> Result<Canvas> {
    let layers = delay_layers(&networks[0]);
    let (w, h) = panels(1280, layers.len());
    let mut canvas = Canvas::new(w, h);
    let seeds = networks.len();
    let y_desc = if seeds > 1 {
        format!("synapses (mean over {seeds} seeds)")
    } else {
        "synapses".to_string()
    };
    canvas.draw(|root| {
        root.fill(&WHITE)?;
        let root = root.titled(title, font(22))?;
        let areas = root.split_evenly((1, layers.len()));
        for (i, ((name, _), area)) in layers.iter().zip(&areas).enumerate() {
            let counts = histogram(networks, i);
            let taps = counts.len();
            let top = counts.iter().copied().fold(1.0, f64::max) * 1.08;
            let mut chart = ChartBuilder::on(area)
                .caption(name, font(17))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    -0.5 * time_step_ms..(taps as f64 - 0.5) * time_step_ms,
                    0.0..top,
                )
                .context("laying out a delay histogram")?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("delay (ms)")
                .y_desc(y_desc.as_str())
                .x_label_formatter(&tidy)
                .y_label_formatter(&tidy)
                .light_line_style(WHITE)
                .label_style(font(13))
                .axis_desc_style(font(14))
                .draw()
                .context("drawing axes")?;
            let col = color(i);
            chart
                .draw_series(counts.iter().enumerate().map(|(d, &c)| {
                    let x0 = (d as f64 - 0.4) * time_step_ms;
                    let x1 = (d as f64 + 0.4) * time_step_ms;
                    Rectangle::new([(x0, 0.0), (x1, c)], col.filled())
                }))
                .context("drawing bars")?;
        }
        Ok(())
    })?;
    Ok(canvas)
}

/// Weight against integer delay, one panel per layer (first network only; at most
/// [`MAX_POINTS`] synapses per panel, evenly strided). A small deterministic horizontal jitter
/// separates synapses that share a delay.
pub fn weight_vs_delay(net: &Network, time_step_ms: f64, title: &str) -> Result<Canvas> {
    let layers = delay_layers(net);
    let (w, h) = panels(1280, layers.len());
    let mut canvas = Canvas::new(w, h);
    canvas.draw(|root| {
        root.fill(&WHITE)?;
        let root = root.titled(title, font(22))?;
        let areas = root.split_evenly((1, layers.len()));
        for (i, ((name, layer), area)) in layers.iter().zip(&areas).enumerate() {
            let n = layer.elements();
            let stride = n.div_ceil(MAX_POINTS).max(1);
            let (lo, hi) = padded_range(layer.weight.iter().map(|&w| f64::from(w)));
            let taps = layer.taps as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(name, font(17))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(-0.5 * time_step_ms..(taps - 0.5) * time_step_ms, lo..hi)
                .context("laying out a weight-delay panel")?;
            chart
                .configure_mesh()
                .x_desc("delay (ms)")
                .y_desc("weight")
                .x_label_formatter(&tidy)
                .y_label_formatter(&tidy)
                .light_line_style(WHITE)
                .label_style(font(13))
                .axis_desc_style(font(14))
                .draw()
                .context("drawing axes")?;
            let col = color(i).mix(0.5);
            chart
                .draw_series((0..n).step_by(stride).map(|j| {
                    let jitter =
                        ((j.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0 - 0.5) * 0.6;
                    let x = (layer.delay_of(j) as f64 + jitter) * time_step_ms;
                    Circle::new((x, f64::from(layer.weight[j])), 2, col.filled())
                }))
                .context("drawing synapses")?;
        }
        Ok(())
    })?;
    Ok(canvas)
}
