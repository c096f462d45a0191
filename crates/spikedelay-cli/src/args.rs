//! What the user typed: clap definitions only, no work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Train and run spiking neural networks with learned synaptic delays (DCLS-Delays).
#[derive(Debug, Parser)]
#[command(name = "spikedelay", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network (default: the built-in `delay-patterns` task with learned delays).
    Train(TrainArgs),
    /// Evaluate a saved checkpoint with integer (rounded) delays.
    Eval(EvalArgs),
    /// Time training steps and inference batches on the paper's SHD and SSC shapes.
    Bench(BenchArgs),
}

/// Delay treatment, as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DelaysArg {
    /// Positions learned with a shrinking Gaussian kernel (the method).
    Learned,
    /// Random integer delays, frozen.
    Fixed,
    /// No delays (plain fully connected layers).
    None,
    /// Learned positions with σ fixed at 0.5.
    ConstantSigma,
}

/// Options shared by commands that compute.
#[derive(Debug, Args)]
pub struct ThreadArgs {
    /// Worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `spikedelay train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML file with [data], [delay_patterns], [model] and [train] tables; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How delays are treated.
    #[arg(long, value_enum)]
    pub delays: Option<DelaysArg>,
    /// Number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Training seed (initialisation, shuffling, dropout).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output directory for checkpoints, metrics.jsonl and summary.json
    /// [default: runs/<dataset>-<delays>-seed<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run saved in --out from its last completed epoch.
    #[arg(long)]
    pub resume: bool,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workload: `shd` (140→256→256→20, D = 25, batch 256), `ssc` (140→3×512→35, D = 31,
    /// batch 128), or `all`.
    #[arg(long, default_value = "all", value_name = "NAME")]
    pub config: String,
    /// What to time: `train-early` (σ = D/2), `train-late` (σ = 0.5), `infer` (rounded model),
    /// or `all`.
    #[arg(long, default_value = "all", value_name = "PHASE")]
    pub phase: String,
    /// Timed runs per case (the median is reported).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: usize,
    /// Untimed warm-up runs per case.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub warmup: usize,
    /// Use this input (`input` (T, B, C) f32 and `labels` (B) i64 safetensors) instead of the
    /// built-in synthetic one.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Write the synthetic input of `--config` to FILE and exit.
    #[arg(long, value_name = "FILE")]
    pub write_input: Option<PathBuf>,
    /// Print one JSON object per case instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint to evaluate (a `.safetensors` file written by `train`).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Batch size for evaluation [default: the checkpoint's training batch size].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}
