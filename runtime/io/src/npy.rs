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

use super::{check_names, read_file, write_atomic, IoError, Precision, MAX_STREAM_BYTES};

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
    /// The length of the header, magic string to padding: where the data starts.
    len: usize,
}

/// The bytes before a `.npy` header's text (magic, version, length).
const PREFIX_LEN: usize = 12;

/// Where a `.npy` header's text starts and how long it is, from the first bytes of the file.
fn header_text_at(bytes: &[u8]) -> Result<(usize, usize), String> {
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
    Ok((text_start, header_len))
}

/// Parses and sanity-checks a `.npy` header; `Err` carries the reason.
fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    let (text_start, header_len) = header_text_at(bytes)?;
    let end = text_start.checked_add(header_len).ok_or("truncated header")?;
    let text = bytes.get(text_start..end).ok_or("truncated header")?;
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
    Ok(Header { descr, n_elements, len: end })
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
    let data_len = bytes.len().saturating_sub(header.len);
    if needed > data_len {
        return Err(bad(format!(
            "header declares {} elements ({needed} bytes) but only {data_len} bytes of data follow",
            header.n_elements
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
    let bytes = read_file(path)?;
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
    let bytes = read_file(path)?;
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
    // bytes inflated so far from compressed entries
    let mut inflated = 0u64;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let name = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        // A compressed entry may inflate to far more than the archive: no further than its
        // .npy header declares, and all of them together no further than MAX_STREAM_BYTES.
        let compressed = entry.compression() != zip::CompressionMethod::Stored;
        let budget = if compressed { MAX_STREAM_BYTES.saturating_sub(inflated) } else { u64::MAX };
        let declared = entry.size();
        let (data, whole) = read_entry(&mut entry, declared, budget).map_err(|e| match e {
            EntryError::Io(e) => bad(format!("array `{name}`: {e}")),
            EntryError::Array(reason) => {
                IoError::BadArray { path: path.to_path_buf(), name: name.clone(), reason }
            }
        })?;
        if compressed {
            inflated += data.len() as u64;
        }
        // the whole entry was read (it ended where the header says or before): its length
        // is the one the archive gives
        if whole && data.len() as u64 != declared {
            return Err(bad(format!(
                "array `{name}` holds {} bytes, the archive says {declared}",
                data.len()
            )));
        }
        let array = decode(path, &name, &data)?;
        if !whole {
            // (read_entry stops early only at a header that decode refuses)
            return Err(bad(format!("array `{name}` cannot be read")));
        }
        if arrays.insert(name.clone(), array).is_some() {
            return Err(bad(format!("array `{name}` is stored twice")));
        }
    }
    Ok(arrays)
}

/// The longest `.npy` header read from an `.npz` entry (NumPy's own limit is 10 000 bytes).
const MAX_HEADER_LEN: usize = 1 << 20;

/// Why an `.npz` entry could not be read.
#[derive(Debug)]
enum EntryError {
    /// The archive: a damaged stream or a bad checksum.
    Io(std::io::Error),
    /// The array: more bytes than its header declares, or more than may be inflated.
    Array(String),
}

/// The bytes of one `.npz` entry, read no further than its `.npy` header declares (plus one
/// byte, to reach the end of the stream, where the zip crate checks its CRC); a header that
/// declares more than the archive's `declared` length or than `budget` is an error before any
/// data is read. The flag: whether that is the whole entry. An entry whose header is not one
/// [`decode`] takes is returned as read so far (`false`): decode says why.
fn read_entry(
    entry: &mut impl Read,
    declared: u64,
    budget: u64,
) -> Result<(Vec<u8>, bool), EntryError> {
    let mut data = Vec::new();
    let mut read_to = |data: &mut Vec<u8>, len: usize| {
        let more = len.saturating_sub(data.len()) as u64;
        (&mut *entry).take(more).read_to_end(data).map(|_| ()).map_err(EntryError::Io)
    };
    read_to(&mut data, PREFIX_LEN)?;
    let Ok((text_start, header_len)) = header_text_at(&data) else { return Ok((data, false)) };
    if header_len > MAX_HEADER_LEN {
        return Err(EntryError::Array(format!(
            "its .npy header says it is {header_len} bytes long (at most {MAX_HEADER_LEN} are read)"
        )));
    }
    read_to(&mut data, text_start + header_len)?;
    let Ok(header) = parse_header(&data) else { return Ok((data, false)) };
    let Some(size) = item_size(&header.descr) else { return Ok((data, false)) };
    let Some(needed) = header.n_elements.checked_mul(size).and_then(|n| n.checked_add(header.len))
    else {
        return Ok((data, false));
    };
    if needed as u64 > declared {
        return Err(EntryError::Array(format!(
            "header declares {} elements ({} bytes) but the archive holds only {} bytes of data \
             for it",
            header.n_elements,
            needed - header.len,
            declared.saturating_sub(header.len as u64)
        )));
    }
    if needed as u64 > budget {
        return Err(EntryError::Array(format!(
            "its header declares {} elements of {} ({} bytes), more than the {} GiB the \
             compressed arrays of an .npz may inflate to (a zip bomb?)",
            header.n_elements,
            header.descr,
            needed - header.len,
            MAX_STREAM_BYTES >> 30
        )));
    }
    read_to(&mut data, needed.saturating_add(1))?;
    if data.len() > needed {
        return Err(EntryError::Array(format!(
            "the entry holds more than the {} bytes its header declares ({} elements of {})",
            needed - header.len,
            header.n_elements,
            header.descr
        )));
    }
    Ok((data, true))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;

    fn header(shape: &str) -> Vec<u8> {
        let text = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.bytes());
        bytes
    }

    fn why(r: Result<(Vec<u8>, bool), EntryError>) -> String {
        match r {
            Err(EntryError::Array(why)) => why,
            Err(EntryError::Io(e)) => format!("io: {e}"),
            Ok((data, whole)) => format!("read {} bytes, whole: {whole}", data.len()),
        }
    }

    /// An endless entry (a stream of zeros after the header) is read one byte past what the
    /// header declares; the inflation budget is checked before any data is read.
    #[test]
    fn entries_are_read_no_further_than_declared() {
        let endless = |shape: &str| std::io::Cursor::new(header(shape)).chain(std::io::repeat(0));
        let e = why(read_entry(&mut endless("(4,)"), u64::MAX, u64::MAX));
        assert!(e.contains("more than the 32 bytes its header declares"), "{e}");
        let e = why(read_entry(&mut endless("(1000,)"), u64::MAX, 4000));
        assert!(e.contains("1000 elements of <f8 (8000 bytes), more than the 4 GiB"), "{e}");
        let mut exact = std::io::Cursor::new(header("(4,)")).chain(std::io::Cursor::new([0u8; 32]));
        let (data, whole) = read_entry(&mut exact, u64::MAX, u64::MAX).unwrap();
        assert!(whole && decode(Path::new("a.npz"), "a", &data).is_ok());
        // not a .npy: what was read, for decode to refuse
        let (data, whole) = read_entry(&mut std::io::repeat(b'x'), u64::MAX, 0).unwrap();
        assert!(!whole && data.len() == PREFIX_LEN);
    }
}
