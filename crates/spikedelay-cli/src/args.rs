//! What the user typed: clap definitions only, no work.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use spikedelay::config::Preset;
use spikedelay::data::{BinningMode, SelectOn};
use spikedelay::export::ExportFormat;
use spikedelay::infer::SampleSteps;
use spikedelay::model::{ConvPath, DelayMode};
use spikedelay::train::sweep::GridAxis;
use spikedelay::train::sweep::table::TableFormat;

use crate::bench::{Phase, WorkloadName};

/// The version, with the optional features this binary was built with.
#[cfg(feature = "mpi")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (features: mpi)");
#[cfg(not(feature = "mpi"))]
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Train and run spiking neural networks with learned synaptic delays (DCLS-Delays).
#[derive(Debug, Parser)]
#[command(name = "spikedelay", version = VERSION, about)]
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
    /// Evaluate a saved checkpoint with integer (rounded) delays, its Loihi fixed-point form, or
    /// an exported NIR/netx file.
    Eval(EvalArgs),
    /// Export a checkpoint for Loihi 2 (netx), NIR tools or simulators (synapse lists).
    Export(ExportArgs),
    /// Run a network on a stream of (time, channel) events, one step at a time, printing the
    /// running class decision.
    Stream(StreamArgs),
    /// Time training steps and inference batches on the paper's SHD and SSC shapes.
    Bench(BenchArgs),
    /// Compare finished runs (single seeds or --seeds folders) in one Markdown table, or print a
    /// sweep's ablation table.
    Report(ReportArgs),
    /// Train a grid of configurations × seeds: here (--jobs), or as a Slurm job array (--slurm).
    Sweep(SweepArgs),
    /// Draw a run's learning curves, learned delays and one test sample as PNG files.
    Plot(PlotArgs),
    /// Get, inspect or synthesise datasets (SHD, SSC, GSC).
    #[command(subcommand)]
    Data(DataCommand),
}

/// `spikedelay data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the official archives, verify their checksums, extract them (resumable).
    Download(DownloadArgs),
    /// Summarise an SHD/SSC file or a GSC folder and list anything malformed.
    Inspect(InspectArgs),
    /// Write a synthetic stand-in in the exact SHD file format or GSC folder layout.
    MakeSynthetic(SyntheticArgs),
    /// Turn audio into SHD-format spikes with the Heidelberg ear model (docs/cochlea.md).
    Cochlea(CochleaArgs),
}

/// `spikedelay data cochlea`.
#[derive(Debug, Args)]
pub struct CochleaArgs {
    /// A folder of class subfolders of WAV clips (split by its list files or speaker
    /// percentages, as the `audio-folder` kind splits it), or WAV files.
    #[arg(value_name = "AUDIO", required = true)]
    pub audio: Vec<PathBuf>,
    /// Output folder: `train.h5`, `valid.h5`, `test.h5` (or `spikes.h5` for files).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Frequency channels.
    #[arg(long, default_value_t = 700, value_name = "N")]
    pub channels: usize,
    /// Resample every clip to this rate first (Hz) [default: each file's own rate].
    #[arg(long, value_name = "HZ")]
    pub rate: Option<usize>,
    /// Seed: clip k (training, validation, then test clips in order) uses SEED + k.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Fibre sampler: `fast`, or `exact` (lauscher's NumPy draws, spike for spike).
    #[arg(long, default_value = "fast", value_parser = ["fast", "exact"])]
    pub sampler: String,
    /// Name the files `PREFIX_train.h5`, ... (`--prefix shd` for `--preset shd`).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Folders without list files: percent of speakers for validation.
    #[arg(long, default_value_t = 10.0, value_name = "P")]
    pub valid_percent: f64,
    /// Folders without list files: percent of speakers for testing.
    #[arg(long, default_value_t = 10.0, value_name = "P")]
    pub test_percent: f64,
    /// Model parameters as TOML (`channels`, `rms`, `[membrane]`, `[hair_cell]`,
    /// `[bushy_cell]`; docs/cochlea.md §7); --channels overrides.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// One file only: also write its membrane velocity and firing probability per channel
    /// (HDF5 `velocity`, `probability`, `rate`) to FILE, for comparison with lauscher.
    #[arg(long, value_name = "FILE")]
    pub stages: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay data download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Which dataset.
    #[arg(value_parser = PossibleValuesParser::new(spikedelay::data::download::DATASETS))]
    pub dataset: String,
    /// Folder to download and extract into.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Fetch `URL/<archive name>` instead of the official address (a local mirror).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
}

