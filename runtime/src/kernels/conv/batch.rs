//! Convolutions over a batch as matrix products, for training: the input's patches laid out as
//! the rows of one matrix (im2col, one row per batch element and output position), times the
//! kernel as a `(taps * kci, kco)` matrix; the backward pass is the two transposed products and
//! the patches' gradients added back (col2im). The taps are [`ConvGeometry`]'s own
//! (`taps_of`), as the per-sample kernels' and [`ConvGeometry::backward`]'s are, so the three
//! cannot disagree about which input meets which kernel value; only the summation order
//! differs (the matrix product's). Transposed convolutions run per sample.

use super::{Conv, ConvGeometry};
use crate::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};

/// No input under this tap (padding).
const OUTSIDE: usize = usize::MAX;

impl ConvGeometry {
    /// Per output position, per kernel tap `(kh, kw)`: the input's spatial index `ih * w + iw`
    /// under it, or [`OUTSIDE`].
    fn tap_table(&self) -> Vec<usize> {
        let taps = self.k_hw[0] * self.k_hw[1];
        let mut t = vec![OUTSIDE; self.out_hw[0] * self.out_hw[1] * taps];
        for oh in 0..self.out_hw[0] {
            for ow in 0..self.out_hw[1] {
                let base = (oh * self.out_hw[1] + ow) * taps;
                self.taps_of(oh, ow, |kh, kw, ih, iw| {
                    t[base + kh * self.k_hw[1] + kw] = ih * self.in_hw[1] + iw;
                });
            }
        }
        t
    }

    /// Offset of input channel `c` at spatial index `sp`.
    fn at(&self, sp: usize, c: usize) -> usize {
        if self.channels_last {
            sp * self.cin + c
        } else {
            c * self.in_hw[0] * self.in_hw[1] + sp
        }
    }

