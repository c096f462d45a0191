//! Exports (docs/deploy.md): the deployed network against the checkpoint's evaluation, NIR files
//! round-tripping exactly, the graph runner's primitives against the library's own neurons, and
//! clear errors for graphs it cannot run.

use spikedelay::data::make_batch;
use spikedelay::export::{
    ExportFormat, GraphRunner, Matrix, NirGraph, NirNode, export, read_netx, read_nir, write_nir,
};
use spikedelay::infer::{EventNetwork, SampleSteps, evaluate, evaluate_with};
use spikedelay::model::{Charge, DelayMode, Lif};
use spikedelay::seq::Seq;
use spikedelay::train::{Checkpoint, Trainer};

use crate::training::{small_config, splits_of};

fn trained() -> Checkpoint {
    let config = small_config(DelayMode::Learned, 4);
    let splits = splits_of(&config);
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes()).unwrap();
    t.run(&splits, &mut ()).unwrap();
    t.checkpoint(false)
}

#[test]
fn the_exported_graph_decides_as_the_checkpoint_and_nir_files_round_trip_exactly() {
    let ck = trained();
    let splits = splits_of(&ck.config);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.nir");
    let net = export(&ck, ExportFormat::Nir, &path, &Default::default())
        .unwrap()
        .deployed;
    let graph = net.to_graph();
    let back = read_nir(&path).unwrap();
    assert_eq!(back.nodes, graph.nodes, "nodes round-trip bit for bit");
    assert_eq!(back.edges, graph.edges);
    assert_eq!(back.metadata["tail_steps"], net.tail_steps.to_string());
    assert!(back.metadata["spikedelay_config"].contains("[model]"));

    let dt = net.dt();
    let (a, b) = (
        GraphRunner::new(&graph, dt).unwrap(),
        GraphRunner::new(&back, dt).unwrap(),
    );
    assert_eq!(a.spiking_nodes(), vec!["l0_lif", "l1_lif"]);
    let test = splits.test.as_ref();
    let hidden = ck.network.blocks.len();
    let reference = evaluate(&ck.network, test, 64, SampleSteps::Own).unwrap();
    let run = |r: &GraphRunner| {
        evaluate_with(test, 64, hidden, SampleSteps::Own, |x, l| {
            r.forward(x, l, net.tail_steps)
        })
        .unwrap()
    };
    let (ra, rb) = (run(&a), run(&b));
    assert_eq!(
        ra, rb,
        "the file runs exactly as the graph it was written from"
    );
    // With each layer cut at its protocol horizon (the `spikedelay_horizons` metadata) the graph
    // is the evaluation model: the same decision for every sample, the same spike counts up to the
    // float rounding of the folded BatchNorm.
    let horizons = &back.metadata["spikedelay_horizons"];
    let protocol = GraphRunner::new(&back, dt)
        .unwrap()
        .with_horizons(horizons)
        .unwrap();
    let rp = run(&protocol);
    assert!(reference.accuracy > 0.3, "{}", reference.accuracy);
    assert_eq!(
        rp.confusion, reference.confusion,
        "protocol horizons: the checkpoint's decisions, sample for sample"
    );
    // Spike counts per layer on one batch (the graph's sequences are longer, so rates differ).
    let batch = make_batch(test, &(0..test.len().min(64)).collect::<Vec<_>>());
    let (_, ours) = EventNetwork::from_network(&ck.network)
        .forward(&batch.x, &batch.lengths)
        .unwrap();
    let (_, theirs) = protocol
        .forward(&batch.x, &batch.lengths, net.tail_steps)
        .unwrap();
    for (l, (x, y)) in theirs.iter().zip(&ours).enumerate() {
        let count = |s: &Seq| s.data.iter().filter(|v| **v != 0.0).count();
        let (a, b) = (count(x), count(y));
        assert!(
            b > 0 && a.abs_diff(b) <= b / 1000,
            "layer {l}: {a} vs {b} spikes"
        );
    }
    // Lockstep (every layer runs the whole tail, as a chip does) sees a few more steps of
    // input per layer: close to the protocol, not equal.
    eprintln!(
        "lockstep {}/{}, protocol {}/{}",
        ra.correct, ra.samples, rp.correct, rp.samples
    );
    assert!(
        ra.correct.abs_diff(reference.correct) <= reference.samples / 20,
        "lockstep {}/{} vs checkpoint {}/{}",
        ra.correct,
        ra.samples,
        reference.correct,
        reference.samples
    );
}