/// `spikedelay data inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// An SHD/SSC `.h5` file, a folder of them, or a GSC-style audio folder.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Print one JSON object per file or folder instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Synthetic data formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyntheticFormat {
    /// `shd_train.h5` and `shd_test.h5` (700 channels, float16 times).
    Shd,
    /// A GSC-style folder of WAV files with split lists.
    Gsc,
}

/// `spikedelay data make-synthetic`.
#[derive(Debug, Args)]
pub struct SyntheticArgs {
    /// Which layout to write.
    #[arg(long, value_enum)]
    pub format: SyntheticFormat,
    /// Output folder (created).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// SHD: training samples per class [default: 200].
    #[arg(long, value_name = "N")]
    pub train_per_class: Option<usize>,
    /// SHD: test samples per class [default: 50].
    #[arg(long, value_name = "N")]
    pub test_per_class: Option<usize>,
    /// SHD: every class uses the same channels, so that only spike timing tells classes apart
    /// (a network without delays is then at chance).
    #[arg(long)]
    pub timing_only: bool,
    /// GSC: speakers, each saying every word once [default: 40].
    #[arg(long, value_name = "N")]
    pub speakers: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Replace files already in OUT (`shd_*.h5`, or the GSC words' folders and split lists);
    /// without it, existing files are never touched.
    #[arg(long)]
    pub overwrite: bool,
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
    /// The paper's configuration for a dataset (method §18); a --config file and flags
    /// override it.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// TOML file with [data], [model] and [train] tables; it overrides the preset, and flags
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder with the dataset's files (spike files, or a folder of audio clips) [sets data.dir].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which split selects the reported epoch [default: valid].
    #[arg(long, value_enum)]
    pub select_on: Option<SelectOn>,
    /// Spike-file binning [default: event-anchored].
    #[arg(long, value_enum)]
    pub binning: Option<BinningMode>,
    /// Batch size.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// How delays are treated.
    #[arg(long, value_enum)]
    pub delays: Option<DelayMode>,
    /// How delay convolutions are computed [default: auto].
    #[arg(long, value_enum)]
    pub conv_path: Option<ConvPath>,
    /// Number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Which steps run and decide a sample in each epoch's evaluation [sets train.eval_steps;
    /// default: own]; `padded-batch` evaluates as the reference does.
    #[arg(long, value_enum, value_name = "STEPS")]
    pub eval_steps: Option<SampleSteps>,
    /// Training seed (initialisation, shuffling, dropout).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Where the training batches run: `auto` (a CUDA GPU when there is one, else the CPU),
    /// `cpu`, `cuda`, `cuda:N`, or `software` (the GPU's kernels on the host, to check them;
    /// slow). Not stored in the run's configuration: a run resumes on any device.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub device: spikedelay::device::Device,
    /// Fixed shards each batch is split into [sets train.shards; default 1]: with MPI
    /// (`mpirun -np K`, K dividing N) the shards are divided among the processes, and any K gives
    /// one process's results bit for bit.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Train once per seed into OUT/seed<k>/ (finished seeds are skipped on a rerun) and write
    /// OUT/aggregate.json with the mean and sample std over the seeds.
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        conflicts_with = "seed"
    )]
    pub seeds: Option<Vec<u64>>,
    /// Output directory for checkpoints, metrics.jsonl and summary.json
    /// [default: runs/<dataset>-<delays>-seed<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run saved in --out from its last completed epoch (with --seeds: the seed
    /// that did not finish).
    #[arg(long)]
    pub resume: bool,
    /// Replace a run that is already in --out (its checkpoints, records and figures) instead
    /// of refusing to; with --seeds, every seed is trained again.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// After training, draw the run's figures into OUT/plots (as `spikedelay plot OUT`).
    #[arg(long)]
    pub plot: bool,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Networks to time, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "shd,ssc")]
    pub workload: Vec<WorkloadName>,
    /// What to time, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "train-early,train-mid,train-late,infer,infer-dense"
    )]
    pub phase: Vec<Phase>,
    /// σ_eff of the timed training steps (train-* phases), instead of each phase's own
    /// (train-early D/2 + 0.27, train-mid 1.5, train-late 0.5). At least 0.27.
    #[arg(long, value_name = "S")]
    pub sigma: Option<f32>,
    /// How delay convolutions are computed.
    #[arg(long, value_enum, default_value = "auto")]
    pub conv_path: ConvPath,
    /// Where training steps and `infer` run: `cpu`, `cuda`, `cuda:N` or `software`
    /// (`infer-dense` and `layers` run on the CPU).
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: spikedelay::device::Device,
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
    /// Write the synthetic input of `--workload` to FILE and exit.
    #[arg(long, value_name = "FILE")]
    pub write_input: Option<PathBuf>,
    /// Print one JSON object per case instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folders (each with summary.json, or aggregate.json from --seeds), or one sweep
    /// folder (with sweep.json: one row per grid point, mean ± sample std over its seeds).
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,
    /// A sweep's table as Markdown, CSV or JSON (run folders: Markdown only).
    #[arg(long, value_enum, default_value = "md")]
    pub format: TableFormat,
    /// Also write the table to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Seeds given as `0-4` (a range, inclusive) or `0,1,2`.
