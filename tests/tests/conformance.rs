//! Conformance with the real Nengo 3.2 simulator: every folder under tests/conformance is run
//! through the compile façade and each target (interp and jit) and compared with Nengo's
//! probe data.

use snn_compiler::target::Target;
use snn_tests::{cases, run_case, Case};
use std::path::Path;

/// Cases that do not pass yet, each with the reason (the test fails when one starts passing,
/// so the list only shrinks).
const KNOWN_FAILING: &[(&str, &str)] = &[];

fn compare(case_dir: &Path, case: &Case, target: &dyn Target) -> Result<(), String> {
    let expected = snn_io::read_npz(&case_dir.join("expected.npz")).map_err(|e| e.to_string())?;
    let needs_exact = case.check.iter().any(|c| c.kind != "rmse");
    let base = if needs_exact { Some(run_case(case_dir, None, case, target)?) } else { None };
    for c in &case.check {
        let want =
            expected.get(&c.probe).ok_or_else(|| format!("expected.npz has no `{}`", c.probe))?;
        match c.kind.as_str() {
            "exact" | "spikes" => {
                let got = base
                    .as_ref()
                    .and_then(|b| b.iter().find(|(n, _)| *n == c.probe))
                    .map(|(_, a)| a)
                    .ok_or_else(|| format!("snnc has no probe `{}`", c.probe))?;
                if got.shape() != want.shape() {
                    return Err(format!(
                        "probe `{}`: shape {:?}, Nengo {:?}",
                        c.probe,
                        got.shape(),
                        want.shape()
                    ));
                }
                let (rtol, atol) = if c.kind == "spikes" { (1e-9, 0.0) } else { (c.rtol, c.atol) };
                for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                    let bad = if c.kind == "spikes" {
                        (*g == 0.0) != (*w == 0.0) || (g - w).abs() > rtol * w.abs()
                    } else {
                        (g - w).abs() > atol + rtol * w.abs() || g.is_nan()
                    };
                    if bad {
                        return Err(format!("probe `{}`: element {i} is {g}, Nengo {w}", c.probe));
                    }
                }
            }
            "rmse" => {
                let wanted = expected
                    .get(c.target.as_deref().unwrap_or(""))
                    .ok_or("rmse check without target")?;
                let seeds = c.snnc_seeds.unwrap_or(10);
                let mut total = 0.0;
                for s in 0..seeds {
                    let out = run_case(case_dir, Some(s + 1), case, target)?;
                    let got = out
                        .iter()
                        .find(|(n, _)| *n == c.probe)
                        .map(|(_, a)| a)
                        .ok_or_else(|| format!("snnc has no probe `{}`", c.probe))?;
                    let mse =
                        got.iter().zip(wanted.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                            / got.len().max(1) as f64;
                    total += mse.sqrt();
                }
                let mean = total / seeds as f64;
                let limit = c.max_ratio.unwrap_or(1.1) * c.nengo_rmse.unwrap_or(0.0);
                if mean > limit {
                    return Err(format!(
                        "probe `{}`: mean RMSE {mean:.5} over {seeds} seeds > {limit:.5}",
                        c.probe
                    ));
                }
            }
            other => return Err(format!("unknown check kind `{other}`")),
        }
    }
    Ok(())
}

fn conformance_on(target: &dyn Target) {
    let mut failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    for (name, dir, case) in cases() {
        let res = compare(&dir, &case, target);
        let known = KNOWN_FAILING.iter().any(|(n, _)| *n == name);
        match (res, known) {
            (Err(e), false) => failures.push(format!("{name}: {e}")),
            (Ok(()), true) => unexpected_passes.push(name),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) disagree with Nengo on {}:\n{}",
        failures.len(),
        target.name(),
        failures.join("\n")
    );
    assert!(
        unexpected_passes.is_empty(),
        "now passing, remove from KNOWN_FAILING: {unexpected_passes:?}"
    );
}

#[test]
fn conformance_with_nengo_interp() {
    conformance_on(&snn_compiler::backend::interp::Interp);
}

#[test]
fn conformance_with_nengo_jit() {
    conformance_on(&snn_jit::Jit);
}
