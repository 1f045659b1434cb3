//! Every model of the Keras zoo (tests/keras, made by tools/keras_zoo/make_zoo.py) reads in both
//! formats and evaluates to what Keras itself computed (f32 within 1e-5, f64 within 1e-12,
//! relative to the largest magnitude of each output).

mod common;

use common::{npz_f32, npz_f64, rel_err, zoo_dir, zoo_models};
use ndarray::ArrayD;
use snn_keras::{evaluate, read_model, ErrorKind, KerasModel, SourceFormat};

const TOL_F32: f64 = 1e-5;
const TOL_F64: f64 = 1e-12;

/// Which zoo models contain a layer the evaluator refuses (and which layer).
fn expected_unsupported(name: &str) -> Option<&'static str> {
    match name {
        "unsupported_lambda" => Some("lam"),
        "custom_layer" => Some("scale_shift"),
        _ => None,
    }
}

fn load(name: &str, k3: bool) -> KerasModel {
    let file = if k3 { "model.keras" } else { "model.h5" };
    let path = zoo_dir().join(name).join(file);
    match read_model(&path) {
        Ok(m) => m,
        Err(e) => panic!("{name}/{file}: read failed: {e}"),
    }
}

/// Compare per-layer outputs (recorded for top-level layers) in evaluation order and the model
/// outputs; return a report of failures naming the first diverging layer.
fn compare<T: Into<f64> + Copy + snn_keras::Scalar>(
    model: &KerasModel,
    ev: &snn_keras::Evaluation<T>,
    expected: &std::collections::BTreeMap<String, ArrayD<T>>,
    tag: &str,
    tol: f64,
) -> Vec<String> {
    let mut fails = Vec::new();
    let mut n_layers = 0;
    for l in &model.layers {
        if l.node != 0 {
            continue;
        }
        let Some(want) = expected.get(&format!("layer_{tag}__{}", l.name)) else { continue };
        n_layers += 1;
        let got = ev.layer(&l.name).expect("layer evaluated");
        match rel_err(got, want) {
            Some(e) if e <= tol => {}
            Some(e) => {
                fails.push(format!(
                    "layer `{}` ({}) diverges: rel err {e:.3e}",
                    l.name, l.class_name
                ));
                break; // the first diverging layer is what matters
            }
            None => {
                fails.push(format!(
                    "layer `{}`: shape {:?} vs Keras {:?}",
                    l.name,
                    got.shape(),
                    want.shape()
                ));
                break;
            }
        }
    }
    let mut n_out = 0;
    for (i, got) in ev.outputs.iter().enumerate() {
        let want = &expected[&format!("out_{tag}__{i}")];
        n_out += 1;
        match rel_err(got, want) {
            Some(e) if e <= tol => {}
            Some(e) => fails.push(format!("output {i}: rel err {e:.3e} > {tol:e}")),
            None => fails.push(format!(
                "output {i}: shape {:?} vs Keras {:?}",
                got.shape(),
                want.shape()
            )),
        }
    }
    let n_expected_out = expected.keys().filter(|k| k.starts_with(&format!("out_{tag}__"))).count();
    if n_out != n_expected_out {
        fails.push(format!("{n_out} outputs, Keras produced {n_expected_out}"));
    }
    if n_layers == 0 && model.layers.len() > 1 && !expected.keys().any(|k| k.starts_with("layer_"))
    {
        // Models evaluated through a channels-last twin have no per-layer fixtures; fine.
    }
    fails
}

