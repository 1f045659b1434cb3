//! snn-keras: Keras model files read in pure Rust, and a Keras-semantics evaluator.
//!
//! [`read_model`] reads a Keras 2 legacy HDF5 file (`.h5`) or a `.keras` zip archive (Keras 3)
//! into a [`KerasModel`]: a flat graph of layer applications in topological order, nested
//! models flattened (inner names prefixed, `inner/dense`), weights attached with canonical
//! names. [`eval::evaluate`] runs that graph with Keras inference semantics in f32 or f64 and
//! returns every layer's output.
//!
//! The container is recognised by its content (zip or HDF5 signature), not its extension.

#![warn(missing_docs)]

pub mod convert;
pub mod eval;
mod graph;
mod h5;
pub mod model;
mod weights;

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

pub use snn_runtime::keras::{config, error};

pub use config::{DataFormat, LayerConfig, Padding};
pub use error::{ErrorKind, KerasError};
pub use eval::{
    apply_layer, check_layer, evaluate, evaluate_with, infer_shapes, infer_shapes_with, Evaluation,
    Scalar,
};
pub use model::{KerasModel, Layer, ModelInput, SourceFormat, TensorRef, Weight};

/// The HDF5 file signature (at offset 0, or after a user block of 512 * 2^k bytes).
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// Largest `config.json` accepted from a `.keras` archive.
const MAX_CONFIG_BYTES: u64 = 256 << 20;
/// Largest weights member accepted from a `.keras` archive.
const MAX_WEIGHTS_BYTES: u64 = 8 << 30;

/// Read a Keras model from a `.h5` (Keras 2) or `.keras` (zip) file.
pub fn read_model(path: impl AsRef<Path>) -> Result<KerasModel, KerasError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    // bounded: a device such as /dev/zero is refused, a pipe read up to snn_io's cap
    let bytes = snn_io::read_file(path).map_err(|e| {
        let reason = match e {
            snn_io::IoError::Read { source, .. } => format!("cannot read: {source}"),
            other => other.to_string(),
        };
        KerasError::new(ErrorKind::Io, &name, reason)
    })?;
    read_model_bytes(&name, &bytes)
}

/// Read a Keras model from the bytes of a `.h5` or `.keras` file; `name_hint` is used in
/// error messages. Never panics, whatever the bytes (the entry point for fuzzing).
pub fn read_model_bytes(name_hint: &str, bytes: &[u8]) -> Result<KerasModel, KerasError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        read_keras_zip(name_hint, bytes)
    } else if hdf5_offset(bytes).is_some() {
        read_h5(name_hint, bytes.to_vec())
    } else {
        let ext = Path::new(name_hint).extension().and_then(|e| e.to_str()).unwrap_or("");
        let what = match ext {
            "keras" => "not a .keras archive (no zip signature)",
            "h5" | "hdf5" => "not an HDF5 file (no HDF5 signature)",
            _ => "neither a .keras zip archive nor an HDF5 file",
        };
        Err(KerasError::new(ErrorKind::Format, name_hint, what))
    }
}

fn hdf5_offset(bytes: &[u8]) -> Option<usize> {
    let mut off = 0usize;
    loop {
        if bytes.get(off..off + 8)? == HDF5_MAGIC {
            return Some(off);
        }
        off = if off == 0 { 512 } else { off.checked_mul(2)? };
    }
}

fn parse_json(file: &str, text: &str, what: &str) -> Result<Value, KerasError> {
    serde_json::from_str(text).map_err(|e| {
        KerasError::new(ErrorKind::Config, file, format!("{what} is not valid JSON: {e}"))
    })
}

