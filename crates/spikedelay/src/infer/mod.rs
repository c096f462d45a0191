//! Inference with exact integer delays (method §16): the rounded network as explicit synapses
//! ([`IntegerDelayNetwork`]) and run event by event with ring buffers ([`EventNetwork`]).

pub mod event;
pub mod integer;

pub use event::{EventLayer, EventNetwork};
pub use integer::{IntegerDelayNetwork, IntegerLayer};
