//! `snnc import` on the Keras zoo (tests/keras): every model, read from its Keras 2 `.h5` and its
//! Keras 3 `.keras` file (with the `.snn` blocks of `layers.snn` for custom classes and Lambdas),
//! runs one step in snnc (rate neurons) and gives Keras's own outputs within 1e-5 relative in
//! float64 and 1e-4 in float32; the emitted `.snn` checks clean and is already formatted.

use ndarray::ArrayD;
use snn_compiler::{backend::interp, CompileConfig};
use snn_fs::FsDb;
use snn_keras::convert::{sanitize, Options};
use std::path::{Path, PathBuf};

fn zoo() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("keras")
        .expect("tests/keras")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.h5").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "the Keras zoo is missing");
    dirs
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnc-import-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A probe's name and its one-step output in float64 and in float32.
type Probed = (String, ArrayD<f64>, ArrayD<f64>);

/// Import `file` into `dir`, run one step in float64 and float32.
fn import_and_run(file: &Path, dir: &Path) -> Result<Vec<Probed>, String> {
    let model = snn_keras::read_model(file).map_err(|e| e.to_string())?;
    // a model with a custom Keras class ships the .snn block that converts it
    let mut layers = Vec::new();
    let custom = file.with_file_name("layers.snn");
    if custom.exists() {
        std::fs::copy(&custom, dir.join("layers.snn")).map_err(|e| e.to_string())?;
        layers.push(dir.join("layers.snn"));
    }
    let snn = dir.join("model.snn");
    let cfg = snnc::import::ImportConfig {
        model: file.to_path_buf(),
        output: snn.clone(),
        swap: Vec::new(),
        initial_voltages: None,
        layers,
        options: Options::default(),
    };
    let c = snnc::import::import(&cfg)?;
    match snn_syntax::format(&c.snn) {
        Ok(f) if f == c.snn => {}
        Ok(_) => return Err("the emitted .snn is not formatted".into()),
        Err(d) => return Err(format!("the emitted .snn does not parse: {}", d.message)),
    }
    let mut db = FsDb::new();
    let root = db.load(&snn)?;
    let program = snn_compiler::compile(&mut db, root, &CompileConfig::default()).map_err(|d| {
        let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        format!("compile: {msgs:?}\n{}", c.snn)
    })?;
    let given = snn_io::read_npz(&file.with_file_name("inputs.npz")).map_err(|e| e.to_string())?;
    let mut inputs = Vec::new();
    for decl in &program.inputs {
        let keras = model
            .inputs
            .iter()
            .find(|i| sanitize(&i.name) == decl.name)
            .ok_or_else(|| format!("no Keras input for `{}`", decl.name))?;
        inputs.push(given.get(&keras.name).cloned().ok_or("input missing from inputs.npz")?);
    }
    let batch = inputs.first().map_or(1, |a| a.shape()[0]);
    let out = interp::run(&program, 1, batch, &inputs)?;
    let in32: Vec<ArrayD<f32>> = inputs.iter().map(|a| a.mapv(|v| v as f32)).collect();
    let out32 = interp::run::<f32>(&program, 1, batch, &in32)?;
    Ok(program
        .probes
        .iter()
        .zip(out.into_iter().zip(out32))
        .map(|(p, (a, b))| (p.name.clone(), a, b.mapv(f64::from)))
        .collect())
}

/// max |got − want| / max |want|.
fn rel_err(got: &ArrayD<f64>, want: &ArrayD<f64>) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let err = got.iter().zip(want.iter()).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    if err.is_nan() {
        f64::INFINITY
    } else {
        err / scale
    }
}

