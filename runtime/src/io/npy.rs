//! NumPy `.npy` and `.npz` reading (any float, integer or bool dtype → `f64`) and writing.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use indexmap::IndexMap;
use ndarray::{ArrayD, ArrayViewD, IxDyn, OwnedRepr};
use ndarray_npy::{
    NpzReader, NpzWriter, ReadNpyError, ReadNpyExt, ReadNpzError, ReadableElement, WriteNpyExt,
};

use super::{check_names, read_bytes, write_atomic, IoError, Precision};

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

/// How one attempt to read an array with a given element type ended.
enum Attempt {
    /// The file stores another dtype (its descriptor, as NumPy spells it).
    WrongType(String),
    /// Anything else: the array is broken.
    Failed(String),
}

fn classify(err: ReadNpyError) -> Attempt {
    match err {
        ReadNpyError::WrongDescriptor(desc) => Attempt::WrongType(desc.to_string()),
        other => Attempt::Failed(other.to_string()),
    }
}

fn npy_as<T: ToF64, R: Read>(reader: R) -> Result<ArrayD<f64>, Attempt> {
    ArrayD::<T>::read_npy(reader).map(|a| a.mapv(T::to_f64)).map_err(classify)
}

/// Number of element types tried.
const N_TYPES: usize = 11;

type NpyRead<'a> = fn(Cursor<&'a [u8]>) -> Result<ArrayD<f64>, Attempt>;

/// Every element type tried, in order.
fn npy_readers<'a>() -> [NpyRead<'a>; N_TYPES] {
    [
        npy_as::<f64, _>,
        npy_as::<f32, _>,
        npy_as::<i64, _>,
        npy_as::<i32, _>,
        npy_as::<i16, _>,
        npy_as::<i8, _>,
        npy_as::<u64, _>,
        npy_as::<u32, _>,
        npy_as::<u16, _>,
        npy_as::<u8, _>,
        npy_as::<bool, _>,
    ]
}

/// Tries each element type until one matches the file's dtype.
fn read_any(
    path: &Path,
    name: &str,
    mut attempt: impl FnMut(usize) -> Result<ArrayD<f64>, Attempt>,
) -> Result<ArrayD<f64>, IoError> {
    let mut dtype = String::from("(unknown)");
    for i in 0..N_TYPES {
        match attempt(i) {
            Ok(array) => return Ok(array),
            Err(Attempt::WrongType(desc)) => dtype = desc,
            Err(Attempt::Failed(reason)) => {
                return Err(IoError::BadArray {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    reason,
                })
            }
        }
    }
    Err(IoError::UnknownDtype { path: path.to_path_buf(), name: name.to_string(), dtype })
}

/// Reads a `.npy` file as `f64`.
pub fn read_npy(path: &Path) -> Result<ArrayD<f64>, IoError> {
    let bytes = read_bytes(path)?;
    read_npy_bytes(path, &bytes)
}

/// Reads `.npy` content already in memory (`path` only names it in errors).
pub fn read_npy_bytes(path: &Path, bytes: &[u8]) -> Result<ArrayD<f64>, IoError> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(IoError::BadFormat {
            path: path.to_path_buf(),
            format: ".npy",
            reason: "missing the \\x93NUMPY magic string".to_string(),
        });
    }
    let name = npy_name(path);
    let readers = npy_readers();
    read_any(path, &name, |i| readers[i](Cursor::new(bytes)))
}

/// The array name a lone `.npy` file gets: its file stem.
pub(crate) fn npy_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn npz_as<T: ToF64, R: Read + Seek>(
    npz: &mut NpzReader<R>,
    name: &str,
) -> Result<ArrayD<f64>, Attempt> {
    match npz.by_name::<OwnedRepr<T>, IxDyn>(name) {
        Ok(a) => Ok(a.mapv(T::to_f64)),
        Err(ReadNpzError::Npy(err)) => Err(classify(err)),
        Err(err) => Err(Attempt::Failed(err.to_string())),
    }
}

type NpzRead<'a> = fn(&mut NpzReader<Cursor<&'a [u8]>>, &str) -> Result<ArrayD<f64>, Attempt>;

fn npz_readers<'a>() -> [NpzRead<'a>; N_TYPES] {
    [
        npz_as::<f64, _>,
        npz_as::<f32, _>,
        npz_as::<i64, _>,
        npz_as::<i32, _>,
        npz_as::<i16, _>,
        npz_as::<i8, _>,
        npz_as::<u64, _>,
        npz_as::<u32, _>,
        npz_as::<u16, _>,
        npz_as::<u8, _>,
        npz_as::<bool, _>,
    ]
}

/// Reads every array of a `.npz` file as `f64`, in the order stored.
pub fn read_npz(path: &Path) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bytes = read_bytes(path)?;
    read_npz_bytes(path, &bytes)
}

/// Reads `.npz` content already in memory (`path` only names it in errors).
pub fn read_npz_bytes(path: &Path, bytes: &[u8]) -> Result<IndexMap<String, ArrayD<f64>>, IoError> {
    let bad =
        |reason: String| IoError::BadFormat { path: path.to_path_buf(), format: ".npz", reason };
    let mut npz = NpzReader::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    let names = npz.names().map_err(|e| bad(e.to_string()))?;
    let readers = npz_readers();
    let mut arrays = IndexMap::with_capacity(names.len());
    for name in names {
        let array = read_any(path, &name, |i| readers[i](&mut npz, &name))?;
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
