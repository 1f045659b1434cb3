//! Every target against the reference interpreter: every example, every conformance case, the
//! Keras zoo and the MNIST walkthrough's spiking network (the cases) run on every target of
//! `snnc run` (`snnc::run::TARGETS`), in float64 and float32, and must agree (≤ 1e-9 relative per value in float64 and 1e-6 in float32, spike trains
//! identical: zero where the interpreter is zero). `cargo test -p snn-tests --test backends --
//! --nocapture` prints the largest differences measured.

use ndarray::ArrayD;
use snn_compiler::backend::interp::Interp;
use snn_compiler::ir::Program;
use snn_compiler::target::Target;
use snn_keras::convert::sanitize;
use snn_runtime::Precision;
use snn_tests::cases;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Largest relative difference of `got` from the interpreter's `interp` over all probes, or the
/// first value that breaks the rule (relative `rtol`, zeros where the interpreter has zeros).
fn agree(
    program: &Program,
    interp: &[ArrayD<f64>],
    got: &[ArrayD<f64>],
    rtol: f64,
) -> Result<f64, String> {
    let mut worst = 0.0f64;
    for ((p, a), b) in program.probes.iter().zip(interp).zip(got) {
        if a.shape() != b.shape() {
            return Err(format!("probe `{}`: shape {:?} vs {:?}", p.name, b.shape(), a.shape()));
        }
        for (i, (&w, &g)) in a.iter().zip(b.iter()).enumerate() {
            if w.is_nan() && g.is_nan() {
                continue;
            }
            let scale = w.abs().max(g.abs());
            let rel = if scale == 0.0 { 0.0 } else { (g - w).abs() / scale };
            if rel > rtol || (w == 0.0) != (g == 0.0) || g.is_nan() != w.is_nan() {
                return Err(format!("probe `{}`: element {i}: {g}, interp {w}", p.name));
            }
            worst = worst.max(rel);
        }
    }
    Ok(worst)
}

/// Largest difference of `b` from `a` relative to each probe's largest magnitude, or the first
/// value further than `tol` of it.
fn agree_scaled(
    program: &Program,
    a: &[ArrayD<f64>],
    b: &[ArrayD<f64>],
    tol: f64,
) -> Result<f64, String> {
    let mut worst = 0.0f64;
    for ((p, a), b) in program.probes.iter().zip(a).zip(b) {
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
        for (i, (&w, &g)) in a.iter().zip(b.iter()).enumerate() {
            let rel = (g - w).abs() / scale;
            if rel > tol || g.is_nan() != w.is_nan() {
                return Err(format!("probe `{}`: element {i}: {g} vs {w}", p.name));
            }
            worst = worst.max(rel);
        }
    }
    Ok(worst)
}

/// Runs `program`, as lowered and after each target's optimisation passes, on the interpreter
/// and every other target in both precisions: each target must agree with the interpreter on
/// each program, and the optimised program with the lowered one. Returns the worst differences
/// (f64, f32).
fn both(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
) -> Result<(f64, f64), String> {
    let mut worst = [0.0f64; 2];
    // The loihi target computes in Loihi's integers, so it is not held to the float
    // interpreter: it is compared with nengo-loihi's emulator (compiler/loihi/tests).
    let float = |t: &&dyn Target| t.name() != Interp.name() && t.name() != snn_loihi::NAME;
    for target in snnc::run::TARGETS.into_iter().filter(float) {
        let name = target.name();
        let mut optimised = program.clone();
        snnc::run::optimize(target, &mut optimised, inputs);
        for (slot, (precision, rtol)) in
            [(Precision::F64, 1e-9), (Precision::F32, 1e-6)].into_iter().enumerate()
        {
            let run = |p: &Program, t: &dyn Target| {
                snn_compiler::target::run(t, p, precision, steps, batch, inputs, 2, &mut |_| {})
                    .map_err(|e| e.to_string())
            };
            let a = run(program, &Interp)?;
            let b = run(program, target)?;
            let w =
                agree(program, &a, &b, rtol).map_err(|e| format!("{name}, {precision:?}: {e}"))?;
            let oa = run(&optimised, &Interp)?;
            let ob = run(&optimised, target)?;
            let wo = agree(program, &oa, &ob, rtol)
                .map_err(|e| format!("{name}, {precision:?}, optimised: {e}"))?;
            // The passes change summation orders: in float64 that stays within `rtol` per value;
            // in float32 the optimised run is held to 1e-4 of each probe's largest value.
            let wl = if precision == Precision::F64 {
                agree(program, &a, &oa, rtol)
            } else {
                agree_scaled(program, &a, &oa, 1e-4)
            }
            .map_err(|e| format!("{name}, {precision:?}, optimised vs lowered (interp): {e}"))?;
            worst[slot] = worst[slot].max(w.max(wo).max(wl));
        }
    }
    Ok((worst[0], worst[1]))
}

