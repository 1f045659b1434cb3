//! Convolutions `y += conv(x)`: forward (grouped), transposed, and forward driven by the nonzero
//! inputs of a spiking source. Per output value the terms are summed in `(kh, kw, ci)` order into
//! a zeroed accumulator that is then added to `y` (products rounded, then added: never fused),
//! whichever loop computes it, so every variant gives the same bits.

use crate::kernels::simd;
use crate::real::Real;
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

mod batch;
mod grad;

/// Convolution geometry, resolved: shapes are full (spatial…, channels) in the declared layout.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConvSpec {
    /// `true` for a transposed convolution.
    pub transpose: bool,
    /// Input shape (spatial dims then channels when channels_last).
    pub input_shape: Vec<usize>,
    /// Output shape.
    pub output_shape: Vec<usize>,
    /// Kernel `kernel_size + (in_channels / groups, filters)`.
    pub kernel: ArrayD<f64>,
    /// Strides per spatial dim.
    pub strides: Vec<usize>,
    /// Zero padding before each spatial dim.
    pub pad_before: Vec<usize>,
    /// Channels last (`true`) or first.
    pub channels_last: bool,
    /// Channel groups.
    pub groups: usize,
}

/// The 2-D geometry of a [`ConvSpec`], checked (1-D convolutions get a leading spatial size 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvGeometry {
    /// Transposed convolution.
    pub transpose: bool,
    /// Channels are the last axis (else the first).
    pub channels_last: bool,
    /// Input spatial size.
    pub in_hw: [usize; 2],
    /// Output spatial size.
    pub out_hw: [usize; 2],
    /// Kernel spatial size.
    pub k_hw: [usize; 2],
    /// Strides.
    pub stride: [usize; 2],
    /// Zero padding before.
    pub pad: [usize; 2],
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Channel groups (at least 1).
    pub groups: usize,
    /// Kernel input channels (per group), the second last kernel axis.
    pub kci: usize,
    /// Kernel filters, the last kernel axis.
    pub kco: usize,
}

fn two(v: &[usize], fill: usize) -> Result<[usize; 2], String> {
    match v {
        [a] => Ok([fill, *a]),
        [a, b] => Ok([*a, *b]),
        _ => Err(format!("convolutions are 1-D or 2-D, found {} spatial dims", v.len())),
    }
}

impl ConvGeometry {
    /// The geometry of `spec`; an error when its shapes do not fit together.
    pub fn new(spec: &ConvSpec) -> Result<Self, String> {
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
        if !ok {
            return Err("convolution shapes do not match their kernel".to_string());
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
        })
    }

    /// Values of the input.
    pub fn input_len(&self) -> usize {
        self.in_hw[0] * self.in_hw[1] * self.cin
    }

    /// Values of the output.
    pub fn output_len(&self) -> usize {
        self.out_hw[0] * self.out_hw[1] * self.cout
    }

    fn idx(&self, hw: [usize; 2], c_total: usize, h: usize, w: usize, c: usize) -> usize {
        if self.channels_last {
            (h * hw[1] + w) * c_total + c
        } else {
            (c * hw[0] + h) * hw[1] + w
        }
    }

    /// Offset of kernel value `(kh, kw, ci, 0)`.
    fn kidx(&self, kh: usize, kw: usize, ci: usize) -> usize {
        ((kh * self.k_hw[1] + kw) * self.kci + ci) * self.kco
    }

    /// Calls `f(kh, kw, ih, iw)` for each kernel tap of output `(oh, ow)` that falls inside the
    /// input, in `(kh, kw)` order (the inverse of [`ConvGeometry::reach`]).
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

    /// Calls `f(kh, kw, oh, ow)` for each output position input `(ih, iw)` reaches (in a forward
    /// convolution), or, transposed, each input position output `(ih, iw)` reads, in `(kh, kw)`
    /// order.
    fn reach(&self, ih: usize, iw: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (hw0, hw1) = if self.transpose {
            (self.in_hw[0], self.in_hw[1])
        } else {
            (self.out_hw[0], self.out_hw[1])
        };
        for kh in 0..self.k_hw[0] {
            let th = (ih + self.pad[0]) as isize - kh as isize;
            if th < 0 || !(th as usize).is_multiple_of(self.stride[0]) {
                continue;
            }
            let oh = th as usize / self.stride[0];
            if oh >= hw0 {
                continue;
            }
            for kw in 0..self.k_hw[1] {
                let tw = (iw + self.pad[1]) as isize - kw as isize;
                if tw < 0 || !(tw as usize).is_multiple_of(self.stride[1]) {
                    continue;
                }
                let ow = tw as usize / self.stride[1];
                if ow < hw1 {
                    f(kh, kw, oh, ow);
                }
            }
        }
    }
}

