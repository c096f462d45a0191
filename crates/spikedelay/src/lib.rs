//! # spikedelay
//!
//! Spiking neural networks whose synaptic delays are learned, following *Learning Delays in
//! Spiking Neural Networks using Dilated Convolutions with Learnable Spacings* (Hammouamri,
//! Khalfaoui-Hassani, Masquelier, ICLR 2024).
//!
//! Every synapse `i → j` has a weight and a real-valued position (its delay). A layer is a causal
//! convolution over time whose kernel for synapse `(j, i)` is the weight times a normalised
//! Gaussian centred at the position; σ shrinks over training, and at evaluation positions are
//! rounded so each synapse is one weight at one integer delay.
//!
//! The tree follows the paper's pipeline: [`data`] (datasets, batching, the built-in task) →
//! [`model`] (delay layers, BatchNorm, LIF, dropout, readout, decision) → [`device`] (the
//! training step on a GPU, docs/design.md §9) → [`train`] (optimisers, schedules, trainer,
//! checkpoints) → [`infer`] (evaluation, integer-delay network). Numerical
//! kernels live in `kernels` (crate-internal; docs/design.md §3–§4). Activations are [`Seq`]
//! tensors laid out `(B, T, C)`.
//!
//! Doc comments cite the repository's own documents: "method §N" is `docs/method.md` (the
//! method as implemented, every formula the code relies on), "docs/datasets.md §N" the data
//! formats, "docs/design.md §N" the layout, the convolution paths, their cost model and the
//! SIMD dispatch.
//!
//! ```no_run
//! use spikedelay::{config::RunConfig, train::Trainer};
//! let config = RunConfig::default(); // the built-in `delay-patterns` task
//! let splits = config.data.load(config.model.time_step_ms, &mut ())?;
//! let mut trainer = Trainer::new(config, splits.train.channels(), splits.train.classes())?;
//! let summary = trainer.run(&splits, &mut ())?;
//! println!("test accuracy {:.3}", summary.test_accuracy);
//! # Ok::<(), spikedelay::Error>(())
//! ```

#![warn(missing_docs)]

pub mod atomic_file;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod fault;
pub(crate) mod hdf5_numbers;
pub(crate) mod hdf5_open;
pub mod infer;
pub(crate) mod kernels;
pub mod memory;
pub mod model;
pub mod seq;
pub mod train;

pub use error::{Error, Result};
pub use seq::Seq;
