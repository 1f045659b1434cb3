//! Malformed inputs (truncated archives, random bytes, missing members, broken configs, bit
//! flips) give a `KerasError` naming the file, and never a panic. The broken files are made at
//! run time in a temp dir from the zoo fixtures.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Cursor, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use common::zoo_dir;
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;
use snn_keras::{evaluate, read_model, read_model_bytes, ErrorKind, KerasError, KerasModel};

fn fixture(model: &str, file: &str) -> Vec<u8> {
    std::fs::read(zoo_dir().join(model).join(file)).unwrap()
}

/// Members of a zip archive, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            (f.name().to_string(), buf)
        })
        .collect()
}

fn zip_members(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A `.keras` archive of `model` with `config.json` replaced by `f(config)`.
fn with_config(model: &str, f: impl Fn(&mut Value)) -> Vec<u8> {
    let members = unzip(&fixture(model, "model.keras"));
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, d) in members {
        if n == "config.json" {
            let mut v: Value = serde_json::from_slice(&d).unwrap();
            f(&mut v);
            out.push((n, serde_json::to_vec(&v).unwrap()));
        } else {
            out.push((n, d));
        }
    }
    let refs: Vec<(&str, &[u8])> = out.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    zip_members(&refs)
}

/// Read without panicking; a panic fails the test with the case label.
fn read_no_panic(label: &str, bytes: &[u8]) -> Result<KerasModel, KerasError> {
    match catch_unwind(AssertUnwindSafe(|| read_model_bytes(label, bytes))) {
        Ok(r) => r,
        Err(_) => panic!("read_model_bytes panicked on {label}"),
    }
}

fn expect_err(label: &str, bytes: &[u8], kind: ErrorKind, needle: &str) -> KerasError {
    let e =
        read_no_panic(label, bytes).err().unwrap_or_else(|| panic!("{label}: expected an error"));
    assert_eq!(e.kind, kind, "{label}: {e}");
    let msg = e.to_string();
    assert!(msg.starts_with(label), "{label}: error does not name the file: {msg}");
    assert!(msg.contains(needle), "{label}: expected `{needle}` in: {msg}");
    e
}

/// A small deterministic PRNG (xorshift64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn files_on_disk_in_a_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    // Random bytes named .h5 and .keras; an empty file; a missing file.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random.h5", rng.bytes(4096)),
        ("random.keras", rng.bytes(4096)),
        ("empty.h5", Vec::new()),
        ("truncated.keras", fixture("conv2d", "model.keras")[..1000].to_vec()),
        ("truncated.h5", fixture("conv2d", "model.h5")[..3000].to_vec()),
    ];
    for (name, data) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        let e = read_model(&path).err().unwrap_or_else(|| panic!("{name}: expected an error"));
        assert_eq!(e.kind, ErrorKind::Format, "{name}: {e}");
        assert!(e.to_string().contains(name), "{e}");
    }
    let e = read_model(dir.path().join("missing.h5")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.to_string().contains("missing.h5"));
}

#[test]
fn garbage_and_signatures() {
    let mut rng = Rng(42);
    expect_err("x.h5", &rng.bytes(100), ErrorKind::Format, "not an HDF5 file");
    expect_err("x.keras", b"hello", ErrorKind::Format, "not a .keras archive");
    expect_err("x.bin", &[], ErrorKind::Format, "neither");
    for i in 0..50 {
        // HDF5 signature followed by garbage.
        let mut b = rng.bytes(64 + 97 * i);
        b[..8].copy_from_slice(b"\x89HDF\r\n\x1a\n");
        expect_err("sig.h5", &b, ErrorKind::Format, "");
        // Zip signature followed by garbage.
        let mut z = rng.bytes(64 + 97 * i);
        z[..4].copy_from_slice(b"PK\x03\x04");
        expect_err("sig.keras", &z, ErrorKind::Format, "");
    }
}

#[test]
fn truncated_keras_archives() {
    for model in ["dense_seq", "nested", "channels_first"] {
        let bytes = fixture(model, "model.keras");
        for k in 0..60 {
            let n = bytes.len() * k / 60;
            let label = format!("{model}.keras[..{n}]");
            expect_err(&label, &bytes[..n], ErrorKind::Format, "");
        }
    }
}