#[test]
fn the_synapses_export_lists_every_rounded_synapse() {
    let ck = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.json");
    let net = export(&ck, ExportFormat::Synapses, &path, &Default::default())
        .unwrap()
        .deployed;
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["format"], "spikedelay-synapses-1");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let first = &ck.network.blocks[0].conv;
    let n = layers[0]["pre"].as_array().unwrap().len();
    let nonzero = first.weight.iter().filter(|w| **w != 0.0).count();
    assert_eq!(
        n, nonzero,
        "kernel_count 1: one synapse per non-zero weight"
    );
    let (alpha, _) = ck.network.blocks[0].norm.folded();
    // Synapse (pre 3, post 5): its delay and folded weight.
    let syn = net.layers[0].synapses();
    let s = syn.iter().find(|s| s.0 == 3 && s.1 == 5).unwrap();
    let j = 5 * first.c_in + 3;
    assert_eq!(s.2 as usize, first.delay_of(j));
    let w = first.weight[j] / (1.0 + 1e-7) * alpha[5];
    assert!((s.3 - w).abs() <= 1e-6 * w.abs(), "{} vs {w}", s.3);
    let max = layers[0]["delay_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .max()
        .unwrap();
    assert!(max < first.taps as u64);
}

fn one_neuron_graph(node: NirNode, n: usize) -> NirGraph {
    let mut g = NirGraph::default();
    g.nodes.insert(
        "input".into(),
        NirNode::Input {
            shape: vec![n as i64],
        },
    );
    g.nodes.insert("n".into(), node);
    g.nodes.insert(
        "output".into(),
        NirNode::Output {
            shape: vec![n as i64],
        },
    );
    g.edges = vec![("input".into(), "n".into()), ("n".into(), "output".into())];
    g
}

#[test]
fn primitives_compute_what_nir_defines() {
    let dt = 1e-3;
    // Delay of 2 steps on channel 0, 0 on channel 1.
    let g = one_neuron_graph(
        NirNode::Delay {
            delay: vec![2e-3, 0.0],
        },
        2,
    );
    let x = Seq::from_vec(1, 3, 2, vec![1.0, 5.0, 2.0, 6.0, 3.0, 7.0]).unwrap();
    let (y, _) = GraphRunner::new(&g, dt)
        .unwrap()
        .forward(&x, &x.full_lengths(), 2)
        .unwrap();
    assert_eq!(
        y.data,
        vec![0.0, 5.0, 0.0, 6.0, 1.0, 7.0, 2.0, 0.0, 3.0, 0.0]
    );
    // A delay that is not a whole number of steps is refused.
    let g = one_neuron_graph(
        NirNode::Delay {
            delay: vec![1.5e-3],
        },
        1,
    );
    let err = GraphRunner::new(&g, dt).unwrap_err().to_string();
    assert!(err.contains("whole number of steps"), "{err}");

    // The exported LIF (tau = τ·dt, r = τ, threshold just below 1) is the training neuron bit
    // for bit, ties at the threshold included.
    let tau = 1.5f64;
    let lif = Lif::new(tau, 1.0);
    let currents: Vec<f32> = (0..400)
        .map(|k| ((k * 37 % 23) as f32 - 8.0) * 0.17)
        .collect();
    let mut with_tie = currents.clone();
    with_tie[0] = 1.0; // v = 1 exactly: the training neuron fires
    let i = Seq::from_vec(1, 100, 4, with_tie).unwrap();
    let (s, _) = lif.forward(&i, Charge::Eval);
    let n = 4;
    let g = one_neuron_graph(
        NirNode::Lif {
            tau: vec![(tau * dt) as f32; n],
            r: vec![tau as f32; n],
            v_leak: vec![0.0; n],
            v_threshold: vec![spikedelay::export::deployed::below(1.0); n],
            v_reset: vec![0.0; n],
        },
        n,
    );
    let (y, spikes) = GraphRunner::new(&g, dt)
        .unwrap()
        .forward(&i, &i.full_lengths(), 0)
        .unwrap();
    assert_eq!(y.data, s.data);
    assert_eq!(spikes[0].data, s.data);
    assert_eq!(s.data[0], 1.0);

    // Affine: y = W·x + b.
    let g = one_neuron_graph(
        NirNode::Affine {
            weight: Matrix {
                rows: 2,
                cols: 2,
                data: vec![1.0, 2.0, 3.0, 4.0],
            },
            bias: vec![0.5, -0.5],
        },
        2,
    );
    let x = Seq::from_vec(1, 1, 2, vec![1.0, 10.0]).unwrap();
    let (y, _) = GraphRunner::new(&g, dt)
        .unwrap()
        .forward(&x, &x.full_lengths(), 0)
        .unwrap();
    assert_eq!(y.data, vec![21.5, 42.5]);
}

