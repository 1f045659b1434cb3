//! No input makes the front end panic: the empty file, every shipped `.snn` cut at many points,
//! random bytes, and random mutations of valid programs all go through parse → check → (small
//! models) build → lower, and through the formatter, without a panic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use snn_fs::FsDb;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Everything `snnc check` and `snnc run` do before simulating, on `text` placed at `path`.
fn front_end(path: &Path, text: &str) {
    let _ = snn_syntax::format(text);
    let mut db = FsDb::new();
    let root = db.add(&path.display().to_string(), Some(path.to_path_buf()), text.to_string());
    let checked = snn_compiler::check(&mut db, root);
    let objects = &checked.model.objects;
    let neurons: usize = objects.iter().filter_map(|o| o.n_neurons()).sum();
    if checked.has_errors() || neurons > 2_000 {
        return;
    }
    let _ = snn_compiler::lower_model(&checked.model, 0.001);
}

fn survives(path: &Path, text: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| front_end(path, text))).map_err(|_| {
        let shown: String = text.chars().take(400).collect();
        format!("panic on input placed at {}:\n{shown}", path.display())
    })
}

fn shipped() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in ["../examples", "../stdlib", "diagnostics", "conformance"] {
        let mut stack = vec![PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "snn") {
                    let text = std::fs::read_to_string(&p).expect("readable");
                    out.push((p, text));
                }
            }
        }
    }
    out.sort();
    assert!(out.len() > 40, "found only {} .snn files", out.len());
    out
}

