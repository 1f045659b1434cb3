//! The conformance cases (tests/conformance) that map onto Loihi, run on the loihi target and
//! compared with nengo-loihi 1.1 (`tests/loihi_conformance/<case>.npz`, written by
//! tools/loihi/conformance_oracles.py): cases with explicit parameters bit for bit in spikes
//! and voltages and to 1e-5 of their range in decoded values; cases with drawn ensembles by
//! their RMSE against the ideal signal (snnc's random draws are not NumPy's).

use ndarray::{Array0, ArrayD};
use ndarray_npy::NpzReader;
use snn_compiler::target::Executable;
use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use std::fs::File;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn oracles() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/loihi_conformance"))
        .expect("tests/loihi_conformance")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "npz"))
        .collect();
    v.sort();
    assert!(v.len() >= 7, "only {} oracles", v.len());
    v
}

fn run(case: &str, seed: Option<u64>) -> (snn_compiler::ir::Program, Vec<ArrayD<f64>>, usize) {
    let dir = root().join("tests/conformance").join(case);
    let t: toml::Value =
        std::fs::read_to_string(dir.join("case.toml")).expect("case.toml").parse().expect("toml");
    let steps = t["steps"].as_integer().expect("steps") as usize;
    let dt = t["dt"].as_float().expect("dt");
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn")).expect("model.snn loads");
    let program = snn_compiler::compile(
        &mut db,
        root,
        &CompileConfig { seed, dt, build: snn_loihi::BUILD_OPTIONS, ..Default::default() },
    )
    .unwrap_or_else(|d| panic!("{case}: {d:?}"));
    let exe = snn_loihi::prepare(&program, snn_runtime::Precision::F64)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let outs = exe.run(steps, 1, &[], 1, &mut |_| {}).unwrap_or_else(|e| panic!("{case}: {e}"));
    (program, outs, steps)
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64).sqrt()
}

#[test]
fn conformance_cases_match_nengo_loihi() {
    let mut exact = 0;
    let mut by_rmse = 0;
    for path in oracles() {
        let case = path.file_stem().expect("stem").to_string_lossy().to_string();
        let mut z = NpzReader::new(File::open(&path).expect("oracle")).expect("npz");
        let keys: Vec<String> = z
            .names()
            .expect("names")
            .into_iter()
            .map(|n| n.trim_end_matches(".npy").to_string())
            .collect();
        let rmse_keys: Vec<&String> = keys.iter().filter(|k| k.starts_with("rmse_")).collect();
        if rmse_keys.is_empty() {
            let (program, outs, _) = run(&case, None);
            for (pr, out) in program.probes.iter().zip(&outs) {
                let want: ArrayD<f64> = z.by_name(&pr.name).expect("probe");
                let got = out.as_slice().expect("layout");
                assert_eq!(got.len(), want.len(), "{case}: {}", pr.name);
                let scale = want.iter().fold(0f64, |m, x| m.max(x.abs()));
                assert!(scale > 0.05, "{case}: {} is all but zero", pr.name);
                let bits = pr.name.ends_with("spikes") || pr.name.ends_with("voltage");
                for (k, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                    if bits {
                        assert_eq!(g, w, "{case}: {}[{k}]", pr.name);
                    } else {
                        assert!(
                            (g - w).abs() <= 1e-5 * scale,
                            "{case}: {}[{k}] {g} vs {w}",
                            pr.name
                        );
                    }
                }
                exact += 1;
            }
        } else {
            let ideal_file = root().join("tests/conformance").join(&case).join("expected.npz");
            let mut ideal = NpzReader::new(File::open(ideal_file).expect("expected")).expect("npz");
            for key in rmse_keys {
                let probe = key.trim_start_matches("rmse_");
                let theirs: Array0<f64> = z.by_name(key).expect("rmse");
                let theirs = theirs.into_scalar();
                let want: ArrayD<f64> = ideal.by_name(&format!("ideal_{probe}")).expect("ideal");
                let want = want.as_slice().expect("layout").to_vec();
                let seeds = 5;
                let mut sum = 0.0;
                for s in 0..seeds {
                    let (program, outs, _) = run(&case, Some(s));
                    let i = program.probes.iter().position(|p| p.name == probe).expect("probe");
                    sum += rmse(outs[i].as_slice().expect("layout"), &want);
                }
                let ours = sum / seeds as f64;
                eprintln!("{case} {probe}: rmse {ours:.4} (nengo-loihi {theirs:.4})");
                assert!(
                    ours <= 1.25 * theirs,
                    "{case} {probe}: rmse {ours} vs nengo-loihi {theirs}"
                );
                by_rmse += 1;
            }
        }
    }
    assert!(exact >= 10 && by_rmse >= 4, "{exact} exact probes, {by_rmse} by rmse");
}