#[test]
fn graphs_that_cannot_run_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let g = one_neuron_graph(
        NirNode::Scale {
            scale: vec![2.0; 3],
        },
        2,
    );
    let err = GraphRunner::new(&g, 1e-3).unwrap_err().to_string();
    assert!(
        err.contains("(input, n)") && err.contains("3 inputs"),
        "{err}"
    );
    let mut cyc = one_neuron_graph(
        NirNode::Scale {
            scale: vec![2.0; 2],
        },
        2,
    );
    cyc.edges.push(("n".into(), "n".into()));
    let err = GraphRunner::new(&cyc, 1e-3).unwrap_err().to_string();
    assert!(err.contains("cycle"), "{err}");
    // A node type the runner does not know, in a file written by hand.
    let path = dir.path().join("conv.nir");
    let ok = one_neuron_graph(
        NirNode::Scale {
            scale: vec![2.0; 2],
        },
        2,
    );
    write_nir(&path, &ok).unwrap();
    assert_eq!(read_nir(&path).unwrap(), ok);
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(5).position(|w| w == b"Scale").unwrap();
    let mut bad = bytes.clone();
    bad[at..at + 5].copy_from_slice(b"Conv9");
    std::fs::write(&path, bad).unwrap();
    let err = read_nir(&path).unwrap_err().to_string();
    assert!(
        err.contains("Conv9") && err.contains("conv.nir") && err.contains("LIF"),
        "{err}"
    );
    let err = read_nir(&dir.path().join("missing.nir"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.nir"), "{err}");
}

#[test]
fn the_netx_export_is_loihis_fixed_point_and_reads_back_exactly() {
    let ck = trained();
    let splits = splits_of(&ck.config);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.net");
    let exported = export(&ck, ExportFormat::Netx, &path, &Default::default()).unwrap();
    let (q, report) = exported.loihi.unwrap();
    let (back, meta) = read_netx(&path).unwrap();
    assert!(back == q, "every integer, delay and scale round-trips");
    assert_eq!(back.tail_steps, exported.deployed.tail_steps);
    assert!(meta["spikedelay_config"].contains("[model]"));
    assert_eq!(report.clipped_delays, 0);
    for (l, layer) in q.layers.iter().enumerate() {
        let max = layer.weight.iter().map(|w| w.abs()).max().unwrap();
        assert_eq!(max, 254, "layer {l} uses the full 8-bit range");
        assert_eq!(layer.i_decay, 4096);
        let tau = ck.network.config.tau;
        assert_eq!(
            layer.v_decay,
            (4096.0 / tau).round() as i32,
            "vDecay = 4096/τ"
        );
        assert!(report.weight_error[l] <= 0.5 / 254.0 + 1e-9);
    }
    // The fixed-point network decides nearly as the float one (8-bit weights), and its hidden
    // layers fire at nearly the same rates.
    let test = splits.test.as_ref();
    let hidden = ck.network.blocks.len();
    let float = evaluate(&ck.network, test, 64, SampleSteps::Own).unwrap();
    let fixed = evaluate_with(test, 64, hidden, SampleSteps::Own, |x, l| {
        q.forward(x, l, q.tail_steps)
    })
    .unwrap();
    eprintln!(
        "float {}/{}, Loihi fixed point {}/{}",
        float.correct, float.samples, fixed.correct, fixed.samples
    );
    assert!(
        fixed.correct.abs_diff(float.correct) <= float.samples / 10,
        "fixed {} vs float {}",
        fixed.correct,
        float.correct
    );
    // Rates over the lockstep sequences of both (the float graph runs as the chip does).
    let graph = GraphRunner::new(&exported.deployed.to_graph(), exported.deployed.dt()).unwrap();
    let tail = exported.deployed.tail_steps;
    let lockstep = evaluate_with(test, 64, hidden, SampleSteps::Own, |x, l| {
        graph.forward(x, l, tail)
    })
    .unwrap();
    for (a, b) in fixed.spike_rates.iter().zip(&lockstep.spike_rates) {
        assert!(
            (a - b).abs() <= 0.15 * b,
            "fixed-point rate {a} vs float {b}"
        );
    }
}

/// One layer by hand: Lava's arithmetic step by step.
#[test]
fn the_fixed_point_neuron_follows_lavas_arithmetic() {
    use spikedelay::export::{LoihiLayer, LoihiNetwork};
    // 4 inputs → 1 spiking neuron (vth 100) → readout; input 0 at delay 0, 1 at delay 3.
    let hidden = LoihiLayer {
        inputs: 4,
        outputs: 1,
        weight: vec![60, 120, 0, 0],
        delay: vec![0, 3, 0, 0],
        bias: vec![1],
        i_decay: 4096,
        v_decay: 1024,
        v_th: 100,
        scale: 1.0,
        spiking: true,
    };
    let readout = LoihiLayer {
        inputs: 1,
        outputs: 1,
        weight: vec![-7],
        delay: vec![2],
        bias: vec![0],
        i_decay: 4096,
        v_decay: 0,
        v_th: spikedelay::export::loihi::NEVER,
        scale: 2.0,
        spiking: false,
    };
    let net = LoihiNetwork {
        layers: vec![hidden, readout],
        tail_steps: 0,
        time_step_ms: 1.0,
    };
    let mut s = net.state();
    // t = 0: inputs 0 and 1 spike. v = 60·64 + 64 = 3904 ≤ 6400.
    s.step(&[0, 1]);
    assert_eq!(s.membranes(0), &[3904]);
    // t = 1, 2: v ← v·3072/4096 truncated + 64.
    s.step(&[]);
    assert_eq!(s.membranes(0), &[3904 * 3 / 4 + 64]);
    s.step(&[]);
    let v2 = (3904 * 3 / 4 + 64) * 3 / 4 + 64;
    assert_eq!(s.membranes(0), &[v2]);
    // t = 3: input 1's spike arrives (120·64): v > 6400, spike and reset.
    s.step(&[]);
    assert_eq!(s.spiked(0), &[true]);
    assert_eq!(s.membranes(0), &[0]);
    // The readout sees it two steps later: −7·64 in units of 64·s = 128.
    s.step(&[]);
    s.step(&[]);
    assert_eq!(s.membranes(1), &[-7 * 64]);
    assert_eq!(s.readout(), vec![-3.5]);
}

#[test]
fn delays_beyond_loihis_limit_are_refused_unless_clipped() {
    use spikedelay::export::{DeployedLayer, DeployedNetwork, DeployedNeuron, LoihiNetwork};
    let layer = |buckets| DeployedLayer {
        inputs: 2,
        outputs: 1,
        buckets,
        bias: vec![0.0],
        neuron: DeployedNeuron::Readout { tau: 2.0 },
    };
    let net = DeployedNetwork {
        layers: vec![layer(vec![(5, vec![0.5, 0.0]), (70, vec![0.0, -0.25])])],
        time_step_ms: 1.0,
        tail_steps: 0,
    };
    let e = LoihiNetwork::quantize(&net, false).unwrap_err();
    assert!(
        matches!(
            e,
            spikedelay::Error::DelaysBeyondLimit {
                layer: 0,
                count: 1,
                limit: 62,
                largest: 70,
                ..
            }
        ),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("1 synapses have delays above Loihi 2's 62 steps (largest 70)"),
        "{e}"
    );
    let (q, report) = LoihiNetwork::quantize(&net, true).unwrap();
    assert_eq!(report.clipped_delays, 1);
    assert_eq!(q.layers[0].delay, vec![5, 62]);
    assert_eq!(q.layers[0].weight, vec![254, -127]);
    let two = DeployedNetwork {
        layers: vec![layer(vec![(1, vec![0.5, 0.0]), (2, vec![0.5, 0.0])])],
        ..net.clone()
    };
    let e = LoihiNetwork::quantize(&two, false).unwrap_err().to_string();
    assert!(
        e.contains("two delays") && e.contains("kernel_count"),
        "{e}"
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deploy")
        .join(name)
}

fn json_fixture(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn rows(v: &serde_json::Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect()
}

/// A netx file written by lava-dl's SLAYER (`export_hdf5`: float weights, per-output delays,
/// a current that decays by half) runs here as Lava's bit-accurate models ran it
/// (tools/deploy/make_fixtures.py).
#[test]
fn a_slayer_netx_file_runs_as_lava_ran_it() {
    let (net, meta) = read_netx(&fixture("slayer_netx.net")).unwrap();
    assert!(meta.is_empty(), "not written by spikedelay");
    assert_eq!(net.layers.len(), 2);
    let (hidden, readout) = (&net.layers[0], &net.layers[1]);
    assert_eq!(
        (
            hidden.inputs,
            hidden.outputs,
            hidden.i_decay,
            hidden.v_decay,
            hidden.v_th
        ),
        (6, 5, 2048, 1024, 64)
    );
    assert_eq!(
        &hidden.delay[..6],
        &[0; 6],
        "per-output delays spread over each row"
    );
    assert_eq!(hidden.delay[6 * 3], 5);
    assert!(hidden.spiking && !readout.spiking);
    let expected = json_fixture("slayer_netx.json");
    let input = rows(&expected["input"]);
    let spikes = rows(&expected["hidden_spikes"]);
    let v = rows(&expected["readout_v"]);
    let mut state = net.state();
    let mut seen = 0;
    for (t, row) in input.iter().enumerate() {
        let events: Vec<usize> = (0..row.len()).filter(|&i| row[i] != 0).collect();
        state.step(&events);
        let ours: Vec<i64> = state.spiked(0).iter().map(|&s| i64::from(s)).collect();
        // Lava shows layer l at its recorded index t + l + 1.
        assert_eq!(ours, spikes[t + 1], "hidden spikes, step {t}");
        seen += ours.iter().sum::<i64>();
        if t + 2 < v.len() {
            assert_eq!(
                state.membranes(1),
                &v[t + 2][..],
                "readout membranes, step {t}"
            );
        }
    }
    assert!(seen > 5, "{seen} spikes");
}

/// A NIR graph written by snnTorch (`export_to_nir`, `nir.write`) runs here as snnTorch's own
/// importer ran it (one step = 1e-4 s, snnTorch's convention).
#[test]
fn a_snntorch_nir_file_runs_as_snntorch_ran_it() {
    let graph = read_nir(&fixture("snntorch.nir")).unwrap();
    let runner = GraphRunner::new(&graph, 1e-4).unwrap();
    let expected = json_fixture("snntorch.json");
    let input = rows(&expected["input"]);
    let names: Vec<String> = expected["spiking_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    assert_eq!(runner.spiking_nodes(), names);
    let data: Vec<f32> = input.iter().flatten().map(|&x| x as f32).collect();
    let x = Seq::from_vec(1, input.len(), input[0].len(), data).unwrap();
    let (_, spikes) = runner.forward(&x, &x.full_lengths(), 0).unwrap();
    for (k, name) in names.iter().enumerate() {
        let want = rows(&expected["spikes"][name]);
        let n = want[0].len();
        for (t, row) in want.iter().enumerate() {
            let ours: Vec<i64> = spikes[k].sample(0)[t * n..(t + 1) * n]
                .iter()
                .map(|&s| s as i64)
                .collect();
            assert_eq!(&ours, row, "node {name}, step {t}");
        }
    }
}

/// Streams every test sample step by step: the float stream decides as the exported graph runs
/// in lockstep, the Loihi stream exactly as the fixed-point evaluation.
#[test]
fn streaming_decides_as_the_batch_runs() {
    use spikedelay::export::{DeployedNetwork, EventDeployed, LoihiNetwork, Stream};
    let ck = trained();
    let splits = splits_of(&ck.config);
    let test = splits.test.as_ref();
    let net = DeployedNetwork::from_network(&ck.network, ck.config.model.time_step_ms);
    let (q, _) = LoihiNetwork::quantize(&net, false).unwrap();
    let events = EventDeployed::new(&net);
    let hidden = ck.network.blocks.len();
    let graph = GraphRunner::new(&net.to_graph(), net.dt()).unwrap();
    let lockstep = evaluate_with(test, 64, hidden, SampleSteps::Own, |x, l| {
        graph.forward(x, l, net.tail_steps)
    })
    .unwrap();
    let fixed = evaluate_with(test, 64, hidden, SampleSteps::Own, |x, l| {
        q.forward(x, l, q.tail_steps)
    })
    .unwrap();
    let classes = test.classes();
    let (mut float_conf, mut loihi_conf) = (
        vec![vec![0u64; classes]; classes],
        vec![vec![0u64; classes]; classes],
    );
    for i in 0..test.len() {
        let b = make_batch(test, &[i]);
        let (_, t_in, c) = b.x.shape();
        let (mut f, mut l) = (Stream::float(&events), Stream::loihi(&q));
        for t in 0..t_in + net.tail_steps {
            let mut events = Vec::new();
            if t < t_in {
                for (ch, &k) in b.x.sample(0)[t * c..(t + 1) * c].iter().enumerate() {
                    events.extend(std::iter::repeat_n(ch, k as usize));
                }
            }
            f.step(&events);
            l.step(&events);
        }
        assert_eq!(f.steps(), t_in + net.tail_steps);
        float_conf[b.labels[0]][f.decision().unwrap()] += 1;
        loihi_conf[b.labels[0]][l.decision().unwrap()] += 1;
    }
    assert_eq!(
        loihi_conf, fixed.confusion,
        "the fixed-point stream is the fixed-point batch"
    );
    assert_eq!(
        float_conf, lockstep.confusion,
        "the float stream decides as the lockstep graph"
    );
}
