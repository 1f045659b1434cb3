//! Helpers shared by the snn-keras integration tests: fixture paths, npz loading, comparisons.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;

use ndarray::{ArrayD, IxDyn, OwnedRepr};
use ndarray_npy::NpzReader;

/// `tests/keras` at the workspace root.
pub(crate) fn zoo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/keras")
}

/// Names of all zoo models (sub-directories of `tests/keras` holding a `model.h5`).
pub(crate) fn zoo_models() -> Vec<String> {
    let mut res: Vec<String> = std::fs::read_dir(zoo_dir())
        .expect("tests/keras exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.h5").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    res.sort();
    res
}

/// All f32 arrays of an npz file by name.
pub(crate) fn npz_f32(path: &PathBuf) -> BTreeMap<String, ArrayD<f32>> {
    let mut npz =
        NpzReader::new(File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap();
    let names = npz.names().unwrap();
    let mut out = BTreeMap::new();
    for n in names {
        if let Ok(a) = npz.by_name::<OwnedRepr<f32>, IxDyn>(&n) {
            out.insert(n, a);
        }
    }
    out
}

/// All f64 arrays of an npz file by name.
pub(crate) fn npz_f64(path: &PathBuf) -> BTreeMap<String, ArrayD<f64>> {
    let mut npz = NpzReader::new(File::open(path).unwrap()).unwrap();
    let names = npz.names().unwrap();
    let mut out = BTreeMap::new();
    for n in names {
        if let Ok(a) = npz.by_name::<OwnedRepr<f64>, IxDyn>(&n) {
            out.insert(n, a);
        }
    }
    out
}

/// max |a - b| / max |b| (0 when both are all zero); `None` if shapes differ.
pub(crate) fn rel_err<T: Into<f64> + Copy>(a: &ArrayD<T>, b: &ArrayD<T>) -> Option<f64> {
    if a.shape() != b.shape() {
        return None;
    }
    let mut num: f64 = 0.0;
    let mut den: f64 = 0.0;
    for (&x, &y) in a.iter().zip(b.iter()) {
        let (x, y): (f64, f64) = (x.into(), y.into());
        num = num.max((x - y).abs());
        den = den.max(y.abs());
    }
    Some(if den == 0.0 { num } else { num / den })
}
