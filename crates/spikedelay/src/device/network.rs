//! `DeviceNetwork`: a [`Network`]'s parameters, optimiser moments and one batch's activations
//! in device memory, and the training step on them (docs/design.md §9): forward (Gaussian
//! kernels, BatchNorm batch statistics, LIF, dropout), the Σ_t softmax loss, backward, both Adam
//! groups and the position clamp, with only the loss, predictions and spike counts coming back.
//!
use std::sync::Arc;

use super::args::*;
use super::batch_norm::DeviceNorm;
use super::delay_layer::DelayLayer;
use super::gpu::{Buf, Gpu, launch};
use crate::error::{Error, Result};
use crate::model::decision::LossOutput;
use crate::model::norm::NormGrads;
use crate::model::{DclsGrads, Network, NetworkGrads, ParamKind, Sig, SpikeFn};
use crate::seq::Seq;

/// The largest class count the loss kernel takes.
const MAX_CLASSES: usize = 256;

/// One Adam group's constants for this step, as `train::optim::Adam::update` uses them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// `lr / (1 − β₁ᵗ)`.
    pub step_size: f32,
    /// `β₁`.
    pub beta1: f32,
    /// `β₂`.
    pub beta2: f32,
    /// `√(1 − β₂ᵗ)`.
    pub bc2_sqrt: f32,
    /// `ε`.
    pub eps: f32,
}

/// What one training step reports back to the host.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Loss per sample, mean and predictions (no gradient: it stays on the device).
    pub loss: LossOutput,
    /// Per hidden layer: spikes per neuron and step (before dropout), and the neuron-steps.
    pub spike_rates: Vec<(f64, usize)>,
}

/// A trained tensor on the device with its gradient and Adam moments.
pub(super) struct Tensor {
    pub value: Buf<f32>,
    pub grad: Buf<f32>,
    pub m: Buf<f32>,
    pub v: Buf<f32>,
}

impl Tensor {
    pub(super) fn new(gpu: &Arc<dyn Gpu>, value: &[f32]) -> Result<Self> {
        Ok(Tensor {
            value: Buf::from_host(gpu, value)?,
            grad: Buf::zeros(gpu, value.len())?,
            m: Buf::zeros(gpu, value.len())?,
            v: Buf::zeros(gpu, value.len())?,
        })
    }
}

/// What the forward pass keeps of one hidden block.
pub(super) struct BlockCache {
    pub xhat: Buf<f32>,
    pub inv_std: Buf<f32>,
    pub membranes: Buf<f32>,
    pub mask: Buf<f32>,
}

/// A network's trainable state on a device.
pub struct DeviceNetwork {
    gpu: Arc<dyn Gpu>,
    layers: Vec<DelayLayer>,
    norms: Vec<DeviceNorm>,
    decay: f32,
    tau: f32,
    threshold: f32,
    learn_positions: bool,
    classes: usize,
}

impl DeviceNetwork {
    /// Copies `net`'s parameters and, in the order of its trained tensors (`Network::params`
    /// filtered by group), the Adam moments `(m, v)` to `gpu`.
    pub(crate) fn new(
        gpu: Arc<dyn Gpu>,
        net: &Network,
        moments: &[(&[f32], &[f32])],
    ) -> Result<Self> {
        if net.spike_fn != SpikeFn::Heaviside {
            return Err(Error::Device(
                "the device runs the Heaviside spike function only".into(),
            ));
        }
        if net.config.outputs > MAX_CLASSES {
            return Err(Error::Device(format!(
                "the device's loss takes at most {MAX_CLASSES} classes, the data has {} \
                 (use device cpu)",
                net.config.outputs
            )));
        }
        let mut layers = Vec::new();
        for l in net.layers() {
            layers.push(DelayLayer {
                c_in: l.c_in,
                c_out: l.c_out,
                kc: l.kernel_count,
                taps: l.taps,
                kind: l.kind,
                sig: l.sig,
                weight: Tensor::new(&gpu, &l.weight)?,
                position: Tensor::new(&gpu, &l.position)?,
                kernel: Buf::zeros(&gpu, l.taps * l.c_in * l.c_out)?,
                kernel_grad: Buf::zeros(&gpu, l.taps * l.c_in * l.c_out)?,
            });
        }
        let mut norms = Vec::new();
        for b in &net.blocks {
            let n = &b.norm;
            norms.push(DeviceNorm {
                channels: n.channels(),
                gamma: Tensor::new(&gpu, &n.gamma)?,
                beta: Tensor::new(&gpu, &n.beta)?,
                running_mean: Buf::from_host(&gpu, &n.running_mean)?,
                running_var: Buf::from_host(&gpu, &n.running_var)?,
                eps: n.eps,
                momentum: n.momentum,
            });
        }
        let dev = DeviceNetwork {
            gpu,
            layers,
            norms,
            decay: (1.0 - 1.0 / net.config.tau) as f32,
            tau: net.config.tau as f32,
            threshold: net.config.v_threshold,
            learn_positions: net.config.delays.learns_positions(),
            classes: net.config.outputs,
        };
        let tensors = dev.trained();
        if !moments.is_empty() {
            if moments.len() != tensors.len() {
                return Err(Error::shape(
                    "optimiser moments (one pair per trained tensor)",
                    tensors.len(),
                    moments.len(),
                ));
            }
            for (t, (m, v)) in tensors.iter().zip(moments) {
                t.m.write(m)?;
                t.v.write(v)?;
            }
        }
        Ok(dev)
    }

