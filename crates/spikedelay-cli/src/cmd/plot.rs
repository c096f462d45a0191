//! `spikedelay plot`.

use std::path::Path;

use anyhow::Result;

use crate::args::PlotArgs;
use crate::plot::{default_dir, write_run_plots};

/// Draws the figures of `args.run`.
pub fn run(args: &PlotArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| default_dir(&args.run));
    draw(&args.run, &out, args.sample)
}

/// Draws the figures of `run` into `out` and lists them.
pub fn draw(run: &Path, out: &Path, sample: usize) -> Result<()> {
    for path in write_run_plots(run, out, sample)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
