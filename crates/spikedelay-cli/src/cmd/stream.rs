//! `spikedelay stream`: events in, one network step per frame, the running decision out
//! (docs/deploy.md §6).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::data::spikes::binning::Binning;
use spikedelay::data::spikes::csv_events::{CsvEvents, CsvItem};
use spikedelay::data::spikes::file::SpikeFile;
use spikedelay::data::spikes::stream_binner::StreamBinner;
use spikedelay::export::{
    DeployedNetwork, EventDeployed, ExportedModel, LoihiNetwork, OpenedModel, Stream, read_netx,
};
use spikedelay::infer::EventNetwork;
use spikedelay::train::Checkpoint;

use crate::args::{Quantize, StreamArgs};

/// The network to stream through.
enum Network {
    /// A checkpoint's evaluation engine (decisions as `eval` makes them).
    Rounded(Arc<EventNetwork>),
    /// A checkpoint's export, float, in lockstep.
    Float(EventDeployed),
    /// Loihi 2's fixed point, in lockstep.
    Loihi(LoihiNetwork),
}

/// The network to stream through and what it needs.
struct Streamed {
    network: Network,
    binning: Binning,
    inputs: usize,
}

impl Streamed {
    fn stream(&self) -> Stream<'_> {
        match &self.network {
            Network::Rounded(n) => Stream::rounded(n.clone()),
            Network::Float(f) => Stream::float(f),
            Network::Loihi(q) => Stream::loihi(q),
        }
    }
}

fn load(args: &StreamArgs) -> Result<Streamed> {
    let given = match &args.config {
        Some(c) => Some(RunConfig::from_toml_file(c)?),
        None => None,
    };
    if let Some(path) = &args.network.model {
        let opened = OpenedModel::open(path, None)?;
        let ExportedModel::Netx(_) = opened.model else {
            bail!(
                "{}: a NIR graph; stream takes netx files and checkpoints (run NIR graphs with \
                 eval --model)",
                path.display()
            );
        };
        let (net, meta) = read_netx(path)?;
        let config = match (given, meta.get(spikedelay::export::CONFIG_KEY)) {
            (Some(c), _) => c,
            (None, Some(t)) => RunConfig::from_toml_str(t)
                .with_context(|| format!("{}: the stored run configuration", path.display()))?,
            (None, None) => bail!(
                "{}: carries no run configuration; give --config FILE.toml for its binning",
                path.display()
            ),
        };
        return Ok(Streamed {
            inputs: net.layers[0].inputs,
            network: Network::Loihi(net),
            binning: config.data.stream_binning(config.model.time_step_ms),
        });
    }
    let path = args.network.checkpoint.as_ref().expect("clap requires one");
    let ck = Checkpoint::load(path)?;
    let config = given.unwrap_or_else(|| ck.config.clone());
    let net = DeployedNetwork::from_network(&ck.network, ck.config.model.time_step_ms);
    let network = match args.network.quantize {
        Some(Quantize::Loihi) => {
            Network::Loihi(LoihiNetwork::quantize(&net, args.network.clip_delays)?.0)
        }
        _ if args.lockstep => Network::Float(EventDeployed::new(&net)),
        _ => Network::Rounded(Arc::new(EventNetwork::from_network(&ck.network))),
    };
    Ok(Streamed {
        inputs: net.layers[0].inputs,
        binning: config.data.stream_binning(config.model.time_step_ms),
        network,
    })
}

/// Tallies and timing over the whole input.
#[derive(Default)]
struct Totals {
    samples: usize,
    labelled: usize,
    correct: usize,
    events: usize,
    seconds: f64,
}

