//! The `spikedelay` command line: a thin layer over the library.

mod args;
mod cmd;
mod plan;
mod progress;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use args::{Cli, Command, ThreadArgs};

fn init_threads(t: &ThreadArgs) -> Result<()> {
    if let Some(n) = t.threads {
        if n == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("starting the thread pool")?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => {
            init_threads(&a.threads)?;
            cmd::train::run(&a)
        }
        Command::Eval(a) => {
            init_threads(&a.threads)?;
            cmd::eval::run(&a)
        }
        Command::Bench(a) => {
            init_threads(&a.threads)?;
            cmd::bench::run(&a)
        }
        Command::Data(c) => cmd::data::run(&c),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