#[test]
fn zoo_models_run_like_keras() {
    let mut failures = Vec::new();
    let mut converted = 0;
    let mut worst = (0.0f64, 0.0f64);
    for dir in zoo() {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        for (file, want_file) in
            [("model.h5", "keras_outputs_k2.npz"), ("model.keras", "keras_outputs_k3.npz")]
        {
            let tmp = scratch(&format!("{name}-{file}"));
            let res = import_and_run(&dir.join(file), &tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            let got = match res {
                Ok(g) => g,
                Err(e) => {
                    failures.push(format!("{name}/{file}: {e}"));
                    continue;
                }
            };
            let want = snn_io::read_npz(&dir.join(want_file)).expect("keras outputs");
            let model = snn_keras::read_model(dir.join(file)).expect("readable");
            for (i, out) in model.outputs.iter().enumerate() {
                let Some((_, g64, g32)) = got.iter().find(|(n, _, _)| *n == sanitize(&out.layer))
                else {
                    failures.push(format!("{name}/{file}: no probe for output {}", out.layer));
                    continue;
                };
                // (batch, 1 step, *shape) vs (batch, *shape): compare flat
                let flat = |a: &ArrayD<f64>| {
                    a.iter().copied().collect::<ndarray::Array1<f64>>().into_dyn()
                };
                let e64 = rel_err(&flat(g64), &flat(&want[&format!("out_f64__{i}")]));
                let e32 = rel_err(&flat(g32), &flat(&want[&format!("out_f32__{i}")]));
                if e64 > 1e-5 || e32 > 1e-4 {
                    failures.push(format!(
                        "{name}/{file} output {}: relative error {e64:e} (float64), {e32:e} (float32)",
                        out.layer
                    ));
                }
                eprintln!(
                    "{name}/{file} output {}: {e64:.1e} (float64), {e32:.1e} (float32)",
                    out.layer
                );
                worst = (worst.0.max(e64), worst.1.max(e32));
            }
            converted += 1;
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    eprintln!("worst relative error: {:e} (float64), {:e} (float32)", worst.0, worst.1);
    assert!(converted >= 40, "only {converted} zoo files converted");
}

#[test]
fn verify_passes_on_the_zoo_and_names_a_corrupted_layer() {
    use snnc::verify::{verify, VerifyConfig};
    let mut failures = Vec::new();
    for dir in zoo() {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        // custom classes and Lambdas are taken as their blocks compute them; the rest is checked
        let layers: Vec<PathBuf> =
            Some(dir.join("layers.snn")).filter(|p| p.exists()).into_iter().collect();
        let cfg = VerifyConfig {
            model: dir.join("model.keras"),
            snn: None,
            atol: 1e-8,
            rtol: 1e-5,
            layers,
            inputs: Vec::new(),
            max_memory: None,
        };
        match verify(&cfg) {
            Ok(d) if d.iter().all(|l| l.ok) && !d.is_empty() => {}
            Ok(d) => failures.push(format!("{name}: {:?}", d.iter().find(|l| !l.ok))),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // import conv2d, then change one kernel in the weights file: verify names that layer
    let tmp = scratch("corrupt");
    let snn = tmp.join("conv2d.snn");
    let cfg = snnc::import::ImportConfig {
        model: PathBuf::from("keras/conv2d/model.h5"),
        output: snn.clone(),
        swap: Vec::new(),
        initial_voltages: None,
        layers: Vec::new(),
        options: Options::default(),
    };
    snnc::import::import(&cfg).expect("imports");
    let weights = tmp.join("conv2d.safetensors");
    let mut t = snn_io::read_safetensors(&weights).expect("weights");
    let k = t.get_mut("c_same_s2/kernel").expect("tensor of layer c_same_s2");
    k[[0, 0, 0, 0]] += 0.5;
    let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
        t.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    snn_io::write_safetensors(&weights, &named, snn_runtime::Precision::F64).expect("rewrite");
    let cfg = VerifyConfig {
        model: PathBuf::from("keras/conv2d/model.h5"),
        snn: Some(snn.clone()),
        atol: 1e-8,
        rtol: 1e-5,
        layers: Vec::new(),
        inputs: Vec::new(),
        max_memory: None,
    };
    let (diffs, notes) = snnc::verify::verify_with_notes(&cfg).expect("runs");
    let first = diffs.iter().find(|d| !d.ok).expect("a layer diverges");
    assert_eq!(first.layer, "c_same_s2");
    assert!(diffs.iter().take_while(|d| d.layer != "c_same_s2").all(|d| d.ok));
    // and the rounding check says the difference is not rounding
    assert!(
        notes.iter().any(|n| n.contains("`c_same_s2`") && n.contains("not rounding")),
        "{notes:?}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn bad_models_are_clear_errors() {
    let tmp = scratch("bad");
    let import = |model: PathBuf, no_fallback: bool| {
        let cfg = snnc::import::ImportConfig {
            model,
            output: tmp.join("out.snn"),
            swap: Vec::new(),
            initial_voltages: None,
            layers: Vec::new(),
            options: Options { no_fallback, ..Options::default() },
        };
        snnc::import::import(&cfg).map(|_| ())
    };
    let e =
        import(PathBuf::from("keras/unsupported_lambda/model.keras"), true).expect_err("lambda");
    assert!(e.contains("layer `lam`") && e.contains("--no-fallback"), "{e}");
    // layers that would run as host ops (`keras_layer`) are refused, naming the first one
    for (model, layer) in [("host_layers", "d_selu"), ("host_layers_img", "c_selu")] {
        for file in ["model.h5", "model.keras"] {
            let e = import(PathBuf::from(format!("keras/{model}/{file}")), true)
                .expect_err("--no-fallback");
            assert!(e.contains(&format!("layer `{layer}`")) && e.contains("--no-fallback"), "{e}");
        }
    }
    // truncated .keras zip, garbage .h5, a missing file
    let bytes = std::fs::read("keras/dense_seq/model.keras").expect("zoo file");
    std::fs::write(tmp.join("cut.keras"), &bytes[..bytes.len() / 2]).expect("write");
    std::fs::write(tmp.join("junk.h5"), b"\x89HDF\r\n\x1a\nnot really hdf5").expect("write");
    for (f, what) in [("cut.keras", "cut.keras"), ("junk.h5", "junk.h5"), ("none.h5", "none.h5")] {
        let e = import(tmp.join(f), false).expect_err("malformed");
        assert!(e.contains(what), "{f}: {e}");
    }
    assert!(!tmp.join("out.snn").exists(), "nothing is written on error");
    // a swap that matches nothing is an error (NengoDL silently ignores it)
    let cfg = snnc::import::ImportConfig {
        model: PathBuf::from("keras/dense_seq/model.h5"),
        output: tmp.join("out.snn"),
        swap: vec!["elu=spiking_relu".into()],
        initial_voltages: None,
        layers: Vec::new(),
        options: Options::default(),
    };
    let e = snnc::import::import(&cfg).map(|_| ()).expect_err("unmatched swap");
    assert!(e.contains("matches no layer"), "{e}");
    // without --no-fallback they convert (and run like Keras: `zoo_models_run_like_keras`)
    for model in ["host_layers", "host_layers_img"] {
        import(PathBuf::from(format!("keras/{model}/model.keras")), false).expect("host ops");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `snnc import --network NAME`: the model as a network definition that another file `use`s,
/// instantiates and connects (inputs and outputs are members); it runs like Keras.
#[test]
fn imported_network_inside_a_larger_model() {
    for (model, file) in [("mobile_block", "model.h5"), ("merge_multi_input", "model.keras")] {
        let tmp = scratch(&format!("network-{model}"));
        let dir = PathBuf::from("keras").join(model);
        let cfg = snnc::import::ImportConfig {
            model: dir.join(file),
            output: tmp.join("lib.snn"),
            swap: Vec::new(),
            initial_voltages: None,
            layers: Vec::new(),
            options: Options { network: Some("kmodel".into()), ..Options::default() },
        };
        let c = snnc::import::import(&cfg).expect("imports");
        assert!(c.snn.contains("network kmodel {") && !c.snn.contains("probe "), "{}", c.snn);
        let keras = snn_keras::read_model(dir.join(file)).expect("readable");
        // a hand-written model around it: its own inputs feed the network's input members
        let mut main = String::from("use \"lib.snn\"\nnetwork m = kmodel()\n");
        for i in &keras.inputs {
            let n = sanitize(&i.name);
            let shape: Vec<String> = i.shape.iter().map(|d| d.unwrap_or(0).to_string()).collect();
            main.push_str(&format!(
                "input outer_{n}: [{}]\nconnect outer_{n} -> m.{n} synapse none\n",
                shape.join(", ")
            ));
        }
        for o in &keras.outputs {
            let n = sanitize(&o.layer);
            main.push_str(&format!("probe out_{n} = m.{n}\n"));
        }
        std::fs::write(tmp.join("main.snn"), &main).expect("write");
        let mut db = FsDb::new();
        let root = db.load(&tmp.join("main.snn")).expect("load");
        let program = snn_compiler::compile(&mut db, root, &CompileConfig::default())
            .unwrap_or_else(|d| {
                panic!("{model}: {:?}\n{main}", d.iter().map(|d| &d.message).collect::<Vec<_>>())
            });
        let given = snn_io::read_npz(&dir.join("inputs.npz")).expect("inputs");
        let inputs: Vec<ArrayD<f64>> = program
            .inputs
            .iter()
            .map(|d| {
                let k =
                    keras.inputs.iter().find(|i| format!("outer_{}", sanitize(&i.name)) == d.name);
                given[&k.expect("a Keras input").name].clone()
            })
            .collect();
        let batch = inputs[0].shape()[0];
        let out = interp::run(&program, 1, batch, &inputs).expect("runs");
        let want = snn_io::read_npz(&dir.join(if file.ends_with("h5") {
            "keras_outputs_k2.npz"
        } else {
            "keras_outputs_k3.npz"
        }))
        .expect("keras outputs");
        for (i, o) in keras.outputs.iter().enumerate() {
            let p = program
                .probes
                .iter()
                .position(|p| p.name == format!("out_{}", sanitize(&o.layer)))
                .expect("probe");
            let flat =
                |a: &ArrayD<f64>| a.iter().copied().collect::<ndarray::Array1<f64>>().into_dyn();
            let e = rel_err(&flat(&out[p]), &flat(&want[&format!("out_f64__{i}")]));
            assert!(e <= 1e-5, "{model} output {}: {e:e}", o.layer);
        }
        // `snnc verify --snn` on the definition: every layer of an instance agrees with Keras,
        // and a corrupted weight is caught inside the network too
        use snnc::verify::{verify, VerifyConfig};
        let vcfg = VerifyConfig {
            model: dir.join(file),
            snn: Some(tmp.join("lib.snn")),
            atol: 1e-8,
            rtol: 1e-5,
            layers: Vec::new(),
            inputs: Vec::new(),
            max_memory: None,
        };
        let diffs = verify(&vcfg).unwrap_or_else(|e| panic!("{model}: verify: {e}"));
        assert!(diffs.len() >= keras.layers.len(), "{model}: {} layers compared", diffs.len());
        assert!(diffs.iter().all(|d| d.ok), "{model}: {diffs:?}");
        let weights = tmp.join("lib.safetensors");
        let mut t = snn_io::read_safetensors(&weights).expect("weights");
        let (name, k) = t.iter_mut().find(|(n, _)| n.ends_with("/kernel")).expect("a kernel");
        let layer = name.trim_end_matches("/kernel").to_string();
        k.iter_mut().for_each(|v| *v += 0.5);
        let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
            t.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
        snn_io::write_safetensors(&weights, &named, snn_runtime::Precision::F64).expect("rewrite");
        let diffs = verify(&vcfg).expect("runs");
        let first = diffs.iter().find(|d| !d.ok).expect("a layer diverges");
        assert_eq!(first.layer, layer, "{model}");
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

/// `verify --input`: the comparison runs on the values given (NengoDL's `verify(inputs=…)`), any
/// batch size; a file of another shape is an error naming the input, and the interpreter
/// refuses (never panics on) inputs whose batch is not the run's.
#[test]
fn verify_takes_the_inputs_given() {
    let tmp = scratch("verify-input");
    let model = PathBuf::from("keras/conv2d/model.h5");
    let m = snn_keras::read_model(&model).expect("model");
    let mut shape = vec![3usize];
    shape.extend(m.inputs[0].shape.iter().map(|d| d.unwrap_or(1)));
    let n: usize = shape.iter().product();
    let x = ArrayD::from_shape_vec(
        ndarray::IxDyn(&shape),
        (0..n).map(|i| (i % 7) as f64 * 30.0).collect(),
    )
    .expect("shape");
    let good = tmp.join("x.npy");
    snn_io::write_npy(&good, x.view(), snn_io::Precision::F64).expect("npy");
    let cfg = |input: &Path| snnc::verify::VerifyConfig {
        model: model.clone(),
        snn: None,
        atol: 1e-8,
        rtol: 1e-5,
        layers: Vec::new(),
        inputs: vec![input.display().to_string()],
        max_memory: None,
    };
    let diffs = snnc::verify::verify(&cfg(&good)).expect("runs");
    assert!(!diffs.is_empty() && diffs.iter().all(|d| d.ok), "{diffs:?}");
    let bad = tmp.join("bad.npy");
    let y = ArrayD::<f64>::zeros(ndarray::IxDyn(&shape[1..]));
    snn_io::write_npy(&bad, y.view(), snn_io::Precision::F64).expect("npy");
    let Err(e) = snnc::verify::verify(&cfg(&bad)) else { panic!("a wrong shape is refused") };
    assert!(e.contains("expected (batch"), "{e}");
    // the interpreter itself: three rows for a run of two is an error
    let checked = {
        let mut db = FsDb::new();
        let root = db.add(
            "m.snn",
            None,
            "input u: [2]\nnode y: [2]\nconnect u -> y synapse none\nprobe y\n".into(),
        );
        snn_compiler::compile(&mut db, root, &CompileConfig::default()).expect("compiles")
    };
    let three = ArrayD::<f64>::zeros(ndarray::IxDyn(&[3, 2]));
    let Err(e) = interp::run(&checked, 1, 2, &[three]) else { panic!("refused") };
    assert!(e.contains("holds 3 element(s)"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A `.keras` whose config was edited into values Keras never writes (negative strides, zero
/// groups, an unknown padding mode, no outputs) is refused naming the layer and the value, not
/// converted with the defaults.
#[test]
fn corrupted_configs_are_refused_not_defaulted() {
    use std::io::{Read, Write};
    let tmp = scratch("badcfg");
    let mut zin =
        zip::ZipArchive::new(std::fs::File::open("keras/conv2d/model.keras").unwrap()).unwrap();
    let mut members = Vec::new();
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        members.push((f.name().to_string(), bytes));
    }
    let config = |members: &[(String, Vec<u8>)]| -> String {
        let (_, b) = members.iter().find(|(n, _)| n == "config.json").unwrap();
        String::from_utf8(b.clone()).unwrap()
    };
    let text = config(&members);
    for (from, to, says) in [
        (r#""strides": [2, 2]"#, r#""strides": [-1, -1]"#, "`strides` is [-1,-1]"),
        (r#""groups": 1"#, r#""groups": 0"#, "`groups` is 0"),
        (r#""padding": "same""#, r#""padding": "full""#, r#"`padding` is "full""#),
        (r#""output_layers": ["head", 0, 0]"#, r#""output_layers": []"#, "`output_layers`"),
    ] {
        assert!(text.contains(from), "{from} not in the config");
        let path = tmp.join("edited.keras");
        let mut zout = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, bytes) in &members {
            zout.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
            if name == "config.json" {
                zout.write_all(text.replacen(from, to, 1).as_bytes()).unwrap();
            } else {
                zout.write_all(bytes).unwrap();
            }
        }
        zout.finish().unwrap();
        let e = snn_keras::read_model(&path).map(|_| ()).expect_err(to);
        let e = e.to_string();
        assert!(e.contains(says), "{to}: {e}");
    }
}
