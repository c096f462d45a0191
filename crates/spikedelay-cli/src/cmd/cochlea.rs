//! `spikedelay data cochlea`: audio to SHD-format spikes (library: `data::cochlea`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};
use spikedelay::data::cochlea::convert::{AudioInput, CochleaSettings, convert};
use spikedelay::data::cochlea::{Cochlea, CochleaParams, Sampler};

use crate::args::CochleaArgs;
use crate::progress::DataProgress;

fn params(a: &CochleaArgs) -> Result<CochleaParams> {
    let mut p = match &a.params {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --params {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("parsing --params {}", path.display()))?
        }
        None => CochleaParams::default(),
    };
    p.channels = a.channels;
    Ok(p)
}

/// Runs the conversion and prints what it wrote.
pub fn run(a: &CochleaArgs) -> Result<()> {
    let settings = CochleaSettings {
        params: params(a)?,
        rate: a.rate,
        seed: a.seed,
        sampler: a.sampler.parse::<Sampler>()?,
        prefix: a.prefix.clone(),
    };
    let input = if a.audio.len() == 1 && a.audio[0].is_dir() {
        AudioInput::Folder {
            root: a.audio[0].clone(),
            valid_percent: a.valid_percent,
            test_percent: a.test_percent,
        }
    } else {
        AudioInput::Files(a.audio.clone())
    };
    if let Some(stages) = &a.stages {
        let AudioInput::Files(files) = &input else {
            bail!("--stages takes one WAV file, not a folder");
        };
        if files.len() != 1 {
            bail!("--stages takes one WAV file, got {}", files.len());
        }
        write_stages(&files[0], &settings, stages)?;
    }
    // A kill is safe (chunks are written atomically): no stop flag needed.
    let summary = convert(
        &input,
        &a.out,
        &settings,
        &mut DataProgress::default(),
        &|| false,
    )?;
    for (path, samples, spikes) in &summary.files {
        println!(
            "wrote {} ({samples} samples, {spikes} spikes)",
            path.display()
        );
    }
    Ok(())
}

/// Writes one file's deterministic stages (channel-major f64 arrays) for comparison.
fn write_stages(wav: &Path, settings: &CochleaSettings, out: &Path) -> Result<()> {
    let cochlea = Cochlea::new(settings.params)?;
    let audio = spikedelay::data::audio::wav::read_wav(wav)?;
    if settings.rate.is_some_and(|r| r != audio.sample_rate) {
        bail!("--stages compares the file at its own rate: leave out --rate");
    }
    let wave: Vec<f64> = audio.samples.iter().map(|&v| v as f64).collect();
    let (velocity, probability, rate) = cochlea
        .stages(
            &wave,
            audio.sample_rate,
            &(0..settings.params.channels).collect::<Vec<_>>(),
        )
        .with_context(|| format!("{}", wav.display()))?;
    let shape = vec![velocity.len() as u64, velocity[0].len() as u64];
    let flat = |v: Vec<Vec<f64>>| v.into_iter().flatten().collect::<Vec<f64>>();
    let e = |e: hdf5_writer::Error| anyhow::anyhow!("encoding {}: {e}", out.display());
    let bytes = Hdf5Builder::new()
        .dataset(DatasetBuilder::typed_data("velocity", shape.clone(), &flat(velocity)).map_err(e)?)
        .dataset(DatasetBuilder::typed_data("probability", shape, &flat(probability)).map_err(e)?)
        .dataset(DatasetBuilder::typed_data("rate", vec![1], &[rate as u64]).map_err(e)?)
        .into_plan()
        .map_err(e)?
        .encode(WriteOptions::default())
        .map_err(e)?;
    spikedelay::atomic_file::write_atomic(out, &bytes)?;
    println!("wrote {}", out.display());
    Ok(())
}
