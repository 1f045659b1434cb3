//! `.safetensors` reading (F64/F32/F16/BF16, signed/unsigned integers, bool → `f64`) and writing.

use std::io::Write;
use std::path::Path;

use ::safetensors::tensor::{Dtype, SafeTensors, TensorView};
use half::{bf16, f16};
use indexmap::IndexMap;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::{check_names, read_file, write_atomic, IoError, Precision};

/// Reads every tensor of a `.safetensors` file as `f64`, in the order of their data in the file.
pub fn read_safetensors(path: &Path) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bytes = read_file(path)?;
    read_safetensors_bytes(path, &bytes)
}

/// Reads `.safetensors` content already in memory (`path` only names it in errors).
pub fn read_safetensors_bytes(
    path: &Path,
    bytes: &[u8],
) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bad = |reason: String| IoError::BadFormat {
        path: path.to_path_buf(),
        format: ".safetensors",
        reason,
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let mut arrays = IndexMap::with_capacity(tensors.len());
    for name in metadata.offset_keys() {
        let view = tensors.tensor(&name).map_err(|e| bad(e.to_string()))?;
        let array = convert(path, &name, &view)?;
        arrays.insert(name, array);
    }
    Ok(arrays)
}

/// Decodes one little-endian tensor to `f64`.
fn convert(path: &Path, name: &str, view: &TensorView<'_>) -> Result<ArrayD<f64>, IoError> {
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Dtype::F16 => {
            data.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f64()).collect()
        }
        Dtype::BF16 => {
            data.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f64()).collect()
        }
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64)
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Dtype::I16 => {
            data.chunks_exact(2).map(|c| f64::from(i16::from_le_bytes([c[0], c[1]]))).collect()
        }
        Dtype::I8 => data.iter().map(|&b| f64::from(b as i8)).collect(),
        Dtype::U64 => data
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64)
            .collect(),
        Dtype::U32 => data
            .chunks_exact(4)
            .map(|c| f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Dtype::U16 => {
            data.chunks_exact(2).map(|c| f64::from(u16::from_le_bytes([c[0], c[1]]))).collect()
        }
        Dtype::U8 => data.iter().map(|&b| f64::from(b)).collect(),
        Dtype::BOOL => data.iter().map(|&b| if b != 0 { 1.0 } else { 0.0 }).collect(),
        other => {
            return Err(IoError::UnknownDtype {
                path: path.to_path_buf(),
                name: name.to_string(),
                dtype: format!("{other:?}"),
                supported: "F16, BF16, F32, F64, I8 to I64, U8 to U64, BOOL",
            })
        }
    };
    ArrayD::from_shape_vec(IxDyn(view.shape()), values).map_err(|e| IoError::BadArray {
        path: path.to_path_buf(),
        name: name.to_string(),
        reason: format!("data does not fit shape {:?}: {e}", view.shape()),
    })
}

/// Writes tensors to a `.safetensors` file (atomically), in `f64` or rounded to `f32`.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, ArrayViewD<f64>)],
    precision: Precision,
) -> Result<(), IoError> {
    write_atomic(path, |file| write_safetensors_to(file, path, tensors, precision))
}

/// Writes tensors in `.safetensors` form into `file` (a staged output, see
/// [`crate::output`]); `path` names it in errors.
pub fn write_safetensors_to(
    file: &mut std::fs::File,
    path: &Path,
    tensors: &[(&str, ArrayViewD<f64>)],
    precision: Precision,
) -> Result<(), IoError> {
    check_names(path, tensors.iter().map(|(name, _)| *name))?;
    let mut buffers = Vec::with_capacity(tensors.len());
    for (name, array) in tensors {
        let bytes: Vec<u8> = match precision {
            Precision::F64 => array.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Precision::F32 => array.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect(),
        };
        buffers.push((*name, array.shape().to_vec(), bytes));
    }
    let dtype = match precision {
        Precision::F64 => Dtype::F64,
        Precision::F32 => Dtype::F32,
    };
    let mut views = Vec::with_capacity(buffers.len());
    for (name, shape, bytes) in &buffers {
        let view = TensorView::new(dtype, shape.clone(), bytes).map_err(|e| IoError::BadArray {
            path: path.to_path_buf(),
            name: (*name).to_string(),
            reason: e.to_string(),
        })?;
        views.push((name.to_string(), view));
    }
    let serialized = ::safetensors::serialize(views, None).map_err(|e| IoError::BadFormat {
        path: path.to_path_buf(),
        format: ".safetensors",
        reason: e.to_string(),
    })?;
    file.write_all(&serialized)
        .map_err(|source| IoError::Write { path: path.to_path_buf(), source })
}