    /// The device's name.
    pub fn device_name(&self) -> String {
        self.gpu.name()
    }

    /// The trained tensors in `Network::params` order (layer weights and positions, then each
    /// block's γ and β).
    fn trained(&self) -> Vec<&Tensor> {
        let mut out: Vec<&Tensor> = Vec::new();
        for l in &self.layers {
            out.extend([&l.weight, &l.position]);
        }
        for n in &self.norms {
            out.extend([&n.gamma, &n.beta]);
        }
        out
    }

    /// Sets every layer's raw width `SIG` (the σ schedule).
    pub fn set_sig(&mut self, sig: Sig) {
        self.layers.iter_mut().for_each(|l| l.sig = sig);
    }

    /// Writes the device's parameters and BatchNorm running statistics into `net`.
    pub fn read_params(&self, net: &mut Network) -> Result<()> {
        for (id, values) in net.params_mut() {
            let src = match id.kind {
                ParamKind::Weight => &self.layers[id.layer].weight.value,
                ParamKind::Position => &self.layers[id.layer].position.value,
                ParamKind::Gamma => &self.norms[id.layer].gamma.value,
                ParamKind::Beta => &self.norms[id.layer].beta.value,
                ParamKind::RunningMean => &self.norms[id.layer].running_mean,
                ParamKind::RunningVar => &self.norms[id.layer].running_var,
            };
            *values = src.read()?;
        }
        Ok(())
    }

