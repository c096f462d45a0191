//! `Network`: `L` hidden blocks (delay layer → BatchNorm → LIF → dropout) and a delay layer into a
//! non-spiking readout (method §2). The graph is fixed, so the backward pass simply runs the
//! blocks in reverse; each layer owns its own forward/backward.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::dcls::{ConvPath, DclsCache, DclsGrads, DclsLayer, KernelKind};
use super::dropout::SeqDropout;
use super::lif::{Charge, SpikeFn};
use super::neuron::{HiddenNeuron, Neuron};
use super::norm::{Alone, NormCache, NormGrads, TimeBatchNorm};
use super::readout::Readout;
use super::taps::Sig;
use crate::error::{Error, Result};
use crate::seq::Seq;

/// The raw width SIG at which σ_eff = |SIG| + 0.27 reaches 0.5 (method §7).
pub const SIG_FINAL: Sig = Sig::raw(0.23);

/// How synaptic delays are treated (method §19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DelayMode {
    /// Positions learned with Gaussian kernels whose σ shrinks over training (the method).
    Learned,
    /// Random integer delays, drawn as the learned init, rounded once and frozen.
    Fixed,
    /// No delays: a plain per-step fully connected layer (`D = 1`, no padding).
    None,
    /// Learned positions with σ_eff = 0.5 for the whole run.
    ConstantSigma,
}

impl DelayMode {
    /// All modes, in the order they are documented.
    pub const ALL: [DelayMode; 4] = [
        DelayMode::Learned,
        DelayMode::Fixed,
        DelayMode::None,
        DelayMode::ConstantSigma,
    ];

    /// The name used in configs, on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            DelayMode::Learned => "learned",
            DelayMode::Fixed => "fixed",
            DelayMode::None => "none",
            DelayMode::ConstantSigma => "constant-sigma",
        }
    }

    /// Whether positions are trained.
    pub fn learns_positions(self) -> bool {
        matches!(self, DelayMode::Learned | DelayMode::ConstantSigma)
    }
}

impl fmt::Display for DelayMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DelayMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DelayMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::config(
                    "delays",
                    format!("must be one of learned, fixed, none, constant-sigma; got `{s}`"),
                )
            })
    }
}

/// A resolved network description (time in steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Input channels.
    pub inputs: usize,
    /// Hidden widths, one per hidden block.
    pub hidden: Vec<usize>,
    /// Output classes.
    pub outputs: usize,
    /// Delay taps `D` (odd).
    pub taps: usize,
    /// Kernel elements per synapse `KC`.
    pub kernel_count: usize,
    /// LIF / readout time constant `τ` in steps (> 1).
    pub tau: f64,
    /// Hidden firing threshold.
    pub v_threshold: f32,
    /// Dropout probability after each hidden block.
    pub dropout: f32,
    /// Delay treatment.
    pub delays: DelayMode,
    /// Initial raw width `SIG` for learned delays (the reference uses `D//2`).
    pub sig_init: f32,
}

impl NetworkConfig {
    /// What training this network allocates, by part: per synapse its weights and positions
    /// with their gradients and Adam moments (`8·KC` floats) and a dense kernel with its
    /// gradient (`2·D`); per batch of `batch` samples of `steps` steps, about six floats per
    /// neuron and step (convolution, BatchNorm, membrane, spikes, mask, gradient). `steps`
    /// unknown leaves the activations out.
    pub fn memory_estimate(&self, batch: usize, steps: Option<usize>) -> crate::memory::Estimate {
        let f = 4.0;
        let mut widths = vec![self.inputs];
        widths.extend(&self.hidden);
        widths.push(self.outputs);
        let synapses: f64 = widths.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum();
        let per_synapse = 8.0 * self.kernel_count as f64 + 2.0 * self.taps as f64;
        let mut e = crate::memory::Estimate::default();
        e.add(
            "parameters, optimiser state and kernels",
            format!(
                "model.hidden = {:?} with {} inputs and {} classes, model.kernel_count = {}, \
                 D = {} taps from model.max_delay_ms",
                self.hidden, self.inputs, self.outputs, self.kernel_count, self.taps
            ),
            f * synapses * per_synapse,
        );
        if let Some(t) = steps {
            let neurons: f64 = widths.iter().map(|&w| w as f64).sum();
            e.add(
                "activations of one batch",
                format!(
                    "train.batch_size = {batch} × {t} steps (+ D) × {neurons} neurons of model.hidden"
                ),
                f * 6.0 * batch as f64 * (t + self.taps) as f64 * neurons,
            );
        }
        e
    }
}

/// One hidden block's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenBlock {
    /// The delay layer.
    pub conv: DclsLayer,
    /// BatchNorm over time × batch.
    pub norm: TimeBatchNorm,
}

/// What a training forward pass keeps of one hidden block.
#[derive(Debug, Clone)]
pub struct BlockCache {
    /// The delay layer's cache (its input, kernel and plan).
    pub conv: DclsCache,
    pub(crate) norm: NormCache,
    /// Pre-reset membranes `h` of the LIF, `(B, T_l, H)`.
    pub membranes: Seq,
    /// The dropout mask, `(B, H)`.
    pub mask: Vec<f32>,
    /// Spikes per neuron and step (before dropout).
    pub spike_rate: f64,
    /// Spikes (before dropout).
    pub spike_count: usize,
}