#[test]
fn truncated_h5_files_never_return_wrong_models() {
    for model in ["dense_seq", "nested", "batchnorm"] {
        let bytes = fixture(model, "model.h5");
        let full = read_model_bytes("full.h5", &bytes).unwrap();
        for k in 1..80 {
            let n = bytes.len() * k / 80;
            let label = format!("{model}.h5[..{n}]");
            if let Ok(m) = read_no_panic(&label, &bytes[..n]) {
                // Only the tail (nothing the reader needs) may be missing.
                assert_eq!(
                    m.layers, full.layers,
                    "{label}: truncated file read as a different model"
                );
            }
        }
    }
}

#[test]
fn bit_flips_do_not_panic() {
    let mut rng = Rng(0x5eed);
    // .h5 files are mutated directly; .keras archives get the flips in their weights member
    // (a flip in the zip itself is caught by its CRC).
    for (model, file) in [
        ("conv2d", "model.h5"),
        ("nested", "model.h5"),
        ("batchnorm", "model.keras"),
        ("nested", "model.keras"),
    ] {
        let bytes = fixture(model, file);
        let is_zip = file.ends_with(".keras");
        let members = if is_zip { unzip(&bytes) } else { Vec::new() };
        let target = if is_zip {
            members.iter().find(|(n, _)| n == "model.weights.h5").unwrap().1.clone()
        } else {
            bytes.clone()
        };
        let mut ok = 0;
        for _ in 0..150 {
            let mut t = target.clone();
            for _ in 0..1 + rng.next() % 6 {
                let i = (rng.next() as usize) % t.len();
                t[i] = rng.next() as u8;
            }
            let b = if is_zip {
                let out: Vec<(&str, &[u8])> = members
                    .iter()
                    .map(|(n, d)| {
                        (
                            n.as_str(),
                            if n == "model.weights.h5" { t.as_slice() } else { d.as_slice() },
                        )
                    })
                    .collect();
                zip_members(&out)
            } else {
                t
            };
            let label = format!("{model}/{file}+flips");
            if let Ok(m) = read_no_panic(&label, &b) {
                ok += 1;
                // Whatever was read must also evaluate without panicking.
                let inputs: Vec<ArrayD<f64>> = m
                    .inputs
                    .iter()
                    .map(|i| {
                        ArrayD::zeros(IxDyn(
                            &[
                                &[2usize][..],
                                &i.shape.iter().map(|d| d.unwrap_or(1)).collect::<Vec<_>>(),
                            ]
                            .concat(),
                        ))
                    })
                    .collect();
                let r = catch_unwind(AssertUnwindSafe(|| evaluate(&m, &inputs)));
                assert!(r.is_ok(), "{label}: evaluate panicked");
            }
        }
        // Most flips hit weight data, which still reads.
        assert!(ok > 0, "{model}/{file}: no mutated file read at all");
    }
}

#[test]
fn archive_members_missing_or_broken() {
    let members = unzip(&fixture("dense_seq", "model.keras"));
    let get = |n: &str| members.iter().find(|(m, _)| m == n).unwrap().1.clone();
    let (config, meta, weights) =
        (get("config.json"), get("metadata.json"), get("model.weights.h5"));

    let no_weights = zip_members(&[("config.json", &config), ("metadata.json", &meta)]);
    expect_err("noweights.keras", &no_weights, ErrorKind::Format, "model.weights.h5");

    let no_config = zip_members(&[("metadata.json", &meta), ("model.weights.h5", &weights)]);
    expect_err("noconfig.keras", &no_config, ErrorKind::Format, "config.json");

    let bad_json =
        zip_members(&[("config.json", b"{\"class_name\": "), ("model.weights.h5", &weights)]);
    expect_err("badjson.keras", &bad_json, ErrorKind::Config, "not valid JSON");

    let bad_meta = zip_members(&[
        ("config.json", &config),
        ("metadata.json", b"[1,"),
        ("model.weights.h5", &weights),
    ]);
    expect_err("badmeta.keras", &bad_meta, ErrorKind::Config, "metadata.json");

    let garbage_weights =
        zip_members(&[("config.json", &config), ("model.weights.h5", &Rng(3).bytes(2000))]);
    expect_err("garbageweights.keras", &garbage_weights, ErrorKind::Format, "model.weights.h5");

    // Weights of a different model: the layers find no weights.
    let other = unzip(&fixture("conv1d", "model.keras"));
    let other_w = &other.iter().find(|(m, _)| m == "model.weights.h5").unwrap().1;
    let swapped = zip_members(&[("config.json", &config), ("model.weights.h5", other_w)]);
    let e = expect_err("swapped.keras", &swapped, ErrorKind::Weights, "missing weights");
    assert_eq!(e.layer.as_deref(), Some("d_relu"));

    // Sharded weights are refused with a clear reason.
    let sharded = zip_members(&[
        ("config.json", &config),
        ("model.weights.json", b"{}"),
        ("model_weights_00000.h5", &weights),
    ]);
    expect_err("sharded.keras", &sharded, ErrorKind::Format, "sharded");

    // A weights-only HDF5 file is not a model.
    expect_err("weights.h5", &weights, ErrorKind::Format, "model_config");
}

