//! Training (method §12–§15): loss, optimisers, schedules, the epoch loop, checkpoints, records.

pub mod checkpoint;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod schedule;
pub mod tally;
pub mod trainer;

pub use checkpoint::{Checkpoint, Progress};
pub use loss::{LossOutput, sum_softmax_cross_entropy};
pub use metrics::{EpochMetrics, Summary};
pub use optim::{Adam, AdamState, NetworkOptimizer};
pub use schedule::{CosineAnnealing, OneCycle, SigmaSchedule};
pub use tally::Tally;
pub use trainer::{EvalResult, TrainObserver, Trainer, evaluate, evaluate_with};
