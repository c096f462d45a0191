//! The model (method §2–§12): delay layers, BatchNorm, LIF, dropout, readout, and the network
//! that stacks them. Each file holds one layer with its forward and backward passes.

pub mod config;
pub mod dcls;
pub mod decision;
pub mod dropout;
pub mod lif;
pub mod network;
pub mod neuron;
pub mod norm;
pub mod params;
pub mod readout;
pub mod shards;
pub mod taps;

pub use dcls::{ConvPath, ConvPlan, DclsCache, DclsGrads, DclsLayer, GradsWanted, KernelKind};
pub use decision::{LossOutput, sum_softmax_cross_entropy};
pub use dropout::SeqDropout;
pub use lif::{Charge, Lif, SpikeFn};
pub use network::{
    BlockCache, DelayMode, ForwardCache, HiddenBlock, Network, NetworkConfig, NetworkGrads,
};
pub use neuron::{HiddenNeuron, Neuron};
pub use norm::TimeBatchNorm;
pub use params::{ParamId, ParamKind};
pub use readout::Readout;
pub use taps::Sig;
