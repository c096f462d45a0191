//! The delay convolution of docs/method.md §3 and its two gradients, five ways:
//!
//! - [`events`]: over the non-zero inputs only (sparse spikes); sums in the order the
//!   integer-delay network does;
//! - [`gemm`]: one dense matrix product per pass over the whole batch;
//! - [`narrow`]: each synapse over its window of significant taps (small σ), by the
//!   register-blocked products of [`interleaved`];
//! - [`lowrank`]: every kernel row on a few shared tap profiles ([`tap_basis`]; wide σ);
//! - [`spectral`]: one complex product per frequency bin of a real FFT (any σ, any density).
//!
//! All take the dense kernel `k` laid out `(C_in, D, C_out)` and indexed by delay.

pub mod events;
pub mod gemm;
pub mod interleaved;
pub mod lowrank;
pub mod narrow;
pub mod spectral;
pub mod tap_basis;
