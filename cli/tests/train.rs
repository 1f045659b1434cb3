//! `snnc train` and `snnc evaluate` against NengoDL 3.6 (fixtures from
//! tools/train/nengodl_oracle.py): gradients of small networks (dense transforms, biases, ReLU,
//! LIF and LIFRate trained as rates, synapses over several steps, convolutions) equal NengoDL's within 1e-6
//! relative, the tutorial's autoencoder reaches NengoDL's test error, and the trained model is
//! written as a runnable pair of files.

use ndarray::{ArrayD, Ix3};
use snn_fs::FsDb;
use snn_train::engine::{Engine, Feed, Workspace};
use snn_train::loss::{self, Loss, LossKind};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// snnc's gradients of the batch-mean MSE of probe `y` for the fixture `name`, against
/// NengoDL's (one SGD step of learning rate 1 in float64: the weight change); `oracle` names
/// the fixture's array for each of snnc's parameters, `smoothing` is NengoDL's `lif_smoothing`.
fn nengodl_gradients_of(name: &str, oracle: &[(&str, &str)], smoothing: Option<f64>) {
    let dir = root().join("tests/train");
    let mut db = FsDb::new();
    let file = db.load(&dir.join(format!("{name}.snn"))).expect("fixture");
    let checked = snn_compiler::check_with_seed(&mut db, file, None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let program = snn_compiler::lower_model(&checked.model, 0.001).expect("lowers");
    let (params, _) = snn_train::params::find(&checked.model, &program);
    let data = snn_io::read_npz(&dir.join(format!("{name}.npz"))).expect("data");
    let x = data["x"].clone().into_dimensionality::<Ix3>().expect("x");
    let y = data["y"].clone().into_dimensionality::<Ix3>().expect("y");
    let rows = x.shape()[0];
    let engine =
        Engine::<f64>::new(&program, &params).expect("engine").with_lif_smoothing(smoothing);
    let values: Vec<ArrayD<f64>> = params.iter().map(|p| p.value.clone()).collect();
    let feed = Feed { inputs: std::slice::from_ref(&x), steps: x.shape()[1] };
    let mut ws = Workspace::default();
    engine.forward(&values, feed, &mut ws).expect("forward");
    let l =
        Loss { probe: 0, kind: LossKind::Mse, probabilities: false, weight: 1.0, constant: None };
    let (probes, seeds) = ws.probes_and_seeds();
    loss::evaluate(&l, probes[0].view(), y.view(), rows, Some(seeds[0].view_mut()));
    let grads = engine.backward(&values, &mut ws).expect("backward");
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let want_names: Vec<&str> = oracle.iter().map(|(p, _)| *p).collect();
    assert_eq!(names, want_names, "{name}: the parameters NengoDL trains");
    for ((p, g), (_, array)) in params.iter().zip(&grads).zip(oracle) {
        let want = &data[*array];
        assert_eq!(want.shape(), g.shape(), "{name} {}", p.name);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{name} {}: NengoDL's gradient is zero", p.name);
        let err = want.iter().zip(g.iter()).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 1e-6 * scale,
            "{name} {}: largest difference {err:e} (scale {scale:e})",
            p.name
        );
    }
}

/// Two layers with transforms and biases.
fn nengodl_gradients(name: &str) {
    let oracle = [
        ("x->h.transform", "grad_w1"),
        ("h->y.transform", "grad_w2"),
        ("h.bias", "grad_b1"),
        ("y.bias", "grad_b2"),
    ];
    nengodl_gradients_of(name, &oracle, None);
}

#[test]
fn gradients_equal_nengodl_relu() {
    nengodl_gradients("grad_relu");
}

#[test]
fn gradients_equal_nengodl_convolutions() {
    nengodl_gradients("grad_conv");
}

#[test]
fn gradients_equal_nengodl_lif_through_synapses() {
    nengodl_gradients("grad_lif_synapse");
}

#[test]
fn gradients_equal_nengodl_lif_rate_through_synapses() {
    nengodl_gradients("grad_lifrate_synapse");
}

/// LIF trained through NengoDL's SoftLIFRate (`lif_smoothing = 0.5`).
#[test]
fn gradients_equal_nengodl_lif_smoothing() {
    let oracle = [
        ("x->h.transform", "grad_w1"),
        ("h->y.transform", "grad_w2"),
        ("h.bias", "grad_b1"),
        ("y.bias", "grad_b2"),
    ];
    nengodl_gradients_of("grad_lif_smoothing", &oracle, Some(0.5));
}

