//! The convolution host kernel: `y += conv(x)` (or its transpose) with the interpreter's exact
//! summation order per output value (so results are bit-identical), vectorisable across output
//! channels.

use super::float::JitFloat;
use super::host::{split, HostKernel, KernelState};
use crate::model::ConvSpec;

/// A convolution between two ranges of the state block.
pub(super) struct Conv<T> {
    transpose: bool,
    channels_last: bool,
    in_hw: [usize; 2],
    out_hw: [usize; 2],
    k_hw: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
    cin: usize,
    cout: usize,
    groups: usize,
    /// Kernel input channels (per group) and filters, the last two kernel axes.
    kci: usize,
    kco: usize,
    kernel: Vec<T>,
    /// `(offset, len)` of the input and output in the block.
    x: (usize, usize),
    y: (usize, usize),
}

fn two(v: &[usize], fill: usize) -> Result<[usize; 2], String> {
    match v {
        [a] => Ok([fill, *a]),
        [a, b] => Ok([*a, *b]),
        _ => Err(format!("convolutions are 1-D or 2-D, found {} spatial dims", v.len())),
    }
}

impl<T: JitFloat> Conv<T> {
    /// The kernel of `spec` reading `x` and incrementing `y` (`(offset, len)` in the block).
    pub(super) fn new(
        spec: &ConvSpec,
        x: (usize, usize),
        y: (usize, usize),
    ) -> Result<Self, String> {
        let cl = spec.channels_last;
        let split_shape = |s: &[usize]| -> Result<(Vec<usize>, usize), String> {
            if s.len() < 2 {
                return Err(format!("convolution shape {s:?} has no spatial dims"));
            }
            Ok(if cl {
                (s[..s.len() - 1].to_vec(), s[s.len() - 1])
            } else {
                (s[1..].to_vec(), s[0])
            })
        };
        let (xi, cin) = split_shape(&spec.input_shape)?;
        let (yo, cout) = split_shape(&spec.output_shape)?;
        let kshape = spec.kernel.shape();
        let nd = xi.len();
        if kshape.len() != nd + 2 || yo.len() != nd {
            return Err(format!("convolution kernel shape {kshape:?} does not fit the input"));
        }
        let groups = spec.groups.max(1);
        let (kci, kco) = (kshape[nd], kshape[nd + 1]);
        let ok = if spec.transpose {
            kci == cin && kco == cout
        } else {
            cin % groups == 0 && cout % groups == 0 && kci == cin / groups && kco == cout
        };
        let in_len: usize = spec.input_shape.iter().product();
        let out_len: usize = spec.output_shape.iter().product();
        if !ok || x.1 != in_len || y.1 != out_len {
            return Err("convolution shapes do not match their signals".to_string());
        }
        Ok(Self {
            transpose: spec.transpose,
            channels_last: cl,
            in_hw: two(&xi, 1)?,
            out_hw: two(&yo, 1)?,
            k_hw: two(&kshape[..nd], 1)?,
            stride: two(&spec.strides, 1)?,
            pad: two(&spec.pad_before, 0)?,
            cin,
            cout,
            groups,
            kci,
            kco,
            kernel: spec.kernel.iter().map(|&v| T::cast(v)).collect(),
            x,
            y,
        })
    }

    fn idx(&self, hw: [usize; 2], c_total: usize, h: usize, w: usize, c: usize) -> usize {
        if self.channels_last {
            (h * hw[1] + w) * c_total + c
        } else {
            (c * hw[0] + h) * hw[1] + w
        }
    }

    fn kidx(&self, kh: usize, kw: usize, ci: usize) -> usize {
        ((kh * self.k_hw[1] + kw) * self.kci + ci) * self.kco
    }

    /// Forward: per output position, one accumulator per output channel summed over
    /// `(kh, kw, ci)` in the interpreter's order, then added to `y`.
    fn forward(&self, x: &[T], y: &mut [T], acc: &mut [T]) {
        let cin_g = self.cin / self.groups;
        let cout_g = self.cout / self.groups;
        for oh in 0..self.out_hw[0] {
            for ow in 0..self.out_hw[1] {
                acc.iter_mut().for_each(|a| *a = T::zero());
                for kh in 0..self.k_hw[0] {
                    let ih = (oh * self.stride[0] + kh) as isize - self.pad[0] as isize;
                    if ih < 0 || ih as usize >= self.in_hw[0] {
                        continue;
                    }
                    for kw in 0..self.k_hw[1] {
                        let iw = (ow * self.stride[1] + kw) as isize - self.pad[1] as isize;
                        if iw < 0 || iw as usize >= self.in_hw[1] {
                            continue;
                        }
                        for g in 0..self.groups {
                            let acc_g = &mut acc[g * cout_g..(g + 1) * cout_g];
                            for ci in 0..cin_g {
                                let c = g * cin_g + ci;
                                let xv =
                                    x[self.idx(self.in_hw, self.cin, ih as usize, iw as usize, c)];
                                let base = self.kidx(kh, kw, ci) + g * cout_g;
                                let krow = &self.kernel[base..base + cout_g];
                                for (a, &kv) in acc_g.iter_mut().zip(krow) {
                                    *a += xv * kv;
                                }
                            }
                        }
                    }
                }
                if self.channels_last {
                    let o = self.idx(self.out_hw, self.cout, oh, ow, 0);
                    for (yv, &a) in y[o..o + self.cout].iter_mut().zip(acc.iter()) {
                        *yv += a;
                    }
                } else {
                    for (co, &a) in acc.iter().enumerate() {
                        let o = self.idx(self.out_hw, self.cout, oh, ow, co);
                        y[o] += a;
                    }
                }
            }
        }
    }