/// A convolution kernel: the geometry, the kernel cast to `T` and the tables of its fast paths.
#[derive(Clone, Debug)]
pub struct Conv<T> {
    g: ConvGeometry,
    /// The kernel, `kernel_size + (kci, kco)` flattened in C order.
    kernel: Vec<T>,
    /// Channels-last forward convolutions: per output position, the `(input offset of channel
    /// 0, kernel offset of (kh, kw, 0, 0))` of each kernel tap inside the input, in `(kh, kw)`
    /// order.
    gather: Vec<Vec<(usize, usize)>>,
    /// Run spike-driven (forward convolutions only).
    spikes: Option<Scatter<T>>,
}

/// The tables of a spike-driven forward convolution.
#[derive(Clone, Debug)]
struct Scatter<T> {
    /// Channels-last, one group: per input position, the `(output offset, kernel tap)` of each
    /// output position it reaches, in `(kh, kw)` order (tap `kh * kw_n + kw`).
    taps: Option<Vec<Vec<(usize, usize)>>>,
    /// With `taps`: the kernel as `[ci][kh][kw][cout]`, the rows one input channel adds together.
    by_channel: Vec<T>,
}

impl<T: Real> Conv<T> {
    /// The kernel of `spec`; `spike_driven`: each nonzero input adds its kernel slice to the
    /// outputs it reaches (forward convolutions; a transposed one stays dense). An error when
    /// the shapes do not fit together.
    pub fn new(spec: &ConvSpec, spike_driven: bool) -> Result<Self, String> {
        let g = ConvGeometry::new(spec)?;
        let mut conv = Self {
            g,
            kernel: spec.kernel.iter().map(|&v| T::cast(v)).collect(),
            gather: Vec::new(),
            spikes: None,
        };
        if spike_driven && !conv.g.transpose {
            conv.spikes = Some(conv.scatter_tables());
        } else if conv.g.channels_last && !conv.g.transpose {
            conv.gather = conv.gather_taps();
        }
        Ok(conv)
    }

    /// Its geometry.
    pub fn geometry(&self) -> &ConvGeometry {
        &self.g
    }

    /// The length of the scratch [`Conv::apply`] needs.
    pub fn scratch_len(&self) -> usize {
        if self.spikes.is_some() {
            self.g.output_len()
        } else {
            self.g.cout
        }
    }

    /// `y += conv(x)`, `acc` scratch of [`Conv::scratch_len`] values; `fresh`: `y` holds zeros
    /// (a spike-driven convolution then sums straight into it, the same as summing apart and
    /// adding to zeros). An error when a length is not the geometry's.
    pub fn apply(&self, x: &[T], y: &mut [T], acc: &mut [T], fresh: bool) -> Result<(), String> {
        if x.len() != self.g.input_len()
            || y.len() != self.g.output_len()
            || acc.len() < self.scratch_len()
        {
            return Err("convolution: buffers do not match the geometry".to_string());
        }
        match &self.spikes {
            Some(_) if fresh => self.scatter(x, y),
            Some(_) => {
                self.scatter(x, acc);
                y.iter_mut().zip(acc.iter()).for_each(|(v, &a)| *v += a);
            }
            None if self.g.transpose => self.transposed(x, y),
            None if self.gather.is_empty() => self.forward(x, y, acc),
            None => self.forward_gather(x, y, acc),
        }
        Ok(())
    }