/// An NEF network: an ensemble's scaled encoders and biases and a decoded connection's
/// weights, as NengoDL trains them; the ensemble marked `trainable = false` is left alone.
#[test]
fn gradients_equal_nengodl_encoders_biases_decoders() {
    let oracle =
        [("a->b.decoders", "grad_dec"), ("a.encoders", "grad_enc"), ("a.bias", "grad_bias")];
    nengodl_gradients_of("grad_nef", &oracle, None);
}

fn train_config(
    file: PathBuf,
    data: PathBuf,
    output: PathBuf,
    seed: u64,
) -> snnc::train::TrainConfig {
    snnc::train::TrainConfig {
        file,
        data,
        validation: None,
        epochs: 2,
        batch_size: 50,
        optimizer: "rmsprop".into(),
        learning_rate: 1e-3,
        momentum: 0.0,
        lif_smoothing: None,
        dtype: snnc::run::Dtype::Float32,
        losses: vec!["images=mse".into()],
        seed: Some(seed),
        threads: 2,
        steps: None,
        dt: 0.001,
        output,
        arrays: vec![],
        max_memory: None,
    }
}

/// The tutorial's autoencoder, 2 epochs of RMSprop on the 8,000 shipped digits: the mean test
/// MSE over six seeds within 5% of NengoDL's (six seeds) on the same data.
#[test]
fn autoencoder_reaches_nengodl_test_error() {
    let dir = scratch("ae");
    let ex = root().join("examples");
    let oracle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ex.join("autoencoder/nengodl_results.json")).expect("oracle"),
    )
    .expect("json");
    let want = oracle["mean_test_mse"].as_f64().expect("mean");
    let mut got = Vec::new();
    for seed in 0..6 {
        let out = dir.join(format!("ae{seed}.snn"));
        let cfg = train_config(
            ex.join("autoencoder/autoencoder.snn"),
            ex.join("mnist/train_8000_u8.npz"),
            out.clone(),
            seed,
        );
        assert!(snnc::train::train(&cfg).is_ok(), "training runs");
        let eval = snnc::train::EvaluateConfig {
            file: out,
            data: ex.join("mnist/test_2000_u8.npz"),
            losses: vec!["images=mse".into()],
            batch_size: 500,
            threads: 2,
            steps: None,
            dt: 0.001,
            arrays: vec![],
            backend: "jit".into(),
            training_mode: false,
            max_memory: None,
        };
        let Ok((scores, _)) = snnc::train::evaluate(&eval) else { panic!("evaluate runs") };
        // a rate network scores the same run by the JIT as in training mode
        let trained = snnc::train::EvaluateConfig { training_mode: true, ..eval };
        let Ok((again, _)) = snnc::train::evaluate(&trained) else { panic!("evaluate runs") };
        assert!(
            (scores.loss - again.loss).abs() <= 1e-9 * again.loss,
            "run by the JIT {} vs training mode {}",
            scores.loss,
            again.loss
        );
        got.push(scores.loss);
    }
    let mean = got.iter().sum::<f64>() / got.len() as f64;
    assert!(
        (mean - want).abs() <= 0.05 * want,
        "snnc test MSE {got:?} (mean {mean:.1}) vs NengoDL {want:.1}"
    );
}

/// A small data set in `dir`: the first `n` shipped training digits, as `small.npz`.
fn first_digits(dir: &Path, n: usize) -> PathBuf {
    let data = snn_io::read_npz(&root().join("examples/mnist/train_8000_u8.npz")).expect("digits");
    let images = data["images"].slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..n)).to_owned();
    let small = dir.join("small.npz");
    snn_io::write_npz(&small, &[("images", images.view())], snn_io::Precision::F64).expect("npz");
    small
}

