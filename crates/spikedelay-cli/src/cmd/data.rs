//! `spikedelay data download | inspect | make-synthetic`.

use anyhow::{Context, Result, bail};
use spikedelay::data::download::download;
use spikedelay::data::inspect::{inspect_audio_folder, inspect_spike_file};
use spikedelay::data::spikes::writer::{SpikeFileTypes, write_spike_file};
use spikedelay::data::synthetic::gsc::SyntheticGsc;
use spikedelay::data::synthetic::shd::SyntheticShd;

use crate::args::{DataCommand, DownloadArgs, InspectArgs, SyntheticArgs, SyntheticFormat};
use crate::progress::DataProgress;

/// Runs a `data` subcommand.
pub fn run(cmd: &DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Download(a) => run_download(a),
        DataCommand::Inspect(a) => run_inspect(a),
        DataCommand::MakeSynthetic(a) => run_synthetic(a),
    }
}

fn run_download(a: &DownloadArgs) -> Result<()> {
    let files = download(
        &a.dataset,
        &a.data_dir,
        a.mirror.as_deref(),
        &mut DataProgress::default(),
    )?;
    for f in files {
        println!("ready: {}", f.display());
    }
    Ok(())
}

fn run_inspect(a: &InspectArgs) -> Result<()> {
    if a.path.is_dir() {
        print!("{}", inspect_audio_folder(&a.path)?);
    } else {
        print!("{}", inspect_spike_file(&a.path)?);
    }
    Ok(())
}

fn run_synthetic(a: &SyntheticArgs) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    match a.format {
        SyntheticFormat::Shd => {
            if a.speakers.is_some() {
                bail!("--speakers applies to --format gsc only");
            }
            let mut g = SyntheticShd {
                seed: a.seed,
                ..SyntheticShd::default()
            };
            if let Some(n) = a.train_per_class {
                g.train_per_class = n;
            }
            if let Some(n) = a.test_per_class {
                g.test_per_class = n;
            }
            if a.timing_only {
                g.pool_factor = 1;
            }
            if g.train_per_class == 0 || g.test_per_class == 0 {
                bail!("--train-per-class and --test-per-class must be at least 1");
            }
            let (train, test) = g.generate();
            for (name, c) in [("shd_train.h5", &train), ("shd_test.h5", &test)] {
                let path = a.out.join(name);
                write_spike_file(&path, c, SpikeFileTypes::PUBLISHED)?;
                println!("wrote {} ({} samples)", path.display(), c.samples.len());
            }
        }
        SyntheticFormat::Gsc => {
            if a.train_per_class.is_some() || a.test_per_class.is_some() || a.timing_only {
                bail!(
                    "--train-per-class, --test-per-class and --timing-only apply to --format shd only"
                );
            }
            let mut g = SyntheticGsc {
                seed: a.seed,
                ..SyntheticGsc::default()
            };
            if let Some(n) = a.speakers {
                if n < 3 {
                    bail!("--speakers needs at least 3 (one per split), got {n}");
                }
                g.speakers = n;
            }
            let clips = g.write(&a.out)?;
            println!("wrote {} clips of 35 words into {}", clips, a.out.display());
        }
    }
    Ok(())
}
