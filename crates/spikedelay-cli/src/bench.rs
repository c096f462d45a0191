//! Benchmark workloads shared by `spikedelay bench` and the side-by-side comparison with the
//! reference (`tools/reference/bench_side_by_side.py`): the paper's SHD and SSC network shapes,
//! synthetic spike input at SHD-like density, and timed training steps and inference batches.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use spikedelay::atomic_file::write_atomic;
use spikedelay::config::{Preset, RunConfig};
use spikedelay::data::DelayPatternsConfig;
use spikedelay::device::Accelerator;
use spikedelay::infer::{EventNetwork, InputPath};
use spikedelay::model::Sig;
use spikedelay::model::dcls::{DclsGrads, GradsWanted};
use spikedelay::model::network::SIG_FINAL;
use spikedelay::model::{ConvPath, Network, NetworkConfig, SeqDropout, sum_softmax_cross_entropy};
use spikedelay::seq::Seq;
use spikedelay::train::NetworkOptimizer;

/// Mean spike count per (step, pooled channel) of the synthetic input: about 8,000 spikes per
/// 100-step, 140-channel sample, as an SHD word (6–9 k spikes, docs/datasets.md §1.4).
pub const SHD_LIKE_RATE: f64 = 0.57;

/// The workloads `--workload` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkloadName {
    /// The SHD preset's network: 140 → 256 → 256 → 20, D = 25, batch 256, T = 100.
    Shd,
    /// The SSC preset's network: 140 → 512 → 512 → 512 → 35, D = 31, batch 128, T = 100.
    Ssc,
    /// The main job's network (the built-in task's defaults): 20 → 48 → 48 → 20, D = 25,
    /// batch 64, T = 50.
    Main,
}

impl WorkloadName {
    /// The workload: the network and batch of the run configuration it names.
    pub fn workload(self) -> Workload {
        match self {
            // 700 channels pooled by 5; T = 100 steps of 10 ms (an SHD/SSC word is ≤ 1 s).
            WorkloadName::Shd => Workload::of("shd", &Preset::Shd.config(), 140, 20, 100),
            WorkloadName::Ssc => Workload::of("ssc", &Preset::Ssc.config(), 140, 35, 100),
            WorkloadName::Main => {
                let task = DelayPatternsConfig::default();
                let config = RunConfig::default();
                Workload::of("main", &config, task.channels, task.classes, task.steps)
            }
        }
    }
}

/// A network shape and batch to time.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Name (`shd`, `ssc`, `main`).
    pub name: &'static str,
    /// The network (method §18).
    pub network: NetworkConfig,
    /// Batch size.
    pub batch: usize,
    /// Input steps `T`.
    pub steps: usize,
}

