//! `gain_bias`, `rates` and `max_rates_intercepts` against Nengo 3.2 on a grid of max rates and
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! intercepts, and the max-rate errors Nengo raises (fixtures/gain_bias.npz).

mod common;

use common::{assert_close, assert_close_vec, Fixture};
use ndarray::Array2;
use snn_runtime::neurons::*;

fn case_type(case: &str) -> NeuronType {
    match case {
        "relu" => RectifiedLinear { amplitude: 2.0 }.into(),
        "spiking_relu" => SpikingRectifiedLinear::default().into(),
        "leaky_relu" => LeakyRelu { negative_slope: 0.1, amplitude: 1.0 }.into(),
        "sigmoid" => Sigmoid::default().into(),
        "tanh" => Tanh::default().into(),
        "lif_rate" => LifRate { amplitude: 0.7, ..LifRate::default() }.into(),
        "lif" => Lif { tau_rc: 0.05, tau_ref: 0.0015, ..Lif::default() }.into(),
        "adaptive_lif" => AdaptiveLif { tau_n: 0.1, inc_n: 0.05, ..AdaptiveLif::default() }.into(),
        "izhikevich" => Izhikevich::default().into(),
        "regular_lif_rate" => RegularSpiking::new(LifRate::default().into()).into(),
        other => panic!("fixture case `{other}` has no Rust counterpart"),
    }
}

#[test]
fn gain_bias_rates_and_inverse_match_nengo() {
    let fx = Fixture::load("gain_bias.npz");
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for case in fx.cases().into_iter().filter(|c| c != "errors") {
        let neuron = case_type(&case);
        let max_rates = fx.vec(&format!("{case}.max_rates"));
        let intercepts = fx.vec(&format!("{case}.intercepts"));
        let (gain, bias) = neuron.gain_bias(&max_rates, &intercepts).unwrap();
        worst = worst.max(assert_close_vec(
            &format!("{case}.gain"),
            &gain,
            &fx.vec(&format!("{case}.gain")),
            1e-9,
            0.0,
        ));
        worst = worst.max(assert_close_vec(
            &format!("{case}.bias"),
            &bias,
            &fx.vec(&format!("{case}.bias")),
            1e-9,
            1e-12,
        ));

        // Rates from Nengo's own gains and biases, x broadcast to every neuron.
        let nengo_gain = fx.vec(&format!("{case}.gain"));
        let nengo_bias = fx.vec(&format!("{case}.bias"));
        let x = fx.vec(&format!("{case}.x"));
        let x = Array2::from_shape_vec((x.len(), 1), x).unwrap();
        let rates = neuron.rates(x.view(), &nengo_gain, &nengo_bias).unwrap();
        let expected = fx.arr2(&format!("{case}.rates"));
        worst = worst.max(assert_close(
            &format!("{case}.rates"),
            rates.view(),
            expected.view(),
            1e-9,
            1e-9,
        ));

        let (mr, ic) = neuron.max_rates_intercepts(&nengo_gain, &nengo_bias).unwrap();
        worst = worst.max(assert_close_vec(
            &format!("{case}.max_rates_back"),
            &mr,
            &fx.vec(&format!("{case}.max_rates_back")),
            1e-9,
            1e-9,
        ));
        worst = worst.max(assert_close_vec(
            &format!("{case}.intercepts_back"),
            &ic,
            &fx.vec(&format!("{case}.intercepts_back")),
            1e-9,
            1e-12,
        ));
        n_cases += 1;
    }
    assert_eq!(n_cases, 10);
    println!("gain_bias: {n_cases} types, worst relative error {worst:e}");
}

#[test]
fn max_rate_limits_match_nengo() {
    let fx = Fixture::load("gain_bias.npz");
    let cases: [(&str, NeuronType, Vec<f64>); 5] = [
        ("errors.lif_500", Lif::default().into(), vec![100.0, 500.0]),
        ("errors.lif_499", Lif::default().into(), vec![100.0, 499.0]),
        ("errors.sigmoid_400", Sigmoid::default().into(), vec![400.0]),
        ("errors.tanh_400", Tanh::default().into(), vec![400.0]),
        (
            "errors.lif_rate_tau_ref0",
            LifRate { tau_ref: 0.0, ..LifRate::default() }.into(),
            vec![5000.0],
        ),
    ];
    for (key, neuron, max_rates) in cases {
        let nengo_rejects = fx.scalar(key) == 1.0;
        let result = neuron.gain_bias(&max_rates, &vec![0.0; max_rates.len()]);
        assert_eq!(result.is_err(), nengo_rejects, "{key}: {result:?}");
        if let Err(err) = result {
            assert!(matches!(err, NeuronError::MaxRateTooHigh { .. }), "{key}: {err}");
            assert!(err.to_string().contains("inverse refractory period"), "{err}");
        }
    }
}

#[test]
fn mismatched_lengths_are_errors() {
    let lif = NeuronType::from(Lif::default());
    assert!(matches!(
        lif.gain_bias(&[100.0, 200.0], &[0.0]),
        Err(NeuronError::LengthMismatch { .. })
    ));
    let x = Array2::zeros((3, 2));
    assert!(matches!(
        lif.rates(x.view(), &[1.0; 3], &[0.0; 3]),
        Err(NeuronError::LengthMismatch { .. })
    ));
}

#[test]
fn numeric_search_reports_unreachable_rates() {
    // Sigmoid saturates at 1/tau_ref = 400 Hz, so the generic search cannot reach 450 Hz.
    let sigmoid = Sigmoid::default();
    let err = gain_bias_numeric("Sigmoid", |j| sigmoid.rate(j), &[450.0], &[0.0]).unwrap_err();
    assert!(matches!(err, NeuronError::MaxCurrentNotFound { .. }), "{err}");
    // A curve that is never silent has no threshold.
    let err = gain_bias_numeric("Exp", |j: f64| j.exp() + 1.0, &[10.0], &[0.0]).unwrap_err();
    assert!(matches!(err, NeuronError::ThresholdNotFound { .. }), "{err}");
}

#[test]
fn numpy_helpers() {
    assert_eq!(linspace(-1.0, 1.0, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(linspace(2.0, 2.0, 3), [2.0, 2.0, 2.0]);
    let xp = [0.0, 1.0, 1.0, 3.0];
    let fp = [0.0, 10.0, 20.0, 40.0];
    assert_eq!(interp(-1.0, &xp, &fp), 0.0);
    assert_eq!(interp(5.0, &xp, &fp), 40.0);
    assert_eq!(interp(0.5, &xp, &fp), 5.0);
    assert_eq!(interp(1.0, &xp, &fp), 20.0); // ties resolve to the last equal point, as NumPy
    assert_eq!(interp(2.0, &xp, &fp), 30.0);
}
