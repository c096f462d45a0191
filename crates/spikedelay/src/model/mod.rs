//! The model (method §2–§12): delay layers, BatchNorm, LIF, dropout, readout, and the network
//! that stacks them. Each file holds one layer with its forward and backward passes.

pub mod conv_plan;
pub mod dcls;
pub mod dropout;
pub mod lif;
pub mod network;
pub mod norm;
pub mod readout;

pub use dcls::{ConvPath, ConvPlan, DclsGrads, DclsLayer, KernelKind};
pub use dropout::SeqDropout;
pub use lif::{Charge, Lif, SpikeFn};
pub use network::{DelayMode, HiddenBlock, Network, NetworkConfig, NetworkGrads};
pub use norm::TimeBatchNorm;
pub use readout::Readout;