impl Workload {
    /// The network of `config` for `inputs` channels and `outputs` classes, at its batch size,
    /// on `steps`-step inputs.
    fn of(
        name: &'static str,
        config: &RunConfig,
        inputs: usize,
        outputs: usize,
        steps: usize,
    ) -> Self {
        Workload {
            name,
            network: config.network_config(inputs, outputs),
            batch: config.train.batch_size,
            steps,
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
    let context = || format!("writing bench input {}", path.display());
    let views = vec![
        (
            "input",
            TensorView::new(Dtype::F32, vec![t, b, c], &tbc).with_context(context)?,
        ),
        (
            "labels",
            TensorView::new(Dtype::I64, vec![b], &lab).with_context(context)?,
        ),
    ];
    let bytes = safetensors::serialize(views, None).with_context(context)?;
    Ok(write_atomic(path, &bytes)?)
}

/// Reads an input written by [`write_input`] (or by the reference tools).
pub fn read_input(path: &Path) -> Result<(Seq, Vec<usize>)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading --input {}", path.display()))?;
    let shown = path.display();
    let st = SafeTensors::deserialize(&bytes)
        .with_context(|| format!("--input {shown}: not a readable safetensors file"))?;
    let (Ok(x), Ok(y)) = (st.tensor("input"), st.tensor("labels")) else {
        bail!("--input {shown}: needs tensors `input` and `labels`");
    };
    if x.dtype() != Dtype::F32
        || x.shape().len() != 3
        || y.dtype() != Dtype::I64
        || y.shape() != [x.shape()[1]]
    {
        bail!("--input {shown}: expects `input` f32 (T, B, C) and `labels` i64 (B)");
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// One training step (forward, loss, backward, both optimiser steps) at the first
    /// epoch's σ (SIG = D//2, σ_eff = D/2 + 0.27).
    #[value(alias = "train")]
    TrainEarly,
    /// One training step at σ_eff = 1.5 (SIG = 1.23): the middle of the σ schedule, where
    /// each synapse's Gaussian spans 10–20 taps.
    TrainMid,
    /// One training step at σ_eff = 0.5 (SIG = 0.23, the last three quarters of training).
    TrainLate,
    /// One inference batch of the rounded (integer-delay) model with the event-driven engine
    /// (built once), its first layer by events or dense sums, whichever costs less: forward
    /// and loss.
    Infer,
    /// The same batch through the event-driven engine with every layer by events.
    InferEvents,
    /// The same batch through the dense evaluation path (`Network::rounded().forward_eval`).
    InferDense,
    /// Each delay layer's training convolutions (forward and backward) by every path, at
    /// train-mid's σ (or `--sigma`), on the inputs a training step gives it: the figures
    /// behind the cost model (`ConvPath::Auto`).
    Layers,
}

impl Phase {
    /// Whether the phase times a training step (so `--sigma` applies to it).
    pub fn is_training(self) -> bool {
        matches!(
            self,
            Phase::TrainEarly | Phase::TrainMid | Phase::TrainLate | Phase::Layers
        )
    }

    /// The phase's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::TrainEarly => "train-early",
            Phase::TrainMid => "train-mid",
            Phase::TrainLate => "train-late",
            Phase::Infer => "infer",
            Phase::InferEvents => "infer-events",
            Phase::InferDense => "infer-dense",
            Phase::Layers => "layers",
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

/// σ_eff of the train-mid phase.
pub const SIGMA_MID: f32 = 1.5;

/// How one case is timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseOptions {
    /// How delay convolutions are computed.
    pub path: ConvPath,
    /// σ_eff of a training step instead of the phase's own (`--sigma`).
    pub sigma: Option<f32>,
    /// Untimed runs first.
    pub warmup: usize,
    /// Timed runs.
    pub runs: usize,
}

/// The `SIG` a training step of `phase` runs at: σ_eff `sigma` when given, else the phase's
/// own (train-early: the workload's initial SIG, train-mid: σ_eff [`SIGMA_MID`], train-late:
/// [`SIG_FINAL`]).
pub fn phase_sig(workload: &Workload, phase: Phase, sigma: Option<f32>) -> Sig {
    match (sigma, phase) {
        (Some(s), _) => Sig::from_gauss_width(s),
        (None, Phase::TrainMid | Phase::Layers) => Sig::from_gauss_width(SIGMA_MID),
        (None, Phase::TrainLate) => SIG_FINAL,
        (None, _) => Sig::raw(workload.network.sig_init),
    }
}

/// Times `opts.runs` repetitions of `phase` on `workload` after `opts.warmup` untimed ones.
/// With `device`, training steps and the event engine's inference (`infer`: the rounded model)
/// run there (parameters, moments and activations in its memory; a timed step ends when its
/// loss and counts, an inference batch when its outputs, are back on the host).
pub fn run(
    workload: &Workload,
    phase: Phase,
    x: &Seq,
    labels: &[usize],
    opts: CaseOptions,
    device: Option<&Accelerator>,
) -> Result<Timing> {
    let CaseOptions {
        path,
        sigma,
        warmup,
        runs,
    } = opts;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = Network::new(&workload.network, &mut rng)?;
    net.conv_path = path;
    let sig = phase_sig(workload, phase, sigma);
    net.set_sig(sig);
    let mut opt = NetworkOptimizer::new(&net);
    opt.weights.lr = 1e-3;
    opt.positions.lr = 0.1;
    let rounded = net.rounded();
    let events = EventNetwork::from_network(&net);
    let mut on_device = match device {
        Some(acc) if phase.is_training() || phase == Phase::Infer => Some(acc.network(&net, &[])?),
        _ => None,
    };
    let dropout = SeqDropout {
        p: workload.network.dropout,
    };
    let learn_positions = workload.network.delays.learns_positions();
    let mut seconds = Vec::with_capacity(runs);
    let mut spike_rates = Vec::new();
    for i in 0..warmup + runs {
        let start = Instant::now();
        match phase {
            Phase::TrainEarly | Phase::TrainMid | Phase::TrainLate if on_device.is_some() => {
                let dev = on_device.as_mut().expect("checked");
                let masks: Vec<Vec<f32>> = workload
                    .network
                    .hidden
                    .iter()
                    .map(|&h| dropout.mask(x.batch, h, &mut rng))
                    .collect();
                opt.weights.begin_step();
                opt.positions.begin_step();
                let positions = learn_positions.then(|| opt.positions.constants());
                let report =
                    dev.train_step(x, labels, &masks, opt.weights.constants(), positions, 1e-5)?;
                spike_rates = report.spike_rates.iter().map(|r| r.0).collect();
            }
            Phase::TrainEarly | Phase::TrainMid | Phase::TrainLate => {
                let (v, cache) = net.forward_train(x, &mut rng)?;
                let out = sum_softmax_cross_entropy(&v, labels, true)?;
                let (grads, _) = net.backward(
                    &cache,
                    out.grad.as_ref().expect("gradient requested"),
                    false,
                );
                opt.step(&mut net, &grads, 1e-5);
                net.set_sig(sig);
                spike_rates = cache.spike_rates().iter().map(|r| r.0).collect();
            }
            Phase::Infer if on_device.is_some() => {
                let dev = on_device.as_ref().expect("checked");
                let (v, spikes) = dev.forward_eval(x)?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
            Phase::Infer => {
                let (v, spikes) = events.forward(x, &vec![x.steps; x.batch])?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
            Phase::InferEvents => {
                let lengths = vec![x.steps; x.batch];
                let (v, spikes) = events.forward_with(x, &lengths, InputPath::Events)?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
            Phase::InferDense => {
                let (v, spikes) = rounded.forward_eval(x)?;
                sum_softmax_cross_entropy(&v, labels, false)?;
                spike_rates = spikes.iter().map(Seq::density).collect();
            }
            Phase::Layers => bail!("the layers phase is timed by `layer_timings`"),
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

/// One delay layer's convolutions by one path.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTiming {
    /// Layer index (the readout last).
    pub layer: usize,
    /// `B × T_in × C_in → C_out`.
    pub shape: String,
    /// Input density (non-zero fraction).
    pub density: f64,
    /// The path asked for.
    pub path: ConvPath,
    /// What it ran ([`ConvPlan::describe`]).
    pub plan: String,
    /// Median seconds of forward and backward (with the input gradient but for layer 0).
    pub seconds: f64,
}

/// The paths [`layer_timings`] compares.
pub const LAYER_PATHS: [ConvPath; 6] = [
    ConvPath::Auto,
    ConvPath::Events,
    ConvPath::Gemm,
    ConvPath::Narrow,
    ConvPath::LowRank,
    ConvPath::Fft,
];

/// Times each delay layer's training convolutions by each of [`LAYER_PATHS`] on the inputs one
/// training step at the phase's σ gives it (the output gradient is a fixed pseudo-random
/// tensor: only its shape matters for time).
pub fn layer_timings(
    workload: &Workload,
    x: &Seq,
    sigma: Option<f32>,
    warmup: usize,
    runs: usize,
) -> Result<Vec<LayerTiming>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = Network::new(&workload.network, &mut rng)?;
    net.set_sig(phase_sig(workload, Phase::Layers, sigma));
    let (_, cache) = net.forward_train(x, &mut rng)?;
    let inputs: Vec<&Seq> = cache
        .blocks
        .iter()
        .map(|b| &b.conv.input)
        .chain([&cache.output.input])
        .collect();
    let layers: Vec<_> = net.layers().collect();
    let mut out = Vec::new();
    for (l, (layer, input)) in layers.iter().zip(inputs).enumerate() {
        let t_out = input.steps + layer.right_pad();
        let n = input.batch * t_out * layer.c_out;
        let ga = Seq {
            batch: input.batch,
            steps: t_out,
            channels: layer.c_out,
            data: (0..n)
                .map(|j| ((j * 7919 % 1000) as f32 - 500.0) * 1e-5)
                .collect(),
        };
        let wanted = GradsWanted {
            positions: true,
            input: l > 0,
        };
        let kernel = layer.build_kernel();
        for path in LAYER_PATHS {
            let plan = layer.plan(input, &kernel, path).describe();
            let mut seconds = Vec::with_capacity(runs);
            for i in 0..warmup + runs {
                let start = Instant::now();
                let (_, c) = layer.forward_train(input.clone(), path)?;
                let mut grads = DclsGrads::zeros(layer);
                layer.backward(&ga, &c, &mut grads, wanted);
                if i >= warmup {
                    seconds.push(start.elapsed().as_secs_f64());
                }
            }
            out.push(LayerTiming {
                layer: l,
                shape: format!(
                    "{}×{}×{}→{}",
                    input.batch, input.steps, input.channels, layer.c_out
                ),
                density: input.density(),
                path,
                plan,
                seconds: Timing {
                    seconds,
                    spike_rates: vec![],
                }
                .median(),
            });
        }
    }
    Ok(out)
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
        let mut w = WorkloadName::Shd.workload();
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
    fn the_layers_phase_times_every_path_of_every_layer() {
        let mut w = WorkloadName::Shd.workload();
        w.batch = 3;
        w.steps = 12;
        w.network.hidden = vec![8, 8];
        let (x, _) = w.synthetic_input(3);
        let t = layer_timings(&w, &x, Some(3.0), 0, 1).unwrap();
        assert_eq!(t.len(), 3 * LAYER_PATHS.len());
        assert_eq!(t[0].shape, "3×12×140→8");
        assert_eq!(t[2 * LAYER_PATHS.len()].shape, "3×36×8→20");
        let fft = t.iter().find(|r| r.path == ConvPath::Fft).unwrap();
        assert_eq!(fft.plan, "fft N=36");
        assert!(t.iter().all(|r| r.seconds > 0.0));
    }

    #[test]
    fn each_training_phase_has_its_sigma() {
        let w = WorkloadName::Shd.workload();
        let sigma = |phase, given| phase_sig(&w, phase, given).gauss_width();
        assert_eq!(sigma(Phase::TrainEarly, None), 12.27);
        assert!((sigma(Phase::TrainMid, None) - 1.5).abs() < 1e-6);
        assert!((sigma(Phase::TrainLate, None) - 0.5).abs() < 1e-6);
        assert!((sigma(Phase::TrainEarly, Some(3.27)) - 3.27).abs() < 1e-6);
        assert!(!Phase::Infer.is_training() && Phase::TrainMid.is_training());
    }

    #[test]
    fn workloads_are_the_presets_networks() {
        let shd = WorkloadName::Shd.workload();
        assert_eq!(
            (shd.network.taps, shd.network.sig_init, shd.batch),
            (25, 12.0, 256)
        );
        assert_eq!(shd.network.hidden, vec![256, 256]);
        let ssc = WorkloadName::Ssc.workload();
        assert_eq!(
            (ssc.network.taps, ssc.network.sig_init, ssc.batch),
            (31, 15.0, 128)
        );
        assert_eq!((ssc.network.inputs, ssc.network.outputs), (140, 35));
        let main = WorkloadName::Main.workload();
        assert_eq!(
            (main.network.inputs, main.network.hidden.len(), main.steps),
            (20, 2, 50)
        );
        assert_eq!((main.batch, main.network.dropout), (64, 0.25));
    }

    #[test]
    fn a_small_workload_runs_every_phase() {
        let mut w = WorkloadName::Shd.workload();
        w.batch = 2;
        w.steps = 10;
        w.network.hidden = vec![16, 16];
        let (x, y) = w.synthetic_input(2);
        let opts = CaseOptions {
            path: ConvPath::Auto,
            sigma: None,
            warmup: 1,
            runs: 3,
        };
        for phase in [
            Phase::TrainEarly,
            Phase::TrainMid,
            Phase::TrainLate,
            Phase::Infer,
            Phase::InferEvents,
            Phase::InferDense,
            Phase::Layers,
        ] {
            if phase == Phase::Layers {
                continue;
            }
            let t = run(&w, phase, &x, &y, opts, None).unwrap();
            assert_eq!(t.seconds.len(), 3);
            assert!(t.median() > 0.0 && t.spike_rates.len() == 2);
        }
    }
}
