//! Shared helpers for the integration tests: loading and running the Nengo conformance cases.

use ndarray::ArrayD;
use serde::Deserialize;
use snn_compiler::backend::interp::Interp;
use snn_compiler::target::Target;
use snn_compiler::CompileConfig;
use snn_fs::FsDb;
use snn_runtime::Precision;
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

/// Run the case in `dir` (model seed `seed`) on `target` in float64; probe name and data, in
/// order. The interpreter runs the program as lowered (the reference); every other target runs
/// it after its optimisation passes, as `snnc run` does.
pub fn run_case(
    dir: &Path,
    seed: Option<u64>,
    case: &Case,
    target: &dyn Target,
) -> Result<Vec<(String, ArrayD<f64>)>, String> {
    let mut db = FsDb::new();
    let root = db.load(&dir.join("model.snn"))?;
    let mut program = snn_compiler::compile(
        &mut db,
        root,
        &CompileConfig { seed, dt: case.dt, ..Default::default() },
    )
    .map_err(|e| format!("compile: {:?}", e.iter().map(|d| &d.message).collect::<Vec<_>>()))?;
    let inputs_path = dir.join("inputs.npz");
    let given = if inputs_path.exists() {
        snn_io::read_npz(&inputs_path).map_err(|e| e.to_string())?
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
    if target.name() != Interp.name() {
        snnc::run::optimize(target, &mut program, &inputs);
    }
    let out = snn_compiler::target::run(
        target,
        &program,
        Precision::F64,
        case.steps,
        case.batch,
        &inputs,
        1,
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    Ok(program.probes.iter().map(|p| p.name.clone()).zip(out).collect())
}

/// The examples (and test models of features the examples do not show: every kind of neuron
/// state set initially) with the inputs their README gives (`NAME=data/FILE.npy`, relative to
/// `examples/`) and the steps they run, for the tests that run every target on them.
pub const EXAMPLE_RUNS: [(&str, &[&str], usize); 7] = [
    ("communication_channel.snn", &[], 1000),
    ("square.snn", &["data/square_x.npy"], 1000),
    ("integrator.snn", &[], 1000),
    ("conv_layers.snn", &["image=data/image.npy"], 200),
    ("tour.snn", &[], 500),
    ("../tests/ir_passes/absorb.snn", &[], 500),
    ("../tests/models/initial_state.snn", &[], 300),
];

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