/// Streams one sample's frames (then the tail) and prints its decision.
fn run_sample(
    net: &Streamed,
    frames: &[Vec<usize>],
    label: Option<u32>,
    index: usize,
    every_step: bool,
    totals: &mut Totals,
) -> Result<()> {
    let start = Instant::now();
    let mut stream = net.stream();
    let mut first_final = 0;
    let mut decisions = Vec::with_capacity(frames.len() + stream.tail_steps());
    for events in frames {
        if let Some(&bad) = events.iter().find(|&&c| c >= net.inputs) {
            bail!(
                "sample {index}: pooled channel {bad}, but the network takes {} inputs",
                net.inputs
            );
        }
        stream.step(events);
        decisions.push(stream.decision().expect("stepped"));
    }
    stream.end_input();
    for _ in 0..stream.tail_steps() {
        stream.step(&[]);
        decisions.push(stream.decision().expect("stepped"));
    }
    totals.seconds += start.elapsed().as_secs_f64();
    totals.events += frames.iter().map(Vec::len).sum::<usize>();
    let last = *decisions.last().expect("at least one step");
    for (t, &d) in decisions.iter().enumerate() {
        if d != last {
            first_final = t + 1;
        }
        if every_step {
            println!(
                "sample {index} step {t}: class {d} (score {:.3})",
                stream.scores()[d]
            );
        }
    }
    totals.samples += 1;
    let verdict = match label {
        Some(y) => {
            totals.labelled += 1;
            totals.correct += usize::from(y as usize == last);
            format!(
                ", label {y}{}",
                if y as usize == last { "" } else { " (wrong)" }
            )
        }
        None => String::new(),
    };
    println!(
        "sample {index}: class {last} after {} steps (settled from step {first_final}){verdict}",
        decisions.len()
    );
    Ok(())
}

/// Runs `stream`.
pub fn run(args: &StreamArgs) -> Result<()> {
    let net = load(args)?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut totals = Totals::default();
    let path = &args.input;
    let is_hdf5 = path != Path::new("-")
        && std::fs::File::open(path)
            .and_then(|mut f| {
                let mut magic = [0u8; 8];
                f.read_exact(&mut magic)
                    .map(|_| magic == *b"\x89HDF\r\n\x1a\n")
            })
            .unwrap_or(false);
    if is_hdf5 {
        // An SHD-format file: each sample binned as evaluation bins it, then streamed per frame.
        let file = SpikeFile::open(path)?;
        for i in 0..file.len().min(limit) {
            let sample = file.sample(i)?;
            let binned = net.binning.bin(&sample, file.time_width);
            let mut frames = vec![Vec::new(); binned.steps];
            for &(f, c, n) in &binned.entries {
                frames[f as usize].extend(std::iter::repeat_n(c as usize, n as usize));
            }
            run_sample(
                &net,
                &frames,
                Some(file.labels[i]),
                i,
                args.every_step,
                &mut totals,
            )?;
        }
    } else {
        let reader: Box<dyn BufRead> = if path == Path::new("-") {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            Box::new(BufReader::new(std::fs::File::open(path).with_context(
                || format!("--input {}: cannot open", path.display()),
            )?))
        };
        let mut binner = StreamBinner::new(net.binning);
        let mut frames = Vec::new();
        for item in CsvEvents::new(reader, path) {
            match item.context("--input")? {
                CsvItem::Event {
                    time_s,
                    channel,
                    line,
                } => frames.extend(
                    binner
                        .push(time_s, channel)
                        .with_context(|| format!("--input {}, line {line}", path.display()))?,
                ),
                CsvItem::EndOfSample => {
                    frames.push(binner.finish());
                    let index = totals.samples;
                    run_sample(&net, &frames, None, index, args.every_step, &mut totals)?;
                    frames.clear();
                    if totals.samples >= limit {
                        break;
                    }
                }
            }
        }
    }
    if totals.samples == 0 {
        bail!("--input {}: no events", path.display());
    }
    let accuracy = if totals.labelled > 0 {
        format!(
            "accuracy {:.2}% ({}/{}); ",
            100.0 * totals.correct as f64 / totals.labelled as f64,
            totals.correct,
            totals.labelled
        )
    } else {
        String::new()
    };
    println!(
        "streamed {} samples, {} input events: {accuracy}{:.2} µs per input event, {:.3} ms per \
         sample (one thread, tail steps included)",
        totals.samples,
        totals.events,
        1e6 * totals.seconds / totals.events.max(1) as f64,
        1e3 * totals.seconds / totals.samples as f64
    );
    Ok(())
}