    /// The Adam moments `(m, v)` of every trained tensor, in `Network::params` order.
    pub fn read_moments(&self) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        self.trained()
            .into_iter()
            .map(|t| Ok((t.m.read()?, t.v.read()?)))
            .collect()
    }

    /// The gradients of the last [`Self::forward_backward`], as the CPU path returns them.
    pub fn read_grads(&self) -> Result<NetworkGrads> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(DclsGrads {
                    weight: l.weight.grad.read()?,
                    position: l.position.grad.read()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let norms = self
            .norms
            .iter()
            .map(|n| {
                Ok(NormGrads {
                    gamma: n.gamma.grad.read()?,
                    beta: n.beta.grad.read()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(NetworkGrads { layers, norms })
    }

    /// One training step: [`Self::forward_backward`], then Adam on the weights group (coupled
    /// `weight_decay` on the delay layers' weights) and, when positions are learned, on the
    /// positions group with the clamp to `±D//2`.
    pub fn train_step(
        &mut self,
        x: &Seq,
        labels: &[usize],
        masks: &[Vec<f32>],
        weights: AdamStep,
        positions: Option<AdamStep>,
        weight_decay: f32,
    ) -> Result<StepReport> {
        let report = self.forward_backward(x, labels, masks)?;
        let gpu = self.gpu.as_ref();
        let adam = |t: &Tensor, s: AdamStep, wd: f32, clamp: f32| {
            launch(
                gpu,
                t.value.len(),
                AdamArgs {
                    param: t.value.addr(),
                    grad: t.grad.addr(),
                    m: t.m.addr(),
                    v: t.v.addr(),
                    len: t.value.len() as u64,
                    step_size: s.step_size,
                    beta1: s.beta1,
                    beta2: s.beta2,
                    bc2_sqrt: s.bc2_sqrt,
                    eps: s.eps,
                    weight_decay: wd,
                    clamp,
                },
            )
        };
        for l in &self.layers {
            adam(&l.weight, weights, weight_decay, -1.0)?;
            if let (true, Some(p)) = (self.learn_positions, positions) {
                adam(&l.position, p, 0.0, (l.taps / 2) as f32)?;
            }
        }
        for n in &self.norms {
            adam(&n.gamma, weights, 0.0, -1.0)?;
            adam(&n.beta, weights, 0.0, -1.0)?;
        }
        Ok(report)
    }

    /// The evaluation forward pass of the rounded model (method §15; `Network::rounded` then
    /// `forward_eval`) on `x` `(B, T, inputs)`: BatchNorm on running statistics, no dropout,
    /// the evaluation charge. Returns the readout membranes `(B, T + (L+1)·R, classes)` and each
    /// hidden layer's spikes, as the CPU engines do, for `infer::evaluate_shared`.
    pub fn forward_eval(&self, x: &Seq) -> Result<(Seq, Vec<Seq>)> {
        let gpu = self.gpu.clone();
        let g = gpu.as_ref();
        let batch = x.batch;
        if x.channels != self.layers[0].c_in {
            return Err(Error::shape(
                "network input channels",
                self.layers[0].c_in,
                x.channels,
            ));
        }
        let mut cur = Buf::from_host(&gpu, &x.data)?;
        let mut steps = x.steps;
        let mut spikes = Vec::new();
        for (l, norm) in self.norms.iter().enumerate() {
            let (a, _) = self.layers[l].forward(&gpu, &cur, batch, steps, true)?;
            steps += self.layers[l].right_pad();
            let c = norm.channels;
            let z = Buf::<f32>::zeros(&gpu, batch * steps * c)?;
            launch(
                g,
                batch * steps * c,
                NormEvalArgs {
                    a: a.addr(),
                    z: z.addr(),
                    gamma: norm.gamma.value.addr(),
                    beta: norm.beta.value.addr(),
                    running_mean: norm.running_mean.addr(),
                    running_var: norm.running_var.addr(),
                    len: (batch * steps * c) as u64,
                    channels: c as u64,
                    eps: norm.eps,
                },
            )?;
            drop(a);
            let ones = Buf::from_host(&gpu, &vec![1.0f32; batch * c])?;
            let membranes = Buf::<f32>::zeros(&gpu, batch * steps * c)?;
            let out = Buf::zeros(&gpu, batch * steps * c)?;
            let count = Buf::<u64>::zeros(&gpu, 1)?;
            launch(
                g,
                batch * c,
                LifForwardArgs {
                    z: z.addr(),
                    h: membranes.addr(),
                    out: out.addr(),
                    mask: ones.addr(),
                    count: count.addr(),
                    samples: batch as u64,
                    steps: steps as u64,
                    channels: c as u64,
                    decay: self.decay,
                    threshold: self.threshold,
                    tau: self.tau,
                    eval: 1,
                },
            )?;
            spikes.push(Seq::from_vec(batch, steps, c, out.read()?)?);
            cur = out;
        }
        let last = self.norms.len();
        let (v, _) = self.layers[last].forward(&gpu, &cur, batch, steps, true)?;
        steps += self.layers[last].right_pad();
        launch(
            g,
            batch * self.classes,
            ReadoutArgs {
                v: v.addr(),
                samples: batch as u64,
                steps: steps as u64,
                channels: self.classes as u64,
                decay: self.decay,
                tau: self.tau,
                backward: 0,
                eval: 1,
            },
        )?;
        Ok((
            Seq::from_vec(batch, steps, self.classes, v.read()?)?,
            spikes,
        ))
    }

    /// Forward, loss and backward of one batch (`x` `(B, T, inputs)`, one label per sample,
    /// one `(B, H)` dropout mask per hidden layer); leaves the gradients on the device and
    /// updates BatchNorm's running statistics as the CPU path does.
    pub fn forward_backward(
        &mut self,
        x: &Seq,
        labels: &[usize],
        masks: &[Vec<f32>],
    ) -> Result<StepReport> {
        let gpu = self.gpu.clone();
        let g = gpu.as_ref();
        let batch = x.batch;
        if x.channels != self.layers[0].c_in {
            return Err(Error::shape(
                "network input channels",
                self.layers[0].c_in,
                x.channels,
            ));
        }
        if labels.len() != batch {
            return Err(Error::shape("loss labels", batch, labels.len()));
        }
        if masks.len() != self.norms.len() {
            return Err(Error::shape(
                "dropout masks (one per hidden layer)",
                self.norms.len(),
                masks.len(),
            ));
        }
        for (l, (m, n)) in masks.iter().zip(&self.norms).enumerate() {
            if m.len() != batch * n.channels {
                return Err(Error::shape(
                    format!("dropout mask {l}"),
                    batch * n.channels,
                    m.len(),
                ));
            }
        }
        let mut cur = Buf::from_host(&gpu, &x.data)?;
        let mut steps = x.steps;
        let mut layer_caches = Vec::new();
        let mut block_caches = Vec::new();
        let mut counts = Vec::new();
        for (l, mask) in masks.iter().enumerate() {
            let (a, cache) = self.layers[l].forward(&gpu, &cur, batch, steps, false)?;
            layer_caches.push(cache);
            steps += self.layers[l].right_pad();
            let (z, xhat, inv_std) = self.norms[l].forward(&gpu, &a, batch * steps)?;
            drop(a);
            let c = self.norms[l].channels;
            let mask = Buf::from_host(&gpu, mask)?;
            let membranes = Buf::zeros(&gpu, batch * steps * c)?;
            let spikes = Buf::zeros(&gpu, batch * steps * c)?;
            let count = Buf::<u64>::zeros(&gpu, 1)?;
            launch(
                g,
                batch * c,
                LifForwardArgs {
                    z: z.addr(),
                    h: membranes.addr(),
                    out: spikes.addr(),
                    mask: mask.addr(),
                    count: count.addr(),
                    samples: batch as u64,
                    steps: steps as u64,
                    channels: c as u64,
                    decay: self.decay,
                    threshold: self.threshold,
                    tau: self.tau,
                    eval: 0,
                },
            )?;
            counts.push((count, batch * steps * c));
            block_caches.push(BlockCache {
                xhat,
                inv_std,
                membranes,
                mask,
            });
            cur = spikes;
        }
        let out = self.norms.len();
        let (a, cache) = self.layers[out].forward(&gpu, &cur, batch, steps, false)?;
        layer_caches.push(cache);
        steps += self.layers[out].right_pad();
        cur = a;
        // `cur` is the output layer's current `(B, T_out, classes)`: the readout, then the loss.
        let classes = self.classes;
        let readout = |v: &Buf<f32>, backward: bool| {
            launch(
                g,
                batch * classes,
                ReadoutArgs {
                    v: v.addr(),
                    samples: batch as u64,
                    steps: steps as u64,
                    channels: classes as u64,
                    decay: self.decay,
                    tau: self.tau,
                    backward: i32::from(backward),
                    eval: 0,
                },
            )
        };
        readout(&cur, false)?;
        let label_values: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
        if let Some(&bad) = labels.iter().find(|&&y| y >= classes) {
            return Err(Error::shape(
                "loss label (class index)",
                format!("< {classes}"),
                bad,
            ));
        }
        let labels_buf = Buf::from_host(&gpu, &label_values)?;
        let grad = Buf::zeros(&gpu, batch * steps * classes)?;
        let losses = Buf::<f64>::zeros(&gpu, batch)?;
        let predictions = Buf::<f32>::zeros(&gpu, batch)?;
        launch(
            g,
            batch,
            LossArgs {
                v: cur.addr(),
                labels: labels_buf.addr(),
                grad: grad.addr(),
                losses: losses.addr(),
                predictions: predictions.addr(),
                samples: batch as u64,
                steps: steps as u64,
                classes: classes as u64,
                inv_batch: 1.0 / batch as f32,
            },
        )?;
        drop(cur);
        readout(&grad, true)?;
        let mut g_a = grad;
        for l in (0..self.layers.len()).rev() {
            let cache = layer_caches.pop().expect("one cache per layer");
            let g_x =
                self.layers[l].backward(&gpu, &g_a, &cache, batch, l > 0, self.learn_positions)?;
            steps = cache.steps;
            if l == 0 {
                break;
            }
            let g_s = g_x.expect("input gradient requested");
            let kept = block_caches.pop().expect("one cache per block");
            let c = self.norms[l - 1].channels;
            let g_z = Buf::zeros(&gpu, batch * steps * c)?;
            launch(
                g,
                batch * c,
                LifBackwardArgs {
                    g: g_s.addr(),
                    h: kept.membranes.addr(),
                    mask: kept.mask.addr(),
                    out: g_z.addr(),
                    samples: batch as u64,
                    steps: steps as u64,
                    channels: c as u64,
                    decay: self.decay,
                    threshold: self.threshold,
                },
            )?;
            g_a = self.norms[l - 1].backward(&gpu, &g_z, &kept, batch * steps)?;
        }
        let sample_losses = losses.read()?;
        let predictions: Vec<usize> = predictions.read()?.iter().map(|&p| p as usize).collect();
        let spike_rates = counts
            .iter()
            .map(|(count, cells)| {
                let fired = count.read()?[0];
                Ok((fired as f64 / (*cells).max(1) as f64, *cells))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StepReport {
            loss: LossOutput {
                loss: crate::model::decision::mean_loss(&sample_losses),
                predictions,
                grad: None,
                sample_losses,
            },
            spike_rates,
        })
    }
}
