//! Float32 mode of the reference interpreter against the real Nengo 3.2 (float64): every
//! conformance case under tests/conformance runs in float32 through `snnc run`'s own path
//! (`snnc::run::{compile, simulate}`) and must meet the tolerances of docs/PRECISION.md.
//! `cargo test -p snn-tests --test float32 -- --nocapture` prints the measured deviations.

use ndarray::ArrayD;
use snn_compiler::ir::{OpKind, Program, SignalId};
use snn_tests::{cases, Case, Check};
use snnc::run::{compile, simulate, Dtype};
use std::collections::HashSet;
use std::path::Path;

/// Values with no moved spike upstream: `max |f32 - nengo| <= RTOL * max |nengo|` per probe.
const CONTINUOUS_RTOL: f64 = 1e-5;
/// State variables of spiking neurons (voltage, refractory time, adaptation, recovery) while
/// the spike trains agree: the same normwise rule with this bound.
const SPIKING_STATE_RTOL: f64 = 2e-3;
/// Where a spike has moved: `rms(f32 - nengo) <= MOVED_RMS * rms(nengo)` for values downstream
/// (not for the spiking neurons' own state variables).
const MOVED_RMS: f64 = 0.02;
/// Largest difference in any neuron's spike count over a case.
const MAX_COUNT_DIFF: usize = 1;

/// The program of a case and its probes run in `dtype` with model seed `seed`.
fn run(
    dir: &Path,
    seed: Option<u64>,
    case: &Case,
    dtype: Dtype,
) -> Result<(Program, Vec<ArrayD<f64>>), String> {
    let (_, program) = compile(&dir.join("model.snn"), seed, case.dt).map_err(|f| f.0)?;
    let path = dir.join("inputs.npz");
    let given = if path.exists() {
        snn_io::read_npz(&path).map_err(|e| e.to_string())?
    } else {
        Default::default()
    };
    let mut inputs = Vec::new();
    for decl in &program.inputs {
        let arr = given.get(&decl.name).ok_or_else(|| format!("no input `{}`", decl.name))?;
        inputs.push(arr.clone());
    }
    let out =
        simulate(&program, case.steps, case.batch, &inputs, dtype, &mut |_| {}).map_err(|f| f.0)?;
    Ok((program, out))
}

fn probe<'a>(
    program: &Program,
    out: &'a [ArrayD<f64>],
    name: &str,
) -> Result<(SignalId, &'a ArrayD<f64>), String> {
    let i = program
        .probes
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| format!("snnc has no probe `{name}`"))?;
    Ok((program.probes[i].signal, &out[i]))
}

/// Spike counts per (batch element, neuron) and step, in units of one spike.
fn counts(a: &ArrayD<f64>, unit: f64) -> Vec<Vec<i64>> {
    let s = a.shape();
    let (batch, steps) = (s[0], s[1]);
    let n: usize = s[2..].iter().product();
    let flat: Vec<f64> = a.iter().copied().collect();
    let mut res = vec![vec![0; steps]; batch * n];
    for b in 0..batch {
        for k in 0..steps {
            for i in 0..n {
                res[b * n + i][k] = (flat[(b * steps + k) * n + i] / unit).round() as i64;
            }
        }
    }
    res
}

/// What the spike probes of a case did in float32.
#[derive(Default)]
struct SpikeReport {
    spikes: i64,
    moved_positions: usize,
    max_count_diff: usize,
}

fn compare_spikes(got: &ArrayD<f64>, want: &ArrayD<f64>, rep: &mut SpikeReport) {
    let unit = want.iter().filter(|x| **x > 0.0).fold(f64::INFINITY, |m, x| m.min(*x));
    let unit = if unit.is_finite() { unit } else { 1.0 };
    for (g, w) in counts(got, unit).iter().zip(counts(want, unit).iter()) {
        rep.spikes += w.iter().sum::<i64>();
        rep.moved_positions += g.iter().zip(w).filter(|(a, b)| a != b).count();
        let diff = g.iter().sum::<i64>().abs_diff(w.iter().sum::<i64>()) as usize;
        rep.max_count_diff = rep.max_count_diff.max(diff);
    }
}

/// `max |a - b| / max |b|` and `rms(a - b) / rms(b)`.
fn deviations(got: &ArrayD<f64>, want: &ArrayD<f64>) -> (f64, f64) {
    let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
    let maxdiff = got.iter().zip(want).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    let se: f64 = got.iter().zip(want).map(|(a, b)| (a - b) * (a - b)).sum();
    let ss: f64 = want.iter().map(|b| b * b).sum();
    let nan = got.iter().any(|x| x.is_nan());
    let norm = |d: f64, s: f64| {
        if nan {
            f64::INFINITY
        } else if s > 0.0 {
            d / s
        } else {
            d
        }
    };
    (norm(maxdiff, scale), norm(se.sqrt(), ss.sqrt()))
}

