//! The convolution host kernel: `y += conv(x)` (or its transpose) with the interpreter's exact
//! summation order per output value (so results are bit-identical), vectorisable across output
//! channels.

use super::float::JitFloat;
use super::host::{split, HostKernel, KernelState};
use snn_compiler::model::ConvSpec;

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
    /// Channels-last forward convolutions: per output position, the `(input offset of channel
    /// 0, kernel offset of (kh, kw, 0, 0))` of each kernel tap inside the input, in `(kh, kw)`
    /// order.
    gather: Vec<Vec<(usize, usize)>>,
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
        let mut conv = Self {
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
            gather: Vec::new(),
        };
        if conv.channels_last && !conv.transpose {
            conv.gather = conv.gather_taps();
        }
        Ok(conv)
    }

    /// The taps of every output position (see [`Conv::gather`]).
    fn gather_taps(&self) -> Vec<Vec<(usize, usize)>> {
        let mut all = Vec::with_capacity(self.out_hw[0] * self.out_hw[1]);
        for oh in 0..self.out_hw[0] {
            for ow in 0..self.out_hw[1] {
                let mut taps = Vec::new();
                self.taps_of(oh, ow, |kh, kw, ih, iw| {
                    taps.push((self.idx(self.in_hw, self.cin, ih, iw, 0), self.kidx(kh, kw, 0)));
                });
                all.push(taps);
            }
        }
        all
    }

    /// Calls `f(kh, kw, ih, iw)` for each kernel tap of output `(oh, ow)` that falls inside the
    /// input, in `(kh, kw)` order (the inverse of [`Conv::reach`]).
    fn taps_of(&self, oh: usize, ow: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        for kh in 0..self.k_hw[0] {
            let ih = (oh * self.stride[0] + kh) as isize - self.pad[0] as isize;
            if ih < 0 || ih as usize >= self.in_hw[0] {
                continue;
            }
            for kw in 0..self.k_hw[1] {
                let iw = (ow * self.stride[1] + kw) as isize - self.pad[1] as isize;
                if iw >= 0 && (iw as usize) < self.in_hw[1] {
                    f(kh, kw, ih as usize, iw as usize);
                }
            }
        }
    }

    /// [`Conv::forward`] for channels-last through the precomputed taps: the same sums in the
    /// same order.
    fn forward_gather(&self, x: &[T], y: &mut [T], acc: &mut [T]) {
        for (o, taps) in self.gather.iter().enumerate() {
            acc.iter_mut().for_each(|a| *a = T::zero());
            for &(xi, kb) in taps {
                self.add_tap(acc, x, kb, |c| xi + c);
            }
            let yo = &mut y[o * self.cout..(o + 1) * self.cout];
            for (yv, &a) in yo.iter_mut().zip(acc.iter()) {
                *yv += a;
            }
        }
    }

    /// `acc[co] += x[xi(c)] * kernel[kb + ci, co]` for one kernel tap (`kb`: its offset for
    /// input channel 0), each group's input channels into its output channels.
    fn add_tap(&self, acc: &mut [T], x: &[T], kb: usize, xi: impl Fn(usize) -> usize) {
        let cin_g = self.cin / self.groups;
        let cout_g = self.cout / self.groups;
        for g in 0..self.groups {
            let acc_g = &mut acc[g * cout_g..(g + 1) * cout_g];
            for ci in 0..cin_g {
                let xv = x[xi(g * cin_g + ci)];
                let base = kb + ci * self.kco + g * cout_g;
                let krow = &self.kernel[base..base + cout_g];
                for (a, &kv) in acc_g.iter_mut().zip(krow) {
                    *a += xv * kv;
                }
            }
        }
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

    /// Forward, channels-first (channels-last runs [`Conv::forward_gather`]): per output
    /// position, one accumulator per output channel summed over `(kh, kw, ci)` in the
    /// interpreter's order, then added to `y`.
    fn forward(&self, x: &[T], y: &mut [T], acc: &mut [T]) {
        for oh in 0..self.out_hw[0] {
            for ow in 0..self.out_hw[1] {
                acc.iter_mut().for_each(|a| *a = T::zero());
                self.taps_of(oh, ow, |kh, kw, ih, iw| {
                    self.add_tap(acc, x, self.kidx(kh, kw, 0), |c| {
                        self.idx(self.in_hw, self.cin, ih, iw, c)
                    });
                });
                for (co, &a) in acc.iter().enumerate() {
                    y[self.idx(self.out_hw, self.cout, oh, ow, co)] += a;
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
            if self.gather.is_empty() {
                self.forward(x, y, acc);
            } else {
                self.forward_gather(x, y, acc);
            }
        }
        Ok(())
    }
}

/// A forward convolution of a spiking source: each nonzero input adds its kernel slice to the
/// outputs it reaches. Per output the terms arrive in `(kh, kw, ci)` order — the order of the
/// dense kernel — into a zeroed sum that is then added to `y`, so results are the same.
pub(super) struct ConvEvents<T> {
    conv: Conv<T>,
    /// Channels-last, one group: per input position, the `(output offset, kernel tap)` of
    /// each output position it reaches, in `(kh, kw)` order (tap `kh * kw_n + kw`).
    taps: Option<Vec<Vec<(usize, usize)>>>,
    /// The kernel as `[ci][kh][kw][cout]`: the rows one input channel adds are together.
    by_channel: Vec<T>,
    /// Scatter straight into `y` (it holds zeros when the op runs).
    direct: bool,
}

impl<T: JitFloat> Conv<T> {
    /// This convolution run spike-driven (forward convolutions only; others stay dense);
    /// `fresh`: `y` holds zeros when it runs.
    pub(super) fn events(self, fresh: bool) -> Box<dyn HostKernel<T>> {
        if self.transpose {
            return Box::new(self);
        }
        let taps = (self.channels_last && self.groups == 1).then(|| {
            let mut taps = Vec::with_capacity(self.in_hw[0] * self.in_hw[1]);
            for ih in 0..self.in_hw[0] {
                for iw in 0..self.in_hw[1] {
                    let mut t = Vec::new();
                    self.reach(ih, iw, |kh, kw, oh, ow| {
                        t.push((
                            self.idx(self.out_hw, self.cout, oh, ow, 0),
                            kh * self.k_hw[1] + kw,
                        ));
                    });
                    taps.push(t);
                }
            }
            taps
        });
        let ntaps = self.k_hw[0] * self.k_hw[1];
        let mut by_channel = Vec::new();
        if taps.is_some() {
            by_channel.reserve(self.kernel.len());
            for ci in 0..self.kci {
                for tap in 0..ntaps {
                    let base = self.kidx(tap / self.k_hw[1], tap % self.k_hw[1], ci);
                    by_channel.extend_from_slice(&self.kernel[base..base + self.kco]);
                }
            }
        }
        Box::new(ConvEvents { conv: self, taps, by_channel, direct: fresh })
    }

    /// Calls `f(kh, kw, oh, ow)` for each output position input `(ih, iw)` reaches.
    fn reach(&self, ih: usize, iw: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        for kh in 0..self.k_hw[0] {
            let th = (ih + self.pad[0]) as isize - kh as isize;
            if th < 0 || !(th as usize).is_multiple_of(self.stride[0]) {
                continue;
            }
            let oh = th as usize / self.stride[0];
            if oh >= self.out_hw[0] {
                continue;
            }
            for kw in 0..self.k_hw[1] {
                let tw = (iw + self.pad[1]) as isize - kw as isize;
                if tw < 0 || !(tw as usize).is_multiple_of(self.stride[1]) {
                    continue;
                }
                let ow = tw as usize / self.stride[1];
                if ow < self.out_hw[1] {
                    f(kh, kw, oh, ow);
                }
            }
        }
    }
}

impl<T: JitFloat> ConvEvents<T> {
    /// `acc = conv(x)` by the nonzero inputs, in `(ih, iw, ch)` order.
    fn scatter(&self, x: &[T], acc: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked above).
                return unsafe { self.scatter_avx512(x, acc) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked above).
                return unsafe { self.scatter_avx2(x, acc) };
            }
        }
        self.scatter_plain(x, acc);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn scatter_avx512(&self, x: &[T], acc: &mut [T]) {
        self.scatter_plain(x, acc);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scatter_avx2(&self, x: &[T], acc: &mut [T]) {
        self.scatter_plain(x, acc);
    }

    /// The channels-last scatter; `N` is the number of output channels when known (else 0).
    #[inline(always)]
    fn scatter_taps<const N: usize>(&self, taps: &[Vec<(usize, usize)>], x: &[T], acc: &mut [T]) {
        let c = &self.conv;
        let (cin, cout) = (c.cin, c.cout);
        let per_channel = c.k_hw[0] * c.k_hw[1] * cout;
        // Inputs are stored in (ih, iw, ch) order: positions whose channels are all zero are
        // skipped with one test.
        for (pos, xs) in x.chunks(cin).enumerate() {
            if !xs.iter().fold(false, |any, &v| any | (v != T::zero())) {
                continue;
            }
            let Some(tp) = taps.get(pos) else { continue };
            for (ci, &xv) in xs.iter().enumerate() {
                if xv == T::zero() {
                    continue;
                }
                let rows = &self.by_channel[ci * per_channel..(ci + 1) * per_channel];
                for &(o, tap) in tp {
                    let (Some(a), Some(krow)) =
                        (acc.get_mut(o..o + cout), rows.get(tap * cout..(tap + 1) * cout))
                    else {
                        continue;
                    };
                    if N > 0 {
                        let (Ok(a), Ok(krow)) =
                            (<&mut [T; N]>::try_from(a), <&[T; N]>::try_from(krow))
                        else {
                            continue;
                        };
                        a.iter_mut().zip(krow).for_each(|(v, &kv)| *v += xv * kv);
                    } else {
                        a.iter_mut().zip(krow).for_each(|(v, &kv)| *v += xv * kv);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn scatter_plain(&self, x: &[T], acc: &mut [T]) {
        let c = &self.conv;
        acc.iter_mut().for_each(|a| *a = T::zero());
        if let Some(taps) = &self.taps {
            // Output channel counts of usual layers get a loop of known length.
            match c.cout {
                8 => self.scatter_taps::<8>(taps, x, acc),
                16 => self.scatter_taps::<16>(taps, x, acc),
                32 => self.scatter_taps::<32>(taps, x, acc),
                64 => self.scatter_taps::<64>(taps, x, acc),
                128 => self.scatter_taps::<128>(taps, x, acc),
                _ => self.scatter_taps::<0>(taps, x, acc),
            }
            return;
        }
        let cin_g = c.cin / c.groups;
        let cout_g = c.cout / c.groups;
        for ih in 0..c.in_hw[0] {
            for iw in 0..c.in_hw[1] {
                for ch in 0..c.cin {
                    let xv = x[c.idx(c.in_hw, c.cin, ih, iw, ch)];
                    if xv == T::zero() {
                        continue;
                    }
                    let (g, ci) = (ch / cin_g, ch % cin_g);
                    c.reach(ih, iw, |kh, kw, oh, ow| {
                        let base = c.kidx(kh, kw, ci) + g * cout_g;
                        for (co, &kv) in c.kernel[base..base + cout_g].iter().enumerate() {
                            acc[c.idx(c.out_hw, c.cout, oh, ow, g * cout_g + co)] += xv * kv;
                        }
                    });
                }
            }
        }
    }
}

impl<T: JitFloat> HostKernel<T> for ConvEvents<T> {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new(vec![T::zero(); self.conv.y.1]))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, y) = split(mem, self.conv.x, self.conv.y)?;
        if self.direct {
            self.scatter(x, y);
            return Ok(());
        }
        let acc = state.downcast_mut::<Vec<T>>().ok_or("conv: wrong state")?;
        self.scatter(x, acc);
        y.iter_mut().zip(acc.iter()).for_each(|(v, &a)| *v += a);
        Ok(())
    }
}
