//! Spike-driven host kernels for products marked `events` by the compiler: the runtime's kernel
//! ([`snn_runtime::kernels::spike`]) on the state block — the interpreter calls the same one, so
//! results are bit-identical — and the selections (`Place`) host kernels read and write.

use crate::float::Float;
use crate::kernel::{HostKernel, KernelState};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use snn_runtime::kernels::spike::{nonzero, Columns};

/// Where the `n` selected elements of a signal are in the state block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Place {
    /// `n` contiguous elements from this offset.
    Range(usize),
    /// The elements at these offsets.
    Table(Vec<usize>),
}

impl Place {
    /// The selection `sel` (indices into the signal; `None`: all of it) of a signal at
    /// `(offset, length)`; its length.
    pub fn new(sig: (usize, usize), sel: Option<&[usize]>) -> Result<(Place, usize), String> {
        let (off, len) = sig;
        match sel {
            None => Ok((Place::Range(off), len)),
            Some(ix) => {
                if ix.iter().any(|&i| i >= len) {
                    return Err("selection outside its signal".into());
                }
                if ix.windows(2).all(|w| w[1] == w[0] + 1) {
                    return Ok((Place::Range(off + ix.first().copied().unwrap_or(0)), ix.len()));
                }
                Ok((Place::Table(ix.iter().map(|&i| off + i).collect()), ix.len()))
            }
        }
    }

    /// One past the last element of the block it touches.
    pub fn max_end(&self, n: usize) -> usize {
        match self {
            Place::Range(o) => o + n,
            Place::Table(t) => t.iter().max().map_or(0, |m| m + 1),
        }
    }
}

/// Copies the selected elements into `x`.
pub fn gather<T: Float>(mem: &[T], src: &Place, x: &mut [T]) {
    match src {
        Place::Range(o) => x.copy_from_slice(&mem[*o..*o + x.len()]),
        Place::Table(t) => x.iter_mut().zip(t).for_each(|(v, &o)| *v = mem[o]),
    }
}

/// Adds `y` into the destination.
pub fn add_into<T: Float>(mem: &mut [T], dst: &Place, y: &[T]) {
    match dst {
        Place::Range(o) => mem[*o..*o + y.len()].iter_mut().zip(y).for_each(|(d, &v)| *d += v),
        Place::Table(t) => t.iter().zip(y).for_each(|(&o, &v)| mem[o] += v),
    }
}

/// Scratch of one batch element: the gathered source (a table selection), its nonzero elements
/// and the sum.
type Scratch<T> = (Vec<T>, Vec<(usize, T)>, Vec<T>);

/// The matrix of a spike-driven product, as compiled.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SpikeMatrix {
    /// Dense, row-major `rows x cols`.
    Dense {
        /// Rows (destination length).
        rows: usize,
        /// Columns (source length).
        cols: usize,
        /// Row-major values.
        data: Vec<f64>,
    },
    /// Triplets of an `nd x ns` matrix.
    Sparse {
        /// Row of each value.
        rows: Vec<usize>,
        /// Column of each value.
        cols: Vec<usize>,
        /// The values.
        vals: Vec<f64>,
        /// Rows.
        nd: usize,
        /// Columns.
        ns: usize,
    },
}

/// `dst[dst_sel] += M @ src[src_sel]` by columns of the spiking elements
/// ([`snn_runtime::kernels::spike`]), straight into a whole destination (through a zeroed sum
/// then added for a selection), as the interpreter does.
pub(crate) struct Spikes<T> {
    m: Columns<T>,
    src: Place,
    ns: usize,
    dst: Place,
    end: usize,
    /// No destination selection: the columns are summed in place, as the interpreter does.
    direct: bool,
}

impl<T: Float> Spikes<T> {
    /// The kernel of `matrix` from `src` (`ns` values) into `dst` (`nd` values); `direct`: the
    /// destination is a whole signal.
    pub(crate) fn new(
        matrix: &SpikeMatrix,
        src: &Place,
        ns: usize,
        dst: &Place,
        nd: usize,
        direct: bool,
    ) -> Result<Self, String> {
        let m = match matrix {
            SpikeMatrix::Dense { rows, cols, data } => {
                if *cols != ns || *rows != nd || data.len() != rows * cols {
                    return Err(format!(
                        "matrix [{rows}, {cols}] applied to {ns} values into {nd}"
                    ));
                }
                let view =
                    ArrayView2::from_shape((*rows, *cols), data).map_err(|e| e.to_string())?;
                Columns::dense(view)
            }
            SpikeMatrix::Sparse { rows, cols, vals, nd: m, ns: k } => {
                if *m != nd || *k != ns {
                    return Err(format!("matrix [{m}, {k}] applied to {ns} values into {nd}"));
                }
                Columns::sparse(rows, cols, vals, nd, ns)?
            }
        };
        let end = src.max_end(ns).max(dst.max_end(nd));
        Ok(Self { m, src: src.clone(), ns, dst: dst.clone(), end, direct })
    }
}

impl<T: Float> HostKernel<T> for Spikes<T> {
    fn init(&self, _b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        if self.end > mem.len() {
            return Err("events: range outside the state block".to_string());
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