    /// The taps of every output position (see [`Conv::gather`]).
    fn gather_taps(&self) -> Vec<Vec<(usize, usize)>> {
        let g = &self.g;
        let mut all = Vec::with_capacity(g.out_hw[0] * g.out_hw[1]);
        for oh in 0..g.out_hw[0] {
            for ow in 0..g.out_hw[1] {
                let mut taps = Vec::new();
                g.taps_of(oh, ow, |kh, kw, ih, iw| {
                    taps.push((g.idx(g.in_hw, g.cin, ih, iw, 0), g.kidx(kh, kw, 0)));
                });
                all.push(taps);
            }
        }
        all
    }

    /// Forward, channels-last, through the precomputed taps: the same sums in the same order as
    /// [`Conv::forward`].
    fn forward_gather(&self, x: &[T], y: &mut [T], acc: &mut [T]) {
        let cout = self.g.cout;
        let acc = &mut acc[..cout];
        for (o, taps) in self.gather.iter().enumerate() {
            acc.iter_mut().for_each(|a| *a = T::zero());
            for &(xi, kb) in taps {
                self.add_tap(acc, x, kb, |c| xi + c);
            }
            let yo = &mut y[o * cout..(o + 1) * cout];
            for (yv, &a) in yo.iter_mut().zip(acc.iter()) {
                *yv += a;
            }
        }
    }

    /// `acc[co] += x[xi(c)] * kernel[kb + ci, co]` for one kernel tap (`kb`: its offset for
    /// input channel 0), each group's input channels into its output channels.
    fn add_tap(&self, acc: &mut [T], x: &[T], kb: usize, xi: impl Fn(usize) -> usize) {
        let cin_g = self.g.cin / self.g.groups;
        let cout_g = self.g.cout / self.g.groups;
        for grp in 0..self.g.groups {
            let acc_g = &mut acc[grp * cout_g..(grp + 1) * cout_g];
            for ci in 0..cin_g {
                let xv = x[xi(grp * cin_g + ci)];
                let base = kb + ci * self.g.kco + grp * cout_g;
                let krow = &self.kernel[base..base + cout_g];
                for (a, &kv) in acc_g.iter_mut().zip(krow) {
                    *a += xv * kv;
                }
            }
        }
    }

    /// Forward: per output position, one accumulator per output channel summed over
    /// `(kh, kw, ci)`, then added to `y`.
    fn forward(&self, x: &[T], y: &mut [T], acc: &mut [T]) {
        let g = &self.g;
        let acc = &mut acc[..g.cout];
        for oh in 0..g.out_hw[0] {
            for ow in 0..g.out_hw[1] {
                acc.iter_mut().for_each(|a| *a = T::zero());
                g.taps_of(oh, ow, |kh, kw, ih, iw| {
                    self.add_tap(acc, x, g.kidx(kh, kw, 0), |c| g.idx(g.in_hw, g.cin, ih, iw, c));
                });
                for (co, &a) in acc.iter().enumerate() {
                    y[g.idx(g.out_hw, g.cout, oh, ow, co)] += a;
                }
            }
        }
    }

    /// Transposed: the forward convolution's scatter, per output position over `(kh, kw, ci)`
    /// the input values it receives, each added to `y` at once.
    fn transposed(&self, x: &[T], y: &mut [T]) {
        let g = &self.g;
        for yh in 0..g.out_hw[0] {
            for yw in 0..g.out_hw[1] {
                g.reach(yh, yw, |kh, kw, xh, xw| {
                    for ci in 0..g.cin {
                        let xv = x[g.idx(g.in_hw, g.cin, xh, xw, ci)];
                        let base = g.kidx(kh, kw, ci);
                        for co in 0..g.cout {
                            let o = g.idx(g.out_hw, g.cout, yh, yw, co);
                            y[o] += xv * self.kernel[base + co];
                        }
                    }
                });
            }
        }
    }