#[test]
fn broken_configs() {
    // Top-level class that is not a model.
    let b = with_config("dense_seq", |v| v["class_name"] = "Dense".into());
    expect_err("top.keras", &b, ErrorKind::Config, "top-level class");

    // A functional layer fed from a layer that does not exist.
    let b = with_config("conv2d", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["name"] == "c_same_s2").unwrap();
        l["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "nope".into();
    });
    let e = expect_err("dangling.keras", &b, ErrorKind::Config, "nope");
    assert_eq!(e.layer.as_deref(), Some("c_same_s2"));

    // A cycle.
    let b = with_config("conv2d", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["name"] == "c_valid").unwrap();
        l["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "head".into();
    });
    expect_err("cycle.keras", &b, ErrorKind::Config, "cannot be resolved");

    // Missing output layer.
    let b = with_config("conv2d", |v| {
        v["config"]["output_layers"] = serde_json::json!([["ghost", 0, 0]])
    });
    expect_err("ghostout.keras", &b, ErrorKind::Config, "ghost");

    // An InputLayer without a shape.
    let b = with_config("conv2d", |v| {
        let cfg = &mut v["config"]["layers"][0]["config"];
        cfg.as_object_mut().unwrap().remove("batch_shape");
    });
    expect_err("noshape.keras", &b, ErrorKind::Config, "shape");

    // A Dense whose weights do not match its config fails at evaluation, naming the layer.
    let b = with_config("dense_seq", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["config"]["name"] == "d_tanh").unwrap();
        l["config"]["use_bias"] = false.into();
    });
    expect_err("bias.keras", &b, ErrorKind::Weights, "d_tanh");
}

#[test]
fn unknown_classes_and_activations_fail_at_evaluation() {
    let b = with_config("dense_seq", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["config"]["name"] == "d_sigmoid").unwrap();
        l["class_name"] = "FancyDense".into();
    });
    let m = read_model_bytes("unknown.keras", &b).unwrap();
    assert_eq!(m.unsupported_layers(), vec![("d_sigmoid".to_string(), "FancyDense".to_string())]);
    assert_eq!(m.layer("d_sigmoid").unwrap().weights.len(), 2, "weights kept, named by index");
    let e = m.check_supported().unwrap_err();
    assert_eq!((e.kind, e.layer.as_deref()), (ErrorKind::Unsupported, Some("d_sigmoid")));
    let x = ArrayD::<f32>::zeros(IxDyn(&[1, 8]));
    let e = evaluate(&m, std::slice::from_ref(&x)).unwrap_err();
    assert_eq!((e.kind, e.layer.as_deref()), (ErrorKind::Unsupported, Some("d_sigmoid")));
    assert!(e.to_string().starts_with("unknown.keras"), "{e}");

    let b = with_config("dense_seq", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["config"]["name"] == "d_tanh").unwrap();
        l["config"]["activation"] = "warp_drive".into();
    });
    let m = read_model_bytes("act.keras", &b).unwrap();
    assert!(m.check_supported().unwrap_err().reason.contains("warp_drive"));
    let e = evaluate(&m, &[x]).unwrap_err();
    assert_eq!((e.kind, e.layer.as_deref()), (ErrorKind::Unsupported, Some("d_tanh")));
    assert!(e.reason.contains("warp_drive"));
}