#[derive(Debug, Clone)]
pub struct SeedList(pub Vec<u64>);

/// Seeds as `0-4` (a range, inclusive) or `0,1,2`.
fn parse_seeds(s: &str) -> Result<SeedList, String> {
    let bad = || format!("expects seeds as 0-4 or 0,1,2, got `{s}`");
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a > b {
            return Err(bad());
        }
        return Ok(SeedList((a..=b).collect()));
    }
    s.split(',')
        .map(|v| v.trim().parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()
        .map(SeedList)
}

/// `spikedelay sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The paper's configuration for a dataset; --config overrides it [default: the built-in
    /// task].
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// The base configuration (TOML); every grid point changes only its grid keys.
    #[arg(long, value_name = "BASE.toml")]
    pub config: Option<PathBuf>,
    /// One grid axis: a dotted config key and its values (repeat for more axes; the grid is
    /// their product).
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub grid: Vec<GridAxis>,
    /// The seeds of every grid point.
    #[arg(long, value_name = "0-4|0,1,2", value_parser = parse_seeds, default_value = "0")]
    pub seeds: SeedList,
    /// The sweep folder: OUT/sweep.json and one folder per grid point and seed.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Runs trained at a time here; the threads are divided between them.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub jobs: usize,
    /// Write OUT/sweep.sbatch, a Slurm job array of one task per run, instead of training here.
    #[arg(long)]
    pub slurm: bool,
    /// An sbatch option for --slurm (--partition=gpu, --time=04:00:00, --cpus-per-task=8,
    /// --gres=gpu:1); repeat for more.
    #[arg(
        long,
        value_name = "OPT",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    pub slurm_opt: Vec<String>,
    /// Submit the --slurm script with sbatch.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// Train only run I of an existing sweep in OUT (what each Slurm array task does).
    #[arg(long, value_name = "I", conflicts_with_all = ["grid", "config", "preset", "slurm"])]
    pub task: Option<usize>,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A run folder written by `train` (or by `train --seeds`: mean and spread over the seeds).
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
    /// Folder for the PNG files [default: RUN/plots].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which test sample to draw in sample.png.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub sample: usize,
    /// Threads (for the sample's forward pass and data loading).
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The network: a checkpoint (optionally in Loihi's fixed point) or an exported file.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// With --model: the run configuration naming the data, where the file does not carry one
    /// (files from other tools).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Write the first --trace-samples test samples as run (inputs, hidden spikes, readout) to
    /// this HDF5 file, for comparison with a target's simulator (docs/deploy.md §5).
    #[arg(long, value_name = "FILE.h5")]
    pub trace: Option<PathBuf>,
    /// Samples in --trace.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub trace_samples: usize,
    /// Batch size for evaluation [default: the checkpoint's training batch size]. Every
    /// decision, and so accuracy (correct / total), loss and spike rates, is the same at any
    /// batch size: each sample runs over its own steps. Only the reference's batch-mean figure,
    /// and everything under --eval-steps padded-batch, moves with it.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Which steps run and decide a sample: its own plus the tail (`own`, as `stream`), or
    /// padded to its batch's longest sample as the reference evaluates (`padded-batch`, for
    /// comparing with the reference's figures) [default: the run's train.eval_steps].
    #[arg(long, value_enum, value_name = "STEPS")]
    pub eval_steps: Option<SampleSteps>,
    /// Read the dataset from DIR instead of the folder stored in the checkpoint or file (the
    /// data has moved, or the run came from another machine).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON object (accuracy, counts, per-class accuracy and the confusion matrix of
    /// each split) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Where a checkpoint's rounded model runs: `cpu` (the event-driven engine), `cuda`,
    /// `cuda:N` or `software`; decisions are the same (docs/design.md §9).
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: spikedelay::device::Device,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// Which network `eval` and `stream` run.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Checkpoint (a `.safetensors` file written by `train`): its rounded integer-delay network.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    pub checkpoint: Option<PathBuf>,
    /// An exported file instead of a checkpoint: NIR or netx for `eval` (graphs from other tools
    /// too: Affine, Linear, Scale, Delay, LIF, LI and CubaLIF nodes run), netx for `stream`.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Run the checkpoint in Loihi 2's fixed point (as `export --format netx` writes it and
    /// Lava's bit-accurate models run it); `eval` shows it beside the float evaluation.
    #[arg(long, value_enum, value_name = "KIND", requires = "checkpoint")]
    pub quantize: Option<Quantize>,
    /// With --quantize loihi: clip delays above Loihi 2's 62 steps instead of refusing.
    #[arg(long)]
    pub clip_delays: bool,
}