fn check(name: &str, k3: bool) {
    let model = load(name, k3);
    assert_eq!(model.format, if k3 { SourceFormat::KerasZip } else { SourceFormat::H5 });
    let dir = zoo_dir().join(name);
    let inputs = npz_f32(&dir.join("inputs.npz"));
    let ins32: Vec<ArrayD<f32>> = model
        .inputs
        .iter()
        .map(|i| {
            inputs
                .get(&i.name)
                .unwrap_or_else(|| panic!("{name}: no fixture input `{}`", i.name))
                .clone()
        })
        .collect();
    if let Some(bad) = expected_unsupported(name) {
        let unsup = model.unsupported_layers();
        assert_eq!(unsup.len(), 1, "{name}: {unsup:?}");
        assert_eq!(unsup[0].0, bad);
        assert_eq!(model.check_supported().expect_err("unsupported").layer.as_deref(), Some(bad));
        let err = evaluate(&model, &ins32).expect_err("evaluating an unsupported layer fails");
        assert_eq!(err.kind, ErrorKind::Unsupported, "{err}");
        assert_eq!(err.layer.as_deref(), Some(bad), "{err}");
        assert!(err.to_string().contains(name), "error names the file: {err}");
        return;
    }
    assert!(model.unsupported_layers().is_empty(), "{name}: {:?}", model.unsupported_layers());
    model.check_supported().unwrap_or_else(|e| panic!("{e}"));
    let outs_file = dir.join(if k3 { "keras_outputs_k3.npz" } else { "keras_outputs_k2.npz" });
    let want32 = npz_f32(&outs_file);
    let want64 = npz_f64(&outs_file);
    assert!(!want32.is_empty() && !want64.is_empty(), "{name}: empty fixtures");

    let ev32 = evaluate(&model, &ins32).unwrap_or_else(|e| panic!("{name}: f32 eval failed: {e}"));
    let mut fails: Vec<String> = compare(&model, &ev32, &want32, "f32", TOL_F32)
        .into_iter()
        .map(|f| format!("f32: {f}"))
        .collect();

    let ins64: Vec<ArrayD<f64>> = ins32.iter().map(|a| a.mapv(f64::from)).collect();
    let ev64 = evaluate(&model, &ins64).unwrap_or_else(|e| panic!("{name}: f64 eval failed: {e}"));
    fails.extend(
        compare(&model, &ev64, &want64, "f64", TOL_F64).into_iter().map(|f| format!("f64: {f}")),
    );
    // The f64 evaluation also matches Keras's float32 run to float32 accuracy.
    for (i, got) in ev64.outputs.iter().enumerate() {
        let want = want32[&format!("out_f32__{i}")].mapv(f64::from);
        let e = rel_err(got, &want).unwrap_or(f64::INFINITY);
        if e > TOL_F32 {
            fails.push(format!("f64 eval vs Keras f32 output {i}: rel err {e:.3e}"));
        }
    }
    let worst = |outs: &[ArrayD<f64>], want: &dyn Fn(usize) -> ArrayD<f64>| {
        (0..outs.len())
            .map(|i| rel_err(&outs[i], &want(i)).unwrap_or(f64::INFINITY))
            .fold(0.0, f64::max)
    };
    let o32: Vec<ArrayD<f64>> = ev32.outputs.iter().map(|a| a.mapv(f64::from)).collect();
    let e32 = worst(&o32, &|i| want32[&format!("out_f32__{i}")].mapv(f64::from));
    let e64 = worst(&ev64.outputs, &|i| want64[&format!("out_f64__{i}")].clone());
    let fmt = if k3 { "keras" } else { "h5" };
    eprintln!("zoo {name} {fmt}: max rel err f32 {e32:.2e}, f64 {e64:.2e}");
    assert!(
        fails.is_empty(),
        "{name} ({}): {}",
        if k3 { "model.keras" } else { "model.h5" },
        fails.join("; ")
    );
}

/// The same model saved by Keras 2 and Keras 3 must give the same graph and weights.
fn check_same(name: &str) {
    let (a, b) = (load(name, false), load(name, true));
    if name == "app_ops" {
        // tensor arithmetic is named by each generation (Keras 2 `tf.__operators__.add`,
        // Keras 3 `add`); both read as the same TFOpLambda functions in the same places
        let ops = |m: &KerasModel| -> Vec<(String, Option<String>, usize)> {
            m.layers
                .iter()
                .map(|l| {
                    let f = l.config.str("function").map(str::to_string);
                    let name = if f.is_some() { String::new() } else { l.name.clone() };
                    (format!("{name}:{}", l.class_name), f, l.inbound.len())
                })
                .collect()
        };
        assert_eq!(ops(&a), ops(&b), "{name}: layer graphs differ");
        assert!(a.layers.iter().filter(|l| l.class_name == "TFOpLambda").count() >= 5);
        return;
    }
    assert_eq!(a.inputs, b.inputs, "{name}: inputs differ");
    assert_eq!(a.outputs, b.outputs, "{name}: outputs differ");
    let la: Vec<_> =
        a.layers.iter().map(|l| (&l.name, &l.class_name, l.node, &l.inbound)).collect();
    let lb: Vec<_> =
        b.layers.iter().map(|l| (&l.name, &l.class_name, l.node, &l.inbound)).collect();
    assert_eq!(la, lb, "{name}: layer graphs differ");
    for (x, y) in a.layers.iter().zip(&b.layers) {
        if expected_unsupported(name) == Some(x.name.as_str()) {
            assert_eq!(x.weights.len(), y.weights.len(), "{name}/{}: weight count", x.name);
            continue;
        }
        let nx: Vec<_> = x.weights.iter().map(|w| &w.name).collect();
        let ny: Vec<_> = y.weights.iter().map(|w| &w.name).collect();
        assert_eq!(nx, ny, "{name}/{}: weight names differ", x.name);
        for (wx, wy) in x.weights.iter().zip(y.weights.iter()) {
            assert_eq!(wx.array, wy.array, "{name}/{}/{}: values differ", x.name, wx.name);
        }
    }
}

