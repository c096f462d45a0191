//! The evaluation transform (method §15) against an explicit integer-delay network (§16).

use spikedelay::Seq;
use spikedelay::infer::{EventNetwork, IntegerDelayNetwork};
use spikedelay::model::Sig;
use spikedelay::model::{ConvPath, DelayMode, Network, NetworkConfig};

use crate::common::{rng, spikes, uniform};

fn trained_like(delays: DelayMode, seed: u64) -> Network {
    let cfg = NetworkConfig {
        inputs: 10,
        hidden: vec![16, 12],
        outputs: 5,
        taps: 9,
        kernel_count: 1,
        tau: 1.5,
        v_threshold: 1.0,
        dropout: 0.2,
        delays,
        sig_init: 4.0,
    };
    let mut net = Network::new(&cfg, &mut rng(seed)).unwrap();
    let mut r = rng(seed + 100);
    for layer in net.layers_mut() {
        if delays.learns_positions() {
            // real-valued positions including exact halves, which must round to even
            layer.position = uniform(layer.position.len(), -4.4, 4.4, &mut r);
            layer.position[0] = 0.5;
            layer.position[1] = 1.5;
            layer.position[2] = -2.5;
        }
        layer.weight.iter_mut().for_each(|w| *w *= 3.0);
    }
    for b in &mut net.blocks {
        let c = b.norm.channels();
        b.norm.gamma = uniform(c, 0.5, 2.0, &mut r);
        b.norm.beta = uniform(c, -0.5, 0.5, &mut r);
        b.norm.running_mean = uniform(c, -0.2, 0.4, &mut r);
        b.norm.running_var = uniform(c, 0.3, 2.0, &mut r);
    }
    net
}

fn assert_exact(delays: DelayMode) {
    for seed in 0..3 {
        let net = trained_like(delays, seed);
        let x = spikes(4, 15, 10, 0.3, &mut rng(seed + 7));
        let mut rounded = net.rounded();
        rounded.conv_path = ConvPath::Events;
        let (v_dense, s_dense) = rounded.forward_eval(&x).unwrap();
        let int = IntegerDelayNetwork::from_network(&net);
        let (v_int, s_int) = int.forward(&x).unwrap();
        assert_eq!(v_dense.shape(), (4, 15 + 3 * net.output.right_pad(), 5));
        assert_eq!(v_dense.shape(), v_int.shape());
        for (l, (a, b)) in s_dense.iter().zip(&s_int).enumerate() {
            assert_eq!(
                a, b,
                "{delays:?} seed {seed}: hidden layer {l} spike trains differ"
            );
            assert!(
                a.density() > 0.01,
                "layer {l} must spike for the comparison to mean something"
            );
        }
        assert_eq!(
            v_dense.data, v_int.data,
            "{delays:?} seed {seed}: readout membranes differ"
        );
    }
}

#[test]
fn rounded_model_equals_integer_delay_network_learned() {
    assert_exact(DelayMode::Learned);
}

#[test]
fn rounded_model_equals_integer_delay_network_fixed() {
    assert_exact(DelayMode::Fixed);
}

#[test]
fn rounded_model_equals_integer_delay_network_none() {
    assert_exact(DelayMode::None);
}

#[test]
fn integer_synapses_use_half_to_even_rounding() {
    let net = trained_like(DelayMode::Learned, 1);
    let int = IntegerDelayNetwork::from_network(&net);
    // element 0 of layer 0 is (o = 0, i = 0): P = 0.5 → 0 → delay 4; element 1 is (0, 1): P = 1.5
    // → 2 → delay 2; element 2 is (0, 2): P = −2.5 → −2 → delay 6 (D = 9, D//2 = 4).
    let delay = |i: usize| {
        int.layers[0].synapses[i]
            .iter()
            .find(|s| s.target == 0)
            .unwrap()
            .delay
    };
    assert_eq!((delay(0), delay(1), delay(2)), (4, 2, 6));
}

#[test]
fn rounding_leaves_the_trained_parameters_alone() {
    let net = trained_like(DelayMode::Learned, 2);
    let before = net.clone();
    let r = net.rounded();
    assert_eq!(net, before);
    assert!(
        r.layers()
            .all(|l| l.position.iter().all(|p| p.fract() == 0.0) && l.sig == Sig::ZERO)
    );
}

