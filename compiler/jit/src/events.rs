//! Spike-driven host kernels for products marked [`snn_compiler::ir::Op::events`]: the runtime's
//! kernel ([`snn_runtime::kernels::spike`]) on the state block — the interpreter calls the same
//! one, so results are bit-identical — and the selections (`Place`) host kernels read and write.

use super::emit::bug;
use super::float::JitFloat;
use super::host::{HostKernel, KernelState};
use super::JitError;
use ndarray::Array2;
use snn_compiler::ir::Sel;
use snn_runtime::kernels::spike::{nonzero, Columns};

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

/// Scratch of one batch element: the gathered source (a table selection), its nonzero elements
/// and the sum.
type Scratch<T> = (Vec<T>, Vec<(usize, T)>, Vec<T>);

/// `dst[dst_sel] += M @ src[src_sel]` by columns of the spiking elements
/// ([`snn_runtime::kernels::spike`]), straight into a whole destination (through a zeroed sum
/// then added for a selection), as the interpreter does.
pub(super) struct Spikes<T> {
    m: Columns<T>,
    src: Place,
    ns: usize,
    dst: Place,
    end: usize,
    /// No destination selection: the columns are summed in place, as the interpreter does.
    direct: bool,
}

impl<T: JitFloat> Spikes<T> {
    /// The kernel of one marked DotInc (`src`, `dst`: offset and length in the block).
    pub(super) fn dense(
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
        Ok(Self::with(Columns::dense(mat.view()), src, ns, dst, nd, dst_sel))
    }

    /// The kernel of one marked SparseDotInc.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sparse(
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
        let m = Columns::sparse(rows, cols, vals, nd, ns).map_err(JitError::Invalid)?;
        Ok(Self::with(m, src, ns, dst, nd, dst_sel))
    }

    fn with(m: Columns<T>, src: Place, ns: usize, dst: Place, nd: usize, dst_sel: &Sel) -> Self {
        let end = src.max_end(ns).max(dst.max_end(nd));
        Self { m, src, ns, dst, end, direct: dst_sel.is_none() }
    }
}

impl<T: JitFloat> HostKernel<T> for Spikes<T> {
    fn init(&self, _b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        if self.end > mem.len() {
            return Err(bug("events: range").to_string());
        }
        let x = match self.src {
            Place::Range(_) => Vec::new(),
            Place::Table(_) => vec![T::zero(); self.ns],
        };
        Ok(Box::new((x, Vec::<(usize, T)>::new(), vec![T::zero(); self.m.rows()])))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, nz, y) =
            state.downcast_mut::<Scratch<T>>().ok_or_else(|| "events: wrong state".to_string())?;
        match &self.src {
            Place::Range(o) => nonzero(&mem[*o..*o + self.ns], nz),
            Place::Table(_) => {
                gather(mem, &self.src, x);
                nonzero(x, nz);
            }
        }
        match (&self.dst, self.direct) {
            (Place::Range(o), true) => self.m.add(nz, &mut mem[*o..*o + y.len()]),
            _ => {
                y.iter_mut().for_each(|v| *v = T::zero());
                self.m.add(nz, y);
                add_into(mem, &self.dst, y);
            }
        }
        Ok(())
    }
}
