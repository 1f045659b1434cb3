//! Shared helpers for the integration tests: loading and running the Nengo conformance cases.

use ndarray::ArrayD;
use serde::Deserialize;
use snn_compiler::backend::{self, Backend};
use snn_compiler::{build, lower, FsDb};
use snn_runtime::io::Precision;
use std::path::{Path, PathBuf};

/// A conformance case's `case.toml`.
#[derive(Deserialize)]
pub struct Case {
    pub steps: usize,
    pub dt: f64,
    pub batch: usize,
    #[serde(default)]
    pub check: Vec<Check>,
}

/// One comparison of a case.
#[derive(Deserialize)]
pub struct Check {
    pub probe: String,
    pub kind: String,
    #[serde(default)]
    pub rtol: f64,
    #[serde(default)]
    pub atol: f64,
    pub target: Option<String>,
    pub max_ratio: Option<f64>,
    pub snnc_seeds: Option<u64>,
    pub nengo_rmse: Option<f64>,
}

/// Run the case in `dir` (model seed `seed`) on `backend` in float64; probe name and data, in
/// order. The interpreter runs the program as lowered (the reference); the JIT runs it after
/// the optimisation passes, as `snnc run` does.
pub fn run_case(
    dir: &Path,
    seed: Option<u64>,
    case: &Case,
    backend: Backend,
) -> Result<Vec<(String, ArrayD<f64>)>, String> {
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn"))?;
    let checked = snn_compiler::check_with_seed(&mut db, root, seed);
    if checked.has_errors() {
        return Err(format!(
            "check failed: {:?}",
            checked.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        ));
    }
    let built = build::build(&checked.model)
        .map_err(|e| format!("build: {:?}", e.iter().map(|d| &d.message).collect::<Vec<_>>()))?;
    let mut program = lower::lower(&checked.model, &built, case.dt)
        .map_err(|e| format!("lower: {:?}", e.iter().map(|d| &d.message).collect::<Vec<_>>()))?;
    let inputs_path = dir.join("inputs.npz");
    let given = if inputs_path.exists() {
        snn_runtime::io::read_npz(&inputs_path).map_err(|e| e.to_string())?
    } else {
        Default::default()
    };
    let mut inputs = Vec::new();
    for decl in &program.inputs {
        inputs.push(
            given
                .get(&decl.name)
                .cloned()
                .ok_or_else(|| format!("inputs.npz has no `{}`", decl.name))?,
        );
    }
    if backend == Backend::Jit {
        snnc::run::optimize(&mut program, &inputs);
    }
    let out = backend::run(
        backend,
        &program,
        Precision::F64,
        case.steps,
        case.batch,
        &inputs,
        1,
        &mut |_| {},
    )?;
    Ok(program.probes.iter().map(|p| p.name.clone()).zip(out).collect())
}

/// Every case directory under tests/conformance, sorted, with its parsed `case.toml`.
pub fn cases() -> Vec<(String, PathBuf, Case)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "conformance cases are missing");
    dirs.into_iter()
        .map(|dir| {
            let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let text = std::fs::read_to_string(dir.join("case.toml")).expect("case.toml readable");
            let case: Case = toml::from_str(&text).expect("case.toml parses");
            (name, dir, case)
        })
        .collect()
}
