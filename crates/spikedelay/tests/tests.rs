//! Integration tests, one binary: finite-difference gradient checks, the rounded model against
//! the integer-delay network, training behaviour, checkpoints.

mod checkpoint;
mod common;
mod gradcheck;
mod rounded;
mod training;