/// Everything the backward pass needs from a training forward pass.
#[derive(Debug, Clone)]
pub struct ForwardCache {
    /// One entry per hidden block.
    pub blocks: Vec<BlockCache>,
    /// The output delay layer's cache.
    pub output: DclsCache,
}

impl ForwardCache {
    /// Pre-reset membranes `h` of each hidden layer, `(B, T_l, H)`.
    pub fn membranes(&self) -> Vec<&Seq> {
        self.blocks.iter().map(|b| &b.membranes).collect()
    }

    /// The plan of each delay layer (hidden layers, then the readout).
    pub fn conv_plans(&self) -> Vec<&crate::model::ConvPlan> {
        self.blocks
            .iter()
            .map(|b| &b.conv.plan)
            .chain(std::iter::once(&self.output.plan))
            .collect()
    }

    /// Per hidden layer: spikes per neuron and step, and the neuron-steps it was measured over.
    pub fn spike_rates(&self) -> Vec<(f64, usize)> {
        self.blocks
            .iter()
            .map(|b| (b.spike_rate, b.membranes.data.len()))
            .collect()
    }
}

/// Gradients of all trainable parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkGrads {
    /// Delay-layer gradients: hidden layers then the output layer.
    pub layers: Vec<DclsGrads>,
    /// BatchNorm gradients, one per hidden block.
    pub norms: Vec<NormGrads>,
}

/// A delay-learning spiking network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The configuration it was built from.
    pub config: NetworkConfig,
    /// Hidden blocks.
    pub blocks: Vec<HiddenBlock>,
    /// The output delay layer feeding the readout.
    pub output: DclsLayer,
    /// Forward output function of the hidden LIFs ([`SpikeFn::Heaviside`] except in gradient checks).
    pub spike_fn: SpikeFn,
    /// How the delay convolutions are computed.
    pub conv_path: ConvPath,
}

impl Network {
    /// Builds and initialises a network (method §6, §19).
    pub fn new(config: &NetworkConfig, rng: &mut impl rand::Rng) -> Result<Self> {
        if config.hidden.is_empty() {
            return Err(Error::config(
                "model.hidden",
                "needs at least one hidden layer",
            ));
        }
        let (taps, kind, sig) = match config.delays {
            DelayMode::Learned => (config.taps, KernelKind::Gauss, Sig::raw(config.sig_init)),
            DelayMode::ConstantSigma => (config.taps, KernelKind::Gauss, SIG_FINAL),
            DelayMode::Fixed => (config.taps, KernelKind::Integer, Sig::ZERO),
            DelayMode::None => (1, KernelKind::Linear, Sig::ZERO),
        };
        let mut blocks = Vec::new();
        let mut c_in = config.inputs;
        for &h in &config.hidden {
            let conv = DclsLayer::new(c_in, h, taps, config.kernel_count, kind, sig, rng)?;
            blocks.push(HiddenBlock {
                conv,
                norm: TimeBatchNorm::new(h),
            });
            c_in = h;
        }
        let output = DclsLayer::new(
            c_in,
            config.outputs,
            taps,
            config.kernel_count,
            kind,
            sig,
            rng,
        )?;
        let mut net = Network {
            config: config.clone(),
            blocks,
            output,
            spike_fn: SpikeFn::Heaviside,
            conv_path: ConvPath::Auto,
        };
        if config.delays == DelayMode::Fixed {
            net.layers_mut().for_each(DclsLayer::round_positions);
        }
        Ok(net)
    }

    /// The delay layers, hidden first, output last.
    pub fn layers(&self) -> impl Iterator<Item = &DclsLayer> {
        self.blocks
            .iter()
            .map(|b| &b.conv)
            .chain(std::iter::once(&self.output))
    }

    /// Mutable delay layers, hidden first, output last.
    pub fn layers_mut(&mut self) -> impl Iterator<Item = &mut DclsLayer> {
        self.blocks
            .iter_mut()
            .map(|b| &mut b.conv)
            .chain(std::iter::once(&mut self.output))
    }

    /// Sets the raw width `SIG` of every layer (the σ schedule, method §7).
    pub fn set_sig(&mut self, sig: Sig) {
        self.layers_mut().for_each(|l| l.sig = sig);
    }

    /// Current raw width `SIG` (of the output layer, as the reference reads it).
    pub fn sig(&self) -> Sig {
        self.output.sig
    }

    /// Clamps all positions to `±D//2` (method §8).
    pub fn clamp_positions(&mut self) {
        self.layers_mut().for_each(DclsLayer::clamp_positions);
    }

    /// Readout length for an input of `steps` steps: `T + (L+1)·R`.
    pub fn output_steps(&self, steps: usize) -> usize {
        steps + self.layers().map(DclsLayer::right_pad).sum::<usize>()
    }

