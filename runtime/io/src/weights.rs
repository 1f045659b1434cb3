//! [`WeightsFile`]: a `.npz`, `.safetensors` or `.npy` file opened by extension, with its tensors
//! served by name and their shapes listed (what a `.snn` file's `weights w = "..."` refers to).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ndarray::ArrayD;

use super::npy::npy_name;
use super::{read_file, read_npy_bytes, read_npz_bytes, read_safetensors_bytes, IoError};

/// Container format of a weights file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// NumPy `.npz` archive.
    Npz,
    /// A single NumPy `.npy` array, named after the file stem.
    Npy,
    /// Hugging Face `.safetensors`.
    Safetensors,
}

impl WeightsFormat {
    /// The format a path's extension names (case-insensitive), if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npz" => Some(Self::Npz),
            "npy" => Some(Self::Npy),
            "safetensors" => Some(Self::Safetensors),
            _ => None,
        }
    }
}

/// All tensors of a weights file, loaded as `f64`, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightsFile {
    path: PathBuf,
    format: WeightsFormat,
    tensors: IndexMap<String, ArrayD<f64>>,
}

impl WeightsFile {
    /// Opens and reads a weights file, choosing the format by extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref();
        let format = WeightsFormat::from_path(path)
            .ok_or_else(|| IoError::UnknownExtension { path: path.to_path_buf() })?;
        let bytes = read_file(path)?;
        Self::from_bytes(path, format, &bytes)
    }

    /// Parses weights already in memory; `path` names the file in errors and in [`Self::path`].
    pub fn from_bytes(
        path: impl AsRef<Path>,
        format: WeightsFormat,
        bytes: &[u8],
    ) -> Result<Self, IoError> {
        let path = path.as_ref();
        let tensors = match format {
            WeightsFormat::Npz => read_npz_bytes(path, bytes)?,
            WeightsFormat::Safetensors => read_safetensors_bytes(path, bytes)?,
            WeightsFormat::Npy => {
                let mut tensors = IndexMap::new();
                tensors.insert(npy_name(path), read_npy_bytes(path, bytes)?);
                tensors
            }
        };
        Ok(Self { path: path.to_path_buf(), format, tensors })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> WeightsFormat {
        self.format
    }

    /// Tensor names in file order.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.keys().map(String::as_str).collect()
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Whether a tensor of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The shape of a tensor, `None` if absent.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape())
    }

    /// A tensor by name; the error names the file and lists what it holds.
    pub fn get(&self, name: &str) -> Result<&ArrayD<f64>, IoError> {
        self.tensors.get(name).ok_or_else(|| IoError::MissingArray {
            path: self.path.clone(),
            name: name.to_string(),
            available: self.tensors.keys().cloned().collect(),
        })
    }

    /// Iterates over `(name, tensor)` in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ArrayD<f64>)> {
        self.tensors.iter().map(|(name, t)| (name.as_str(), t))
    }

    /// Gives up the tensors.
    pub fn into_tensors(self) -> IndexMap<String, ArrayD<f64>> {
        self.tensors
    }
}
