//! A thin, panic-guarded layer over `hdf5-pure`: open from bytes, read string attributes and float datasets.

use std::panic::{catch_unwind, AssertUnwindSafe};

use hdf5_pure::{AttrValue, DType, Datatype, DatatypeByteOrder, File, FloatingPointLayout, Group};
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
            // Keras stores weights as floats of any width (f16, bfloat16, f32, f64) and a few
            // as integers (Normalization's int64 `count`); all read as f64 (exact up to 2^53).
            let (is_f64, elem) = match dtype {
                DType::F32 => (false, 4),
                DType::F64 | DType::I64 | DType::U64 => (true, 8),
                DType::I32 | DType::U32 => (true, 4),
                DType::I8 | DType::U8 => (true, 1),
                DType::I16 | DType::U16 => (true, 2),
                // half floats and other numeric layouts the reader converts
                DType::Other(_) => (false, 1),
                other => {
                    return Err(format!(
                        "dataset `{p}` has type {other:?}, expected a number (float or integer)"
                    ))
                }
            };
            let shape = ds.shape().map_err(|e| format!("dataset `{p}`: bad shape: {e}"))?;
            let mut n: u64 = 1;
            for &d in &shape {
                n = n
                    .checked_mul(d)
                    .ok_or_else(|| format!("dataset `{p}`: shape {shape:?} overflows"))?;
            }
            let filtered = !ds.filters().is_empty();
            let limit = if filtered { MAX_FILTERED_ELEMENTS } else { self.len / elem };
            if n > limit {
                return Err(format!(
                    "dataset `{p}`: shape {shape:?} needs more data than the file can hold"
                ));
            }
            let data = match ds.datatype() {
                // half-width floats (float16, bfloat16): decoded from their bit layout
                Ok(Datatype::FloatingPoint { size: 2, byte_order, layout }) => {
                    let raw =
                        ds.read_raw().map_err(|e| format!("dataset `{p}`: cannot read: {e}"))?;
                    let big = matches!(byte_order, DatatypeByteOrder::BigEndian);
                    raw.chunks_exact(2)
                        .map(|b| {
                            let bits = if big {
                                u16::from_be_bytes([b[0], b[1]])
                            } else {
                                u16::from_le_bytes([b[0], b[1]])
                            };
                            half_float(bits, &layout)
                        })
                        .collect()
                }
                _ => ds.read_f64().map_err(|e| format!("dataset `{p}`: cannot read: {e}"))?,
            };
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

/// A 16-bit float (IEEE float16, bfloat16, or any sign/exponent/mantissa layout HDF5 describes)
/// as f64: exact, since both formats are subsets of f64.
fn half_float(bits: u16, l: &FloatingPointLayout) -> f64 {
    let field = |at: u8, size: u8| -> u32 {
        if size == 0 || at >= 16 {
            0
        } else {
            (u32::from(bits) >> at) & ((1u32 << size.min(16)) - 1)
        }
    };
    let (es, ms) = (l.exponent_size, l.mantissa_size);
    let exp = field(l.exponent_location, es);
    let man = f64::from(field(l.mantissa_location, ms));
    let sign_at = l.exponent_location.saturating_add(es);
    let sign = if field(sign_at, 1) == 1 { -1.0 } else { 1.0 };
    let bias = i32::try_from(l.exponent_bias).unwrap_or(i32::MAX);
    let scale = f64::from(1u32 << ms.min(31));
    let max_exp = if es == 0 || es > 31 { u32::MAX } else { (1u32 << es) - 1 };
    if exp == 0 {
        sign * man / scale * 2f64.powi(1 - bias)
    } else if exp == max_exp {
        if man == 0.0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        }
    } else {
        let e = i32::try_from(exp).unwrap_or(0) - bias;
        sign * (1.0 + man / scale) * 2f64.powi(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_decode_like_numpy() {
        let f16 = FloatingPointLayout {
            bit_offset: 0,
            bit_precision: 16,
            exponent_location: 10,
            exponent_size: 5,
            mantissa_location: 0,
            mantissa_size: 10,
            exponent_bias: 15,
        };
        // numpy: np.float16(x).view(np.uint16)
        for (bits, want) in [
            (0x3c00u16, 1.0),
            (0xc000, -2.0),
            (0x3555, 0.333251953125),
            (0x0001, 5.960464477539063e-08),
            (0x7bff, 65504.0),
            (0x0000, 0.0),
        ] {
            assert_eq!(half_float(bits, &f16), want, "{bits:#x}");
        }
        assert!(half_float(0x7c00, &f16).is_infinite());
        assert!(half_float(0x7e00, &f16).is_nan());
        let bf16 = FloatingPointLayout {
            exponent_location: 7,
            exponent_size: 8,
            mantissa_size: 7,
            exponent_bias: 127,
            ..f16
        };
        for (bits, want) in [(0x3f80u16, 1.0), (0xbfc0, -1.5), (0x4049, 3.140625)] {
            assert_eq!(half_float(bits, &bf16), want, "{bits:#x}");
            assert_eq!(f64::from(f32::from_bits(u32::from(bits) << 16)), want);
        }
    }
}