macro_rules! zoo_tests {
    ($($name:ident),* $(,)?) => {
        const ZOO: &[&str] = &[$(stringify!($name)),*];
        mod h5 { $( #[test] fn $name() { super::check(stringify!($name), false); } )* }
        mod keras { $( #[test] fn $name() { super::check(stringify!($name), true); } )* }
        mod same_graph { $( #[test] fn $name() { super::check_same(stringify!($name)); } )* }
    };
}

zoo_tests!(
    activation_layers,
    app_ops,
    batchnorm,
    channels_first,
    conv1d,
    conv2d,
    conv2d_groups,
    conv2d_same_even,
    custom_layer,
    dense_seq,
    dropout,
    host_layers,
    host_layers_img,
    merge_multi_input,
    mobile_block,
    mobilenet,
    mobilenet_v2,
    multi_output,
    nested,
    nested_in_seq,
    nested_shared,
    pooling2d,
    recurrent,
    reshape,
    shared_layer,
    softmax_elu,
    unsupported_lambda,
);

#[test]
fn every_zoo_model_is_tested() {
    let mut listed: Vec<String> = ZOO.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(listed, zoo_models(), "add new zoo models to the zoo_tests! list");
}

#[test]
fn nested_names_are_prefixed() {
    let m = load("nested", false);
    let names: Vec<&str> = m.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["inner_seq/dense", "inner_seq/dense_b", "inner_func/dense", "inner_func/add", "dense"]
    );
    let add = m.layer("inner_func/add").unwrap();
    assert_eq!(add.inbound.len(), 2);
    assert_eq!(add.inbound[0].layer, "inner_func/dense");
    assert_eq!(add.inbound[1].layer, "inner_seq/dense_b", "inner input bound to the outer tensor");
}

#[test]
fn shared_layer_is_detected() {
    for k3 in [false, true] {
        let m = load("shared_layer", k3);
        let apps: Vec<_> = m.layers.iter().filter(|l| l.name == "shared").collect();
        assert_eq!(apps.len(), 3);
        assert!(apps.iter().all(|l| l.is_shared() && l.n_calls == 3));
        assert_eq!(apps.iter().map(|l| l.node).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(std::sync::Arc::ptr_eq(&apps[0].weights, &apps[2].weights));
        let cat = m.layer("cat").unwrap();
        assert_eq!(cat.inbound.iter().map(|t| t.node).collect::<Vec<_>>(), [0, 1, 2]);
    }
}

#[test]
fn typed_config_accessors() {
    let m = load("conv2d", true);
    let c = m.layer("c_same_s21").unwrap();
    assert_eq!(c.config.filters(), Some(5));
    assert_eq!(c.config.kernel_size(2), Some(vec![3, 2]));
    assert_eq!(c.config.strides(2), vec![2, 1]);
    assert_eq!(c.config.padding(), Some(snn_keras::Padding::Same));
    assert_eq!(c.config.activation().as_deref(), Some("linear"));
    for k3 in [false, true] {
        let m = load("activation_layers", k3);
        assert!((m.layer("leaky").unwrap().config.negative_slope(0.3) - 0.2).abs() < 1e-7);
        assert_eq!(m.layer("relu_layer").unwrap().config.max_value(), None);
        let m = load("channels_first", k3);
        assert_eq!(
            m.layer("c_cf").unwrap().config.data_format(),
            Some(snn_keras::DataFormat::ChannelsFirst)
        );
        assert_eq!(m.layer("bn_cf").unwrap().config.axes(), Some(vec![1]));
        assert_eq!(
            m.layer("zpad_cf").unwrap().config.pad_pairs("padding", 2),
            Some(vec![(1, 0), (0, 1)])
        );
        let m = load("conv2d_groups", k3);
        assert_eq!(m.layer("c_g2").unwrap().config.groups(), 2);
        let m = load("batchnorm", k3);
        let bn = m.layer("bn_axis1_nocenter").unwrap();
        assert!(!bn.config.center());
        assert_eq!(
            bn.weights.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(),
            ["gamma", "moving_mean", "moving_variance"]
        );
        assert!(m.keras_version.is_some());
    }
}

#[test]
fn legacy_fixed_length_string_attributes() {
    // Older Keras/h5py wrote `model_config` and name lists as fixed-length byte strings.
    let path = zoo_dir().join("dense_seq").join("model_legacy_strings.h5");
    let a = read_model(&path).unwrap_or_else(|e| panic!("{e}"));
    let b = load("dense_seq", false);
    assert_eq!(a.layers, b.layers);
}

#[test]
fn keras3_weights_without_vars_name_attributes() {
    // Older Keras 3 releases did not record layer names in the weights file; the groups are
    // then found by Keras's class-name path scheme.
    for name in ["nested", "batchnorm", "custom_layer"] {
        let path = zoo_dir().join(name).join("model_no_vars_names.keras");
        let a = read_model(&path).unwrap_or_else(|e| panic!("{e}"));
        let b = load(name, true);
        assert_eq!(a.layers, b.layers, "{name}");
    }
}

#[test]
fn keras3_legacy_h5_files() {
    // Keras 3 can still write the legacy HDF5 format, with Keras 3 config JSON inside.
    for name in ["nested", "nested_in_seq", "shared_layer", "batchnorm", "conv1d"] {
        let dir = zoo_dir().join(name);
        let a = read_model(dir.join("model_k3.h5")).unwrap_or_else(|e| panic!("{e}"));
        let b = load(name, true);
        assert_eq!(a.format, SourceFormat::H5);
        // Configs differ only in bookkeeping (`shared_object_id`); compare the graph and weights.
        let skeleton = |m: &KerasModel| {
            m.layers
                .iter()
                .map(|l| {
                    (
                        l.name.clone(),
                        l.class_name.clone(),
                        l.node,
                        l.inbound.clone(),
                        (*l.weights).clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(skeleton(&a), skeleton(&b), "{name}: model_k3.h5 and model.keras differ");
        let inputs = npz_f32(&dir.join("inputs.npz"));
        let ins: Vec<ArrayD<f32>> = a.inputs.iter().map(|i| inputs[&i.name].clone()).collect();
        let want = npz_f32(&dir.join("keras_outputs_k3.npz"));
        let ev = evaluate(&a, &ins).unwrap_or_else(|e| panic!("{e}"));
        for (i, got) in ev.outputs.iter().enumerate() {
            let e = rel_err(got, &want[&format!("out_f32__{i}")]).unwrap();
            assert!(e <= TOL_F32, "{name} output {i}: {e:e}");
        }
    }
}

#[test]
fn nested_model_applied_twice() {
    for k3 in [false, true] {
        let m = load("nested_shared", k3);
        let d: Vec<_> = m.layers.iter().filter(|l| l.name == "block/d").collect();
        assert_eq!(d.len(), 2, "two applications of the inner Dense");
        assert_eq!((d[0].node, d[1].node), (0, 1));
        assert_eq!(d[0].inbound[0].layer, "a");
        assert_eq!(d[1].inbound[0].layer, "b");
        let sum = m.layer("sum").unwrap();
        assert_eq!(
            sum.inbound.iter().map(|t| (t.layer.as_str(), t.node)).collect::<Vec<_>>(),
            [("block/bn", 0), ("block/bn", 1)]
        );
        assert_eq!(
            m.outputs[1],
            snn_keras::TensorRef { layer: "block/bn".into(), node: 1, tensor: 0 }
        );
    }
}

#[test]
fn inferred_shapes_match_keras() {
    for name in ["conv2d", "conv1d", "pooling2d", "reshape", "batchnorm", "merge_multi_input"] {
        let m = load(name, true);
        let shapes = snn_keras::infer_shapes(&m).unwrap_or_else(|e| panic!("{e}"));
        let want = npz_f32(&zoo_dir().join(name).join("keras_outputs_k3.npz"));
        let mut n = 0;
        for (k, v) in &want {
            if let Some(layer) = k.strip_prefix("layer_f32__") {
                assert_eq!(
                    shapes[&snn_keras::TensorRef::first(layer)],
                    v.shape()[1..],
                    "{name}/{layer}"
                );
                n += 1;
            }
        }
        assert!(n > 0);
    }
}
