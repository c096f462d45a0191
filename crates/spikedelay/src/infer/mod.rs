//! Inference with exact integer delays (method §16).

pub mod integer;

pub use integer::{IntegerDelayNetwork, IntegerLayer};
