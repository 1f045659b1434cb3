//! A thin, panic-guarded layer over `hdf5-pure`: open from bytes, read string attributes and float datasets.

use std::panic::{catch_unwind, AssertUnwindSafe};

use hdf5_pure::{AttrValue, DType, File, Group};
use ndarray::{ArrayD, IxDyn};

/// An attribute value reduced to what Keras files use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    /// A scalar string (fixed or variable length, ASCII or UTF-8).
    Str(String),
    /// A 1-D array of strings (or an empty array of any type).
    Strs(Vec<String>),
    /// Anything else (numbers, references...).
    Other,
}

/// Largest number of elements a single dataset may claim when its storage is filtered
/// (compressed), where the file size does not bound it.
const MAX_FILTERED_ELEMENTS: u64 = 1 << 28;

/// Run `f`, turning a panic inside the HDF5 library into an error string.
fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(format!("HDF5 reader failed unexpectedly while {what}")),
    }
}

/// An open HDF5 file held in memory.
pub(crate) struct H5 {
    file: File,
    len: u64,
}

impl H5 {
    /// Parse an HDF5 file from its bytes.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        let len = bytes.len() as u64;
        let file = guard("opening the file", || {
            File::from_bytes(bytes).map_err(|e| format!("not a readable HDF5 file: {e}"))
        })?;
        Ok(Self { file, len })
    }

    /// The group at `path` ("" or "/" for the root).
    pub(crate) fn group(&self, path: &str) -> Result<Group, String> {
        let p = path.trim_matches('/');
        guard("opening a group", || {
            if p.is_empty() {
                Ok(self.file.root())
            } else {
                self.file.group(p).map_err(|e| format!("no HDF5 group `{p}`: {e}"))
            }
        })
    }

    /// Whether a group exists at `path`.
    pub(crate) fn has_group(&self, path: &str) -> bool {
        self.group(path).is_ok()
    }

    /// Names of the child groups of `path`.
    pub(crate) fn child_groups(&self, path: &str) -> Result<Vec<String>, String> {
        let g = self.group(path)?;
        guard("listing groups", || {
            g.groups().map_err(|e| format!("cannot list groups of `{path}`: {e}"))
        })
    }

    /// Names of the datasets directly in `path`.
    pub(crate) fn child_datasets(&self, path: &str) -> Result<Vec<String>, String> {
        let g = self.group(path)?;
        guard("listing datasets", || {
            g.datasets().map_err(|e| format!("cannot list datasets of `{path}`: {e}"))
        })
    }

    /// The attribute `name` of the group at `path`, or `None` if absent.
    pub(crate) fn attr(&self, path: &str, name: &str) -> Result<Option<Attr>, String> {
        let g = self.group(path)?;
        let attrs = guard("reading attributes", || {
            g.attrs().map_err(|e| format!("cannot read attributes of `{path}`: {e}"))
        })?;
        Ok(attrs.get(name).map(convert_attr))
    }

    /// A string attribute (scalar, or a one-element string array).
    pub(crate) fn attr_string(&self, path: &str, name: &str) -> Result<Option<String>, String> {
        match self.attr(path, name)? {
            None => Ok(None),
            Some(Attr::Str(s)) => Ok(Some(s)),
            Some(Attr::Strs(mut v)) if v.len() == 1 => Ok(v.pop()),
            Some(_) => Err(format!("attribute `{name}` of `{path}` is not a string")),
        }
    }

    /// A string-array attribute (an empty array of any type counts as empty).
    pub(crate) fn attr_strings(
        &self,
        path: &str,
        name: &str,
    ) -> Result<Option<Vec<String>>, String> {
        match self.attr(path, name)? {
            None => Ok(None),
            Some(Attr::Str(s)) => Ok(Some(vec![s])),
            Some(Attr::Strs(v)) => Ok(Some(v)),
            Some(Attr::Other) => {
                Err(format!("attribute `{name}` of `{path}` is not a string array"))
            }
        }
    }

    /// Read the float dataset at `path` as f64 (exact for f32 data); returns the array
    /// and whether the stored type was f64.
    pub(crate) fn dataset_f64(&self, path: &str) -> Result<(ArrayD<f64>, bool), String> {
        let p = path.trim_matches('/');
        guard("reading a dataset", || {
            let ds = self.file.dataset(p).map_err(|e| format!("no dataset `{p}`: {e}"))?;
            let dtype = ds.dtype().map_err(|e| format!("dataset `{p}`: bad datatype: {e}"))?;
            let is_f64 = match dtype {
                DType::F32 => false,
                DType::F64 => true,
                other => {
                    return Err(format!("dataset `{p}` has type {other:?}, expected f32 or f64"))
                }
            };
            let shape = ds.shape().map_err(|e| format!("dataset `{p}`: bad shape: {e}"))?;
            let mut n: u64 = 1;
            for &d in &shape {
                n = n
                    .checked_mul(d)
                    .ok_or_else(|| format!("dataset `{p}`: shape {shape:?} overflows"))?;
            }
            let elem = if is_f64 { 8 } else { 4 };
            let filtered = !ds.filters().is_empty();
            let limit = if filtered { MAX_FILTERED_ELEMENTS } else { self.len / elem };
            if n > limit {
                return Err(format!(
                    "dataset `{p}`: shape {shape:?} needs more data than the file can hold"
                ));
            }
            let data = ds.read_f64().map_err(|e| format!("dataset `{p}`: cannot read: {e}"))?;
            if data.len() as u64 != n {
                return Err(format!(
                    "dataset `{p}`: read {} values, shape {shape:?} needs {n}",
                    data.len()
                ));
            }
            let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
            let arr = ArrayD::from_shape_vec(IxDyn(&dims), data)
                .map_err(|e| format!("dataset `{p}`: {e}"))?;
            Ok((arr, is_f64))
        })
    }
}

fn convert_attr(v: &AttrValue) -> Attr {
    match v {
        AttrValue::String(s)
        | AttrValue::VarLenString(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenAsciiString(s) => Attr::Str(s.clone()),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
            Attr::Str(value.clone())
        }
        AttrValue::StringArray(a)
        | AttrValue::VarLenStringArray(a)
        | AttrValue::AsciiStringArray(a)
        | AttrValue::VarLenAsciiStringArray(a)
        | AttrValue::VarLenAsciiCharArray(a) => Attr::Strs(a.clone()),
        AttrValue::StringArraySized { values, .. }
        | AttrValue::AsciiStringArraySized { values, .. } => Attr::Strs(values.clone()),
        AttrValue::F64Array(a) if a.is_empty() => Attr::Strs(Vec::new()),
        AttrValue::F32Array(a) if a.is_empty() => Attr::Strs(Vec::new()),
        AttrValue::U8Array(a) if a.is_empty() => Attr::Strs(Vec::new()),
        AttrValue::I64Array(a) if a.is_empty() => Attr::Strs(Vec::new()),
        _ => Attr::Other,
    }
}
