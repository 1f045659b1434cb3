//! Shared helpers for the runtime tests: fixture loading (through our own `io` module) and
//! tolerance checks that report the worst element.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ndarray::{Array2, ArrayD, ArrayView2, Ix2};
use snn_io::read_npz;

/// The folder holding the fixtures written by `tools/gen_runtime_fixtures.py`.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// All arrays of one fixture file.
pub struct Fixture {
    pub name: String,
    pub arrays: IndexMap<String, ArrayD<f64>>,
}

impl Fixture {
    pub fn load(file: &str) -> Self {
        let path = fixture_dir().join(file);
        let arrays = read_npz(&path).unwrap_or_else(|e| panic!("cannot load fixture: {e}"));
        Self { name: file.to_string(), arrays }
    }

    pub fn has(&self, key: &str) -> bool {
        self.arrays.contains_key(key)
    }

    pub fn get(&self, key: &str) -> &ArrayD<f64> {
        self.arrays.get(key).unwrap_or_else(|| panic!("{}: no array `{key}`", self.name))
    }

    pub fn arr2(&self, key: &str) -> Array2<f64> {
        self.get(key).clone().into_dimensionality::<Ix2>().unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    pub fn vec(&self, key: &str) -> Vec<f64> {
        self.get(key).iter().copied().collect()
    }

    pub fn scalar(&self, key: &str) -> f64 {
        let a = self.get(key);
        assert_eq!(a.len(), 1, "{key} is not a scalar");
        a.iter().copied().next().unwrap_or(f64::NAN)
    }

    /// Distinct case names: the part of each key before the first `.`.
    pub fn cases(&self) -> Vec<String> {
        let mut cases: Vec<String> = Vec::new();
        for key in self.arrays.keys() {
            let case = key.split('.').next().unwrap_or("").to_string();
            if !cases.contains(&case) {
                cases.push(case);
            }
        }
        cases
    }
}

/// Largest `|a - e| / (|e| + atol/rtol)` style error; panics with the worst element if any
/// element has `|a - e| > rtol |e| + atol`. Returns the largest relative error seen.
pub fn assert_close(
    what: &str,
    actual: ArrayView2<f64>,
    expected: ArrayView2<f64>,
    rtol: f64,
    atol: f64,
) -> f64 {
    assert_eq!(actual.dim(), expected.dim(), "{what}: shape");
    let mut worst = 0.0f64;
    for ((idx, &a), &e) in actual.indexed_iter().zip(expected.iter()) {
        let both_nan = a.is_nan() && e.is_nan();
        let err = (a - e).abs();
        if !both_nan && (err.is_nan() || err > rtol * e.abs() + atol) {
            panic!("{what}: element {idx:?}: got {a:e}, expected {e:e} (|diff| = {err:e})");
        }
        if e != 0.0 && !both_nan {
            worst = worst.max(err / e.abs());
        }
    }
    worst
}

/// Same as [`assert_close`] for vectors.
pub fn assert_close_vec(what: &str, actual: &[f64], expected: &[f64], rtol: f64, atol: f64) -> f64 {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let a = ArrayView2::from_shape((1, actual.len()), actual).unwrap_or_else(|e| panic!("{e}"));
    let e = ArrayView2::from_shape((1, expected.len()), expected).unwrap_or_else(|e| panic!("{e}"));
    assert_close(what, a, e, rtol, atol)
}