#[test]
fn evaluation_input_errors() {
    let m = read_model(zoo_dir().join("merge_multi_input").join("model.h5")).unwrap();
    let a = ArrayD::<f64>::zeros(IxDyn(&[2, 5]));
    let e = evaluate(&m, std::slice::from_ref(&a)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Shape);
    let c_bad = ArrayD::<f64>::zeros(IxDyn(&[2, 4]));
    let e = evaluate(&m, &[a.clone(), a.clone(), c_bad]).unwrap_err();
    assert_eq!((e.kind, e.layer.as_deref()), (ErrorKind::Shape, Some("c")));
    let c_batch = ArrayD::<f64>::zeros(IxDyn(&[3, 3]));
    let e = evaluate(&m, &[a.clone(), a, c_batch]).unwrap_err();
    assert!(e.reason.contains("batch"), "{e}");
}

#[test]
fn absurd_configs_are_refused_not_allocated() {
    // Up-sampling by 10^9 would need terabytes: refused with a shape error.
    let b = with_config("conv1d", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let l = layers.iter_mut().find(|l| l["name"] == "up1").unwrap();
        l["config"]["size"] = 1_000_000_000u64.into();
    });
    let m = read_model_bytes("huge.keras", &b).unwrap();
    let x = ArrayD::<f32>::zeros(IxDyn(&[1, 11, 3]));
    let e = evaluate(&m, &[x]).unwrap_err();
    assert_eq!((e.kind, e.layer.as_deref()), (ErrorKind::Shape, Some("up1")));

    // Strides of 0 are refused when the model is read (Keras never writes them), absurd
    // dilation when it is evaluated.
    for (key, val) in [
        ("strides", serde_json::json!([0, 0])),
        ("dilation_rate", serde_json::json!([u64::MAX, 1])),
    ] {
        let b = with_config("conv2d", |v| {
            let layers = v["config"]["layers"].as_array_mut().unwrap();
            let l = layers.iter_mut().find(|l| l["name"] == "c_valid").unwrap();
            l["config"][key] = val.clone();
        });
        let e = match read_model_bytes("stride.keras", &b) {
            Err(e) => e,
            Ok(m) => {
                let x = ArrayD::<f32>::zeros(IxDyn(&[1, 9, 8, 2]));
                evaluate(&m, &[x]).unwrap_err()
            }
        };
        assert_eq!(e.layer.as_deref(), Some("c_valid"), "{key}: {e}");
    }
}

#[test]
fn mutated_config_json_never_panics() {
    // Random byte edits of config.json inside an otherwise valid archive.
    let mut rng = Rng(99);
    for model in ["nested", "conv1d", "shared_layer"] {
        let members = unzip(&fixture(model, "model.keras"));
        let config = &members.iter().find(|(n, _)| n == "config.json").unwrap().1;
        for _ in 0..60 {
            let mut c = config.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % c.len();
                c[i] = b"0123456789-[]{}\",:.e"[(rng.next() % 20) as usize];
            }
            let out: Vec<(&str, &[u8])> = members
                .iter()
                .map(|(n, d)| {
                    (n.as_str(), if n == "config.json" { c.as_slice() } else { d.as_slice() })
                })
                .collect();
            let label = format!("{model}-mutated.keras");
            if let Ok(m) = read_no_panic(&label, &zip_members(&out)) {
                let inputs: Vec<ArrayD<f32>> = m
                    .inputs
                    .iter()
                    .map(|i| {
                        let mut s = vec![1usize];
                        s.extend(i.shape.iter().map(|d| d.unwrap_or(1).min(64)));
                        ArrayD::zeros(IxDyn(&s))
                    })
                    .collect();
                let r = catch_unwind(AssertUnwindSafe(|| evaluate(&m, &inputs)));
                assert!(r.is_ok(), "{label}: evaluate panicked");
            }
        }
    }
}

#[test]
fn read_model_bytes_matches_read_model() {
    let path = zoo_dir().join("pooling2d").join("model.keras");
    let a = read_model(&path).unwrap();
    let b = read_model_bytes(&path.display().to_string(), &std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(a, b);
    assert!(Path::new(&a.source).ends_with("model.keras"));
}
