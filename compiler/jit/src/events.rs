//! Spike-driven host kernels for products marked [`snn_compiler::ir::Op::events`]: only the columns of
//! the source's nonzero elements are added, in increasing column order, straight into a whole
//! destination (through a zeroed scratch vector then added for a selection) — exactly what the
//! interpreter does for the same op, so results are bit-identical.

use super::emit::bug;
use super::float::JitFloat;
use super::host::{HostKernel, KernelState};
use super::JitError;
use ndarray::Array2;
use snn_compiler::ir::Sel;
use snn_runtime::kernels::Csc;

/// Where the `n` selected elements of a signal are in the state block.
#[derive(Clone)]
pub(super) enum Place {
    Range(usize),
    Table(Vec<usize>),
}

impl Place {
    /// The selection `sel` of a signal at (offset, length); its length.
    pub(super) fn new(sig: (usize, usize), sel: &Sel) -> Result<(Place, usize), JitError> {
        let (off, len) = sig;
        match sel {
            None => Ok((Place::Range(off), len)),
            Some(ix) => {
                if ix.iter().any(|&i| i >= len) {
                    return Err(JitError::Invalid("selection outside its signal".into()));
                }
                if ix.windows(2).all(|w| w[1] == w[0] + 1) {
                    return Ok((Place::Range(off + ix.first().copied().unwrap_or(0)), ix.len()));
                }
                Ok((Place::Table(ix.iter().map(|&i| off + i).collect()), ix.len()))
            }
        }
    }

    /// One past the last element of the block it touches.
    pub(super) fn max_end(&self, n: usize) -> usize {
        match self {
            Place::Range(o) => o + n,
            Place::Table(t) => t.iter().max().map_or(0, |m| m + 1),
        }
    }
}

/// The nonzero selected source elements, `(index, value)` in increasing index order.
fn nonzero<T: JitFloat>(mem: &[T], src: &Place, n: usize, out: &mut Vec<(usize, T)>) {
    out.clear();
    match src {
        Place::Range(o) => nonzero_run(&mem[*o..*o + n], out),
        Place::Table(t) => {
            out.extend(
                t.iter()
                    .enumerate()
                    .filter(|(_, &o)| mem[o] != T::zero())
                    .map(|(i, &o)| (i, mem[o])),
            );
        }
    }
}