fn read_h5(file: &str, bytes: Vec<u8>) -> Result<KerasModel, KerasError> {
    let h5 = h5::H5::from_bytes(bytes).map_err(|e| KerasError::new(ErrorKind::Format, file, e))?;
    let fe = |r: String| KerasError::new(ErrorKind::Format, file, r);
    let config = h5.attr_string("/", "model_config").map_err(fe)?.ok_or_else(|| {
        KerasError::new(
            ErrorKind::Format,
            file,
            "HDF5 file has no `model_config` attribute (a weights-only file, or not a Keras model)",
        )
    })?;
    let root = parse_json(file, &config, "`model_config`")?;
    let keras_version = h5
        .attr_string("/", "keras_version")
        .ok()
        .flatten()
        .or_else(|| h5.attr_string("model_weights", "keras_version").ok().flatten());
    let weights = weights::load_k2(file, &h5, &root)?;
    assemble(file, SourceFormat::H5, keras_version, &root, weights)
}

fn read_member(
    file: &str,
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, KerasError> {
    let fe = |r: String| KerasError::new(ErrorKind::Format, file, r);
    let mut f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(fe(format!("cannot open `{name}` in the archive: {e}"))),
    };
    if f.size() > limit {
        return Err(fe(format!("`{name}` is too large ({} bytes)", f.size())));
    }
    let mut buf = Vec::with_capacity(f.size().min(64 << 20) as usize);
    (&mut f)
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| fe(format!("cannot read `{name}` from the archive: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(fe(format!("`{name}` is too large")));
    }
    Ok(Some(buf))
}

fn read_keras_zip(file: &str, bytes: &[u8]) -> Result<KerasModel, KerasError> {
    let fe = |r: String| KerasError::new(ErrorKind::Format, file, r);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| fe(format!("not a readable .keras (zip) archive: {e}")))?;
    let config = read_member(file, &mut zip, "config.json", MAX_CONFIG_BYTES)?
        .ok_or_else(|| fe("archive has no `config.json`".to_string()))?;
    let config =
        String::from_utf8(config).map_err(|_| fe("`config.json` is not UTF-8".to_string()))?;
    let root = parse_json(file, &config, "`config.json`")?;
    let keras_version = match read_member(file, &mut zip, "metadata.json", MAX_CONFIG_BYTES)? {
        Some(m) => {
            let m = String::from_utf8_lossy(&m).to_string();
            let v = parse_json(file, &m, "`metadata.json`")?;
            v.get("keras_version").and_then(Value::as_str).map(str::to_string)
        }
        None => None,
    };
    let weights_bytes = match read_member(file, &mut zip, "model.weights.h5", MAX_WEIGHTS_BYTES)? {
        Some(w) => w,
        None => {
            let names: Vec<String> = zip.file_names().map(str::to_string).collect();
            let reason = if names
                .iter()
                .any(|n| n.ends_with(".weights.json") || n.contains("weights_"))
            {
                "archive stores sharded weights, which are not supported; save with a single `model.weights.h5`"
                    .to_string()
            } else {
                format!("archive has no `model.weights.h5` (members: {})", names.join(", "))
            };
            return Err(fe(reason));
        }
    };
    let h5 =
        h5::H5::from_bytes(weights_bytes).map_err(|e| fe(format!("`model.weights.h5`: {e}")))?;
    let weights = weights::load_k3(file, &h5, &root)?;
    assemble(file, SourceFormat::KerasZip, keras_version, &root, weights)
}

fn assemble(
    file: &str,
    format: SourceFormat,
    keras_version: Option<String>,
    root: &Value,
    mut weights: weights::WeightMap,
) -> Result<KerasModel, KerasError> {
    let flat = graph::flatten(file, root)?;
    let mut layers = flat.layers;
    // Attach weights; applications of a shared layer share one Arc.
    let mut shared: std::collections::BTreeMap<String, Arc<Vec<Weight>>> =
        std::collections::BTreeMap::new();
    for l in &mut layers {
        if let Some(w) = shared.get(&l.name) {
            l.weights = Arc::clone(w);
            continue;
        }
        let ws = weights.remove(&l.name).unwrap_or_default();
        weights::check_names(file, &l.name, &l.class_name, &l.config, &ws)?;
        let ws = Arc::new(ws);
        shared.insert(l.name.clone(), Arc::clone(&ws));
        l.weights = ws;
    }
    Ok(KerasModel {
        source: file.to_string(),
        format,
        keras_version,
        name: flat.name,
        inputs: flat.inputs,
        layers,
        outputs: flat.outputs,
    })
}
