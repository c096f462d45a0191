//! Integration tests, one binary: finite-difference gradient checks, parity with the reference
//! PyTorch stack from committed fixtures, the rounded model against
//! the integer-delay network, training behaviour, checkpoints.

mod batching;
mod checkpoint;
mod cochlea;
mod common;
mod data_parallel;
mod device;
#[cfg(feature = "download")]
mod download;
mod export;
mod fuzz;
mod gradcheck;
mod gsc;
mod parity;
mod paths;
mod rounded;
mod spike_files;
mod training;