    /// Trainable parameters (method §20): weights, positions when learned, BatchNorm γ and β.
    pub fn parameter_count(&self) -> usize {
        let w: usize = self.layers().map(DclsLayer::elements).sum();
        let p = if self.config.delays.learns_positions() {
            w
        } else {
            0
        };
        w + p
            + self
                .blocks
                .iter()
                .map(|b| 2 * b.norm.channels())
                .sum::<usize>()
    }

    /// The hidden neuron, as every engine builds it ([`super::neuron`]).
    pub fn neuron(&self) -> HiddenNeuron {
        HiddenNeuron::of(&self.config, self.spike_fn)
    }

    pub(crate) fn readout(&self) -> Readout {
        Readout {
            tau: self.config.tau,
        }
    }

    pub(crate) fn check_input(&self, x: &Seq) -> Result<()> {
        if x.channels != self.config.inputs {
            return Err(Error::shape(
                "network input channels",
                self.config.inputs,
                x.channels,
            ));
        }
        Ok(())
    }

    /// Training forward pass (BatchNorm batch statistics, dropout on, masks drawn from `rng`).
    /// Returns the readout membranes `(B, T + (L+1)·R, outputs)` and the cache for
    /// [`Self::backward`].
    pub fn forward_train(
        &mut self,
        x: &Seq,
        rng: &mut impl rand::Rng,
    ) -> Result<(Seq, ForwardCache)> {
        let dropout = SeqDropout {
            p: self.config.dropout,
        };
        self.forward_train_with(x, &mut |_, b, c| dropout.mask(b, c, rng))
    }

    /// Training forward pass with given dropout masks, one `(B, H)` mask per hidden layer with
    /// values `0` or `1/(1−p)` (for comparisons with other implementations).
    pub fn forward_train_masked(
        &mut self,
        x: &Seq,
        masks: &[Vec<f32>],
    ) -> Result<(Seq, ForwardCache)> {
        if masks.len() != self.blocks.len() {
            return Err(Error::shape(
                "dropout masks (one per hidden layer)",
                self.blocks.len(),
                masks.len(),
            ));
        }
        for (l, (m, b)) in masks.iter().zip(&self.blocks).enumerate() {
            if m.len() != x.batch * b.norm.channels() {
                return Err(Error::shape(
                    format!("dropout mask {l}"),
                    x.batch * b.norm.channels(),
                    m.len(),
                ));
            }
        }
        self.forward_train_with(x, &mut |l, _, _| masks[l].clone())
    }

    fn forward_train_with(
        &mut self,
        x: &Seq,
        mask_for: &mut dyn FnMut(usize, usize, usize) -> Vec<f32>,
    ) -> Result<(Seq, ForwardCache)> {
        let whole = 0..x.batch;
        let mut out = self.forward_train_shards(
            vec![x.clone()],
            std::slice::from_ref(&whole),
            x.batch,
            mask_for,
            &Alone,
        )?;
        Ok(out.pop().expect("one shard in, one out"))
    }

    /// Backward pass from `∂L/∂V`. Returns all parameter gradients and, when `want_input`,
    /// `∂L/∂x` for the network input.
    pub fn backward(
        &self,
        cache: &ForwardCache,
        g_v: &Seq,
        want_input: bool,
    ) -> (NetworkGrads, Option<Seq>) {
        let (mut layers, norms, g_x) = self.backward_shards(
            std::slice::from_ref(cache),
            std::slice::from_ref(g_v),
            want_input,
            &Alone,
        );
        let grads = NetworkGrads {
            layers: layers.pop().expect("one shard in, one out"),
            norms,
        };
        (grads, g_x.and_then(|mut g| g.pop()))
    }

    /// Evaluation forward pass with the kernels as they are (BatchNorm running statistics, no
    /// dropout). Returns the readout membranes and each hidden layer's spikes. For the paper's
    /// evaluation, call it on [`Self::rounded`].
    pub fn forward_eval(&self, x: &Seq) -> Result<(Seq, Vec<Seq>)> {
        self.check_input(x)?;
        let lif = self.neuron();
        let mut spikes: Vec<Seq> = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let input = spikes.last().unwrap_or(x);
            let a = block.conv.forward(input, self.conv_path)?;
            let z = block.norm.forward_eval(&a)?;
            spikes.push(lif.forward(&z, Charge::Eval).0);
        }
        let input = spikes.last().unwrap_or(x);
        let a = self.output.forward(input, self.conv_path)?;
        Ok((self.readout().forward(&a, Charge::Eval), spikes))
    }

    /// The evaluation transform (method §15): a copy with positions rounded half-to-even and
    /// clamped, `SIG = 0` and the triangle kernel, so every synapse is one weight at one integer
    /// delay. The original (unrounded) parameters are untouched. Layers without delays (the
    /// `none` ablation's plain linear layers) stay as they are, as in the reference.
    pub fn rounded(&self) -> Network {
        let mut net = self.clone();
        for layer in net.layers_mut().filter(|l| l.kind != KernelKind::Linear) {
            layer.round_positions();
            layer.sig = Sig::ZERO;
            layer.kind = KernelKind::Triangle;
        }
        net
    }
}