/// The examples with the inputs their README gives (and test models of features the examples
/// do not show: every kind of neuron state set initially).
#[test]
fn examples_agree() {
    let ex = root().join("examples");
    let mut failures = Vec::new();
    for (file, inputs, steps) in snn_tests::EXAMPLE_RUNS {
        let (_, program) =
            snnc::run::compile(&ex.join(file), None, 0.001).unwrap_or_else(|f| panic!("{}", f.0));
        let args: Vec<String> =
            inputs.iter().map(|a| a.replace("data/", &format!("{}/data/", ex.display()))).collect();
        let (data, batch) = snnc::run::load_inputs(&program, &args, steps)
            .unwrap_or_else(|f| panic!("{file}: {}", f.0));
        match both(&program, steps, batch, &data) {
            Ok((w64, w32)) => println!("{file}: worst rel diff f64 {w64:.1e}, f32 {w32:.1e}"),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "a target disagrees with the interpreter:\n{}",
        failures.join("\n")
    );
}

/// Every conformance case, with its own inputs, steps and batch.
#[test]
fn conformance_cases_agree() {
    let mut failures = Vec::new();
    for (name, dir, case) in cases() {
        let res = (|| -> Result<(f64, f64), String> {
            let (_, program) =
                snnc::run::compile(&dir.join("model.snn"), None, case.dt).map_err(|f| f.0)?;
            let path = dir.join("inputs.npz");
            let given = if path.exists() {
                snn_io::read_npz(&path).map_err(|e| e.to_string())?
            } else {
                Default::default()
            };
            let mut inputs = Vec::new();
            for decl in &program.inputs {
                inputs.push(given.get(&decl.name).cloned().ok_or("missing input")?);
            }
            both(&program, case.steps, case.batch, &inputs)
        })();
        match res {
            Ok((w64, w32)) => println!("{name}: worst rel diff f64 {w64:.1e}, f32 {w32:.1e}"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "a target disagrees with the interpreter:\n{}",
        failures.join("\n")
    );
}

/// Every target that streams gives, a chunk of steps at a time, exactly what its whole run
/// gives (bit for bit, concatenated): every conformance case, chunks of 7 steps, 2 threads,
/// float64 and float32. The interpreter and the JIT both stream (one run loop, the runtime's).
#[test]
fn streamed_runs_equal_whole_runs() {
    let mut streaming = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for (name, dir, case) in cases() {
        let res = (|| -> Result<(), String> {
            let (_, program) =
                snnc::run::compile(&dir.join("model.snn"), None, case.dt).map_err(|f| f.0)?;
            let path = dir.join("inputs.npz");
            let given = if path.exists() {
                snn_io::read_npz(&path).map_err(|e| e.to_string())?
            } else {
                Default::default()
            };
            let mut inputs = Vec::new();
            for decl in &program.inputs {
                inputs.push(given.get(&decl.name).cloned().ok_or("missing input")?);
            }
            let (steps, batch) = (case.steps, case.batch);
            for target in snnc::run::TARGETS {
                for precision in [Precision::F64, Precision::F32] {
                    let Ok(exe) = target.prepare(&program, precision) else { continue };
                    if !exe.streams() {
                        continue;
                    }
                    streaming.insert(target.name());
                    let whole = exe
                        .run(steps, batch, &inputs, 2, &mut |_| {})
                        .map_err(|e| e.to_string())?;
                    let mut chunks = Vec::new();
                    exe.run_streaming(steps, batch, &inputs, 2, 7, &mut |_| {}, &mut |a| {
                        chunks.push(a);
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
                    if chunks.len() != steps.div_ceil(7).max(1) {
                        return Err(format!("{}: {} chunks", target.name(), chunks.len()));
                    }
                    let joined = snn_runtime::batch::concat_chunks(&chunks)?;
                    // bit for bit (NaN included)
                    let bits = |v: &[ArrayD<f64>]| -> Vec<Vec<u64>> {
                        v.iter().map(|a| a.iter().map(|x| x.to_bits()).collect()).collect()
                    };
                    let shapes = |v: &[ArrayD<f64>]| -> Vec<Vec<usize>> {
                        v.iter().map(|a| a.shape().to_vec()).collect()
                    };
                    if shapes(&whole) != shapes(&joined) || bits(&whole) != bits(&joined) {
                        return Err(format!("{}, {precision:?}: streamed != whole", target.name()));
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        streaming.contains("interp") && streaming.contains("jit"),
        "streaming targets: {streaming:?}"
    );
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-backends-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Import a Keras model with converter options and lower it.
fn import(
    model: &Path,
    dir: &Path,
    options: snn_keras::convert::Options,
) -> Result<Program, String> {
    let mut layers = Vec::new();
    let custom = model.with_file_name("layers.snn");
    if custom.exists() {
        std::fs::copy(&custom, dir.join("layers.snn")).map_err(|e| e.to_string())?;
        layers.push(dir.join("layers.snn"));
    }
    let snn = dir.join("model.snn");
    let cfg = snnc::import::ImportConfig {
        model: model.to_path_buf(),
        output: snn.clone(),
        swap: Vec::new(),
        initial_voltages: None,
        layers,
        options,
    };
    snnc::import::import(&cfg)?;
    snnc::run::compile(&snn, None, 0.001).map(|(_, p)| p).map_err(|f| f.0)
}

/// Every Keras zoo model (its `.keras` file: dense, conv 1-D/2-D, groups, pooling, host
/// functions) for a few steps on its own inputs.
#[test]
fn keras_zoo_agrees() {
    let zoo = root().join("tests/keras");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&zoo)
        .expect("tests/keras")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.keras").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 15, "the Keras zoo is missing");
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let out = scratch(&name);
        let res = (|| -> Result<(f64, f64), String> {
            let file = dir.join("model.keras");
            let model = snn_keras::read_model(&file).map_err(|e| e.to_string())?;
            let program = import(&file, &out, Default::default())?;
            let given = snn_io::read_npz(&dir.join("inputs.npz")).map_err(|e| e.to_string())?;
            let mut inputs = Vec::new();
            for decl in &program.inputs {
                let keras = model
                    .inputs
                    .iter()
                    .find(|i| sanitize(&i.name) == decl.name)
                    .ok_or_else(|| format!("no Keras input for `{}`", decl.name))?;
                inputs.push(given.get(&keras.name).cloned().ok_or("input missing")?);
            }
            let batch = inputs.first().map_or(1, |a| a.shape()[0]);
            both(&program, 3, batch, &inputs)
        })();
        let _ = std::fs::remove_dir_all(&out);
        match res {
            Ok((w64, w32)) => println!("keras {name}: worst rel diff f64 {w64:.1e}, f32 {w32:.1e}"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "a target disagrees with the interpreter:\n{}",
        failures.join("\n")
    );
}

/// The MNIST walkthrough's spiking network (spiking ReLU, firing rates ×20, 10 ms synapses) on
/// four test images for 30 steps.
#[test]
fn mnist_spiking_agrees() {
    let ex = root().join("examples/mnist");
    let out = scratch("mnist");
    let mut options = snn_keras::convert::Options::default();
    options.swap.push(("relu".to_string(), "spiking_relu".to_string()));
    options.scale_firing_rates = Some(20.0);
    options.synapse = Some(0.01);
    let program = import(&ex.join("model.keras"), &out, options).expect("import");
    let _ = std::fs::remove_dir_all(&out);
    let images = snn_io::read_npy(&ex.join("first4_images.npy")).expect("images");
    let (w64, w32) =
        both(&program, 30, 4, &[images]).expect("every target agrees with the interpreter");
    println!("mnist spiking: worst rel diff f64 {w64:.1e}, f32 {w32:.1e}");
}