    /// Transpose: the forward convolution's scatter, in the interpreter's loop order.
    fn transposed(&self, x: &[T], y: &mut [T]) {
        for yh in 0..self.out_hw[0] {
            for yw in 0..self.out_hw[1] {
                for kh in 0..self.k_hw[0] {
                    let th = yh as isize + self.pad[0] as isize - kh as isize;
                    if th < 0 || !(th as usize).is_multiple_of(self.stride[0]) {
                        continue;
                    }
                    let xh = th as usize / self.stride[0];
                    if xh >= self.in_hw[0] {
                        continue;
                    }
                    for kw in 0..self.k_hw[1] {
                        let tw = yw as isize + self.pad[1] as isize - kw as isize;
                        if tw < 0 || !(tw as usize).is_multiple_of(self.stride[1]) {
                            continue;
                        }
                        let xw = tw as usize / self.stride[1];
                        if xw >= self.in_hw[1] {
                            continue;
                        }
                        for ci in 0..self.cin {
                            let xv = x[self.idx(self.in_hw, self.cin, xh, xw, ci)];
                            let base = self.kidx(kh, kw, ci);
                            for co in 0..self.cout {
                                let o = self.idx(self.out_hw, self.cout, yh, yw, co);
                                y[o] += xv * self.kernel[base + co];
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<T: JitFloat> HostKernel<T> for Conv<T> {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new(vec![T::zero(); self.cout]))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, y) = split(mem, self.x, self.y)?;
        if self.transpose {
            self.transposed(x, y);
        } else {
            let acc = state.downcast_mut::<Vec<T>>().ok_or("conv: wrong state")?;
            self.forward(x, y, acc);
        }
        Ok(())
    }
}

/// A forward convolution of a spiking source: each nonzero input adds its kernel slice to the
/// outputs it reaches. Per output the terms arrive in `(kh, kw, ci)` order — the order of the
/// dense kernel — into a zeroed sum that is then added to `y`, so results are the same.
pub(super) struct ConvEvents<T>(Conv<T>);

impl<T: JitFloat> Conv<T> {
    /// This convolution run spike-driven (forward convolutions only; others stay dense).
    pub(super) fn events(self) -> Box<dyn HostKernel<T>> {
        if self.transpose {
            Box::new(self)
        } else {
            Box::new(ConvEvents(self))
        }
    }
}

impl<T: JitFloat> ConvEvents<T> {
    fn scatter(&self, x: &[T], acc: &mut [T]) {
        let c = &self.0;
        let cin_g = c.cin / c.groups;
        let cout_g = c.cout / c.groups;
        acc.iter_mut().for_each(|a| *a = T::zero());
        for ih in 0..c.in_hw[0] {
            for iw in 0..c.in_hw[1] {
                for ch in 0..c.cin {
                    let xv = x[c.idx(c.in_hw, c.cin, ih, iw, ch)];
                    if xv == T::zero() {
                        continue;
                    }
                    let (g, ci) = (ch / cin_g, ch % cin_g);
                    for kh in 0..c.k_hw[0] {
                        let th = (ih + c.pad[0]) as isize - kh as isize;
                        if th < 0 || !(th as usize).is_multiple_of(c.stride[0]) {
                            continue;
                        }
                        let oh = th as usize / c.stride[0];
                        if oh >= c.out_hw[0] {
                            continue;
                        }
                        for kw in 0..c.k_hw[1] {
                            let tw = (iw + c.pad[1]) as isize - kw as isize;
                            if tw < 0 || !(tw as usize).is_multiple_of(c.stride[1]) {
                                continue;
                            }
                            let ow = tw as usize / c.stride[1];
                            if ow >= c.out_hw[1] {
                                continue;
                            }
                            let base = c.kidx(kh, kw, ci) + g * cout_g;
                            let krow = &c.kernel[base..base + cout_g];
                            if c.channels_last {
                                let o = c.idx(c.out_hw, c.cout, oh, ow, g * cout_g);
                                axpy(&mut acc[o..o + cout_g], krow, xv);
                            } else {
                                for (co, &kv) in krow.iter().enumerate() {
                                    acc[c.idx(c.out_hw, c.cout, oh, ow, g * cout_g + co)] +=
                                        xv * kv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y += a * x` elementwise (no fused multiply-add: the rounding of the dense kernel).
fn axpy<T: JitFloat>(y: &mut [T], a: &[T], x: T) {
    y.iter_mut().zip(a).for_each(|(v, &k)| *v += x * k);
}

impl<T: JitFloat> HostKernel<T> for ConvEvents<T> {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new(vec![T::zero(); self.0.y.1]))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, y) = split(mem, self.0.x, self.0.y)?;
        let acc = state.downcast_mut::<Vec<T>>().ok_or("conv: wrong state")?;
        self.scatter(x, acc);
        y.iter_mut().zip(acc.iter()).for_each(|(v, &a)| *v += a);
        Ok(())
    }
}
