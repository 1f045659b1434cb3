//! Recurrent layers with Keras inference semantics over the Keras time axis (axis 1):
//! `SimpleRNN`, `GRU` (both `reset_after` settings), `LSTM`, and the wrappers `Bidirectional` and
//! `TimeDistributed` — what NengoDL's TensorNode fallback runs in TensorFlow.

use std::sync::Arc;

use ndarray::{concatenate, s, Array2, ArrayD, Axis, Ix2, Ix3, IxDyn};
use serde_json::Value;

use super::config::LayerConfig;
use super::eval::Scalar;
use super::layer::{Layer, Weight};
use super::ops;

type R<T> = Result<T, String>;

/// The recurrent classes.
pub(crate) const RNN_CLASSES: &[&str] = &["SimpleRNN", "GRU", "LSTM"];

/// The weight names of a recurrent cell, in Keras order.
pub(crate) fn cell_weight_names(cfg: &LayerConfig) -> Vec<&'static str> {
    let mut v = vec!["kernel", "recurrent_kernel"];
    if cfg.use_bias() {
        v.push("bias");
    }
    v
}

/// The wrapped layer of a `Bidirectional` / `TimeDistributed` config (`key`: `layer` or
/// `backward_layer`): its class and config.
pub(crate) fn inner(cfg: &LayerConfig, key: &str) -> Option<(String, LayerConfig)> {
    let l = cfg.get(key)?;
    let class = l.get("class_name")?.as_str()?.to_string();
    let c = l.get("config").cloned().unwrap_or(Value::Null);
    Some((class, LayerConfig(c)))
}

fn w<'a>(weights: &'a [Weight], name: &str) -> R<&'a ArrayD<f64>> {
    weights
        .iter()
        .find(|x| x.name == name)
        .map(|x| &x.array)
        .ok_or_else(|| format!("weight `{name}` is missing"))
}

fn mat<T: Scalar>(a: &ArrayD<f64>, what: &str) -> R<Array2<T>> {
    a.mapv(T::of)
        .into_dimensionality::<Ix2>()
        .map_err(|_| format!("{what} has shape {:?}, expected 2-D", a.shape()))
}

fn act<T: Scalar>(name: &str, x: Array2<T>, keras3: bool) -> R<Array2<T>> {
    ops::activation(name, x.into_dyn(), keras3)?
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())
}

