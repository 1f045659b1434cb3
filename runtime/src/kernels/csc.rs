//! Sparse matrices by columns, for spike-driven products.

use crate::real::Real;

/// A sparse matrix by columns (entries of a column in the order given), for spike-driven
/// products: the columns of the nonzero source elements are added in increasing order.
#[derive(Clone, Debug)]
pub struct Csc<T> {
    /// Column `j`'s entries are `ptr[j]..ptr[j + 1]`.
    pub ptr: Vec<usize>,
    /// Row of each entry.
    pub rows: Vec<usize>,
    /// Value of each entry.
    pub vals: Vec<T>,
}

impl<T: Real> Csc<T> {
    /// The triplets `(rows, cols, vals)` by columns (entries in columns `>= ncols` dropped).
    pub fn new(rows: &[usize], cols: &[usize], vals: &[f64], ncols: usize) -> Self {
        let mut ptr = vec![0usize; ncols + 1];
        for &c in cols {
            if c < ncols {
                ptr[c + 1] += 1;
            }
        }
        for j in 0..ncols {
            ptr[j + 1] += ptr[j];
        }
        let mut next = ptr.clone();
        let mut r = vec![0usize; ptr[ncols]];
        let mut v = vec![T::zero(); ptr[ncols]];
        for ((&row, &c), &x) in rows.iter().zip(cols).zip(vals) {
            if c < ncols {
                r[next[c]] = row;
                v[next[c]] = T::cast(x);
                next[c] += 1;
            }
        }
        Self { ptr, rows: r, vals: v }
    }
}