#[test]
fn empty_and_blank_files() {
    for text in ["", " ", "\n", "//", "// only a comment\n", "\u{feff}", "\0"] {
        survives(Path::new("empty.snn"), text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn truncated_files() {
    let mut failures = Vec::new();
    for (path, text) in shipped() {
        let cuts: Vec<usize> = (0..=text.len()).step_by((text.len() / 40).max(1)).collect();
        for cut in cuts {
            let Some(prefix) = text.get(..cut) else { continue }; // not a char boundary
            if let Err(e) = survives(&path, prefix) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn random_bytes() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz_0123456789 \n\t[](){}<>=-+*/^,.:;\"'!&|#%~`";
    let mut failures = Vec::new();
    for i in 0..3000 {
        let len = rng.gen_range(0..200);
        let bytes: Vec<u8> = if i % 2 == 0 {
            (0..len).map(|_| rng.gen()).collect()
        } else {
            (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect()
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = survives(Path::new("random.snn"), &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn mutated_programs() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let tokens = [
        "0",
        "-1",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "0ms",
        "-5ms",
        "1e9Hz",
        "[]",
        "[0]",
        "[1, 0]",
        "[[1]]",
        "none",
        "a",
        "a.neurons",
        "x[0:0]",
        "x[5:2]",
        "->",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        "\"",
        "fn v -> v",
        "synapse none",
        "transform 0",
        "conv2d()",
        "network",
        "connect",
        "layer",
        "ensemble",
        "for i in 0..3 {",
        "99999999999999999999",
    ];
    let mut failures = Vec::new();
    for (path, text) in shipped() {
        for _ in 0..25 {
            let mut t = text.clone();
            for _ in 0..rng.gen_range(1..4) {
                let mut at = rng.gen_range(0..=t.len());
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + rng.gen_range(0..8)).min(t.len());
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.replace_range(at..end, tokens[rng.gen_range(0..tokens.len())]);
            }
            if let Err(e) = survives(&path, &t) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `keras_layer` host nodes with random classes, input shapes, configs and weights: `snnc check`
/// reports bad ones, and the ones it accepts run a step (through the interpreter) without a panic.
#[test]
fn random_keras_layers() {
    use snn_compiler::backend::interp;
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let classes = [
        "Dense",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "PReLU",
        "Softmax",
        "BatchNormalization",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "AveragePooling1D",
        "AveragePooling2D",
        "MaxPooling2D",
        "MaxPooling3D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling1D",
        "Flatten",
        "Reshape",
        "Permute",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
        "Dropout",
        "RepeatVector",
        "Identity",
        "LSTM",
        "",
    ];
    let options: &[(&str, &[&str])] = &[
        ("activation", &["\"relu\"", "\"selu\"", "\"gelu\"", "\"bogus\"", "1", "null"]),
        ("axis", &["-1", "0", "1", "2", "7", "-9", "[1, 2]", "\"x\""]),
        ("data_format", &["\"channels_last\"", "\"channels_first\"", "\"x\""]),
        ("cropping", &["0", "1", "[1, 2]", "[[1, 0], [0, 1]]", "[[9, 9], [9, 9]]", "-1"]),
        ("padding", &["\"same\"", "\"valid\"", "\"causal\"", "1", "[[1, 1], [2, 0]]", "[3, 3]"]),
        ("dims", &["[1]", "[2, 1]", "[1, 2, 3]", "[0]", "[3, 3]", "[]"]),
        ("n", &["0", "1", "3", "1000000000", "-2"]),
        ("size", &["0", "1", "2", "[2, 2]", "100000000"]),
        ("pool_size", &["0", "1", "2", "[2, 2]", "[9, 9, 9]"]),
        ("strides", &["0", "1", "2", "[1, 2]"]),
        ("target_shape", &["[-1]", "[2, -1]", "[0]", "[-1, -1]", "[4]"]),
        ("units", &["0", "3"]),
        ("filters", &["0", "2"]),
        ("kernel_size", &["0", "1", "2", "[2, 2]"]),
        ("dilation_rate", &["0", "1", "2"]),
        ("groups", &["0", "1", "2"]),
        ("max_value", &["null", "0.5", "-1"]),
        ("threshold", &["0", "1"]),
        ("negative_slope", &["0.1", "-3"]),
        ("shared_axes", &["[1]", "[1, 2]", "[5]"]),
        ("epsilon", &["0.001", "-1"]),
        ("center", &["true", "false"]),
        ("scale", &["true", "false"]),
        ("keepdims", &["true", "false"]),
        ("interpolation", &["\"nearest\"", "\"bilinear\""]),
        ("use_bias", &["true", "false"]),
    ];
    let weights = ["kernel", "bias", "alpha", "gamma", "beta", "moving_mean", "moving_variance"];
    // a literal of ones of a random small shape (rank 1–4, dims 1–3)
    let tensor = |rng: &mut ChaCha8Rng| -> String {
        let shape: Vec<usize> = (0..rng.gen_range(1..5)).map(|_| rng.gen_range(1..4)).collect();
        shape
            .iter()
            .rev()
            .fold("1".to_string(), |inner, &d| format!("[{}]", vec![inner; d].join(", ")))
    };
    let dims = |rng: &mut ChaCha8Rng, rank: usize| -> Vec<String> {
        (0..rank).map(|_| rng.gen_range(1..6).to_string()).collect()
    };
    let mut failures = Vec::new();
    let mut accepted = 0;
    for _ in 0..4000 {
        let class = classes[rng.gen_range(0..classes.len())];
        let rank = rng.gen_range(1..5);
        let n_inputs = if rng.gen_bool(0.25) { rng.gen_range(2..4) } else { 1 };
        let shapes: Vec<String> =
            (0..n_inputs).map(|_| format!("[{}]", dims(&mut rng, rank).join(", "))).collect();
        let input_shape =
            if n_inputs == 1 { shapes[0].clone() } else { format!("[{}]", shapes.join(", ")) };
        let mut config = Vec::new();
        for _ in 0..rng.gen_range(0..4) {
            let (k, vals) = options[rng.gen_range(0..options.len())];
            config.push(format!("\"{k}\": {}", vals[rng.gen_range(0..vals.len())]));
        }
        // JSON, its quotes escaped inside the .snn string
        let config = config.join(", ").replace('"', "\\\"");
        let mut args = vec![
            format!("class = \"{class}\""),
            format!("input_shape = {input_shape}"),
            format!("config = \"{{{config}}}\""),
        ];
        for w in weights {
            if rng.gen_bool(0.15) {
                args.push(format!("{w} = {}", tensor(&mut rng)));
            }
        }
        let text = format!("node k = keras_layer({})\nprobe k\n", args.join(", "));
        let res = catch_unwind(AssertUnwindSafe(|| {
            let mut db = FsDb::new();
            let root = db.add("keras.snn", Some(PathBuf::from("keras.snn")), text.clone());
            let checked = snn_compiler::check(&mut db, root);
            if checked.has_errors() {
                return false;
            }
            let program = snn_compiler::lower_model(&checked.model, 0.001).expect("lowers");
            let out = interp::run::<f64>(&program, 1, 1, &[]).expect("runs");
            assert!(out.iter().all(|o| o.iter().all(|v| v.is_finite())), "NaN output");
            true
        }));
        match res {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => failures.push(text),
        }
    }
    eprintln!("{accepted} of 4000 random keras_layer calls check clean and run");
    assert!(failures.is_empty(), "panics on:\n{}", failures.join("\n"));
    assert!(accepted > 50, "only {accepted} random keras_layer calls were valid");
}
