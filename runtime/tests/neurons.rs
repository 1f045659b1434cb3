//! Neuron kernels against real Nengo 3.2 / NengoDL 3.6: every type driven by explicit currents
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! from explicit initial states through `nengo.Simulator` (fixtures/neurons.npz).

mod common;

use common::{assert_close, Fixture};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_runtime::neurons::*;

/// The neuron type of each fixture case, with the parameters the generator used.
fn case_type(case: &str) -> NeuronType {
    match case {
        "relu" => RectifiedLinear { amplitude: 2.0 }.into(),
        "spiking_relu" => SpikingRectifiedLinear { amplitude: 0.5 }.into(),
        "leaky_relu" => LeakyRelu { negative_slope: 0.1, amplitude: 1.5 }.into(),
        "spiking_leaky_relu" => SpikingLeakyRelu { negative_slope: 0.2, amplitude: 1.0 }.into(),
        "sigmoid" => Sigmoid { tau_ref: 0.004 }.into(),
        "tanh" => Tanh { tau_ref: 0.003 }.into(),
        "lif_rate" => LifRate { tau_rc: 0.03, tau_ref: 0.001, amplitude: 0.7 }.into(),
        "lif" => Lif::default().into(),
        "lif_params" => {
            Lif { tau_rc: 0.05, tau_ref: 0.003, min_voltage: -1.0, amplitude: 0.5 }.into()
        }
        "adaptive_lif_rate" => {
            AdaptiveLifRate { tau_n: 0.1, inc_n: 0.05, ..Default::default() }.into()
        }
        "adaptive_lif" => AdaptiveLif { tau_n: 0.1, inc_n: 0.05, ..Default::default() }.into(),
        "izhikevich" => Izhikevich::default().into(),
        "izhikevich_fs" => Izhikevich {
            tau_recovery: 0.1,
            coupling: 0.25,
            reset_voltage: -55.0,
            reset_recovery: 4.0,
        }
        .into(),
        "regular_lif_rate" => {
            RegularSpiking { amplitude: 0.8, ..RegularSpiking::new(LifRate::default().into()) }
                .into()
        }
        "regular_tanh" => RegularSpiking::new(Tanh::default().into()).into(),
        "regular_adaptive" => RegularSpiking::new(
            AdaptiveLifRate { tau_n: 0.1, inc_n: 0.05, ..Default::default() }.into(),
        )
        .into(),
        other => panic!("fixture case `{other}` has no Rust counterpart"),
    }
}

