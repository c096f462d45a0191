//! Training (method §13–§15): optimisers, schedules, the epoch loop, checkpoints, records.

pub mod aggregate;
pub mod checkpoint;
pub mod layout;
pub mod metrics;
mod on_device;
pub mod optim;
pub mod parallel;
pub mod provenance;
pub mod report;
pub mod run_dir;
pub mod runs;
pub mod schedule;
pub mod sweep;
pub mod trainer;

pub use aggregate::{Aggregate, MeanStd, read_summary};
pub use checkpoint::{Checkpoint, Progress};
pub use layout::{RunLayout, files};
pub use metrics::{EpochMetrics, Summary};
pub use optim::{Adam, AdamState, NetworkOptimizer};
pub use provenance::Provenance;
pub use run_dir::{Existing, RunDir};
pub use runs::{DataSource, RunObserver, RunOutcome, RunPlan, RunStarted};
pub use schedule::{CosineAnnealing, OneCycle, SigmaSchedule};
pub use trainer::{TrainObserver, Trainer};