/// Run one recurrent layer (`class` with `cfg` and `weights`) over `x` of shape (B, T, F).
pub(crate) fn rnn<T: Scalar>(
    class: &str,
    cfg: &LayerConfig,
    weights: &[Weight],
    x: &ArrayD<T>,
    keras3: bool,
) -> R<ArrayD<T>> {
    if cfg.bool("return_state").unwrap_or(false) {
        return Err("return_state (several outputs) is not supported".into());
    }
    if cfg.bool("stateful").unwrap_or(false) {
        return Err("stateful recurrent layers are not supported".into());
    }
    let x = x.view().into_dimensionality::<Ix3>().map_err(|_| {
        format!("a recurrent layer needs (batch, time, features), got {:?}", x.shape())
    })?;
    let (b, t, f) = x.dim();
    let units = cfg.units().ok_or("unreadable units")?;
    let kernel: Array2<T> = mat(w(weights, "kernel")?, "kernel")?;
    let rec: Array2<T> = mat(w(weights, "recurrent_kernel")?, "recurrent_kernel")?;
    let gates = match class {
        "SimpleRNN" => 1,
        "GRU" => 3,
        "LSTM" => 4,
        other => return Err(format!("`{other}` is not a recurrent layer")),
    };
    if kernel.dim() != (f, gates * units) || rec.dim() != (units, gates * units) {
        return Err(format!(
            "kernel {:?} / recurrent_kernel {:?} do not fit {f} features and {units} units",
            kernel.dim(),
            rec.dim()
        ));
    }
    let reset_after = class == "GRU" && cfg.bool("reset_after").unwrap_or(true);
    // biases: (gates·units), or for GRU reset_after (2, 3·units): input and recurrent
    let zero = || ndarray::Array1::<T>::zeros(gates * units);
    let (b_in, b_rec) = if cfg.use_bias() {
        let bias = w(weights, "bias")?.mapv(T::of);
        if reset_after {
            let b2 = bias
                .into_dimensionality::<Ix2>()
                .map_err(|_| "GRU (reset_after) bias must be (2, 3·units)".to_string())?;
            if b2.dim() != (2, gates * units) {
                return Err(format!("bias has shape {:?}", b2.dim()));
            }
            (b2.row(0).to_owned(), b2.row(1).to_owned())
        } else {
            let b1 = bias.into_shape_with_order(gates * units).map_err(|e| e.to_string())?;
            (b1, zero())
        }
    } else {
        (zero(), zero())
    };
    let activation = cfg.str("activation").unwrap_or("tanh").to_string();
    let rec_act = cfg.str("recurrent_activation").unwrap_or("sigmoid").to_string();
    let backwards = cfg.bool("go_backwards").unwrap_or(false);
    let seqs = cfg.bool("return_sequences").unwrap_or(false);
    ops::checked_size(&[b, t, units])?;
    let mut h = Array2::<T>::zeros((b, units));
    let mut c = Array2::<T>::zeros((b, units));
    let mut outs: Vec<Array2<T>> = Vec::with_capacity(if seqs { t } else { 1 });
    let u = units;
    for step in 0..t {
        let ti = if backwards { t - 1 - step } else { step };
        let xt = x.slice(s![.., ti, ..]);
        let mx = xt.dot(&kernel) + &b_in;
        h = match class {
            "SimpleRNN" => act(&activation, mx + h.dot(&rec), keras3)?,
            "GRU" => {
                let (xz, xr, xh) =
                    (mx.slice(s![.., ..u]), mx.slice(s![.., u..2 * u]), mx.slice(s![.., 2 * u..]));
                let (z, r, hh) = if reset_after {
                    let mi = h.dot(&rec) + &b_rec;
                    let z = act(&rec_act, &xz + &mi.slice(s![.., ..u]), keras3)?;
                    let r = act(&rec_act, &xr + &mi.slice(s![.., u..2 * u]), keras3)?;
                    let hh = act(&activation, &xh + &(&r * &mi.slice(s![.., 2 * u..])), keras3)?;
                    (z, r, hh)
                } else {
                    let z = act(&rec_act, &xz + &h.dot(&rec.slice(s![.., ..u])), keras3)?;
                    let r = act(&rec_act, &xr + &h.dot(&rec.slice(s![.., u..2 * u])), keras3)?;
                    let rh = &r * &h;
                    let hh = act(&activation, &xh + &rh.dot(&rec.slice(s![.., 2 * u..])), keras3)?;
                    (z, r, hh)
                };
                let _ = r;
                let one = T::one();
                &z * &h + &(z.mapv(|v| one - v) * &hh)
            }
            _ => {
                let zz = mx + h.dot(&rec);
                let i = act(&rec_act, zz.slice(s![.., ..u]).to_owned(), keras3)?;
                let fg = act(&rec_act, zz.slice(s![.., u..2 * u]).to_owned(), keras3)?;
                let g = act(&activation, zz.slice(s![.., 2 * u..3 * u]).to_owned(), keras3)?;
                let o = act(&rec_act, zz.slice(s![.., 3 * u..]).to_owned(), keras3)?;
                c = &fg * &c + &(&i * &g);
                &o * &act(&activation, c.clone(), keras3)?
            }
        };
        if seqs {
            outs.push(h.clone());
        }
    }
    if !seqs {
        return Ok(h.into_dyn());
    }
    let views: Vec<_> = outs.iter().map(|o| o.view().insert_axis(Axis(1))).collect();
    Ok(concatenate(Axis(1), &views).map_err(|e| e.to_string())?.into_dyn())
}

