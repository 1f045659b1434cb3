//! NumPy `.npy` and `.npz` reading (any float, integer or bool dtype → `f64`) and writing.
//!
//! The header is checked before any data is read: the element type comes from its `descr`,
//! and a shape that needs more bytes than the file holds is an error (so a corrupt header
//! cannot make us allocate terabytes).

use std::io::{Cursor, Read};
use std::path::Path;

use indexmap::IndexMap;
use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzWriter, ReadNpyExt, ReadableElement, WriteNpyExt};
use num_traits::ToPrimitive;
use py_literal::Value as PyValue;

use super::{check_names, read_bytes, write_atomic, IoError, Precision};

const MAGIC: &[u8] = b"\x93NUMPY";

/// An element type NumPy may store that converts to `f64`.
trait ToF64: ReadableElement + Copy {
    fn to_f64(self) -> f64;
}

macro_rules! to_f64_as {
    ($($t:ty),*) => {$(
        impl ToF64 for $t {
            #[allow(clippy::cast_lossless)]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
to_f64_as!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8);

impl ToF64 for bool {
    fn to_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
}

fn npy_as<T: ToF64>(bytes: &[u8]) -> Result<ArrayD<f64>, String> {
    ArrayD::<T>::read_npy(Cursor::new(bytes)).map(|a| a.mapv(T::to_f64)).map_err(|e| e.to_string())
}

/// What the header of a `.npy` says.
struct Header {
    descr: String,
    n_elements: usize,
    data_len: usize,
}

/// Parses and sanity-checks a `.npy` header; `Err` carries the reason.
fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("missing the \\x93NUMPY magic string".to_string());
    }
    let major = *bytes.get(6).ok_or("truncated header")?;
    let (len_size, text_start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let len_bytes = bytes.get(8..8 + len_size).ok_or("truncated header")?;
    let header_len = len_bytes.iter().rev().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let text = bytes.get(text_start..text_start + header_len).ok_or("truncated header")?;
    let text = std::str::from_utf8(text).map_err(|_| "header is not text")?;
    // NumPy's header is a flat dict holding one tuple; the Python-literal parser backtracks
    // exponentially on deeply nested brackets (found by fuzzing: 300 bytes took minutes)
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 3 {
            return Err(format!("header is not a NumPy header (brackets nested {depth} deep)"));
        }
    }
    let dict = match text.trim().parse::<PyValue>() {
        Ok(PyValue::Dict(dict)) => dict,
        _ => return Err(format!("header is not a Python dict: {}", text.trim())),
    };
    let field = |key: &str| {
        dict.iter().find_map(|(k, v)| match k {
            PyValue::String(s) if s == key => Some(v),
            _ => None,
        })
    };
    let descr = match field("descr") {
        Some(PyValue::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return Err("header has no `descr`".to_string()),
    };
    let shape = match field("shape") {
        Some(PyValue::Tuple(dims)) => dims,
        _ => return Err("header has no `shape` tuple".to_string()),
    };
    let mut n_elements = 1usize;
    for dim in shape {
        let size = match dim {
            PyValue::Integer(i) => i.to_usize().ok_or("negative or huge dimension in shape")?,
            _ => return Err("non-integer dimension in shape".to_string()),
        };
        n_elements = n_elements.checked_mul(size).ok_or("shape overflows")?;
    }
    Ok(Header { descr, n_elements, data_len: bytes.len() - text_start - header_len })
}

/// Bytes per element of a simple dtype descriptor such as `<f8` or `|b1`.
fn item_size(descr: &str) -> Option<usize> {
    descr.get(2..)?.parse().ok()
}

/// Decodes one `.npy` image; errors name `path` and the array.
fn decode(path: &Path, name: &str, bytes: &[u8]) -> Result<ArrayD<f64>, IoError> {
    let bad = |reason: String| IoError::BadArray {
        path: path.to_path_buf(),
        name: name.to_string(),
        reason,
    };
    let header = parse_header(bytes).map_err(bad)?;
    let unknown = || {
        IoError::UnknownDtype {
        path: path.to_path_buf(),
        name: name.to_string(),
        dtype: header.descr.clone(),
        supported: "float16/32/64 (<f2, <f4, <f8), signed and unsigned integers (i1 to i8, u1 to u8), bool (|b1), either byte order",
    }
    };
    let size = item_size(&header.descr).ok_or_else(unknown)?;
    let needed =
        header.n_elements.checked_mul(size).ok_or_else(|| bad("shape overflows".to_string()))?;
    if needed > header.data_len {
        return Err(bad(format!(
            "header declares {} elements ({needed} bytes) but only {} bytes of data follow",
            header.n_elements, header.data_len
        )));
    }
    let read = match header.descr.as_str() {
        "<f8" | ">f8" => npy_as::<f64>,
        "<f4" | ">f4" => npy_as::<f32>,
        "<i8" | ">i8" => npy_as::<i64>,
        "<i4" | ">i4" => npy_as::<i32>,
        "<i2" | ">i2" => npy_as::<i16>,
        "|i1" => npy_as::<i8>,
        "<u8" | ">u8" => npy_as::<u64>,
        "<u4" | ">u4" => npy_as::<u32>,
        "<u2" | ">u2" => npy_as::<u16>,
        "|u1" => npy_as::<u8>,
        "|b1" => npy_as::<bool>,
        "<f2" | ">f2" => return read_f16(bytes).map_err(bad),
        _ => return Err(unknown()),
    };
    read(bytes).map_err(bad)
}

/// Reads a float16 `.npy` (which ndarray-npy does not know) as its bit patterns: the header's
/// `f2` becomes `u2` (same length, so the layout is unchanged), then each `u16` is an `f16`.
fn read_f16(bytes: &[u8]) -> Result<ArrayD<f64>, String> {
    let mut copy = bytes.to_vec();
    let end = copy.len().min(4096);
    let at = copy[..end]
        .windows(4)
        .position(|w| w == b"<f2'" || w == b">f2'")
        .ok_or("float16 descriptor not found in the header")?;
    copy[at + 1] = b'u';
    let bits = ArrayD::<u16>::read_npy(Cursor::new(&copy[..])).map_err(|e| e.to_string())?;
    Ok(bits.mapv(|b| half::f16::from_bits(b).to_f64()))
}

/// Reads a `.npy` file as `f64`.
pub fn read_npy(path: &Path) -> Result<ArrayD<f64>, IoError> {
    let bytes = read_bytes(path)?;
    read_npy_bytes(path, &bytes)
}

/// Reads `.npy` content already in memory (`path` only names it in errors).
pub fn read_npy_bytes(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>, IoError> {
    if !bytes.starts_with(MAGIC) {
        let reason = if bytes.starts_with(ZIP_MAGIC) {
            "it is an .npz (zip) archive of arrays; this takes one array as an .npy file \
             (NumPy's np.save)"
                .to_string()
        } else if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "missing the \\x93NUMPY magic string".to_string()
        };
        return Err(IoError::BadFormat { path: path.to_path_buf(), format: ".npy", reason });
    }
    decode(path, &npy_name(path), bytes)
}

/// The first bytes of a zip archive (an `.npz`).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Why `bytes` are not a zip archive, in words (the zip crate speaks of EOCD records).
fn zip_reason(bytes: &[u8], e: zip::result::ZipError) -> String {
    if bytes.is_empty() {
        "the file is empty".to_string()
    } else if bytes.starts_with(ZIP_MAGIC) {
        format!("a zip archive, but truncated or damaged ({e})")
    } else {
        format!("not a zip archive ({e})")
    }
}

/// The array name a lone `.npy` file gets: its file stem.
pub(crate) fn npy_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads every array of a `.npz` file as `f64`, in the order stored.
pub fn read_npz(path: &Path) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bytes = read_bytes(path)?;
    read_npz_bytes(path, &bytes)
}

/// Reads `.npz` content already in memory (`path` only names it in errors). Entry names lose
/// one `.npy` suffix, as with NumPy's `np.load`.
pub fn read_npz_bytes(path: &Path, bytes: &[u8]) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bad =
        |reason: String| IoError::BadFormat { path: path.to_path_buf(), format: ".npz", reason };
    if bytes.starts_with(MAGIC) {
        return Err(bad("it is a single .npy array; this takes an .npz archive of named arrays \
             (NumPy's np.savez)"
            .to_string()));
    }
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(zip_reason(bytes, e)))?;
    let mut arrays = IndexMap::with_capacity(zip.len());
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let name = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        // Never trust the declared size for allocation; read at most one byte past it.
        let declared = entry.size();
        let mut data = Vec::new();
        (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("array `{name}`: {e}")))?;
        if data.len() as u64 != declared {
            return Err(bad(format!(
                "array `{name}` holds {} bytes, the archive says {declared}",
                data.len()
            )));
        }
        let array = decode(path, &name, &data)?;
        if arrays.insert(name.clone(), array).is_some() {
            return Err(bad(format!("array `{name}` is stored twice")));
        }
    }
    Ok(arrays)
}