    /// The tables of [`Scatter`].
    fn scatter_tables(&self) -> Scatter<T> {
        let g = &self.g;
        let taps = (g.channels_last && g.groups == 1).then(|| {
            let mut taps = Vec::with_capacity(g.in_hw[0] * g.in_hw[1]);
            for ih in 0..g.in_hw[0] {
                for iw in 0..g.in_hw[1] {
                    let mut t = Vec::new();
                    g.reach(ih, iw, |kh, kw, oh, ow| {
                        t.push((g.idx(g.out_hw, g.cout, oh, ow, 0), kh * g.k_hw[1] + kw));
                    });
                    taps.push(t);
                }
            }
            taps
        });
        let ntaps = g.k_hw[0] * g.k_hw[1];
        let mut by_channel = Vec::new();
        if taps.is_some() {
            by_channel.reserve(self.kernel.len());
            for ci in 0..g.kci {
                for tap in 0..ntaps {
                    let base = g.kidx(tap / g.k_hw[1], tap % g.k_hw[1], ci);
                    by_channel.extend_from_slice(&self.kernel[base..base + g.kco]);
                }
            }
        }
        Scatter { taps, by_channel }
    }

    /// `acc = conv(x)` by the nonzero inputs, in `(ih, iw, ch)` order: per output the terms
    /// arrive in `(kh, kw, ci)` order, the order of the dense loops. In the CPU's widest vectors.
    fn scatter(&self, x: &[T], acc: &mut [T]) {
        simd::widest(ScatterJob { conv: self, x, acc });
    }

    /// The channels-last scatter; `N` is the number of output channels when known (else 0).
    #[inline(always)]
    fn scatter_taps<const N: usize>(
        &self,
        s: &Scatter<T>,
        taps: &[Vec<(usize, usize)>],
        x: &[T],
        acc: &mut [T],
    ) {
        let g = &self.g;
        let (cin, cout) = (g.cin, g.cout);
        let per_channel = g.k_hw[0] * g.k_hw[1] * cout;
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
                let rows = &s.by_channel[ci * per_channel..(ci + 1) * per_channel];
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
        let g = &self.g;
        let acc = &mut acc[..g.output_len()];
        acc.iter_mut().for_each(|a| *a = T::zero());
        let Some(s) = &self.spikes else { return };
        if let Some(taps) = &s.taps {
            // Output channel counts of usual layers get a loop of known length.
            match g.cout {
                8 => self.scatter_taps::<8>(s, taps, x, acc),
                16 => self.scatter_taps::<16>(s, taps, x, acc),
                32 => self.scatter_taps::<32>(s, taps, x, acc),
                64 => self.scatter_taps::<64>(s, taps, x, acc),
                128 => self.scatter_taps::<128>(s, taps, x, acc),
                _ => self.scatter_taps::<0>(s, taps, x, acc),
            }
            return;
        }
        let cin_g = g.cin / g.groups;
        let cout_g = g.cout / g.groups;
        for ih in 0..g.in_hw[0] {
            for iw in 0..g.in_hw[1] {
                for ch in 0..g.cin {
                    let xv = x[g.idx(g.in_hw, g.cin, ih, iw, ch)];
                    if xv == T::zero() {
                        continue;
                    }
                    let (grp, ci) = (ch / cin_g, ch % cin_g);
                    g.reach(ih, iw, |kh, kw, oh, ow| {
                        let base = g.kidx(kh, kw, ci) + grp * cout_g;
                        for (co, &kv) in self.kernel[base..base + cout_g].iter().enumerate() {
                            acc[g.idx(g.out_hw, g.cout, oh, ow, grp * cout_g + co)] += xv * kv;
                        }
                    });
                }
            }
        }
    }
}

/// [`Conv::scatter`] as a [`simd::Wide`] kernel.
struct ScatterJob<'a, T> {
    conv: &'a Conv<T>,
    x: &'a [T],
    acc: &'a mut [T],
}

impl<T: Real> simd::Wide for ScatterJob<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run(self) {
        self.conv.scatter_plain(self.x, self.acc);
    }
}
