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
        DataCommand::Cochlea(a) => super::cochlea::run(a),
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

/// Prints each report; fails (after printing) when a report lists problems or holds nothing.
fn run_inspect(a: &InspectArgs) -> Result<()> {
    let mut failures = Vec::new();
    let report = |text: String, json: serde_json::Value, problems: usize, items: usize| {
        if a.json {
            println!("{json}");
        } else {
            print!("{text}");
        }
        (problems, items)
    };
    let h5 = spike_files_in(&a.path)?;
    let targets: Vec<(std::path::PathBuf, bool)> = match (&h5, a.path.is_dir()) {
        (Some(files), _) => files.iter().map(|f| (f.clone(), true)).collect(),
        (None, true) => vec![(a.path.clone(), false)],
        (None, false) => vec![(a.path.clone(), true)],
    };
    for (path, spikes) in targets {
        let (problems, items, what) = if spikes {
            let r = inspect_spike_file(&path)?;
            let (p, n) = report(r.to_string(), r.to_json(), r.problem_count, r.samples);
            (p, n, "samples")
        } else {
            let r = inspect_audio_folder(&path)?;
            let clips = r.splits.iter().flat_map(|(_, c)| c).sum();
            let (p, n) = report(r.to_string(), r.to_json(), r.problem_count, clips);
            (p, n, "clips")
        };
        if problems > 0 {
            failures.push(format!("{}: {problems} problem(s)", path.display()));
        } else if items == 0 {
            failures.push(format!("{}: no {what}", path.display()));
        }
    }
    if !failures.is_empty() {
        bail!("inspection found problems: {}", failures.join("; "));
    }
    Ok(())
}

/// The `.h5` files of a folder (sorted), `None` for a folder without any or for a file.
fn spike_files_in(path: &std::path::Path) -> Result<Option<Vec<std::path::PathBuf>>> {
    if !path.is_dir() {
        return Ok(None);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    Ok((!files.is_empty()).then_some(files))
}

/// Refuses to replace `paths` that exist unless `overwrite`.
fn refuse_existing(paths: &[std::path::PathBuf], overwrite: bool) -> Result<()> {
    let existing: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !overwrite && !existing.is_empty() {
        bail!(
            "{} already exist(s); make-synthetic never replaces files (they may be a real \
             dataset) unless given --overwrite",
            existing.join(", ")
        );
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
            let names = ["shd_train.h5", "shd_test.h5"];
            refuse_existing(&names.map(|n| a.out.join(n)), a.overwrite)?;
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
            let mut ours: Vec<std::path::PathBuf> = spikedelay::data::audio::source::GSC_WORDS
                .iter()
                .map(|w| a.out.join(w))
                .collect();
            ours.extend(["validation_list.txt", "testing_list.txt"].map(|n| a.out.join(n)));
            refuse_existing(&ours, a.overwrite)?;
            for p in ours.iter().filter(|p| p.is_dir()) {
                std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))?;
            }
            let clips = g.write(&a.out)?;
            println!("wrote {} clips of 35 words into {}", clips, a.out.display());
        }
    }
    Ok(())
}
