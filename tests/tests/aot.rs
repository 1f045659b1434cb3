//! `snnc build` against `snnc run`: every example, every conformance case and the MNIST
//! walkthrough's spiking network (held image input, spike-driven convolutions) are built into a
//! native library in float64 and float32, driven from C (`tests/aot/driver.c`, written against
//! the generated header) linked against the shared and against the static library, and must
//! give `snnc run`'s probes bit for bit: held inputs in two `run` calls, per-step inputs set
//! before each step, and again after `reset` in one call. The shipped example `examples/aot/`
//! (a C program and a Python ctypes script) runs too.

use ndarray::ArrayD;
use snn_compiler::ir::Program;
use snn_tests::cases;
use snnc::run::{Dtype, DEFAULT_TARGET};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-aot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn sh(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Values of `a` in `T`, as little-endian bytes.
fn bytes(a: &ArrayD<f64>, dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::Float64 => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::Float32 => a.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
    }
}

/// `snnc run`'s probes (the JIT, inputs held where they have no time axis).
fn reference(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    dtype: Dtype,
) -> Result<Vec<ArrayD<f64>>, String> {
    let mut p = program.clone();
    snnc::run::optimize(DEFAULT_TARGET, &mut p, inputs);
    let precision = dtype.precision();
    snn_compiler::target::run(DEFAULT_TARGET, &p, precision, steps, batch, inputs, 2, &mut |_| {})
        .map_err(|e| e.to_string())
}

