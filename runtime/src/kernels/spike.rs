//! Spike-driven products `y += M x` for a spiking `x`: only the columns of the nonzero elements of
//! `x` are added, in increasing column order, each column's entries in its order
//! (`y[i] += M[i, j] * x_j`). Every backend runs this for products marked `events` in the IR.

use crate::kernels::simd;
use crate::kernels::Csc;
use crate::real::Real;
use ndarray::ArrayView2;

/// The matrix of a spike-driven product, by columns.
#[derive(Clone, Debug)]
pub enum Columns<T> {
    /// Dense, column-major: column `j` is `cols[j * m..(j + 1) * m]`.
    Dense {
        /// The values, column after column.
        cols: Vec<T>,
        /// Rows.
        m: usize,
    },
    /// Sparse, by columns.
    Sparse {
        /// The entries.
        csc: Csc<T>,
        /// Rows.
        m: usize,
    },
}

impl<T: Real> Columns<T> {
    /// A dense matrix, cast to `T`.
    pub fn dense(mat: ArrayView2<'_, f64>) -> Self {
        Columns::Dense { cols: mat.t().iter().map(|&v| T::cast(v)).collect(), m: mat.nrows() }
    }

    /// The `m x n` sparse matrix of the triplets `(rows, cols, vals)`, entries of a column in
    /// the order given; an error when the arrays differ in length or an index is out of range.
    pub fn sparse(
        rows: &[usize],
        cols: &[usize],
        vals: &[f64],
        m: usize,
        n: usize,
    ) -> Result<Self, String> {
        if rows.len() != cols.len() || rows.len() != vals.len() {
            return Err("sparse matrix arrays differ in length".into());
        }
        if rows.iter().any(|&r| r >= m) || cols.iter().any(|&c| c >= n) {
            return Err("sparse matrix index out of range".into());
        }
        Ok(Columns::Sparse { csc: Csc::new(rows, cols, vals, n), m })
    }

    /// Rows of the matrix (the length of `y`).
    pub fn rows(&self) -> usize {
        match self {
            Columns::Dense { m, .. } | Columns::Sparse { m, .. } => *m,
        }
    }

    /// `y += M x` for the nonzero elements `nz` of `x` (`(j, x_j)` in increasing `j`, from
    /// [`nonzero`]): column `j` times `x_j` added into `y`, column after column.
    pub fn add(&self, nz: &[(usize, T)], y: &mut [T]) {
        match self {
            Columns::Dense { cols, m } => {
                for &(j, xj) in nz {
                    let col = &cols[j * m..(j + 1) * m];
                    y.iter_mut().zip(col).for_each(|(v, &a)| *v += a * xj);
                }
            }
            Columns::Sparse { csc, .. } => {
                for &(j, xj) in nz {
                    for e in csc.ptr[j]..csc.ptr[j + 1] {
                        y[csc.rows[e]] += csc.vals[e] * xj;
                    }
                }
            }
        }
    }

    /// `y += M x` by the nonzero elements of `x` (`nz`: scratch).
    pub fn product(&self, x: &[T], nz: &mut Vec<(usize, T)>, y: &mut [T]) {
        nonzero(x, nz);
        self.add(nz, y);
    }
}

/// Values tested at once by [`nonzero`].
const BLOCK: usize = 32;

/// The nonzero elements of `x`, `(index, value)` in increasing index order, into `out`; in the
/// widest vectors the CPU has: spikes are rare, so nearly every block of 32 values is skipped
/// after one vector test.
pub fn nonzero<T: Real>(x: &[T], out: &mut Vec<(usize, T)>) {
    out.clear();
    simd::widest(Nonzero { x, out });
}

/// [`nonzero`] as a [`simd::Wide`] kernel.
struct Nonzero<'a, T> {
    x: &'a [T],
    out: &'a mut Vec<(usize, T)>,
}

impl<T: Real> simd::Wide for Nonzero<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        nonzero_plain(self.x, self.out);
    }
}

#[inline(always)]
fn nonzero_plain<T: Real>(x: &[T], out: &mut Vec<(usize, T)>) {
    let mut base = 0;
    for chunk in x.chunks(BLOCK) {
        // The OR of the values' bits without sign: zero when every value is 0 (branch-free, so
        // the compiler vectorises it).
        if chunk.iter().fold(0u64, |any, &v| any | v.magnitude_bits()) != 0 {
            for (i, &v) in chunk.iter().enumerate() {
                if v != T::zero() {
                    out.push((base + i, v));
                }
            }
        }
        base += chunk.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn dense_and_sparse_add_the_spiking_columns() {
        let mat = Array2::from_shape_fn((3, 40), |(r, c)| (r * 40 + c) as f64);
        let mut x = vec![0.0; 40];
        x[2] = 1.0;
        x[35] = -0.5;
        let mut nz = Vec::new();
        let mut y = vec![1.0; 3];
        Columns::<f64>::dense(mat.view()).product(&x, &mut nz, &mut y);
        assert_eq!(nz, vec![(2, 1.0), (35, -0.5)]);
        assert_eq!(y, vec![1.0 + 2.0 - 17.5, 1.0 + 42.0 - 37.5, 1.0 + 82.0 - 57.5]);
        let s = Columns::<f64>::sparse(&[1, 0], &[35, 2], &[4.0, 3.0], 3, 40).expect("valid");
        let mut y = vec![0.0; 3];
        s.product(&x, &mut nz, &mut y);
        assert_eq!(y, vec![3.0, -2.0, 0.0]);
        assert!(Columns::<f64>::sparse(&[3], &[0], &[1.0], 3, 40).is_err());
    }
}
