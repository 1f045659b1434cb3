//! Synapse discretisation and filtering against Nengo 3.2 (fixtures/synapses.npz): the ZOH
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! state-space matrices, the step variant, `filt` responses, and the one-step delay a
//! connection's synapse adds inside the simulator.

mod common;

use common::{assert_close, assert_close_vec, Fixture};
use ndarray::Array2;
use snn_runtime::synapse::*;

fn case_synapse(case: &str) -> Synapse {
    match case {
        "lowpass" => Synapse::Lowpass { tau: 0.005 },
        "lowpass0" => Synapse::Lowpass { tau: 0.0 },
        "alpha" => Synapse::Alpha { tau: 0.003 },
        "order2" => Synapse::LinearFilter { num: vec![1.0], den: vec![0.002 * 0.01, 0.012, 1.0] },
        "order2num" => {
            Synapse::LinearFilter { num: vec![0.004, 1.0], den: vec![0.003 * 0.006, 0.009, 1.0] }
        }
        "order3" => {
            // (0.002 s + 1)(0.005 s + 1)(0.01 s + 1), multiplied out as np.polymul does.
            let p1 = [0.002 * 0.005, 0.002 + 0.005, 1.0];
            let den = vec![p1[0] * 0.01, p1[0] + p1[1] * 0.01, p1[1] + p1[2] * 0.01, p1[2]];
            Synapse::LinearFilter { num: vec![2e-3, 1.0], den }
        }
        "passthrough" => Synapse::LinearFilter { num: vec![0.005, 1.0], den: vec![0.01, 1.0] },
        other => panic!("fixture case `{other}` has no Rust counterpart"),
    }
}

fn kind_code(kind: FilterKind) -> f64 {
    match kind {
        FilterKind::NoX => 0.0,
        FilterKind::OneX => 1.0,
        FilterKind::NoD => 2.0,
        FilterKind::General => 3.0,
    }
}

#[test]
fn discretisation_matches_nengo() {
    let fx = Fixture::load("synapses.npz");
    let mut worst = 0.0f64;
    for case in fx.cases().into_iter().filter(|c| c != "input") {
        for (tag, dt) in [("dt1", 0.001), ("dt07", 0.0007)] {
            let key = format!("{case}.{tag}");
            let filter = case_synapse(&case).discretize(dt).unwrap();
            assert_eq!(
                kind_code(filter.kind),
                fx.scalar(&format!("{key}.kind")),
                "{key}: step kind"
            );
            let a = fx.get(&format!("{key}.A"));
            let order = filter.order();
            assert_eq!(a.len(), order * order, "{key}: order");
            let a_flat: Vec<f64> = filter.a.iter().copied().collect();
            let a_expected: Vec<f64> = a.iter().copied().collect();
            worst = worst.max(assert_close_vec(
                &format!("{key}.A"),
                &a_flat,
                &a_expected,
                1e-12,
                1e-15,
            ));
            worst = worst.max(assert_close_vec(
                &format!("{key}.B"),
                filter.b.as_slice().unwrap(),
                &fx.vec(&format!("{key}.B")),
                1e-12,
                1e-15,
            ));
            worst = worst.max(assert_close_vec(
                &format!("{key}.C"),
                filter.c.as_slice().unwrap(),
                &fx.vec(&format!("{key}.C")),
                1e-12,
                1e-15,
            ));
            worst = worst.max(assert_close_vec(
                &format!("{key}.D"),
                &[filter.d],
                &[fx.scalar(&format!("{key}.D"))],
                1e-12,
                0.0,
            ));
        }
    }
    println!("synapse matrices: worst relative error {worst:e}");
}

