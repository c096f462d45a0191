//! The network's tensors, walked in one place: every parameter and BatchNorm statistic with its
//! checkpoint name, shape and what trains it (method §13). Checkpoints save and load through
//! [`Network::params`] / [`Network::params_mut`], the optimiser steps through them and looks
//! gradients up with [`NetworkGrads::of`], and the divergence guard scans them. A new tensor is
//! one line here.

use super::dcls::DclsLayer;
use super::network::{Network, NetworkGrads};

/// What a tensor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A delay layer's weights `W` `(c_out, c_in, kernel_count)`.
    Weight,
    /// A delay layer's positions `P`, same shape.
    Position,
    /// A BatchNorm scale `γ` `(H)`.
    Gamma,
    /// A BatchNorm shift `β` `(H)`.
    Beta,
    /// A BatchNorm running mean (not trained).
    RunningMean,
    /// A BatchNorm running variance (not trained).
    RunningVar,
}

impl ParamKind {
    /// The optimiser group that trains it, as checkpoints name it (`weights`, `positions`,
    /// `gamma`, `beta`); `None` for running statistics.
    pub fn group(self) -> Option<&'static str> {
        match self {
            ParamKind::Weight => Some("weights"),
            ParamKind::Position => Some("positions"),
            ParamKind::Gamma => Some("gamma"),
            ParamKind::Beta => Some("beta"),
            ParamKind::RunningMean | ParamKind::RunningVar => None,
        }
    }
}

/// One tensor's identity: its kind, its layer (delay layers: hidden then readout; BatchNorm:
/// the hidden block) and its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamId {
    /// What it is.
    pub kind: ParamKind,
    /// Its layer or block.
    pub layer: usize,
    /// Its shape.
    pub shape: Vec<usize>,
}

impl ParamId {
    /// Its checkpoint name: `layers.{l}.weight`, `layers.{l}.position`,
    /// `blocks.{l}.norm.{gamma,beta,running_mean,running_var}`.
    pub fn name(&self) -> String {
        let l = self.layer;
        match self.kind {
            ParamKind::Weight => format!("layers.{l}.weight"),
            ParamKind::Position => format!("layers.{l}.position"),
            ParamKind::Gamma => format!("blocks.{l}.norm.gamma"),
            ParamKind::Beta => format!("blocks.{l}.norm.beta"),
            ParamKind::RunningMean => format!("blocks.{l}.norm.running_mean"),
            ParamKind::RunningVar => format!("blocks.{l}.norm.running_var"),
        }
    }
}

/// BatchNorm's tensors, in checkpoint order.
const NORM_KINDS: [ParamKind; 4] = [
    ParamKind::Gamma,
    ParamKind::Beta,
    ParamKind::RunningMean,
    ParamKind::RunningVar,
];

/// The identity of a delay layer's `kind` tensor (`W` or `P`) of layer `l`.
fn conv_id(kind: ParamKind, l: usize, layer: &DclsLayer) -> ParamId {
    ParamId {
        kind,
        layer: l,
        shape: vec![layer.c_out, layer.c_in, layer.kernel_count],
    }
}

/// The identity of BatchNorm tensor `kind` of block `l`, `len` channels.
fn norm_id(kind: ParamKind, l: usize, len: usize) -> ParamId {
    ParamId {
        kind,
        layer: l,
        shape: vec![len],
    }
}

impl Network {
    /// Every tensor in checkpoint order: each delay layer's weights and positions, then each
    /// block's γ, β, running mean and running variance.
    pub fn params(&self) -> Vec<(ParamId, &[f32])> {
        let mut out: Vec<(ParamId, &[f32])> = Vec::new();
        for (l, layer) in self.layers().enumerate() {
            out.push((conv_id(ParamKind::Weight, l, layer), &layer.weight));
            out.push((conv_id(ParamKind::Position, l, layer), &layer.position));
        }
        for (l, b) in self.blocks.iter().enumerate() {
            let n = &b.norm;
            let tensors = [&n.gamma, &n.beta, &n.running_mean, &n.running_var];
            for (kind, v) in NORM_KINDS.into_iter().zip(tensors) {
                out.push((norm_id(kind, l, v.len()), v));
            }
        }
        out
    }

    /// [`Network::params`], mutable.
    pub fn params_mut(&mut self) -> Vec<(ParamId, &mut Vec<f32>)> {
        let (mut convs, mut norms) = (Vec::new(), Vec::new());
        let n_blocks = self.blocks.len();
        for (l, b) in self.blocks.iter_mut().enumerate() {
            convs.push((l, &mut b.conv));
            norms.push((l, &mut b.norm));
        }
        convs.push((n_blocks, &mut self.output));
        let mut out: Vec<(ParamId, &mut Vec<f32>)> = Vec::new();
        for (l, layer) in convs {
            let (w, p) = (
                conv_id(ParamKind::Weight, l, layer),
                conv_id(ParamKind::Position, l, layer),
            );
            out.push((w, &mut layer.weight));
            out.push((p, &mut layer.position));
        }
        for (l, n) in norms {
            let tensors = [
                &mut n.gamma,
                &mut n.beta,
                &mut n.running_mean,
                &mut n.running_var,
            ];
            for (kind, v) in NORM_KINDS.into_iter().zip(tensors) {
                out.push((norm_id(kind, l, v.len()), v));
            }
        }
        out
    }

    /// The checkpoint name of the first tensor holding a NaN or an infinity, if any (one pass
    /// over the parameters, a small fraction of a training step).
    pub fn first_non_finite(&self) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(_, v)| !v.iter().all(|x| x.is_finite()))
            .map(|(id, _)| id.name())
    }
}

impl NetworkGrads {
    /// `∂L/∂(tensor)` of a trained tensor; `None` for running statistics.
    pub fn of(&self, id: &ParamId) -> Option<&[f32]> {
        Some(match id.kind {
            ParamKind::Weight => &self.layers[id.layer].weight,
            ParamKind::Position => &self.layers[id.layer].position,
            ParamKind::Gamma => &self.norms[id.layer].gamma,
            ParamKind::Beta => &self.norms[id.layer].beta,
            ParamKind::RunningMean | ParamKind::RunningVar => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::model::NetworkConfig;

    #[test]
    fn both_walks_name_the_same_tensors_in_the_same_order() {
        let config = super::super::config::ModelConfig::default().network_config(5, 2);
        let config = NetworkConfig {
            hidden: vec![4, 3],
            ..config
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut net = Network::new(&config, &mut rng).unwrap();
        let read: Vec<(ParamId, Vec<f32>)> = net
            .params()
            .into_iter()
            .map(|(id, v)| (id, v.to_vec()))
            .collect();
        let written: Vec<(ParamId, Vec<f32>)> = net
            .params_mut()
            .into_iter()
            .map(|(id, v)| (id, v.clone()))
            .collect();
        assert_eq!(read, written);
        // 3 delay layers × (W, P), 2 blocks × 4 BatchNorm tensors.
        assert_eq!(read.len(), 3 * 2 + 2 * 4);
        assert_eq!(read[0].0.name(), "layers.0.weight");
        assert_eq!(read[5].0.name(), "layers.2.position");
        assert_eq!(read[5].0.shape, vec![2, 3, config.kernel_count]);
        assert_eq!(read[13].0.name(), "blocks.1.norm.running_var");
        let size: usize = read
            .iter()
            .map(|(id, v)| {
                assert_eq!(id.shape.iter().product::<usize>(), v.len(), "{}", id.name());
                v.len()
            })
            .sum();
        assert!(size > 0);
    }
}
