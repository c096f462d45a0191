//! Inference with exact integer delays (method §16): the rounded network as explicit synapses
//! ([`IntegerDelayNetwork`]), run event by event with ring buffers ([`EventNetwork`]), and the
//! paper's evaluation protocol over a dataset ([`evaluate`]).

mod dense_input;
pub mod eval;
pub mod event;
pub mod integer;
pub mod tally;

pub use eval::{EvalResult, SampleSteps, evaluate, evaluate_shared, evaluate_with};
pub use event::{EventLayer, EventNetwork, EventState, InputPath};
pub use integer::{IntegerDelayNetwork, IntegerLayer};
pub use tally::Tally;
