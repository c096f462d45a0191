//! Benchmark workloads shared by `spikedelay bench` and the side-by-side comparison with the
//! reference (`tools/reference/bench_side_by_side.py`): the paper's SHD and SSC network shapes,
//! synthetic spike input at SHD-like density, and timed training steps and inference batches.

use std::path::Path;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::model::{ConvPath, DelayMode, Network, NetworkConfig};
use crate::seq::Seq;
use crate::train::{NetworkOptimizer, sum_softmax_cross_entropy};

/// Mean spike count per (step, pooled channel) of the synthetic input: about 8,000 spikes per
/// 100-step, 140-channel sample, as an SHD word (6–9 k spikes, `shared/spec/datasets.md` §4).
pub const SHD_LIKE_RATE: f64 = 0.57;

/// A network shape and batch to time.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Name (`shd`, `ssc`).
    pub name: &'static str,
    /// The network (method §18).
    pub network: NetworkConfig,
    /// Batch size.
    pub batch: usize,
    /// Input steps `T`.
    pub steps: usize,
}

impl Workload {
    /// SHD: 140 → 256 → 256 → 20, D = 25, τ = 1.005, dropout 0.4, batch 256, T = 100.
    pub fn shd() -> Self {
        Workload {
            name: "shd",
            network: NetworkConfig {
                inputs: 140,
                hidden: vec![256, 256],
                outputs: 20,
                taps: 25,
                kernel_count: 1,
                tau: (10.05 + 1e-9) / 10.0,
                v_threshold: 1.0,
                dropout: 0.4,
                delays: DelayMode::Learned,
                sig_init: 12.0,
            },
            batch: 256,
            steps: 100,
        }
    }

    /// SSC: 140 → 512 → 512 → 512 → 35, D = 31, τ = 1.5, dropout 0.25, batch 128, T = 100.
    pub fn ssc() -> Self {
        Workload {
            name: "ssc",
            network: NetworkConfig {
                inputs: 140,
                hidden: vec![512, 512, 512],
                outputs: 35,
                taps: 31,
                kernel_count: 1,
                tau: (15.0 + 1e-9) / 10.0,
                v_threshold: 1.0,
                dropout: 0.25,
                delays: DelayMode::Learned,
                sig_init: 15.0,
            },
            batch: 128,
            steps: 100,
        }
    }

    /// The main job's network (built-in `delay-patterns` task, default configuration):
    /// 20 → 48 → 48 → 20, D = 25, τ = 1.005, dropout 0.25, batch 64, T = 50.
    pub fn main_job() -> Self {
        Workload {
            name: "main",
            network: NetworkConfig {
                inputs: 20,
                hidden: vec![48, 48],
                outputs: 20,
                taps: 25,
                kernel_count: 1,
                tau: (10.05 + 1e-9) / 10.0,
                v_threshold: 1.0,
                dropout: 0.25,
                delays: DelayMode::Learned,
                sig_init: 12.0,
            },
            batch: 64,
            steps: 50,
        }
    }

    /// The workload called `name`.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "shd" => Ok(Self::shd()),
            "ssc" => Ok(Self::ssc()),
            "main" => Ok(Self::main_job()),
            other => Err(Error::config(
                "bench --config",
                format!("must be `shd`, `ssc` or `main`, got `{other}`"),
            )),
        }
    }

    /// Synthetic input `(B, T, C)`: Poisson counts at [`SHD_LIKE_RATE`], and uniform labels.
    pub fn synthetic_input(&self, seed: u64) -> (Seq, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = self.batch * self.steps * self.network.inputs;
        let limit = (-SHD_LIKE_RATE).exp();
        let data = (0..n)
            .map(|_| {
                // Knuth's Poisson sampler (small mean)
                let (mut k, mut p) = (0u32, 1.0f64);
                loop {
                    p *= rng.random::<f64>();
                    if p <= limit {
                        break k as f32;
                    }
                    k += 1;
                }
            })
            .collect();
        let labels = (0..self.batch)
            .map(|_| rng.random_range(0..self.network.outputs))
            .collect();
        (
            Seq {
                batch: self.batch,
                steps: self.steps,
                channels: self.network.inputs,
                data,
            },
            labels,
        )
    }
}