/// Runs one case and compares output and every recorded state trace; returns the worst
/// relative error.
fn check_case(fx: &Fixture, case: &str, tag: &str) -> f64 {
    let key = format!("{case}.{tag}");
    let neuron = case_type(case);
    neuron.validate().unwrap();
    let dt = fx.scalar(&format!("{key}.dt"));
    let j = fx.arr2(&format!("{key}.J"));
    let (steps, n) = j.dim();

    let inits: Vec<(StateVar, StateInit)> = neuron
        .state_vars()
        .into_iter()
        .filter_map(|var| {
            let k = format!("{key}.init_{var}");
            fx.has(&k).then(|| (var, StateInit::Values(fx.vec(&k))))
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut state = neuron.make_state_with::<f64, _>(n, &mut rng, &inits).unwrap();

    let traced: Vec<StateVar> =
        neuron.state_vars().into_iter().filter(|var| fx.has(&format!("{key}.{var}"))).collect();
    let mut output = Array2::zeros((steps, n));
    let mut traces: Vec<Array2<f64>> = traced.iter().map(|_| Array2::zeros((steps, n))).collect();
    let mut out = vec![0.0; n];
    for k in 0..steps {
        let jk: Vec<f64> = j.row(k).to_vec();
        neuron.step(dt, &jk, &mut out, &mut state);
        output.row_mut(k).assign(&ndarray::aview1(&out));
        for (trace, var) in traces.iter_mut().zip(&traced) {
            trace.row_mut(k).assign(&ndarray::aview1(state.get(*var)));
        }
    }

    let expected = fx.arr2(&format!("{key}.output"));
    if neuron.is_spiking() {
        // Spike trains must be identical: same steps, same counts.
        for ((idx, &a), &e) in output.indexed_iter().zip(expected.iter()) {
            assert_eq!(
                a != 0.0,
                e != 0.0,
                "{key}: spike mismatch at (step, neuron) {idx:?}: got {a}, expected {e}"
            );
        }
    }
    let mut worst =
        assert_close(&format!("{key}.output"), output.view(), expected.view(), 1e-9, 1e-12);
    for (trace, name) in traces.iter().zip(&traced) {
        let expected = fx.arr2(&format!("{key}.{name}"));
        worst = worst.max(assert_close(
            &format!("{key}.{name}"),
            trace.view(),
            expected.view(),
            1e-9,
            1e-12,
        ));
    }
    worst
}

#[test]
fn every_neuron_type_matches_nengo_step_by_step() {
    let fx = Fixture::load("neurons.npz");
    let mut checked = 0;
    let mut worst = 0.0f64;
    for case in fx.cases() {
        for tag in ["dt1", "dt07"] {
            worst = worst.max(check_case(&fx, &case, tag));
            checked += 1;
        }
    }
    assert_eq!(checked, 32, "expected 16 cases x 2 time steps");
    println!("neurons: {checked} runs, worst relative error {worst:e}");
}

#[test]
fn fixtures_exercise_spikes_refractoriness_and_negatives() {
    // Guard against fixtures that could not fail: each spiking case must actually spike, and
    // LIF must see refractory periods that end inside a step.
    let fx = Fixture::load("neurons.npz");
    for case in
        ["spiking_relu", "lif", "lif_params", "adaptive_lif", "izhikevich", "regular_lif_rate"]
    {
        let out = fx.arr2(&format!("{case}.dt1.output"));
        let spikes = out.iter().filter(|&&x| x != 0.0).count();
        assert!(spikes > 50, "{case}: only {spikes} spikes in the fixture");
    }
    let rt = fx.arr2("lif.dt07.refractory_time");
    assert!(
        rt.iter().any(|&r| r > -0.0007 && r < 0.0 && r != 0.0),
        "no partial refractory step recorded"
    );
    let neg = fx.arr2("regular_tanh.dt1.output");
    assert!(neg.iter().any(|&x| x < 0.0), "RegularSpiking(Tanh) should emit negative spikes");
}

#[test]
fn f32_kernels_track_f64() {
    let fx = Fixture::load("neurons.npz");
    for case in ["relu", "sigmoid", "tanh", "lif_rate", "leaky_relu", "lif", "izhikevich"] {
        let key = format!("{case}.dt1");
        let neuron = case_type(case);
        let j = fx.arr2(&format!("{key}.J"));
        let (steps, n) = j.dim();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let inits: Vec<(StateVar, StateInit)> = neuron
            .state_vars()
            .into_iter()
            .map(|var| (var, StateInit::Values(fx.vec(&format!("{key}.init_{var}")))))
            .collect();
        let mut state = neuron.make_state_with::<f32, _>(n, &mut rng, &inits).unwrap();
        let mut out = vec![0f32; n];
        let mut counts = vec![0f64; n];
        let expected = fx.arr2(&format!("{key}.output"));
        for k in 0..steps {
            let jk: Vec<f32> = j.row(k).iter().map(|&x| x as f32).collect();
            neuron.step(0.001f32, &jk, &mut out, &mut state);
            if neuron.is_spiking() {
                for (c, &o) in counts.iter_mut().zip(&out) {
                    *c += f64::from(o) * 0.001;
                }
            } else {
                for (i, &o) in out.iter().enumerate() {
                    let e = expected[(k, i)];
                    assert!(
                        (f64::from(o) - e).abs() <= 1e-5 * e.abs() + 1e-4,
                        "{key} f32 at {k},{i}: {o} vs {e}"
                    );
                }
            }
        }
        if neuron.is_spiking() {
            for (i, count) in counts.iter().enumerate() {
                let e: f64 = expected.column(i).iter().sum::<f64>() * 0.001;
                assert!(
                    (count - e).abs() <= 1.0 + 1e-6,
                    "{key} f32 spike count of neuron {i}: {count} vs {e}"
                );
            }
        }
    }
}

#[test]
fn state_names_follow_nengo() {
    assert_eq!(NeuronType::from(Lif::default()).state_names(), ["voltage", "refractory_time"]);
    assert_eq!(
        NeuronType::from(AdaptiveLif::default()).state_names(),
        ["voltage", "refractory_time", "adaptation"]
    );
    assert_eq!(NeuronType::from(AdaptiveLifRate::default()).state_names(), ["adaptation"]);
    assert_eq!(NeuronType::from(Izhikevich::default()).state_names(), ["voltage", "recovery"]);
    assert!(NeuronType::from(RectifiedLinear::default()).state_names().is_empty());
    let wrapped = NeuronType::from(RegularSpiking::new(AdaptiveLifRate::default().into()));
    assert_eq!(wrapped.state_names(), ["rate_out", "voltage", "adaptation"]);
    let poisson = NeuronType::from(PoissonSpiking::new(LifRate::default().into()));
    assert_eq!(poisson.state_names(), ["rate_out"]);
    assert!(poisson.is_spiking() && !poisson.is_negative());
    assert!(NeuronType::from(PoissonSpiking::new(Tanh::default().into())).is_negative());
}

#[test]
fn default_state_draws_voltage_uniformly() {
    let lif = NeuronType::from(Lif::default());
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let state = lif.make_state::<f64, _>(2000, &mut rng);
    assert_eq!(state.voltage.len(), 2000);
    assert!(state.voltage.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = state.voltage.iter().sum::<f64>() / 2000.0;
    assert!((mean - 0.5).abs() < 0.03, "mean voltage {mean}");
    assert!(state.refractory_time.iter().all(|&r| r == 0.0));
    let izh = NeuronType::from(Izhikevich::default()).make_state::<f64, _>(10, &mut rng);
    assert!(
        izh.recovery.iter().all(|&u| u == 0.0)
            && izh.voltage.iter().all(|&v| (0.0..1.0).contains(&v))
    );
}

#[test]
fn bad_configurations_are_errors() {
    let lif = NeuronType::from(Lif::default());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let err = lif
        .make_state_with::<f64, _>(3, &mut rng, &[(StateVar::Adaptation, StateInit::Constant(0.0))])
        .unwrap_err();
    assert!(err.to_string().contains("no state variable `adaptation`"), "{err}");
    let err = lif
        .make_state_with::<f64, _>(
            3,
            &mut rng,
            &[(StateVar::Voltage, StateInit::Values(vec![0.0; 2]))],
        )
        .unwrap_err();
    assert!(matches!(err, NeuronError::LengthMismatch { expected: 3, got: 2, .. }), "{err}");

    let overlap = NeuronType::from(RegularSpiking::new(Lif::default().into()));
    assert!(matches!(
        overlap.validate(),
        Err(NeuronError::OverlappingState { name: "voltage", .. })
    ));
    let nested = NeuronType::from(PoissonSpiking::new(
        RegularSpiking::new(LifRate::default().into()).into(),
    ));
    assert!(matches!(nested.validate(), Err(NeuronError::NestedWrapper { .. })));
    assert!(NeuronType::from(PoissonSpiking::new(Lif::default().into())).validate().is_ok());

    let bad = NeuronType::from(Lif { tau_rc: 0.0, ..Lif::default() });
    assert!(bad.validate().unwrap_err().to_string().contains("tau_rc"));
    let bad = NeuronType::from(Lif { min_voltage: 0.5, ..Lif::default() });
    assert!(bad.validate().unwrap_err().to_string().contains("min_voltage"));
    assert!(NeuronType::from(Sigmoid { tau_ref: -1.0 }).validate().is_err());
    assert!(NeuronType::from(RectifiedLinear { amplitude: 0.0 }).validate().is_err());
}
