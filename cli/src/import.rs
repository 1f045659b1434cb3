//! `snnc import MODEL -o OUT.snn`: a Keras model (.h5 or .keras) → `.snn` text plus
//! `OUT.safetensors` beside it, both written atomically (nothing is left half-written).

use snn_keras::convert::{convert, Converted, Options};
use snn_runtime::io::{write_safetensors, Precision};
use std::path::{Path, PathBuf};

/// Options of `snnc import`.
pub struct ImportConfig {
    /// The Keras model.
    pub model: PathBuf,
    /// The `.snn` to write; the weights go to the same path with `.safetensors`.
    pub output: PathBuf,
    /// `FROM=TO` swaps.
    pub swap: Vec<String>,
    /// An `.npz` of initial voltages by Keras layer name.
    pub initial_voltages: Option<PathBuf>,
    /// Converter options other than the swaps.
    pub options: Options,
}

/// Parse `FROM=TO`.
pub fn parse_swap(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(format!("--swap takes FROM=TO (e.g. relu=spiking_relu), found `{s}`")),
    }
}

/// Read, convert and write; returns the conversion (for the layer table).
pub fn import(cfg: &ImportConfig) -> Result<Converted, String> {
    let mut opts = cfg.options.clone();
    for s in &cfg.swap {
        opts.swap.push(parse_swap(s)?);
    }
    if let Some(x) = opts.scale_firing_rates {
        if !(x > 0.0 && x.is_finite()) {
            return Err(format!("--scale-firing-rates must be a positive number, found {x}"));
        }
    }
    if let Some(t) = opts.synapse {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(format!("--synapse must be a non-negative time in seconds, found {t}"));
        }
    }
    if let Some(p) = &cfg.initial_voltages {
        opts.initial_voltages = snn_runtime::io::read_npz(p).map_err(|e| e.to_string())?;
    }
    let model = snn_keras::read_model(&cfg.model).map_err(|e| e.to_string())?;
    let weights = cfg.output.with_extension("safetensors");
    let weights_name = weights
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| format!("{} is not a file name", cfg.output.display()))?;
    let converted = convert(&model, &weights_name, &opts).map_err(|e| e.to_string())?;
    write_both(&cfg.output, &weights, &converted)?;
    Ok(converted)
}

/// Write the weights then the `.snn`, each through a temporary file renamed into place.
fn write_both(snn: &Path, weights: &Path, c: &Converted) -> Result<(), String> {
    let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
        c.tensors.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    write_safetensors(weights, &named, Precision::F64).map_err(|e| e.to_string())?;
    let tmp = snn.with_extension("snn.import-tmp");
    std::fs::write(&tmp, &c.snn).and_then(|_| std::fs::rename(&tmp, snn)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", snn.display())
    })
}

/// The layer table printed after an import.
pub fn table(c: &Converted) -> String {
    let w0 = c.report.iter().map(|r| r.layer.len()).max().unwrap_or(5).max(5);
    let w1 = c.report.iter().map(|r| r.class.len()).max().unwrap_or(5).max(11);
    let mut s = format!("{:w0$}  {:w1$}  became\n", "layer", "Keras class");
    for r in &c.report {
        s.push_str(&format!("{:w0$}  {:w1$}  {}\n", r.layer, r.class, r.became));
    }
    for w in &c.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}
