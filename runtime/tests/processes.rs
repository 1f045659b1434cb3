//! Processes against Nengo 3.2 (fixtures/processes.npz): PresentInput exactly; WhiteSignal,
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! WhiteNoise and the Poisson / stochastic spiking wrappers by their statistics (the random
//! streams differ from NumPy's by design).

mod common;

use common::{assert_close_vec, Fixture};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;
use snn_runtime::neurons::{LifRate, NeuronType, PoissonSpiking, StochasticSpiking, Tanh};
use snn_runtime::process::*;

#[test]
fn present_input_matches_nengo_exactly() {
    let fx = Fixture::load("processes.npz");
    for case in ["present_a", "present_b", "present_c"] {
        let inputs = fx.get(&format!("{case}.inputs"));
        let pt = fx.scalar(&format!("{case}.presentation_time"));
        let dt = fx.scalar(&format!("{case}.dt"));
        let expected = fx.arr2(&format!("{case}.output"));
        let process = PresentInput::new(inputs.view(), pt).unwrap();
        assert_eq!(process.size_out(), expected.ncols());
        let mut out = vec![0.0; process.size_out()];
        for (row, want) in expected.rows().into_iter().enumerate() {
            process.step(row as u64 + 1, dt, &mut out);
            assert_eq!(out.as_slice(), want.as_slice().unwrap(), "{case}: step {}", row + 1);
        }
    }
}

#[test]
fn present_input_rejects_bad_parameters() {
    let inputs = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[0, 3]));
    assert!(matches!(PresentInput::new(inputs.view(), 0.1), Err(ProcessError::NoInputs)));
    let inputs = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[2, 3]));
    assert!(PresentInput::new(inputs.view(), 0.0).is_err());
}

fn rms(a: ArrayView2<f64>) -> f64 {
    (a.iter().map(|x| x * x).sum::<f64>() / a.len() as f64).sqrt()
}

/// Fraction of each column's power in FFT bins above `high` Hz.
fn power_above(a: ArrayView2<f64>, dt: f64, high: f64) -> f64 {
    let n = a.nrows();
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
    let (mut above, mut total) = (0.0, 0.0);
    for col in a.columns() {
        let mut buf: Vec<Complex<f64>> = col.iter().map(|&x| Complex::new(x, 0.0)).collect();
        fft.process(&mut buf);
        for (k, c) in buf.iter().enumerate().take(n / 2 + 1) {
            let p = c.norm_sqr();
            total += p;
            if k as f64 / (n as f64 * dt) > high * (1.0 + 1e-9) {
                above += p;
            }
        }
    }
    above / total
}

#[test]
fn white_signal_statistics_match_nengo() {
    let fx = Fixture::load("processes.npz");
    for case in ["white_signal_a", "white_signal_b"] {
        let nengo = fx.arr2(&format!("{case}.samples"));
        let dt = fx.scalar(&format!("{case}.dt"));
        let period = fx.scalar(&format!("{case}.period"));
        let high = fx.scalar(&format!("{case}.high"));
        let target_rms = fx.scalar(&format!("{case}.rms"));
        let y0 = fx.scalar(&format!("{case}.y0"));
        let y0 = if y0.is_nan() { None } else { Some(y0) };
        let dims = nengo.ncols();

        // Nengo's own signal: one period, band-limited, rms near the target.
        assert_eq!(nengo.nrows(), 2 * (period / dt / 2.0).ceil() as usize);
        assert!(power_above(nengo.view(), dt, high) < 1e-20);
        let nengo_rms = rms(nengo.view());

        // Ours, over many seeds: same length, same band limit, same rms.
        let mut rms_sum = 0.0;
        let n_seeds = 20;
        for seed in 0..n_seeds {
            let signal =
                WhiteSignal { period, high, rms: target_rms, y0, seed }.build(dims, dt).unwrap();
            let samples = signal.samples();
            assert_eq!(samples.dim(), nengo.dim());
            let above = power_above(samples, dt, high);
            assert!(above < 1e-20, "{case} seed {seed}: {above:e} of the power above {high} Hz");
            rms_sum += rms(samples);
            if let Some(y0) = y0 {
                // Step 1 (t = dt) starts each dimension at its sample closest to y0.
                let mut out = vec![0.0; dims];
                signal.step(1, &mut out);
                for (d, &first) in out.iter().enumerate() {
                    let closest = samples
                        .column(d)
                        .iter()
                        .map(|x| (x - y0).abs())
                        .fold(f64::INFINITY, f64::min);
                    assert_eq!((first - y0).abs(), closest, "{case}: dim {d} does not start at y0");
                }
            }
            // Periodic: step k and step k + len read the same sample.
            let (mut a, mut b) = (vec![0.0; dims], vec![0.0; dims]);
            signal.step(7, &mut a);
            signal.step(7 + samples.nrows() as u64, &mut b);
            assert_eq!(a, b);
        }
        let our_rms = rms_sum / n_seeds as f64;
        assert!(
            (our_rms - target_rms).abs() < 0.05 * target_rms,
            "{case}: mean rms {our_rms} vs target {target_rms}"
        );
        assert!(
            (nengo_rms - target_rms).abs() < 0.25 * target_rms,
            "{case}: Nengo rms {nengo_rms}"
        );
        println!("{case}: rms target {target_rms}, ours (20 seeds) {our_rms:.4}, Nengo (1 seed) {nengo_rms:.4}");
    }
}

#[test]
fn white_signal_rejects_bad_parameters() {
    assert!(matches!(
        WhiteSignal::new(1.0, 600.0, 0).build(1, 0.001),
        Err(ProcessError::HighAboveNyquist { .. })
    ));
    assert!(matches!(
        WhiteSignal::new(1.0, 0.5, 0).validate(),
        Err(ProcessError::HighTooLow { .. })
    ));
    assert!(WhiteSignal { rms: -1.0, ..WhiteSignal::new(1.0, 5.0, 0) }.validate().is_err());
}