/// Writes one array as `.npy` (atomically), in `f64` or rounded to `f32`.
pub fn write_npy(path: &Path, array: ArrayViewD<f64>, precision: Precision) -> Result<(), IoError> {
    write_atomic(path, |file| {
        let result = match precision {
            Precision::F64 => array.write_npy(&mut *file),
            Precision::F32 => array.mapv(|x| x as f32).write_npy(&mut *file),
        };
        result.map_err(|e| IoError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })
    })
}

/// Writes arrays to an uncompressed `.npz` (atomically), in `f64` or rounded to `f32`. Names
/// must be non-empty and distinct; NumPy's `np.load` reads the result.
pub fn write_npz(
    path: &Path,
    arrays: &[(&str, ArrayViewD<f64>)],
    precision: Precision,
) -> Result<(), IoError> {
    check_names(path, arrays.iter().map(|(name, _)| *name))?;
    write_atomic(path, |file| {
        let to_io = |e: ndarray_npy::WriteNpzError| IoError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        };
        let mut npz = NpzWriter::new(&mut *file);
        for (name, array) in arrays {
            match precision {
                Precision::F64 => npz.add_array(*name, array),
                Precision::F32 => npz.add_array(*name, &array.mapv(|x| x as f32)),
            }
            .map_err(to_io)?;
        }
        npz.finish().map_err(to_io)?;
        Ok(())
    })
}