#[test]
fn filter_responses_match_nengo() {
    let fx = Fixture::load("synapses.npz");
    let mut worst = 0.0f64;
    for case in fx.cases().into_iter().filter(|c| c != "input") {
        for (tag, dt) in [("dt1", 0.001), ("dt07", 0.0007)] {
            let key = format!("{case}.{tag}");
            let filter = case_synapse(&case).discretize(dt).unwrap();
            for input in ["step", "sine"] {
                let x = fx.arr2(&format!("input.{tag}.{input}"));
                let y = filter.filt(x.view());
                let expected = fx.arr2(&format!("{key}.{input}"));
                worst = worst.max(assert_close(
                    &format!("{key}.{input}"),
                    y.view(),
                    expected.view(),
                    1e-11,
                    1e-13,
                ));
            }
        }
    }
    println!("synapse responses: worst relative error {worst:e}");
}

/// What a connection with this synapse delivers, scheduled as Nengo does: the filter runs in
/// the update phase, so readers in step k see the filter output written in step k - 1.
fn run_update_phase(filter: &DiscreteFilter, x: &Array2<f64>) -> Array2<f64> {
    let (steps, n) = x.dim();
    let mut state = filter.new_state::<f64>(n);
    let mut visible = vec![0.0; n]; // the synapse output signal, zero before the first update
    let mut probe = Array2::zeros((steps, n));
    let mut next = vec![0.0; n];
    for k in 0..steps {
        // Reads of this step (the probe samples after the step, before updates become visible
        // to the next step's readers, so it records `visible`).
        probe.row_mut(k).assign(&ndarray::aview1(&visible));
        // Update phase: filter this step's input.
        let input: Vec<f64> = x.row(k).to_vec();
        state.step(&input, &mut next);
        visible.copy_from_slice(&next);
    }
    probe
}

#[test]
fn connection_synapses_add_one_step_of_delay() {
    let fx = Fixture::load("synapses.npz");
    for case in ["lowpass", "lowpass0", "alpha", "order3", "passthrough"] {
        for (tag, dt) in [("dt1", 0.001), ("dt07", 0.0007)] {
            let key = format!("{case}.{tag}");
            let filter = case_synapse(case).discretize(dt).unwrap();
            let x = fx.arr2(&format!("input.{tag}.sine"));
            let y = run_update_phase(&filter, &x);
            let expected = fx.arr2(&format!("{key}.sim_sine"));
            assert_close(&format!("{key}.sim_sine"), y.view(), expected.view(), 1e-11, 1e-13);
        }
    }
    // Lowpass(0) in the update phase is a pure one-step delay.
    let x = fx.arr2("input.dt1.sine");
    let y = fx.arr2("lowpass0.dt1.sim_sine");
    assert!(y.row(0).iter().all(|&v| v == 0.0));
    assert_eq!(y.row(5), x.row(4));
}

#[test]
fn lowpass_is_one_x_with_exact_coefficients() {
    let f = Synapse::Lowpass { tau: 0.005 }.discretize(0.001).unwrap();
    assert_eq!(f.kind, FilterKind::OneX);
    let a = (-0.2f64).exp();
    assert!((f.a[(0, 0)] - a).abs() < 1e-15);
    assert!((f.c[0] * f.b[0] - (1.0 - a)).abs() < 1e-15);
    let zero = Synapse::Lowpass { tau: 0.0 }.discretize(0.001).unwrap();
    assert_eq!((zero.kind, zero.d, zero.order()), (FilterKind::NoX, 1.0, 0));
    assert_eq!(zero.impulse_response(3), [1.0, 0.0, 0.0]);
}

#[test]
fn f32_state_tracks_f64() {
    let f = Synapse::Alpha { tau: 0.003 }.discretize(0.001).unwrap();
    let mut s64 = f.new_state::<f64>(2);
    let mut s32 = f.new_state::<f32>(2);
    let (mut y64, mut y32) = (vec![0.0; 2], vec![0f32; 2]);
    for k in 0..200 {
        let u = [(k as f64 * 0.05).sin(), 1.0];
        s64.step(&u, &mut y64);
        s32.step(&[u[0] as f32, u[1] as f32], &mut y32);
        for i in 0..2 {
            assert!(
                (f64::from(y32[i]) - y64[i]).abs() < 1e-5,
                "step {k}: {} vs {}",
                y32[i],
                y64[i]
            );
        }
    }
}