/// Writes a benchmark input as safetensors: `input` `(T, B, C)` f32 (the reference's layout) and
/// `labels` `(B)` i64.
pub fn write_input(path: &Path, x: &Seq, labels: &[usize]) -> Result<()> {
    let (b, t, c) = x.shape();
    let mut tbc = Vec::with_capacity(x.data.len() * 4);
    for ti in 0..t {
        for bi in 0..b {
            for v in &x.data[(bi * t + ti) * c..(bi * t + ti + 1) * c] {
                tbc.extend(v.to_le_bytes());
            }
        }
    }
    let lab: Vec<u8> = labels
        .iter()
        .flat_map(|&y| (y as i64).to_le_bytes())
        .collect();
    let err = |e: safetensors::SafeTensorError| Error::checkpoint(path, e.to_string());
    let views = vec![
        (
            "input",
            TensorView::new(Dtype::F32, vec![t, b, c], &tbc).map_err(err)?,
        ),
        (
            "labels",
            TensorView::new(Dtype::I64, vec![b], &lab).map_err(err)?,
        ),
    ];
    write_atomic(path, &safetensors::serialize(views, None).map_err(err)?)
}

/// Reads an input written by [`write_input`] (or by the reference tools).
pub fn read_input(path: &Path) -> Result<(Seq, Vec<usize>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        action: "reading bench input",
        path: path.to_path_buf(),
        source,
    })?;
    let err = |m: String| Error::checkpoint(path, m);
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| err(format!("not a readable safetensors file ({e})")))?;
    let x = st
        .tensor("input")
        .map_err(|_| err("missing tensor `input`".into()))?;
    let y = st
        .tensor("labels")
        .map_err(|_| err("missing tensor `labels`".into()))?;
    if x.dtype() != Dtype::F32
        || x.shape().len() != 3
        || y.dtype() != Dtype::I64
        || y.shape() != [x.shape()[1]]
    {
        return Err(err(
            "expects `input` f32 (T, B, C) and `labels` i64 (B)".into()
        ));
    }
    let (t, b, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let vals: Vec<f32> = x
        .data()
        .chunks_exact(4)
        .map(|q| f32::from_le_bytes([q[0], q[1], q[2], q[3]]))
        .collect();
    let mut seq = Seq::zeros(b, t, c);
    for ti in 0..t {
        for bi in 0..b {
            let src = &vals[(ti * b + bi) * c..(ti * b + bi + 1) * c];
            seq.data[(bi * t + ti) * c..(bi * t + ti + 1) * c].copy_from_slice(src);
        }
    }
    let labels = y
        .data()
        .chunks_exact(8)
        .map(|q| i64::from_le_bytes(q.try_into().expect("8 bytes")) as usize)
        .collect();
    Ok((seq, labels))
}

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One training step (forward, loss, backward, both optimiser steps) with SIG = `D//2`
    /// (σ_eff = D/2 + 0.27, the first epoch).
    TrainEarly,
    /// One training step with SIG = 0.23 (σ_eff = 0.5, the last three quarters of training).
    TrainLate,
    /// One inference batch of the rounded (integer-delay) model with the event-driven engine
    /// ([`crate::infer::EventNetwork`], built once): forward and loss.
    Infer,
    /// The same batch through the dense evaluation path (`Network::rounded().forward_eval`).
    InferDense,
}