#[test]
fn a_single_input_spike_arrives_at_its_delay() {
    // One input spike at step 2 on channel 3 must reach the first hidden layer's currents exactly
    // d steps later for every target.
    let net = trained_like(DelayMode::Learned, 0);
    let rounded = net.rounded();
    let mut x = Seq::zeros(1, 10, 10);
    x.data[2 * 10 + 3] = 1.0;
    let layer = &rounded.blocks[0].conv;
    let a = layer.forward(&x, ConvPath::Events).unwrap();
    for o in 0..layer.c_out {
        let d = layer.delay_of(o * layer.c_in + 3);
        for t in 0..a.steps {
            let want = if t == 2 + d {
                layer.weight[o * layer.c_in + 3] / (1.0 + 1e-7)
            } else {
                0.0
            };
            assert_eq!(a.at(0, t, o), want, "target {o}, step {t}, delay {d}");
        }
    }
}

#[test]
fn gemm_path_agrees_with_the_integer_network_within_rounding() {
    // Summation order differs, so compare membranes with a tolerance and spikes exactly on cases
    // away from the threshold (method §16).
    let net = trained_like(DelayMode::Learned, 1);
    let x = spikes(4, 15, 10, 0.3, &mut rng(9));
    let (v_int, s_int) = IntegerDelayNetwork::from_network(&net).forward(&x).unwrap();
    let mut rounded = net.rounded();
    rounded.conv_path = ConvPath::Gemm;
    let (v, s) = rounded.forward_eval(&x).unwrap();
    assert_eq!(s, s_int);
    let scale = v_int.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (a, b) in v.data.iter().zip(&v_int.data) {
        assert!((a - b).abs() <= 1e-5 * scale, "{a} vs {b}");
    }
}

#[test]
fn event_driven_engine_matches_the_dense_evaluation() {
    for delays in [DelayMode::Learned, DelayMode::Fixed, DelayMode::None] {
        for seed in 0..3 {
            let net = trained_like(delays, seed);
            let x = spikes(3, 17, 10, 0.3, &mut rng(seed + 20));
            let (v_dense, s_dense) = net.rounded().forward_eval(&x).unwrap();
            let (v_ev, s_ev) = EventNetwork::from_network(&net)
                .forward(&x, &x.full_lengths())
                .unwrap();
            assert_eq!(v_ev.shape(), v_dense.shape());
            for (l, (a, b)) in s_ev.iter().zip(&s_dense).enumerate() {
                assert_eq!(
                    a, b,
                    "{delays:?} seed {seed}: layer {l} spike trains differ"
                );
            }
            let scale = v_dense.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (a, b) in v_ev.data.iter().zip(&v_dense.data) {
                assert!(
                    (a - b).abs() <= 1e-5 * scale,
                    "{delays:?} seed {seed}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn event_engine_applies_the_bias_every_step_up_to_each_layers_horizon() {
    // Zero input: a hidden neuron whose folded BatchNorm bias exceeds the threshold fires at every
    // step of its layer's horizon T + R (and the layer stops there), in both engines.
    let mut net = trained_like(DelayMode::Learned, 0);
    let norm = &mut net.blocks[0].norm;
    norm.running_mean[0] = 0.0;
    norm.beta[0] = 1.5;
    for j in 1..norm.channels() {
        norm.beta[j] = -5.0; // the others stay silent
    }
    let x = Seq::zeros(2, 6, 10);
    let (v_ev, s_ev) = EventNetwork::from_network(&net)
        .forward(&x, &x.full_lengths())
        .unwrap();
    let (v_dense, s_dense) = net.rounded().forward_eval(&x).unwrap();
    let r = net.output.right_pad();
    assert_eq!(s_ev[0].steps, 6 + r);
    for b in 0..2 {
        for t in 0..6 + r {
            assert_eq!(s_ev[0].at(b, t, 0), 1.0, "sample {b} step {t}");
            assert!((1..s_ev[0].channels).all(|j| s_ev[0].at(b, t, j) == 0.0));
        }
    }
    assert_eq!(s_ev, s_dense);
    let scale = v_dense.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "the spikes must reach the readout");
    for (a, b) in v_ev.data.iter().zip(&v_dense.data) {
        assert!((a - b).abs() <= 1e-5 * scale);
    }
}
