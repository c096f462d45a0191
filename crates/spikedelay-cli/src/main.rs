//! The `spikedelay` command line: a thin layer over the library.

mod args;
mod bench;
mod cmd;
mod hints;
mod plan;
mod plot;
mod progress;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use args::{Cli, Command, ThreadArgs};

/// Runs `f` on a worker of a pool of `--threads` threads (rayon's default count without the
/// flag). Running the command itself on a worker lets every parallel loop inside it start
/// without a cross-thread hand-off from the main thread.
fn in_pool<R: Send>(t: &ThreadArgs, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = t.threads {
        if n == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        builder = builder.num_threads(n);
    }
    let pool = builder.build().context("starting the thread pool")?;
    pool.install(f)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => in_pool(&a.threads, || cmd::train::run(&a)),
        Command::Eval(a) => in_pool(&a.threads, || cmd::eval::run(&a)),
        Command::Export(a) => in_pool(&a.threads, || cmd::export::run(&a)),
        Command::Stream(a) => cmd::stream::run(&a),
        Command::Bench(a) => in_pool(&a.threads, || cmd::bench::run(&a)),
        Command::Report(a) => cmd::report::run(&a),
        Command::Sweep(a) => cmd::sweep::run(&a),
        Command::Plot(a) => in_pool(&a.threads, || cmd::plot::run(&a)),
        Command::Data(args::DataCommand::Cochlea(a)) => {
            in_pool(&a.threads, || cmd::cochlea::run(&a))
        }
        Command::Data(c) => cmd::data::run(&c),
    }
}

/// Keeps freed memory in glibc's heap instead of returning every large block to the kernel:
/// training allocates and frees the same large activation buffers every batch, and with the
/// default mmap threshold each one costs fresh page faults and TLB shootdowns across threads
/// (measured: a third of the default run's wall time was kernel time).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called once before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Restores the default SIGPIPE action, so that `spikedelay ... | head` ends quietly when the
/// reader closes the pipe (as other Unix tools do) instead of panicking in `println!`.
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any other thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    tune_allocator();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if let Some(hint) = hints::hint(&err) {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}