/// A wrapped layer as a [`Layer`] of its own with `weights`.
fn wrapped(outer: &Layer, class: String, cfg: LayerConfig, weights: Vec<Weight>) -> Layer {
    Layer {
        name: outer.name.clone(),
        class_name: class,
        config: cfg,
        node: 0,
        n_calls: 1,
        inbound: Vec::new(),
        weights: Arc::new(weights),
    }
}

/// The weights of one direction of a `Bidirectional` (`forward_` / `backward_` prefix removed).
fn direction(layer: &Layer, prefix: &str) -> Vec<Weight> {
    layer
        .weights
        .iter()
        .filter_map(|x| {
            x.name.strip_prefix(prefix).map(|n| Weight {
                name: n.to_string(),
                array: x.array.clone(),
                stored_f64: x.stored_f64,
            })
        })
        .collect()
}

/// `Bidirectional`: the wrapped recurrent layer forward and (with `go_backwards`) backward,
/// the backward sequence re-reversed, merged by `merge_mode`.
pub(crate) fn bidirectional<T: Scalar>(layer: &Layer, x: &ArrayD<T>, keras3: bool) -> R<ArrayD<T>> {
    let cfg = &layer.config;
    let (fclass, fcfg) = inner(cfg, "layer").ok_or("unreadable wrapped layer")?;
    let (bclass, bcfg) = match inner(cfg, "backward_layer") {
        Some(b) => b,
        None => {
            let mut c = fcfg.0.clone();
            let gb = fcfg.bool("go_backwards").unwrap_or(false);
            if let Some(m) = c.as_object_mut() {
                m.insert("go_backwards".into(), Value::Bool(!gb));
            }
            (fclass.clone(), LayerConfig(c))
        }
    };
    if !RNN_CLASSES.contains(&fclass.as_str()) || !RNN_CLASSES.contains(&bclass.as_str()) {
        return Err(format!("Bidirectional over `{fclass}` is not supported"));
    }
    let fwd = rnn(&fclass, &fcfg, &direction(layer, "forward_"), x, keras3)?;
    let mut bwd = rnn(&bclass, &bcfg, &direction(layer, "backward_"), x, keras3)?;
    if bcfg.bool("return_sequences").unwrap_or(false) {
        bwd.invert_axis(Axis(1));
        bwd = bwd.as_standard_layout().into_owned();
    }
    let mode = cfg.str("merge_mode").unwrap_or("concat");
    Ok(match mode {
        "concat" => {
            let last = Axis(fwd.ndim() - 1);
            concatenate(last, &[fwd.view(), bwd.view()]).map_err(|e| e.to_string())?
        }
        "sum" => fwd + bwd,
        "mul" => fwd * bwd,
        "ave" => (fwd + bwd).mapv(|v| v * T::of(0.5)),
        other => return Err(format!("merge_mode `{other}` is not supported")),
    })
}

/// `TimeDistributed`: the wrapped layer applied to every step of axis 1.
pub(crate) fn time_distributed<T: Scalar>(
    layer: &Layer,
    x: &ArrayD<T>,
    keras3: bool,
    apply: impl Fn(&Layer, &ArrayD<T>, bool) -> R<ArrayD<T>>,
) -> R<ArrayD<T>> {
    let (class, cfg) = inner(&layer.config, "layer").ok_or("unreadable wrapped layer")?;
    if x.ndim() < 3 {
        return Err(format!("TimeDistributed needs (batch, time, ...), got {:?}", x.shape()));
    }
    let (b, t) = (x.shape()[0], x.shape()[1]);
    let mut folded = vec![b * t];
    folded.extend_from_slice(&x.shape()[2..]);
    let xf = x
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(&folded))
        .map_err(|e| e.to_string())?;
    let inner_layer = wrapped(layer, class, cfg, layer.weights.to_vec());
    let y = apply(&inner_layer, &xf, keras3)?;
    let mut shape = vec![b, t];
    shape.extend_from_slice(&y.shape()[1..]);
    y.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}