/// The written pair runs, trains again, and refuses to overwrite its input.
#[test]
fn trained_model_is_a_runnable_pair() {
    let dir = scratch("pair");
    let ex = root().join("examples");
    let small = first_digits(&dir, 100);
    let first = dir.join("first.snn");
    let mut cfg =
        train_config(ex.join("autoencoder/autoencoder.snn"), small.clone(), first.clone(), 1);
    cfg.epochs = 1;
    assert!(snnc::train::train(&cfg).is_ok());
    assert!(dir.join("first.safetensors").exists());
    let text = std::fs::read_to_string(&first).expect("written");
    assert!(text.contains("weights trained = \"first.safetensors\""), "{text}");
    assert!(text.contains("trained[\"images->hidden.transform\"]"), "{text}");
    // trains again from the trained file
    let second = dir.join("second.snn");
    let cfg2 = train_config(first.clone(), small.clone(), second.clone(), 1);
    assert!(snnc::train::train(&cfg2).is_ok());
    let text2 = std::fs::read_to_string(&second).expect("written");
    assert!(text2.contains("trained_2[\"hidden.bias\"]"), "{text2}");
    // its own input as the output: refused, nothing changed
    let before = std::fs::read(&first).expect("first");
    let cfg3 = train_config(first.clone(), small, first.clone(), 1);
    let Err(e) = snnc::train::train(&cfg3) else { panic!("overwriting the input is refused") };
    assert!(e.0.contains("first.snn"), "{}", e.0);
    assert_eq!(before, std::fs::read(&first).expect("first"));
}

/// Training is deterministic for a seed and a thread count, in either float type: the same
/// weights, byte for byte; another seed shuffles (and draws) differently.
#[test]
fn training_is_deterministic_for_a_seed_and_threads() {
    let dir = scratch("det");
    let ex = root().join("examples");
    let small = first_digits(&dir, 300);
    for dtype in [snnc::run::Dtype::Float32, snnc::run::Dtype::Float64] {
        let weights = |name: &str, seed: u64| {
            let out = dir.join(format!("{name}.snn"));
            let mut cfg =
                train_config(ex.join("autoencoder/autoencoder.snn"), small.clone(), out, seed);
            cfg.epochs = 1;
            cfg.dtype = dtype;
            assert!(snnc::train::train(&cfg).is_ok(), "trains");
            std::fs::read(dir.join(format!("{name}.safetensors"))).expect("weights")
        };
        let (a, b, c) = (weights("a", 7), weights("b", 7), weights("c", 8));
        assert_eq!(a, b, "{}: the same seed and threads give other weights", dtype.name());
        assert_ne!(a, c, "{}: another seed gives the same weights", dtype.name());
    }
}

/// Bad data is named: a missing array, a wrong shape, a label out of range, a NaN.
#[test]
fn bad_data_is_named() {
    let dir = scratch("bad");
    let model = dir.join("m.snn");
    std::fs::write(
        &model,
        "input x: [3]\nlayer h: [4] = relu()\nconnect x -> h transform glorot_uniform() synapse none\nprobe out = h\n",
    )
    .expect("model");
    let case = |arrays: &[(&str, ArrayD<f64>)], loss: &str| -> String {
        let data = dir.join("d.npz");
        let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
            arrays.iter().map(|(n, a)| (*n, a.view())).collect();
        snn_io::write_npz(&data, &named, snn_io::Precision::F64).expect("npz");
        let mut cfg = train_config(model.clone(), data, dir.join("o.snn"), 0);
        cfg.losses = vec![loss.into()];
        match snnc::train::train(&cfg) {
            Ok(()) => panic!("bad data accepted"),
            Err(e) => e.0,
        }
    };
    let x = ArrayD::from_elem(vec![5, 3], 0.5);
    let labels = ArrayD::from_elem(vec![5, 1], 7.0);
    let msg = case(&[("x", x.clone())], "out=mse");
    assert!(msg.contains("no array `out`"), "{msg}");
    let msg = case(&[("x", x.clone()), ("out", ArrayD::zeros(vec![5, 5]))], "out=mse");
    assert!(msg.contains("`out` has shape [5, 5]"), "{msg}");
    let msg = case(&[("x", x.clone()), ("out", labels)], "out=sparse_categorical_crossentropy");
    assert!(msg.contains("label 7") && msg.contains("4 classes"), "{msg}");
    let mut nan = x.clone();
    nan[[2, 1]] = f64::NAN;
    let msg = case(&[("x", nan), ("out", ArrayD::zeros(vec![5, 4]))], "out=mse");
    assert!(msg.contains("`x` holds a non-finite value"), "{msg}");
    let msg = case(&[("x", x.clone()), ("out", ArrayD::zeros(vec![4, 4]))], "out=mse");
    assert!(msg.contains("has 4 samples but `x` has 5"), "{msg}");
    let msg = case(&[("x", x), ("out", ArrayD::zeros(vec![5, 4]))], "nope=mse");
    assert!(msg.contains("no probe `nope`"), "{msg}");
}