impl Phase {
    /// The phase called `name` (`train-early`, `train-late`, `infer`).
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "train-early" | "train" => Ok(Phase::TrainEarly),
            "train-late" => Ok(Phase::TrainLate),
            "infer" => Ok(Phase::Infer),
            "infer-dense" => Ok(Phase::InferDense),
            other => Err(Error::config(
                "bench --phase",
                format!("must be train-early, train-late, infer or infer-dense; got `{other}`"),
            )),
        }
    }

    /// The phase's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::TrainEarly => "train-early",
            Phase::TrainLate => "train-late",
            Phase::Infer => "infer",
            Phase::InferDense => "infer-dense",
        }
    }
}

/// Timings of one workload and phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Seconds of each timed run (after warm-up).
    pub seconds: Vec<f64>,
    /// Mean hidden spike rate per layer in the last run.
    pub spike_rates: Vec<f64>,
}

impl Timing {
    /// Median of the timed runs.
    pub fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            s[n / 2]
        } else {
            0.5 * (s[n / 2 - 1] + s[n / 2])
        }
    }
}

/// Times `runs` repetitions of `phase` on `workload` after `warmup` untimed ones, with the delay
/// convolutions computed by `path`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    workload: &Workload,
    phase: Phase,
    path: ConvPath,
    x: &Seq,
    labels: &[usize],
    warmup: usize,
    runs: usize,
) -> Result<Timing> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = Network::new(&workload.network, &mut rng)?;
    net.conv_path = path;
    let sig = match phase {
        Phase::TrainLate => crate::model::network::SIG_FINAL,
        _ => workload.network.sig_init,
    };
    net.set_sig(sig);
    let mut opt = NetworkOptimizer::new(&net);
    opt.weights.lr = 1e-3;
    opt.positions.lr = 0.1;
    let rounded = net.rounded();
    let events = crate::infer::EventNetwork::from_network(&net);
    let mut seconds = Vec::with_capacity(runs);
    let mut spike_rates = Vec::new();
    for i in 0..warmup + runs {
        let start = Instant::now();
        match phase {
            Phase::TrainEarly | Phase::TrainLate => {
                let (v, cache) = net.forward_train(x, &mut rng)?;
                let out = sum_softmax_cross_entropy(&v, labels, true)?;
                let (grads, _) = net.backward(
                    &cache,
                    out.grad.as_ref().expect("gradient requested"),
                    false,
                );
                opt.step(&mut net, &grads, 1e-5);
                net.set_sig(sig);
                spike_rates = cache.spike_rates.clone();
            }
            Phase::Infer => {
                let (v, spikes) = events.forward(x)?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
            Phase::InferDense => {
                let (v, spikes) = rounded.forward_eval(x)?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
        }
        if i >= warmup {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    Ok(Timing {
        seconds,
        spike_rates,
    })
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_input_has_the_intended_density_and_round_trips() {
        let mut w = Workload::shd();
        w.batch = 8;
        let (x, y) = w.synthetic_input(1);
        let mean = x.data.iter().sum::<f32>() as f64 / x.data.len() as f64;
        assert!((mean - SHD_LIKE_RATE).abs() < 0.03, "{mean}");
        assert!((x.density() - (1.0 - (-SHD_LIKE_RATE).exp())).abs() < 0.02);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.safetensors");
        write_input(&p, &x, &y).unwrap();
        let (x2, y2) = read_input(&p).unwrap();
        assert_eq!((x2, y2), (x, y));
    }

    #[test]
    fn a_small_workload_runs_every_phase() {
        let mut w = Workload::shd();
        w.batch = 2;
        w.steps = 10;
        w.network.hidden = vec![16, 16];
        let (x, y) = w.synthetic_input(2);
        for phase in [
            Phase::TrainEarly,
            Phase::TrainLate,
            Phase::Infer,
            Phase::InferDense,
        ] {
            let t = run(&w, phase, ConvPath::Auto, &x, &y, 1, 3).unwrap();
            assert_eq!(t.seconds.len(), 3);
            assert!(t.median() > 0.0 && t.spike_rates.len() == 2);
        }
    }
}