/// [`nonzero`] of a contiguous run, in the widest vectors the CPU has: spikes are rare, so
/// nearly every block of [`BLOCK`] values is skipped after one vector test.
fn nonzero_run<T: JitFloat>(x: &[T], out: &mut Vec<(usize, T)>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { nonzero_avx512(x, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { nonzero_avx2(x, out) };
        }
    }
    nonzero_plain(x, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn nonzero_avx512<T: JitFloat>(x: &[T], out: &mut Vec<(usize, T)>) {
    nonzero_plain(x, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nonzero_avx2<T: JitFloat>(x: &[T], out: &mut Vec<(usize, T)>) {
    nonzero_plain(x, out);
}

/// Values tested at once by [`nonzero_plain`].
const BLOCK: usize = 32;

#[inline(always)]
fn nonzero_plain<T: JitFloat>(x: &[T], out: &mut Vec<(usize, T)>) {
    let mut base = 0;
    for chunk in x.chunks(BLOCK) {
        // The OR of the values' bits without sign: zero when every value is 0 (branch-free, so
        // the compiler vectorises it).
        if chunk.iter().fold(0u64, |any, &v| any | T::magnitude_bits(v)) != 0 {
            for (i, &v) in chunk.iter().enumerate() {
                if v != T::zero() {
                    out.push((base + i, v));
                }
            }
        }
        base += chunk.len();
    }
}

/// Copies the selected elements into `x`.
pub(super) fn gather<T: JitFloat>(mem: &[T], src: &Place, x: &mut [T]) {
    match src {
        Place::Range(o) => x.copy_from_slice(&mem[*o..*o + x.len()]),
        Place::Table(t) => x.iter_mut().zip(t).for_each(|(v, &o)| *v = mem[o]),
    }
}

/// Adds `y` into the destination.
pub(super) fn add_into<T: JitFloat>(mem: &mut [T], dst: &Place, y: &[T]) {
    match dst {
        Place::Range(o) => mem[*o..*o + y.len()].iter_mut().zip(y).for_each(|(d, &v)| *d += v),
        Place::Table(t) => t.iter().zip(y).for_each(|(&o, &v)| mem[o] += v),
    }
}

/// Scratch of one batch element: nonzero source elements and the sum.
type Scratch<T> = (Vec<(usize, T)>, Vec<T>);

/// One step of a spike-driven product into `n` values at `dst`: `add(y, j, x_j)` for each
/// nonzero source element in order, `y` being the destination itself when `direct` (whole),
/// else a zeroed sum then added to it.
#[allow(clippy::too_many_arguments)]
fn spike_step<T: JitFloat>(
    state: &mut KernelState,
    mem: &mut [T],
    src: &Place,
    ns: usize,
    dst: &Place,
    n: usize,
    direct: bool,
    add: impl Fn(&mut [T], usize, T),
) -> Result<(), String> {
    let (nz, y) =
        state.downcast_mut::<Scratch<T>>().ok_or_else(|| "events: wrong state".to_string())?;
    nonzero(mem, src, ns, nz);
    match (dst, direct) {
        (Place::Range(o), true) => {
            let y = &mut mem[*o..*o + n];
            nz.iter().for_each(|&(j, xj)| add(y, j, xj));
        }
        _ => {
            y.iter_mut().for_each(|v| *v = T::zero());
            nz.iter().for_each(|&(j, xj)| add(y, j, xj));
            add_into(mem, dst, y);
        }
    }
    Ok(())
}

/// `dst[dst_sel] += mat @ src[src_sel]` by columns of the spiking elements.
pub(super) struct Dense<T> {
    /// Column-major matrix: column `j` is `cols[j * m..(j + 1) * m]`.
    cols: Vec<T>,
    m: usize,
    src: Place,
    ns: usize,
    dst: Place,
    end: usize,
    /// No destination selection: the columns are summed in place, as the interpreter does.
    direct: bool,
}

impl<T: JitFloat> Dense<T> {
    /// The kernel of one marked DotInc (`src`, `dst`: offset and length in the block).
    pub(super) fn new(
        mat: &Array2<f64>,
        src: (usize, usize),
        dst: (usize, usize),
        src_sel: &Sel,
        dst_sel: &Sel,
    ) -> Result<Self, JitError> {
        let (m, k) = mat.dim();
        let (src, ns) = Place::new(src, src_sel)?;
        let (dst, nd) = Place::new(dst, dst_sel)?;
        if ns != k || nd != m {
            return Err(JitError::Invalid(format!(
                "matrix [{m}, {k}] applied to {ns} values into {nd}"
            )));
        }
        let cols = mat.t().iter().map(|&v| T::cast(v)).collect();
        let end = src.max_end(ns).max(dst.max_end(nd));
        let direct = dst_sel.is_none();
        Ok(Self { cols, m, src, ns, dst, end, direct })
    }
}

impl<T: JitFloat> HostKernel<T> for Dense<T> {
    fn init(&self, _b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        if self.end > mem.len() {
            return Err(bug("events: range").to_string());
        }
        Ok(Box::new((Vec::<(usize, T)>::new(), vec![T::zero(); self.m])))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let m = self.m;
        spike_step(state, mem, &self.src, self.ns, &self.dst, m, self.direct, |y, j, xj| {
            let col = &self.cols[j * m..(j + 1) * m];
            y.iter_mut().zip(col).for_each(|(v, &a)| *v += a * xj);
        })
    }
}

/// `dst[dst_sel] += S @ src[src_sel]` by columns of the spiking elements (entries of a column
/// in the order given).
pub(super) struct Sparse<T> {
    m: Csc<T>,
    nd: usize,
    src: Place,
    ns: usize,
    dst: Place,
    end: usize,
    /// No destination selection: the columns are summed in place, as the interpreter does.
    direct: bool,
}

impl<T: JitFloat> Sparse<T> {
    /// The kernel of one marked SparseDotInc.
    pub(super) fn new(
        rows: &[usize],
        cols: &[usize],
        vals: &[f64],
        src: (usize, usize),
        dst: (usize, usize),
        src_sel: &Sel,
        dst_sel: &Sel,
    ) -> Result<Self, JitError> {
        let (src, ns) = Place::new(src, src_sel)?;
        let (dst, nd) = Place::new(dst, dst_sel)?;
        if rows.len() != cols.len() || rows.len() != vals.len() {
            return Err(JitError::Invalid("sparse matrix arrays differ in length".into()));
        }
        if rows.iter().any(|&r| r >= nd) || cols.iter().any(|&c| c >= ns) {
            return Err(JitError::Invalid("sparse matrix index out of range".into()));
        }
        let m = Csc::new(rows, cols, vals, ns);
        let end = src.max_end(ns).max(dst.max_end(nd));
        let direct = dst_sel.is_none();
        Ok(Self { m, nd, src, ns, dst, end, direct })
    }
}

impl<T: JitFloat> HostKernel<T> for Sparse<T> {
    fn init(&self, _b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        if self.end > mem.len() {
            return Err(bug("events: range").to_string());
        }
        Ok(Box::new((Vec::<(usize, T)>::new(), vec![T::zero(); self.nd])))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let c = &self.m;
        spike_step(state, mem, &self.src, self.ns, &self.dst, self.nd, self.direct, |y, j, xj| {
            for e in c.ptr[j]..c.ptr[j + 1] {
                y[c.rows[e]] += c.vals[e] * xj;
            }
        })
    }
}