/// An NEF network trained and written back as NengoDL's `get_nengo_params` would give it: the
/// trained ensemble's encoders, gains and biases, the decoders as `no_solver`, the
/// `trainable = false` ensemble as written; the result scores what training ended with, runs
/// spiking through `evaluate`, and trains again.
#[test]
fn nef_network_trains_and_is_written_back() {
    let dir = scratch("nef");
    let fixtures = root().join("tests/train");
    for f in ["grad_nef.snn", "grad_nef.npz"] {
        std::fs::copy(fixtures.join(f), dir.join(f)).expect("copy");
    }
    let mut cfg =
        train_config(dir.join("grad_nef.snn"), dir.join("grad_nef.npz"), dir.join("t.snn"), 0);
    cfg.losses = vec!["b=mse".into()];
    cfg.arrays = vec!["b=y".into()];
    cfg.optimizer = "sgd".into();
    cfg.learning_rate = 1e-4;
    cfg.batch_size = 4;
    cfg.epochs = 3;
    assert!(snnc::train::train(&cfg).is_ok());
    let text = std::fs::read_to_string(dir.join("t.snn")).expect("written");
    // the new weights' name: `trained` is a word of the fixture's comment, so `trained_2`
    let w = text
        .lines()
        .find_map(|l| l.strip_prefix("weights ")?.strip_suffix(" = \"t.safetensors\""))
        .expect("the new weights statement");
    for want in [
        format!("encoders = {w}[\"a.encoders\"]"),
        "normalize_encoders = false".into(),
        format!("gain = {w}[\"a.gain\"]"),
        format!("bias = {w}[\"a.bias\"]"),
        format!("solver no_solver(values = {w}[\"a->b.decoders\"])"),
        "bias = w[\"bias_b\"], eval_points = w[\"eval_b\"], trainable = false)".into(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in\n{text}");
    }
    assert!(!text.contains("fn v ->"), "the decoded function gives way to the decoders\n{text}");
    let eval = |file: &str, training_mode: bool| {
        let e = snnc::train::EvaluateConfig {
            file: dir.join(file),
            data: dir.join("grad_nef.npz"),
            losses: vec!["b=mse".into()],
            batch_size: 4,
            threads: 1,
            steps: None,
            dt: 0.001,
            arrays: vec!["b=y".into()],
            backend: "interp".into(),
            training_mode,
            max_memory: None,
        };
        let Ok((s, _)) = snnc::train::evaluate(&e) else { panic!("evaluate {file}") };
        s.loss
    };
    let (before, after) = (eval("grad_nef.snn", true), eval("t.snn", true));
    assert!(after < before, "training lowers the loss: {before} -> {after}");
    // LIFRate neurons: the model as it runs scores what training scores
    assert!((eval("t.snn", false) - after).abs() <= 1e-9 * after);
    let mut again = train_config(dir.join("t.snn"), dir.join("grad_nef.npz"), dir.join("u.snn"), 0);
    again.losses = vec!["b=mse".into()];
    again.arrays = vec!["b=y".into()];
    again.epochs = 1;
    assert!(snnc::train::train(&again).is_ok(), "the written model trains again");
}

/// `snnc run`'s accuracy line `… (correct/total)` as a fraction.
fn run_accuracy(args: &[&str]) -> f64 {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("snnc runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.starts_with("accuracy of")).expect("an accuracy line");
    let frac = line.rsplit('(').next().and_then(|s| s.strip_suffix(')')).expect("(k/n)");
    let (k, n) = frac.split_once('/').expect("k/n");
    k.parse::<f64>().expect("k") / n.parse::<f64>().expect("n")
}

/// examples/convnet: the keras-to-snn convnet trained from scratch by `snnc train` with the
/// firing-rate regulariser (the committed trained.snn / trained.safetensors), run spiking with
/// examples/mnist's regularised row's settings (30 steps, 10 ms synapses, NengoDL's initial
/// voltages, the same 400 images): at least as accurate as the Keras-trained regularised model
/// in that row (examples/mnist/snnc_results.json, equal to NengoDL's).
#[test]
fn convnet_trained_by_snnc_runs_spiking_as_well_as_keras_trained() {
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/mnist/snnc_results.json")).expect("rows"),
    )
    .expect("json");
    let keras = results["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "regularized_spiking_syn10ms"))
        .and_then(|r| r["accuracy"].as_f64())
        .expect("the Keras-trained regularised spiking row");
    let got = run_accuracy(&[
        "run",
        "examples/convnet/convnet_spiking.snn",
        "--input",
        "examples/mnist/test_images.npy",
        "--steps",
        "30",
        "--labels",
        "examples/mnist/test_labels.npy",
        "-o",
        &scratch("convnet-spiking").join("out.npz").to_string_lossy(),
    ]);
    assert!(got >= keras, "snnc-trained spiking accuracy {got} < Keras-trained {keras}");
}

/// The convnet trains: two epochs on 400 digits lower the regularised loss.
#[test]
fn convnet_loss_falls() {
    let dir = scratch("convnet");
    let ex = root().join("examples");
    let data = snn_io::read_npz(&ex.join("mnist/train_8000_u8.npz")).expect("digits");
    let take =
        |n: &str| data[n].slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..400)).to_owned();
    let small = dir.join("small.npz");
    let (images, labels) = (take("images"), take("labels"));
    snn_io::write_npz(
        &small,
        &[("image", images.view()), ("dense", labels.view())],
        snn_io::Precision::F64,
    )
    .expect("npz");
    let mut cfg = train_config(ex.join("convnet/convnet.snn"), small.clone(), dir.join("c.snn"), 0);
    cfg.batch_size = 200;
    cfg.losses = vec![
        "dense=sparse_categorical_crossentropy".into(),
        "conv0=l2(250)*0.001".into(),
        "conv1=l2(250)*0.001".into(),
    ];
    let score = |file: PathBuf| {
        let eval = snnc::train::EvaluateConfig {
            file,
            data: small.clone(),
            losses: cfg.losses.clone(),
            batch_size: 200,
            threads: 2,
            steps: None,
            dt: 0.001,
            arrays: vec![],
            backend: "jit".into(),
            training_mode: true,
            max_memory: None,
        };
        let Ok((scores, _)) = snnc::train::evaluate(&eval) else { panic!("evaluate runs") };
        scores.loss
    };
    let before = score(ex.join("convnet/convnet.snn"));
    assert!(snnc::train::train(&cfg).is_ok(), "training runs");
    let after = score(dir.join("c.snn"));
    assert!(after < 0.9 * before, "loss {before} -> {after}");
}

