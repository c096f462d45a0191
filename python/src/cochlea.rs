//! `cochlea`: one waveform through the Heidelberg ear model (library: `data::cochlea`).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use spikedelay::data::cochlea::{Cochlea, CochleaParams, Sampler};

use crate::errors::to_py;

/// Spike times (s) and channel ids.
type Spikes<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<u32>>);

/// Spikes of the mono waveform `wave` (float samples) at `rate` Hz: `(times, units)`, times in
/// seconds and channel ids, sorted by time then channel, as `spikedelay data cochlea` writes
/// them. `sampler`: "fast", or "exact" (lauscher's draws after `np.random.seed(seed)`).
#[pyfunction]
#[pyo3(signature = (wave, rate, channels=700, seed=0, sampler="fast"))]
pub fn cochlea<'py>(
    py: Python<'py>,
    wave: PyReadonlyArray1<'py, f64>,
    rate: usize,
    channels: usize,
    seed: u64,
    sampler: &str,
) -> PyResult<Spikes<'py>> {
    let sampler: Sampler = sampler.parse().map_err(to_py)?;
    let model = Cochlea::new(CochleaParams {
        channels,
        ..CochleaParams::default()
    })
    .map_err(to_py)?;
    let wave = wave.as_slice()?.to_vec();
    let spikes = py
        .detach(|| model.spikes(&wave, rate, seed, sampler))
        .map_err(to_py)?;
    Ok((
        PyArray1::from_vec(py, spikes.times),
        PyArray1::from_vec(py, spikes.units),
    ))
}
