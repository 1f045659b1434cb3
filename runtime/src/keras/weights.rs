//! The weights a Keras layer class needs: their canonical names and shapes.

use super::config::LayerConfig;
use super::error::{ErrorKind, KerasError};
use super::layer::{Layer, Weight};

/// The canonical weight names of a layer class, in Keras order, or `None` if unknown.
pub fn expected_names(class_name: &str, cfg: &LayerConfig) -> Option<Vec<&'static str>> {
    let bias = |mut v: Vec<&'static str>| {
        if cfg.use_bias() {
            v.push("bias");
        }
        Some(v)
    };
    match class_name {
        "Dense" | "Conv1D" | "Conv2D" | "Conv3D" | "Conv1DTranspose" | "Conv2DTranspose"
        | "Conv3DTranspose" | "Convolution1D" | "Convolution2D" | "Convolution3D" => {
            bias(vec!["kernel"])
        }
        "DepthwiseConv1D" | "DepthwiseConv2D" => bias(vec!["depthwise_kernel"]),
        "SeparableConv1D" | "SeparableConv2D" => bias(vec!["depthwise_kernel", "pointwise_kernel"]),
        "BatchNormalization" => {
            let mut v = Vec::new();
            if cfg.scale() {
                v.push("gamma");
            }
            if cfg.center() {
                v.push("beta");
            }
            v.push("moving_mean");
            v.push("moving_variance");
            Some(v)
        }
        "LayerNormalization" => {
            let mut v = Vec::new();
            if cfg.scale() {
                v.push("gamma");
            }
            if cfg.center() {
                v.push("beta");
            }
            Some(v)
        }
        "PReLU" => Some(vec!["alpha"]),
        "LayerScale" => Some(vec!["gamma"]),
        "CustomScaleLayer" | "TFOpLambda" | "StochasticDepth" => Some(vec![]),
        "SimpleRNN" | "GRU" | "LSTM" => Some(super::recurrent::cell_weight_names(cfg)),
        "Bidirectional" => {
            let (fc, fcfg) = super::recurrent::inner(cfg, "layer")?;
            let (bc, bcfg) = super::recurrent::inner(cfg, "backward_layer")
                .unwrap_or((fc.clone(), fcfg.clone()));
            let mut v: Vec<&'static str> = Vec::new();
            for (class, c, dir) in [(fc, fcfg, "forward_"), (bc, bcfg, "backward_")] {
                for n in expected_names(&class, &c)? {
                    v.push(prefixed(dir, n));
                }
            }
            Some(v)
        }
        "TimeDistributed" => {
            let (class, c) = super::recurrent::inner(cfg, "layer")?;
            let names = expected_names(&class, &c)?;
            Some(names)
        }
        // adapted statistics are weights; given in the config, there are none
        "Normalization" if cfg.get("mean").is_none() => Some(vec!["mean", "variance", "count"]),
        "SeparableConvolution1D" | "SeparableConvolution2D" => {
            bias(vec!["depthwise_kernel", "pointwise_kernel"])
        }
        "Convolution2DTranspose" => bias(vec!["kernel"]),
        "Embedding" => Some(vec!["embeddings"]),
        _ if super::eval::is_supported_class(class_name) => Some(Vec::new()),
        _ => None,
    }
}

/// Check weight shapes against the layer config for the classes whose shapes it determines.
fn check_shapes(class_name: &str, cfg: &LayerConfig, ws: &[Weight]) -> Result<(), String> {
    let shape = |n: &str| ws.iter().find(|w| w.name == n).map(|w| w.array.shape().to_vec());
    let rank = if class_name.ends_with("1D") {
        1
    } else if class_name.ends_with("3D") {
        3
    } else {
        2
    };
    let (kernel_rank, n_out) = match class_name {
        "Dense" => (2, cfg.units()),
        "Conv1D" | "Conv2D" | "Conv3D" | "Convolution1D" | "Convolution2D" | "Convolution3D" => {
            (rank + 2, cfg.filters())
        }
        "BatchNormalization" | "LayerNormalization" => {
            let lens: Vec<Vec<usize>> = ws.iter().map(|w| w.array.shape().to_vec()).collect();
            if lens.windows(2).any(|p| p[0] != p[1]) {
                return Err(format!("normalisation parameters have different shapes {lens:?}"));
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    if let Some(k) = shape("kernel") {
        if k.len() != kernel_rank {
            return Err(format!("kernel has shape {k:?}, expected {kernel_rank} dims"));
        }
        if let Some(n) = n_out {
            if k[kernel_rank - 1] != n {
                return Err(format!("kernel has shape {k:?} but the layer has {n} units/filters"));
            }
        }
        if kernel_rank > 2 {
            if let Some(ks) = cfg.kernel_size(rank) {
                if k[..rank] != ks[..] {
                    return Err(format!("kernel has shape {k:?} but kernel_size is {ks:?}"));
                }
            }
        }
        if let Some(b) = shape("bias") {
            if b != [k[kernel_rank - 1]] {
                return Err(format!(
                    "bias has shape {b:?}, kernel has {} outputs",
                    k[kernel_rank - 1]
                ));
            }
        }
    }
    Ok(())
}

/// Check a layer's weights against the names its class needs.
pub fn check_names(
    file: &str,
    flat: &str,
    class_name: &str,
    cfg: &LayerConfig,
    ws: &[Weight],
) -> Result<(), KerasError> {
    if let Some(names) = expected_names(class_name, cfg) {
        let got: Vec<&str> = ws.iter().map(|w| w.name.as_str()).collect();
        if got != names {
            let reason = if got.is_empty() {
                format!("missing weights: expected {names:?}, the file has none for this layer")
            } else {
                format!("weights {got:?} do not match the {names:?} a {class_name} needs")
            };
            return Err(KerasError::layer(ErrorKind::Weights, file, flat, reason));
        }
    }
    check_shapes(class_name, cfg, ws)
        .map_err(|r| KerasError::layer(ErrorKind::Weights, file, flat, r))
}

/// [`check_names`] for a layer given on its own, its weights in any order.
pub fn check_names_any_order(file: &str, l: &Layer) -> Result<(), KerasError> {
    if let Some(names) = expected_names(&l.class_name, &l.config) {
        let mut got: Vec<&str> = l.weights.iter().map(|w| w.name.as_str()).collect();
        got.sort_unstable();
        let mut want = names.clone();
        want.sort_unstable();
        if got != want {
            let reason = if names.is_empty() {
                format!("a {} has no weights, but {got:?} are given", l.class_name)
            } else if got.is_empty() {
                format!("a {} needs weights {names:?}, none are given", l.class_name)
            } else {
                format!("weights {got:?} are given, a {} needs {names:?}", l.class_name)
            };
            return Err(KerasError::layer(ErrorKind::Weights, file, &l.name, reason));
        }
    }
    check_shapes(&l.class_name, &l.config, &l.weights)
        .map_err(|r| KerasError::layer(ErrorKind::Weights, file, &l.name, r))
}

/// `forward_kernel`, `backward_bias`, …: the names of a Bidirectional's weights.
fn prefixed(dir: &str, name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "forward_kernel",
        "forward_recurrent_kernel",
        "forward_bias",
        "backward_kernel",
        "backward_recurrent_kernel",
        "backward_bias",
    ];
    NAMES.iter().find(|n| n.strip_prefix(dir) == Some(name)).copied().unwrap_or("unknown")
}