#[test]
fn white_noise_statistics_match_nengo() {
    let fx = Fixture::load("processes.npz");
    for case in ["white_noise_a", "white_noise_b", "white_noise_c"] {
        let dt = fx.scalar(&format!("{case}.dt"));
        let noise = WhiteNoise {
            mean: fx.scalar(&format!("{case}.dist_mean")),
            std: fx.scalar(&format!("{case}.dist_std")),
            scale: fx.scalar(&format!("{case}.scale")) == 1.0,
            seed: 9,
        };
        let (steps, dims) = (5000u64, 4);
        let mut samples = Vec::with_capacity(steps as usize * dims);
        let mut out = vec![0.0; dims];
        for k in 1..=steps {
            noise.step(k, dt, &mut out);
            samples.extend_from_slice(&out);
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let std = (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let (nengo_mean, nengo_std) =
            (fx.scalar(&format!("{case}.mean")), fx.scalar(&format!("{case}.std")));
        // Expected: N(mean, std) times 1/sqrt(dt) when scaled.
        let alpha = if noise.scale { 1.0 / dt.sqrt() } else { 1.0 };
        let (want_mean, want_std) = (alpha * noise.mean, alpha * noise.std);
        let se_mean = want_std / n.sqrt();
        assert!((mean - want_mean).abs() < 5.0 * se_mean, "{case}: mean {mean} vs {want_mean}");
        assert!((nengo_mean - want_mean).abs() < 5.0 * se_mean, "{case}: Nengo mean {nengo_mean}");
        assert!(
            (mean - nengo_mean).abs() < 7.0 * se_mean,
            "{case}: mean {mean} vs Nengo {nengo_mean}"
        );
        assert!((std / nengo_std - 1.0).abs() < 0.03, "{case}: std {std} vs Nengo {nengo_std}");
        assert!((std / want_std - 1.0).abs() < 0.03, "{case}: std {std} vs {want_std}");
    }
    // Repeatable and order-independent: step k always gives the same sample.
    let noise = WhiteNoise::new(1);
    let (mut a, mut b, mut c) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
    noise.step(10, 0.001, &mut a);
    noise.step(11, 0.001, &mut c);
    noise.step(10, 0.001, &mut b);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let bad = WhiteNoise { std: -1.0, ..WhiteNoise::new(1) };
    assert!(bad.validate().is_err());
    bad.step(1, 0.001, &mut a);
    assert!(a.iter().all(|x| x.is_nan()));
}

#[test]
fn poisson_and_stochastic_spiking_statistics_match_nengo() {
    let fx = Fixture::load("processes.npz");
    let cases: [(&str, NeuronType); 4] = [
        (
            "poisson_lif_rate",
            PoissonSpiking { amplitude: 0.5, ..PoissonSpiking::new(LifRate::default().into()) }
                .into(),
        ),
        ("poisson_tanh", PoissonSpiking::new(Tanh::default().into()).into()),
        ("stochastic_lif_rate", StochasticSpiking::new(LifRate::default().into()).into()),
        ("stochastic_tanh", StochasticSpiking::new(Tanh::default().into()).into()),
    ];
    for (case, neuron) in cases {
        let j = fx.vec(&format!("{case}.J"));
        let dt = fx.scalar(&format!("{case}.dt"));
        let amplitude = fx.scalar(&format!("{case}.amplitude"));
        let steps = fx.scalar(&format!("{case}.n_steps")) as usize;
        let n = j.len();
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut state = neuron.make_state::<f64, _>(n, &mut rng);
        let mut out = vec![0.0; n];
        let mut counts = Array2::zeros((steps, n));
        for k in 0..steps {
            neuron.step(dt, &j, &mut out, &mut state);
            for i in 0..n {
                counts[(k, i)] = out[i] * dt / amplitude;
            }
        }
        // The base rates are deterministic: exact.
        assert_close_vec(
            &format!("{case}.rate_out"),
            &state.rate_out,
            &fx.vec(&format!("{case}.rate_out")),
            1e-12,
            1e-12,
        );
        let nengo_mean = fx.vec(&format!("{case}.mean_count"));
        let nengo_var = fx.vec(&format!("{case}.var_count"));
        for i in 0..n {
            let col = counts.column(i);
            let mean = col.sum() / steps as f64;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / steps as f64;
            let expected = state.rate_out[i] * dt;
            // Poisson variance is the mean; stochastic rounding's is f (1 - f).
            let frac = expected.abs().fract();
            let var_expected =
                if case.starts_with("poisson") { expected.abs() } else { frac * (1.0 - frac) };
            let se = (var_expected.max(1e-12) / steps as f64).sqrt();
            assert!(
                (mean - expected).abs() <= 5.0 * se + 1e-12,
                "{case}[{i}]: mean count {mean} vs {expected}"
            );
            assert!(
                (nengo_mean[i] - expected).abs() <= 5.0 * se + 1e-12,
                "{case}[{i}]: Nengo mean {}",
                nengo_mean[i]
            );
            let var_tol = 0.25 * var_expected + 1e-12;
            assert!(
                (var - var_expected).abs() <= var_tol,
                "{case}[{i}]: variance {var} vs {var_expected}"
            );
            assert!(
                (nengo_var[i] - var_expected).abs() <= var_tol,
                "{case}[{i}]: Nengo variance {}",
                nengo_var[i]
            );
        }
        let spikes = counts.iter().filter(|&&c| c != 0.0).count();
        assert!(spikes > 100, "{case}: too few spikes ({spikes})");
    }
}