/// Validation is scored as the model runs (spiking neurons spiking), as Keras and NengoDL
/// score it in inference mode: the last epoch's validation loss is what `snnc evaluate`
/// gives for the written model, not what training mode gives.
#[test]
fn validation_is_scored_as_the_model_runs() {
    let dir = scratch("validation");
    let fixtures = root().join("tests/train");
    for f in ["grad_lif_synapse.snn", "grad_lif_synapse.npz"] {
        std::fs::copy(fixtures.join(f), dir.join(f)).expect("copy");
    }
    let snnc = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_snnc"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("snnc runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        text
    };
    let data = ["--data", "grad_lif_synapse.npz", "--array", "x=x", "--loss", "y=mse"];
    let mut train = vec!["train", "grad_lif_synapse.snn", "-o", "t.snn", "--epochs", "2"];
    train.extend(data);
    train.extend(["--validation", "grad_lif_synapse.npz", "--batch-size", "5", "--seed", "3"]);
    let text = snnc(&train);
    let last = text.lines().rfind(|l| l.starts_with("epoch 2/2")).expect("epoch line");
    let number = |s: &str| -> f64 {
        s.split_whitespace().next().and_then(|v| v.parse().ok()).expect("a number")
    };
    let validation = number(last.split("validation loss ").nth(1).expect("validation"));
    let evaluate = |extra: &[&str]| {
        let mut args = vec!["evaluate", "t.snn", "--batch-size", "5"];
        args.extend(data);
        args.extend(extra);
        let text = snnc(&args);
        number(text.strip_prefix("loss ").expect("loss line"))
    };
    let running = evaluate(&[]);
    let training = evaluate(&["--training-mode"]);
    assert!(
        (validation - running).abs() <= 1e-5 * running.abs().max(1e-12),
        "validation {validation} vs evaluate {running}"
    );
    assert!(
        (training - running).abs() > 1e-3 * running.abs(),
        "the case must tell the modes apart: training mode {training}, running {running}"
    );
}