    /// The patches of group `grp` written into `cols` `(rows * positions, taps * cin_g)`,
    /// column `tap * cin_g + ci` (zero under padding); every value is written. An error when
    /// `cols` is not contiguous.
    fn im2col<T: Real>(
        &self,
        table: &[usize],
        x: ArrayView2<'_, T>,
        grp: usize,
        cols: &mut ArrayViewMut2<'_, T>,
    ) -> Result<(), String> {
        let taps = self.k_hw[0] * self.k_hw[1];
        let cin_g = self.cin / self.groups;
        let positions = self.out_hw[0] * self.out_hw[1];
        let width = taps * cin_g;
        let cols = cols.as_slice_mut().ok_or("convolution: the patches are not contiguous")?;
        let mut own = Vec::new();
        for (b, xr) in x.rows().into_iter().enumerate() {
            let xs = match xr.as_slice() {
                Some(xs) => xs,
                None => {
                    own.clear();
                    own.extend(xr.iter().copied());
                    &own[..]
                }
            };
            for pos in 0..positions {
                let row = &mut cols[(b * positions + pos) * width..][..width];
                for (tap, &sp) in table[pos * taps..(pos + 1) * taps].iter().enumerate() {
                    let dst = &mut row[tap * cin_g..(tap + 1) * cin_g];
                    if sp == OUTSIDE {
                        dst.fill(T::zero());
                    } else if self.channels_last {
                        let from = self.at(sp, grp * cin_g);
                        if let [d] = dst {
                            // one channel (an image): no call to copy one value
                            *d = xs[from];
                        } else {
                            dst.copy_from_slice(&xs[from..from + cin_g]);
                        }
                    } else {
                        for (ci, d) in dst.iter_mut().enumerate() {
                            *d = xs[self.at(sp, grp * cin_g + ci)];
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The first `rows * cols` values of `scratch` (grown as needed) as a matrix.
    fn scratch<T: Real>(
        scratch: &mut Vec<T>,
        rows: usize,
        cols: usize,
    ) -> Result<ArrayViewMut2<'_, T>, String> {
        if scratch.len() < rows * cols {
            scratch.resize(rows * cols, T::zero());
        }
        ArrayViewMut2::from_shape((rows, cols), &mut scratch[..rows * cols])
            .map_err(|e| e.to_string())
    }

    /// `dx += col2im(dcols)` for group `grp` (the adjoint of [`ConvGeometry::im2col`]).
    fn col2im<T: Real>(
        &self,
        table: &[usize],
        dcols: &ArrayViewMut2<'_, T>,
        dx: &mut ArrayViewMut2<'_, T>,
        grp: usize,
    ) {
        let taps = self.k_hw[0] * self.k_hw[1];
        let cin_g = self.cin / self.groups;
        let positions = self.out_hw[0] * self.out_hw[1];
        for (b, mut dr) in dx.rows_mut().into_iter().enumerate() {
            for pos in 0..positions {
                let row = dcols.row(b * positions + pos);
                for (tap, &sp) in table[pos * taps..(pos + 1) * taps].iter().enumerate() {
                    if sp == OUTSIDE {
                        continue;
                    }
                    let from = &row.slice(s![tap * cin_g..(tap + 1) * cin_g]);
                    match (self.channels_last, dr.as_slice_mut()) {
                        (true, Some(d)) => {
                            let at = self.at(sp, grp * cin_g);
                            let d = &mut d[at..at + cin_g];
                            d.iter_mut().zip(from).for_each(|(a, &v)| *a += v);
                        }
                        _ => {
                            for (ci, &v) in from.iter().enumerate() {
                                dr[self.at(sp, grp * cin_g + ci)] += v;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Output channel `co` of position `pos`'s offset in an output row.
    fn out_at(&self, pos: usize, co: usize) -> usize {
        if self.channels_last {
            pos * self.cout + co
        } else {
            co * self.out_hw[0] * self.out_hw[1] + pos
        }
    }
}

impl<T: Real> Conv<T> {
    /// `y += conv(x)` for every row of `x` (one batch element per row), `y` `(rows,
    /// output_len)`; `scratch` holds the patches (grown as needed, kept from one call to the
    /// next so that nothing is allocated again). An error when a shape is not the geometry's.
    pub fn forward_batch(
        &self,
        x: ArrayView2<'_, T>,
        mut y: ArrayViewMut2<'_, T>,
        scratch: &mut Vec<T>,
    ) -> Result<(), String> {
        let g = &self.g;
        if x.ncols() != g.input_len() || y.ncols() != g.output_len() || x.nrows() != y.nrows() {
            return Err("convolution: batch shapes do not match the geometry".to_string());
        }
        if g.transpose {
            let mut acc = vec![T::zero(); self.scratch_len()];
            for (xr, mut yr) in x.rows().into_iter().zip(y.rows_mut()) {
                let xs = xr.to_vec();
                let mut ys = yr.to_vec();
                self.apply(&xs, &mut ys, &mut acc, false)?;
                yr.iter_mut().zip(ys).for_each(|(d, v)| *d = v);
            }
            return Ok(());
        }
        let table = g.tap_table();
        let kmat = self.kernel_matrix()?;
        let (rows, positions) = (x.nrows(), g.out_hw[0] * g.out_hw[1]);
        let cout_g = g.cout / g.groups;
        let width = g.k_hw[0] * g.k_hw[1] * (g.cin / g.groups);
        for grp in 0..g.groups {
            let mut cols = ConvGeometry::scratch(scratch, rows * positions, width)?;
            g.im2col(&table, x, grp, &mut cols)?;
            let kg = kmat.slice(s![.., grp * cout_g..(grp + 1) * cout_g]);
            // Channels last: the output rows are (position, channel) matrices already.
            if g.channels_last {
                if let Some(ys) = y.as_slice_mut() {
                    let mut ym = ArrayViewMut2::from_shape((rows * positions, g.cout), ys)
                        .map_err(|e| e.to_string())?;
                    let mut yg = ym.slice_mut(s![.., grp * cout_g..(grp + 1) * cout_g]);
                    general_mat_mul(T::one(), &cols, &kg, T::one(), &mut yg);
                    continue;
                }
            }
            let out = cols.dot(&kg);
            for (b, mut yr) in y.rows_mut().into_iter().enumerate() {
                for pos in 0..positions {
                    let o = out.row(b * positions + pos);
                    for k in 0..cout_g {
                        yr[g.out_at(pos, grp * cout_g + k)] += o[k];
                    }
                }
            }
        }
        Ok(())
    }

    /// Given `dy = ∂L/∂y` `(rows, output_len)` for `y += conv(x)`: `dx += ∂L/∂x` (when given)
    /// and `dk += ∂L/∂kernel` (when given; flattened `kernel_size + (kci, kco)` in C order),
    /// summed over the rows; `scratch` as [`Conv::forward_batch`]'s. An error when a shape is
    /// not the geometry's.
    pub fn backward_batch(
        &self,
        x: ArrayView2<'_, T>,
        dy: ArrayView2<'_, T>,
        mut dx: Option<ArrayViewMut2<'_, T>>,
        dk: Option<&mut [T]>,
        scratch: &mut Vec<T>,
    ) -> Result<(), String> {
        let g = &self.g;
        let rows = dy.nrows();
        if dy.ncols() != g.output_len()
            || (dk.is_some() && (x.ncols() != g.input_len() || x.nrows() != rows))
            || dx.as_ref().is_some_and(|d| d.ncols() != g.input_len() || d.nrows() != rows)
            || dk.as_ref().is_some_and(|d| d.len() != self.kernel.len())
        {
            return Err("convolution gradient: batch shapes do not match the geometry".to_string());
        }
        if g.transpose {
            // per sample, through the geometry's f64 kernel
            let widen = |v: ndarray::ArrayView1<'_, T>| -> Vec<f64> {
                v.iter().map(|x| x.widen()).collect()
            };
            let kernel: Vec<f64> = self.kernel.iter().map(|v| v.widen()).collect();
            let mut dk64 = vec![0.0; if dk.is_some() { kernel.len() } else { 0 }];
            for b in 0..rows {
                let xs = if dk.is_some() { widen(x.row(b)) } else { vec![0.0; g.input_len()] };
                let mut dxs = if dx.is_some() { vec![0.0; g.input_len()] } else { Vec::new() };
                g.backward(&kernel, &xs, &widen(dy.row(b)), &mut dxs, &mut dk64)?;
                if let Some(d) = dx.as_mut() {
                    d.row_mut(b).iter_mut().zip(dxs).for_each(|(a, v)| *a += T::cast(v));
                }
            }
            if let Some(d) = dk {
                d.iter_mut().zip(dk64).for_each(|(a, v)| *a += T::cast(v));
            }
            return Ok(());
        }
        let table = g.tap_table();
        let kmat = self.kernel_matrix()?;
        let positions = g.out_hw[0] * g.out_hw[1];
        let cout_g = g.cout / g.groups;
        let mut dk = match dk {
            Some(d) => Some(
                ArrayViewMut2::from_shape((kmat.nrows(), g.kco), d).map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        // dY as (rows * positions, cout): the rows themselves when channels last.
        let owned;
        let dym: ArrayView2<'_, T> = match (g.channels_last, dy.as_slice()) {
            (true, Some(ds)) => {
                ArrayView2::from_shape((rows * positions, g.cout), ds).map_err(|e| e.to_string())?
            }
            _ => {
                let mut m = Array2::zeros((rows * positions, g.cout));
                for (b, dr) in dy.rows().into_iter().enumerate() {
                    for pos in 0..positions {
                        for co in 0..g.cout {
                            m[(b * positions + pos, co)] = dr[g.out_at(pos, co)];
                        }
                    }
                }
                owned = m;
                owned.view()
            }
        };
        let width = g.k_hw[0] * g.k_hw[1] * (g.cin / g.groups);
        for grp in 0..g.groups {
            let dyg = dym.slice(s![.., grp * cout_g..(grp + 1) * cout_g]);
            // The patches for the kernel's gradient, then (same shape) the patches' gradient.
            let mut cols = ConvGeometry::scratch(scratch, rows * positions, width)?;
            if let Some(dk) = dk.as_mut() {
                g.im2col(&table, x, grp, &mut cols)?;
                let mut dkg = dk.slice_mut(s![.., grp * cout_g..(grp + 1) * cout_g]);
                general_mat_mul(T::one(), &cols.t(), &dyg, T::one(), &mut dkg);
            }
            if let Some(dx) = dx.as_mut() {
                let kg = kmat.slice(s![.., grp * cout_g..(grp + 1) * cout_g]);
                general_mat_mul(T::one(), &dyg, &kg.t(), T::zero(), &mut cols);
                g.col2im(&table, &cols, dx, grp);
            }
        }
        Ok(())
    }

    /// The kernel as a `(taps * kci, kco)` matrix.
    fn kernel_matrix(&self) -> Result<ArrayView2<'_, T>, String> {
        let rows = self.g.k_hw[0] * self.g.k_hw[1] * self.g.kci;
        ArrayView2::from_shape((rows, self.g.kco), &self.kernel).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Conv, ConvGeometry, ConvSpec};
    use ndarray::{Array2, ArrayD, IxDyn};

    fn spec(transpose: bool, groups: usize, channels_last: bool) -> ConvSpec {
        let (cin, cout) = (4, 6);
        let kci = if transpose { cin } else { cin / groups };
        let n = 3 * 2 * kci * cout;
        let kernel = ArrayD::from_shape_vec(
            IxDyn(&[3, 2, kci, cout]),
            (0..n).map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4).collect(),
        )
        .unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0])));
        let (xs, ys) = if transpose { ([3, 3], [7, 5]) } else { ([7, 5], [3, 4]) };
        let full = |s: [usize; 2], c: usize| {
            if channels_last {
                vec![s[0], s[1], c]
            } else {
                vec![c, s[0], s[1]]
            }
        };
        ConvSpec {
            transpose,
            input_shape: full(xs, cin),
            output_shape: full(ys, cout),
            kernel,
            strides: vec![2, 1],
            pad_before: vec![0, 1],
            channels_last,
            groups,
        }
    }

    fn close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
        }
    }

    /// The batched forward and backward equal the per-sample kernels ([`Conv::apply`], and
    /// [`ConvGeometry::backward`], which is checked against finite differences), row by row.
    fn check(spec: &ConvSpec) {
        let conv = Conv::<f64>::new(spec, false).expect("conv");
        let g = ConvGeometry::new(spec).expect("geometry");
        let rows = 3;
        let x = Array2::from_shape_fn((rows, g.input_len()), |(b, i)| {
            (((i + 5 * b) * 31) % 17) as f64 / 17.0 - 0.5
        });
        let dy = Array2::from_shape_fn((rows, g.output_len()), |(b, i)| {
            (((i + 3 * b) * 11) % 5) as f64 - 2.0
        });
        let mut y = Array2::from_elem((rows, g.output_len()), 0.25);
        let mut scratch = Vec::new();
        conv.forward_batch(x.view(), y.view_mut(), &mut scratch).expect("forward");
        let mut dx = Array2::from_elem((rows, g.input_len()), 0.5);
        let mut dk = vec![0.125; conv.kernel.len()];
        conv.backward_batch(x.view(), dy.view(), Some(dx.view_mut()), Some(&mut dk), &mut scratch)
            .expect("bwd");
        let mut dk_ref = vec![0.125; conv.kernel.len()];
        for b in 0..rows {
            let xs = x.row(b).to_vec();
            let mut ys = vec![0.25; g.output_len()];
            let mut acc = vec![0.0; conv.scratch_len()];
            conv.apply(&xs, &mut ys, &mut acc, false).expect("apply");
            close(&y.row(b).to_vec(), &ys, "y");
            let mut dxs = vec![0.0; g.input_len()];
            g.backward(&conv.kernel, &xs, &dy.row(b).to_vec(), &mut dxs, &mut dk_ref)
                .expect("backward");
            let dxs: Vec<f64> = dxs.iter().map(|v| v + 0.5).collect();
            close(&dx.row(b).to_vec(), &dxs, "dx");
        }
        close(&dk, &dk_ref, "dk");
        // Each gradient alone gives the same values.
        let mut dx2 = Array2::from_elem((rows, g.input_len()), 0.5);
        conv.backward_batch(x.view(), dy.view(), Some(dx2.view_mut()), None, &mut scratch)
            .expect("dx alone");
        close(dx2.as_slice().unwrap_or(&[]), dx.as_slice().unwrap_or(&[]), "dx alone");
        let mut dk2 = vec![0.125; conv.kernel.len()];
        conv.backward_batch(x.view(), dy.view(), None, Some(&mut dk2), &mut scratch)
            .expect("dk alone");
        close(&dk2, &dk, "dk alone");
    }

    #[test]
    fn batch_equals_per_sample_kernels() {
        for channels_last in [true, false] {
            check(&spec(false, 1, channels_last));
            check(&spec(false, 2, channels_last));
            check(&spec(true, 1, channels_last));
        }
    }
}