/// Fixed-point forms a network can be run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Quantize {
    /// Float (no quantisation).
    None,
    /// Loihi 2: 8-bit weights, 13-bit biases, 12-bit decays, 24-bit state (lava-dl netx).
    Loihi,
}

/// `spikedelay export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint to export (a `.safetensors` file written by `train`).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Target format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: ExportFormat,
    /// File to write (replaced atomically).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Arithmetic of the exported network: netx is always Loihi's fixed point (`loihi`); NIR
    /// and synapse lists are float (`none`).
    #[arg(long, value_enum, value_name = "KIND")]
    pub quantize: Option<Quantize>,
    /// Clip delays above the target's maximum (Loihi 2: 62 steps) instead of refusing.
    #[arg(long)]
    pub clip_delays: bool,
    /// NIR: write one step as SECONDS (time constants and delays scale with it; the discrete
    /// network is unchanged). snnTorch's NIR importer assumes 1e-4 [default: the model's step].
    #[arg(long, value_name = "SECONDS")]
    pub nir_dt: Option<f64>,
    /// Read the checkpoint's dataset from DIR to report float and exported accuracy.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Do not evaluate on the checkpoint's data after writing.
    #[arg(long)]
    pub no_eval: bool,
    /// Threads.
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// `spikedelay stream`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// The network: a checkpoint (optionally in Loihi's fixed point) or a netx file.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Events: a CSV file of `time_s,channel` lines in time order, a blank line ending each
    /// sample (`-` reads standard input), or an SHD-format HDF5 file (every sample, with labels).
    #[arg(long, value_name = "EVENTS|-", default_value = "-")]
    pub input: PathBuf,
    /// The run configuration giving the binning, where the model carries none.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Print the decision after every step, not only per sample.
    #[arg(long)]
    pub every_step: bool,
    /// Stop after N samples.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Run a checkpoint as its export runs on a chip: the float network with BatchNorm folded,
    /// every layer running every step of the tail. Without it a checkpoint streams through the
    /// evaluation engine, and each sample's decision is the one `eval` makes.
    #[arg(long, requires = "checkpoint")]
    pub lockstep: bool,
}