/// Builds `file` in `dtype`, runs it from C (shared and static) and compares with `snnc run`.
#[allow(clippy::too_many_arguments)]
fn check(
    tag: &str,
    file: &Path,
    dt: f64,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    dtype: Dtype,
) -> Result<(), String> {
    let dir = scratch(tag);
    let (_, program) = snnc::run::compile(file, None, dt).map_err(|f| f.0)?;
    let want = reference(&program, steps, batch, inputs, dtype)?;
    let name = "model";
    let cfg = snnc::build::BuildConfig {
        file: file.to_path_buf(),
        output: dir.join("lib"),
        name: Some(name.to_string()),
        dtype,
        target: "native".into(),
        dt,
        seed: None,
        cc: None,
        report: false,
    };
    snnc::build::build(&cfg).map_err(|f| f.0)?;
    let lib = dir.join("lib");
    let driver = root().join("tests/aot/driver.c");
    let defs = [format!("-DSNN_NAME={name}"), format!("-DSNN_HEADER=\"{name}.h\"")];
    let shared = dir.join("driver_shared");
    sh(Command::new("cc")
        .arg("-O1")
        .arg(&driver)
        .args(&defs)
        .arg("-I")
        .arg(&lib)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-l{name}"))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&shared))?;
    let stat = dir.join("driver_static");
    sh(Command::new("cc")
        .arg("-O1")
        .arg(&driver)
        .args(&defs)
        .arg("-I")
        .arg(&lib)
        .arg(lib.join(format!("lib{name}.a")))
        .args(["-lm", "-lpthread", "-ldl", "-o"])
        .arg(&stat))?;
    let mut args: Vec<String> = vec![batch.to_string(), steps.to_string(), (steps / 3).to_string()];
    let mut input_args = Vec::new();
    for (decl, a) in program.inputs.iter().zip(inputs) {
        let path = dir.join(format!("input_{}.bin", decl.name));
        std::fs::write(&path, bytes(a, dtype)).map_err(|e| e.to_string())?;
        let per_step = a.ndim() != decl.shape.len() + 1;
        input_args.extend([
            decl.name.clone(),
            path.display().to_string(),
            u8::from(per_step).to_string(),
        ]);
    }
    for exe in [&shared, &stat] {
        let out = dir.join(format!(
            "out_{}",
            exe.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ));
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        args.truncate(3);
        args.push(out.display().to_string());
        sh(Command::new(exe).args(&args).args(&input_args))?;
        for (p, w) in program.probes.iter().zip(&want) {
            let got =
                std::fs::read(out.join(format!("{}.bin", p.name))).map_err(|e| e.to_string())?;
            let want = bytes(w, dtype);
            if got != want {
                let n = if dtype == Dtype::Float64 { 8 } else { 4 };
                let first = got.chunks(n).zip(want.chunks(n)).position(|(a, b)| a != b);
                return Err(format!(
                    "{tag} ({}): probe `{}` differs from snnc run ({} vs {} bytes, first difference at value {first:?})",
                    exe.display(),
                    p.name,
                    got.len(),
                    want.len()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn both_dtypes(
    tag: &str,
    file: &Path,
    dt: f64,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
) -> Vec<String> {
    let mut failures = Vec::new();
    for dtype in [Dtype::Float64, Dtype::Float32] {
        let tag = format!("{tag}-{}", dtype.name());
        if let Err(e) = check(&tag, file, dt, steps, batch, inputs, dtype) {
            failures.push(format!("{tag}: {e}"));
        }
    }
    failures
}

/// The examples with the inputs their README gives.
#[test]
fn examples_equal_snnc_run() {
    let ex = root().join("examples");
    let mut failures = Vec::new();
    for (file, inputs, steps) in snn_tests::EXAMPLE_RUNS {
        let path = ex.join(file);
        let (_, program) =
            snnc::run::compile(&path, None, 0.001).unwrap_or_else(|f| panic!("{}", f.0));
        let args: Vec<String> =
            inputs.iter().map(|a| a.replace("data/", &format!("{}/data/", ex.display()))).collect();
        let (data, batch) = snnc::run::load_inputs(&program, &args, steps)
            .unwrap_or_else(|f| panic!("{file}: {}", f.0));
        let tag = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        failures.extend(both_dtypes(&tag, &path, 0.001, steps, batch, &data));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every conformance case, with its own inputs (held or per step), steps and batch.
#[test]
fn conformance_cases_equal_snnc_run() {
    let mut failures = Vec::new();
    for (name, dir, case) in cases() {
        let file = dir.join("model.snn");
        let res = (|| -> Result<Vec<ArrayD<f64>>, String> {
            let (_, program) = snnc::run::compile(&file, None, case.dt).map_err(|f| f.0)?;
            let path = dir.join("inputs.npz");
            let given = if path.exists() {
                snn_io::read_npz(&path).map_err(|e| e.to_string())?
            } else {
                Default::default()
            };
            program
                .inputs
                .iter()
                .map(|d| given.get(&d.name).cloned().ok_or_else(|| "missing input".to_string()))
                .collect()
        })();
        match res {
            Ok(inputs) => {
                failures.extend(both_dtypes(&name, &file, case.dt, case.steps, case.batch, &inputs))
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The MNIST walkthrough's spiking network on four test images for 30 steps.
#[test]
fn mnist_spiking_equals_snnc_run() {
    let ex = root().join("examples/mnist");
    let dir = scratch("mnist-import");
    let mut options = snn_keras::convert::Options::default();
    options.swap.push(("relu".to_string(), "spiking_relu".to_string()));
    options.scale_firing_rates = Some(20.0);
    options.synapse = Some(0.01);
    let snn = dir.join("model.snn");
    let cfg = snnc::import::ImportConfig {
        model: ex.join("model.keras"),
        output: snn.clone(),
        swap: Vec::new(),
        initial_voltages: None,
        layers: Vec::new(),
        options,
    };
    snnc::import::import(&cfg).expect("imports");
    let images = snn_io::read_npy(&ex.join("first4_images.npy")).expect("images");
    let failures = both_dtypes("mnist", &snn, 0.001, 30, 4, &[images]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `v` as C's `%.17e` prints it (`6.43754893530619876e-01`).
fn c_exp(v: f64) -> String {
    let s = format!("{v:.17e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
    format!("{mant}e{sign}{digits:0>2}")
}

/// `examples/aot/`: the C program and the Python ctypes script print `snnc run`'s last values.
#[test]
fn shipped_example_runs_from_c_and_python() {
    let ex = root().join("examples/aot");
    let dir = scratch("example");
    let cfg = snnc::build::BuildConfig {
        file: root().join("examples/square.snn"),
        output: dir.clone(),
        name: None,
        dtype: Dtype::Float64,
        target: "native".into(),
        dt: 0.001,
        seed: None,
        cc: None,
        report: false,
    };
    snnc::build::build(&cfg).unwrap_or_else(|f| panic!("{}", f.0));
    let exe = dir.join("main");
    sh(Command::new("cc")
        .arg(ex.join("main.c"))
        .arg("-I")
        .arg(&dir)
        .arg("-L")
        .arg(&dir)
        .arg("-lsquare")
        .arg("-o")
        .arg(&exe))
    .expect("compiles main.c");
    let c = sh(Command::new(&exe).env("LD_LIBRARY_PATH", &dir)).expect("runs main");
    // What `snnc run` gives for the same inputs.
    let (_, program) =
        snnc::run::compile(&cfg.file, None, 0.001).unwrap_or_else(|f| panic!("{}", f.0));
    let x = ndarray::arr2(&[[-0.8], [0.3], [0.9]]).into_dyn();
    let want = reference(&program, 1000, 3, &[x], Dtype::Float64).expect("runs");
    let last: Vec<String> = (0..3).map(|b| c_exp(want[0][[b, 999, 0]])).collect();
    let expect = format!("out at t = 1 s: {}\n", last.join(" "));
    assert_eq!(c, expect, "the C program");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(&python).arg("--version").output() {
        Ok(o) if o.status.success() => {
            let py = sh(Command::new(&python).arg(ex.join("run.py")).arg(dir.join("libsquare.so")))
                .expect("runs run.py");
            assert_eq!(py, expect, "the Python ctypes script");
        }
        _ => eprintln!("python3 not found: the ctypes script was not run"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn config(file: PathBuf, output: PathBuf) -> snnc::build::BuildConfig {
    snnc::build::BuildConfig {
        file,
        output,
        name: None,
        dtype: Dtype::Float64,
        target: "native".into(),
        dt: 0.001,
        seed: None,
        cc: None,
        report: false,
    }
}

/// A model with errors gets its diagnostics and nothing is written; a missing C compiler is
/// named; outputs never replace the model or a directory; a bad name or target is refused.
#[test]
fn failures_write_nothing() {
    let dir = scratch("failures");
    let bad = dir.join("bad.snn");
    std::fs::write(&bad, "input x: [2]\nensemble a = lif(n = 10, dims = 3)\nconnect x -> b\n")
        .expect("writes");
    let out = dir.join("out");
    let err = snnc::build::build(&config(bad.clone(), out.clone())).expect_err("fails").0;
    assert!(err.contains("E0101") && err.contains("bad.snn:3:14"), "located diagnostics: {err}");
    assert!(!out.exists(), "nothing written for a model with errors");

    let square = root().join("examples/square.snn");
    let mut cfg = config(square.clone(), out.clone());
    cfg.cc = Some("/nonexistent/cc".into());
    let err = snnc::build::build(&cfg).expect_err("fails").0;
    assert!(err.contains("`/nonexistent/cc` was not found"), "names the missing compiler: {err}");
    let left: Vec<_> = std::fs::read_dir(&out).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "no output and no scratch files left: {left:?}");

    // The header's path is a directory: refused before anything is replaced.
    std::fs::create_dir_all(out.join("square.h")).expect("dir");
    let err = snnc::build::build(&config(square.clone(), out.clone())).expect_err("fails").0;
    assert!(err.contains("square.h") && err.contains("is a directory"), "{err}");
    assert!(!out.join("libsquare.so").exists(), "no library beside the refused header");

    // The output directory named as the model itself: refused, the model untouched.
    let before = std::fs::read(&square).expect("reads");
    let err = snnc::build::build(&config(square.clone(), square.clone())).expect_err("fails").0;
    assert!(err.contains("is not a directory"), "{err}");
    assert_eq!(std::fs::read(&square).expect("reads"), before, "the model is untouched");

    let mut cfg = config(square.clone(), dir.join("o2"));
    cfg.name = Some("2bad-name".into());
    let err = snnc::build::build(&cfg).expect_err("fails").0;
    assert!(err.contains("not a C identifier"), "{err}");
    let mut cfg = config(square, dir.join("o3"));
    cfg.target = "gpu".into();
    let err = snnc::build::build(&cfg).expect_err("fails").0;
    assert!(err.contains("unknown build target `gpu`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