#[test]
fn bad_synapses_are_errors() {
    assert!(matches!(Synapse::Lowpass { tau: -0.001 }.validate(), Err(SynapseError::BadTau(_))));
    assert!(matches!(Synapse::Alpha { tau: f64::NAN }.validate(), Err(SynapseError::BadTau(_))));
    let improper = Synapse::LinearFilter { num: vec![1.0, 0.0, 0.0], den: vec![1.0, 1.0] };
    assert!(matches!(improper.validate(), Err(SynapseError::Improper { .. })));
    let zero = Synapse::LinearFilter { num: vec![1.0], den: vec![0.0, 0.0] };
    assert!(matches!(zero.validate(), Err(SynapseError::ZeroDenominator(_))));
    let inf = Synapse::LinearFilter { num: vec![f64::INFINITY], den: vec![1.0, 1.0] };
    assert!(matches!(inf.validate(), Err(SynapseError::NonFinite { .. })));
    assert!(matches!(Synapse::Lowpass { tau: 0.01 }.discretize(0.0), Err(SynapseError::BadDt(_))));
}

#[test]
fn expm_handles_large_and_triangular_matrices() {
    // Large norms take the Padé-13 path with squaring; upper-triangular ones the exact
    // diagonal recomputation. Compare with closed forms.
    let m = nalgebra::DMatrix::from_row_slice(2, 2, &[-30.0, 12.0, 0.0, 0.0]);
    let e = expm(&m).unwrap();
    let expected_12 = 12.0 * (1.0 - (-30.0f64).exp()) / 30.0;
    assert!((e[(0, 0)] - (-30.0f64).exp()).abs() < 1e-25);
    assert!((e[(0, 1)] - expected_12).abs() < 1e-14);
    assert_eq!(e[(1, 0)], 0.0);
    assert!((e[(1, 1)] - 1.0).abs() < 1e-15);
    // A rotation generator: expm([[0, w], [-w, 0]]) = [[cos w, sin w], [-sin w, cos w]].
    let w = 7.5;
    let e = expm(&nalgebra::DMatrix::from_row_slice(2, 2, &[0.0, w, -w, 0.0])).unwrap();
    assert!((e[(0, 0)] - w.cos()).abs() < 1e-13 && (e[(0, 1)] - w.sin()).abs() < 1e-13);
}

/// A time constant far below dt (tau = 0.5 us at dt = 1 ms, dt / tau = 2000): the triangular
/// squaring's superdiagonal is SciPy's `(exp(l2) − exp(l1)) / (l2 − l1)` (the older
/// `exp(mean) · sinh(half) / half` overflows to inf · 0 = NaN), so the lowpass passes its
/// input after one step as Nengo's does: `[0, 1, 1]` for a constant 1.
#[test]
fn lowpass_far_below_dt_is_finite() {
    for (tau, dt) in [(0.5e-6, 1e-3), (5e-3, 10.0), (1e-9, 1e-3)] {
        let f = Synapse::Lowpass { tau }.discretize(dt).unwrap();
        let mut s = f.new_state::<f64>(1);
        let mut y = [0.0];
        let mut out = Vec::new();
        for _ in 0..3 {
            s.step(&[1.0], &mut y);
            out.push(y[0]);
        }
        assert!(out.iter().all(|v| v.is_finite()), "tau {tau}, dt {dt}: {out:?}");
        assert!((out[1] - 1.0).abs() < 1e-12 && (out[2] - 1.0).abs() < 1e-12, "{out:?}");
    }
    let m = nalgebra::DMatrix::from_row_slice(2, 2, &[-2000.0, 1e-3, 0.0, 0.0]);
    let e = expm(&m).unwrap();
    assert!((e[(0, 1)] - 1e-3 / 2000.0).abs() < 1e-18, "{}", e[(0, 1)]);
}