/// Checks one case; returns lines of the measurement report.
fn check_case(name: &str, dir: &Path, case: &Case) -> Result<Vec<String>, String> {
    let expected = snn_io::read_npz(&dir.join("expected.npz")).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let exact: Vec<&Check> = case.check.iter().filter(|c| c.kind != "rmse").collect();
    if !exact.is_empty() {
        let (program, out) = run(dir, None, case, Dtype::Float32)?;
        let spiking_states: HashSet<SignalId> = program
            .ops
            .iter()
            .filter_map(|op| match &op.kind {
                OpKind::SimNeurons { neuron, states, .. } if neuron.is_spiking() => Some(states),
                _ => None,
            })
            .flatten()
            .map(|(_, s)| *s)
            .collect();
        let mut spikes = SpikeReport::default();
        for c in exact.iter().filter(|c| c.kind == "spikes") {
            let want = expected.get(&c.probe).ok_or("no expected probe")?;
            let (_, got) = probe(&program, &out, &c.probe)?;
            if got.shape() != want.shape() {
                return Err(format!(
                    "{}: shape {:?}, Nengo {:?}",
                    c.probe,
                    got.shape(),
                    want.shape()
                ));
            }
            compare_spikes(got, want, &mut spikes);
        }
        let agree = spikes.moved_positions == 0;
        if spikes.spikes > 0 {
            lines.push(format!(
                "{name:30} spikes: {} spikes, {} positions differ, max count diff per neuron {}",
                spikes.spikes, spikes.moved_positions, spikes.max_count_diff
            ));
        }
        if spikes.max_count_diff > MAX_COUNT_DIFF {
            return Err(format!(
                "a neuron's spike count differs from Nengo's by {} (allowed {MAX_COUNT_DIFF})",
                spikes.max_count_diff
            ));
        }
        for c in exact.iter().filter(|c| c.kind == "exact") {
            let want = expected.get(&c.probe).ok_or("no expected probe")?;
            let (signal, got) = probe(&program, &out, &c.probe)?;
            if got.shape() != want.shape() {
                return Err(format!(
                    "{}: shape {:?}, Nengo {:?}",
                    c.probe,
                    got.shape(),
                    want.shape()
                ));
            }
            let (norm, rms) = deviations(got, want);
            let state = spiking_states.contains(&signal);
            let (what, ok) = match (agree, state) {
                (true, false) => ("continuous", norm <= CONTINUOUS_RTOL),
                (true, true) => ("spiking state", norm <= SPIKING_STATE_RTOL),
                (false, false) => ("after moved spikes", rms <= MOVED_RMS),
                (false, true) => ("state after moved spikes (not compared)", true),
            };
            lines.push(format!(
                "{name:30} {:18} {what:14} max|d|/max {norm:9.2e}  rms(d)/rms {rms:9.2e}",
                c.probe
            ));
            if !ok {
                return Err(format!(
                    "probe `{}` ({what}): max|f32 - nengo|/max|nengo| = {norm:.3e}, rms ratio {rms:.3e}",
                    c.probe
                ));
            }
        }
    }
    for c in case.check.iter().filter(|c| c.kind == "rmse") {
        let target =
            expected.get(c.target.as_deref().unwrap_or("")).ok_or("rmse without target")?;
        let seeds = c.snnc_seeds.unwrap_or(10);
        let mut total = 0.0;
        for s in 0..seeds {
            let (program, out) = run(dir, Some(s + 1), case, Dtype::Float32)?;
            let (_, got) = probe(&program, &out, &c.probe)?;
            let mse = got.iter().zip(target).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                / got.len().max(1) as f64;
            total += mse.sqrt();
        }
        let mean = total / seeds as f64;
        let nengo = c.nengo_rmse.unwrap_or(0.0);
        let limit = c.max_ratio.unwrap_or(1.1) * nengo;
        lines.push(format!(
            "{name:30} {:18} rmse           f32 {mean:.5} = {:.3} x Nengo's {nengo:.5}",
            c.probe,
            mean / nengo
        ));
        if mean > limit || mean.is_nan() {
            return Err(format!("probe `{}`: mean RMSE {mean:.5} > {limit:.5}", c.probe));
        }
    }
    Ok(lines)
}

#[test]
fn float32_meets_the_documented_tolerance_on_every_conformance_case() {
    let mut failures = Vec::new();
    let all = cases();
    for (name, dir, case) in &all {
        match check_case(name, dir, case) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) outside the float32 tolerance:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn float32_runs_write_float32_arrays() {
    let dir = std::env::temp_dir().join(format!("snnc-float32-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = dir.join("m.snn");
    std::fs::write(
        &model,
        "node s = fn t -> sin(t)\nensemble a = lif_rate(n = 20, dims = 1)\nconnect s -> a\nprobe a synapse 10ms\n",
    )
    .expect("write model");
    let mut results = Vec::new();
    for dtype in [Dtype::Float32, Dtype::Float64] {
        let output = dir.join(format!("{}.npz", dtype.name()));
        let cfg = snnc::run::RunConfig {
            file: model.clone(),
            steps: 50,
            seed: Some(1),
            output: output.clone(),
            dtype,
            ..Default::default()
        };
        assert!(snnc::run::run(&cfg).is_ok(), "run in {}", dtype.name());
        let bytes = std::fs::read(&output).expect("output written");
        let descr = if dtype == Dtype::Float32 { "<f4" } else { "<f8" };
        assert!(
            bytes.windows(3).any(|w| w == descr.as_bytes()),
            "{} output is not {descr}",
            dtype.name()
        );
        let data = snn_io::read_npz(&output).expect("readable");
        results.push(data.get("a").expect("probe a").clone());
    }
    let (norm, _) = deviations(&results[0], &results[1]);
    assert!(norm > 0.0 && norm <= CONTINUOUS_RTOL, "float32 vs float64: {norm:e}");
    let _ = std::fs::remove_dir_all(&dir);
}
