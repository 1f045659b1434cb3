//! Host kernels of IR ops as [`KernelSpec`]s: selections resolved to places in the state block,
//! matrices checked against them (a mismatch is an invalid program, reported at compile time).

use super::JitError;
use ndarray::Array2;
use snn_compiler::ir::Sel;
use snn_exec::kernels::events::{Place, SpikeMatrix};
use snn_exec::KernelSpec;

/// Products of at least this many terms use the runtime's dense kernel (smaller ones stay
/// generated: a host call costs more than it saves).
pub(super) const MIN_TERMS: usize = 4096;

/// The selection `sel` of a signal at `(offset, length)`, and its length.
pub(super) fn place(sig: (usize, usize), sel: &Sel) -> Result<(Place, usize), JitError> {
    Place::new(sig, sel.as_deref()).map_err(JitError::Invalid)
}

/// `dst[dst_sel] += mat[..m] @ src[src_sel]` by the runtime's dense rows.
pub(super) fn dense_rows(
    mat: &Array2<f64>,
    m: usize,
    src: (usize, usize),
    dst: (usize, usize),
    src_sel: &Sel,
    dst_sel: &Sel,
) -> Result<KernelSpec, JitError> {
    let k = mat.ncols();
    let (src, ns) = place(src, src_sel)?;
    let (dst, nd) = place(dst, dst_sel)?;
    if ns != k || nd < m || mat.nrows() < m {
        return Err(JitError::Invalid(format!(
            "matrix [{}, {k}] applied to {ns} values into {nd}",
            mat.nrows()
        )));
    }
    let mat = mat.rows().into_iter().take(m).flat_map(|r| r.into_iter().copied()).collect();
    Ok(KernelSpec::Dense { mat, m, k, src, dst })
}

/// A spike-driven dense product (`Op::events`).
pub(super) fn spikes_dense(
    mat: &Array2<f64>,
    src: (usize, usize),
    dst: (usize, usize),
    src_sel: &Sel,
    dst_sel: &Sel,
) -> Result<KernelSpec, JitError> {
    let (m, k) = mat.dim();
    let (src, ns) = place(src, src_sel)?;
    let (dst, nd) = place(dst, dst_sel)?;
    if ns != k || nd != m {
        return Err(JitError::Invalid(format!(
            "matrix [{m}, {k}] applied to {ns} values into {nd}"
        )));
    }
    let data = mat.iter().copied().collect();
    let matrix = SpikeMatrix::Dense { rows: m, cols: k, data };
    Ok(KernelSpec::Spikes { matrix, src, ns, dst, nd, direct: dst_sel.is_none() })
}

/// A spike-driven sparse product.
#[allow(clippy::too_many_arguments)]
pub(super) fn spikes_sparse(
    rows: &[usize],
    cols: &[usize],
    vals: &[f64],
    src: (usize, usize),
    dst: (usize, usize),
    src_sel: &Sel,
    dst_sel: &Sel,
) -> Result<KernelSpec, JitError> {
    let (src, ns) = place(src, src_sel)?;
    let (dst, nd) = place(dst, dst_sel)?;
    let matrix = SpikeMatrix::Sparse {
        rows: rows.to_vec(),
        cols: cols.to_vec(),
        vals: vals.to_vec(),
        nd,
        ns,
    };
    Ok(KernelSpec::Spikes { matrix, src, ns, dst, nd, direct: dst_sel.is_none() })
}
