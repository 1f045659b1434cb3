//! The integer emulator: nengo-loihi 1.1's `EmulatorInterface.step` (`emulator/interface.py`)
//! over every compartment of a [`Chip`], with the same step order, two's-complement
//! wrap-around, refractory rule and spike rule, so spikes and compartment state are
//! nengo-loihi's bit for bit.
//!
//! Per step: the spikes of the previous step are delivered through the synapses (`q += W`);
//! `q` wraps at 21 bits; `u = sgn(u)·((|u|·(4095 − decay_u)) >> 12) + q` wraps at 23 bits;
//! `u2 = u + bias` wraps at 23 bits; `v = sgn(v)·((|v|·(4096 − decay_v)) >> 12) + u2`, clipped
//! to `[vmin, vmax]`; `v = 0` while refractory; a compartment spikes where `v > vth` (then
//! `v = 0` and its refractory count restarts); refractory counts decrease.

use crate::chip::Chip;
use crate::discretize::{Q_BITS, U_BITS};

/// Two's-complement wrap of `x` to `bits` bits plus sign (`overflow_signed`).
#[inline]
pub fn wrap(x: i32, bits: u32) -> i32 {
    let s = 32 - (bits + 1);
    (x << s) >> s
}

/// `decay_int`: `sgn(x)·((|x|·(2^12 − offset − decay)) >> 12)`.
#[inline]
fn decay(x: i32, r: i64) -> i32 {
    let m = ((i64::from(x).abs() * r) >> 12) as i32;
    if x < 0 {
        -m
    } else {
        m
    }
}

/// The per-compartment parameters and fan-out of a chip, flattened.
#[derive(Clone, Debug)]
pub struct Program {
    /// `4095 - decay_u` per compartment.
    ru: Vec<i64>,
    /// `4096 - decay_v`.
    rv: Vec<i64>,
    vth: Vec<i32>,
    bias: Vec<i32>,
    refract: Vec<i32>,
    vmin: Vec<i32>,
    vmax: Vec<i32>,
    /// Fan-out of compartment `g`: the runs `runs[start[g]..start[g + 1]]`, each adding
    /// `weights[w..w + len]` to `len` consecutive compartments from `target` (a dense
    /// connection is one run per target piece, which the compiler vectorizes).
    start: Vec<usize>,
    runs: Vec<Run>,
    weights: Vec<i32>,
}

/// Consecutive targets of one source compartment.
#[derive(Clone, Copy, Debug)]
struct Run {
    target: u32,
    w: u32,
    len: u32,
}

impl Program {
    /// Flattens `chip`.
    pub fn new(chip: &Chip) -> Self {
        let n = chip.n_compartments();
        let mut p = Program {
            ru: Vec::with_capacity(n),
            rv: Vec::with_capacity(n),
            vth: Vec::with_capacity(n),
            bias: Vec::with_capacity(n),
            refract: Vec::with_capacity(n),
            vmin: Vec::with_capacity(n),
            vmax: Vec::with_capacity(n),
            start: Vec::with_capacity(n + 1),
            runs: Vec::new(),
            weights: Vec::new(),
        };
        for d in &chip.discrete {
            let n = d.bias_man.len();
            p.ru.extend(std::iter::repeat_n(4095 - i64::from(d.decay_u), n));
            p.rv.extend(std::iter::repeat_n(4096 - i64::from(d.decay_v), n));
            p.vth.extend(std::iter::repeat_n(d.vth, n));
            p.bias.extend(d.bias());
            p.refract.extend(std::iter::repeat_n(d.refract_delay, n));
            p.vmin.extend(std::iter::repeat_n(d.vmin, n));
            p.vmax.extend(std::iter::repeat_n(d.vmax, n));
        }
        // fan-out lists per source compartment (and host spike slot)
        let mut fan: Vec<Vec<(u32, i32)>> = vec![Vec::new(); chip.n_sources()];
        for (bi, b) in chip.net.blocks.iter().enumerate() {
            let base = chip.base[bi];
            for (s, ds) in b.synapses.iter().zip(&chip.discrete[bi].synapses) {
                let src = chip.population_index(s.source);
                for (c, axon) in s.axon_of.iter().enumerate() {
                    let Some(a) = axon else { continue };
                    for &(i, w) in &ds.axons[*a] {
                        fan[src[c]].push(((base + i as usize) as u32, w));
                    }
                }
            }
        }
        p.start.push(0);
        for f in fan {
            for (t, w) in f {
                let at = p.weights.len() as u32;
                p.weights.push(w);
                let last = p.runs.len().checked_sub(1).filter(|&l| l >= p.start[p.start.len() - 1]);
                match last.map(|l| &mut p.runs[l]) {
                    Some(r) if r.target + r.len == t && r.w + r.len == at => r.len += 1,
                    _ => p.runs.push(Run { target: t, w: at, len: 1 }),
                }
            }
            p.start.push(p.runs.len());
        }
        p
    }

    /// Number of compartments.
    pub fn len(&self) -> usize {
        self.vth.len()
    }

    /// Number of spike sources: compartments, then the host's spike slots.
    pub fn sources(&self) -> usize {
        self.start.len() - 1
    }

    /// No compartments.
    pub fn is_empty(&self) -> bool {
        self.vth.is_empty()
    }
}

/// The emulator's state: one value per compartment.
#[derive(Clone, Debug)]
pub struct State {
    /// Synaptic input of this step (`q`).
    pub input: Vec<i32>,
    /// Current `u`.
    pub current: Vec<i32>,
    /// Voltage `v`.
    pub voltage: Vec<i32>,
    /// Spiked this step.
    pub spiked: Vec<bool>,
    /// Remaining refractory steps.
    pub ref_count: Vec<i32>,
    /// Steps run.
    pub t: u64,
    /// Values that wrapped around (nengo-loihi warns "Overflow in ...").
    pub overflows: u64,
}

impl State {
    /// All zero, as the chip starts, for `p`.
    pub fn new(p: &Program) -> Self {
        let n = p.len();
        State {
            input: vec![0; n],
            current: vec![0; n],
            voltage: vec![0; n],
            spiked: vec![false; p.sources()],
            ref_count: vec![0; n],
            t: 0,
            overflows: 0,
        }
    }

    /// One step of `p`.
    pub fn step(&mut self, p: &Program) {
        self.t += 1;
        self.input.fill(0);
        for (g, &s) in self.spiked.iter().enumerate() {
            if s {
                for r in &p.runs[p.start[g]..p.start[g + 1]] {
                    let (t, w, n) = (r.target as usize, r.w as usize, r.len as usize);
                    for (q, w) in self.input[t..t + n].iter_mut().zip(&p.weights[w..w + n]) {
                        *q = q.wrapping_add(*w);
                    }
                }
            }
        }
        for i in 0..p.len() {
            let q = wrap(self.input[i], Q_BITS);
            let u = decay(self.current[i], p.ru[i]).wrapping_add(q);
            let uw = wrap(u, U_BITS);
            let u2 = uw.wrapping_add(p.bias[i]);
            let u2w = wrap(u2, U_BITS);
            self.overflows +=
                u64::from(q != self.input[i]) + u64::from(uw != u) + u64::from(u2w != u2);
            self.current[i] = uw;
            let mut v = decay(self.voltage[i], p.rv[i]).wrapping_add(u2w);
            v = v.clamp(p.vmin[i], p.vmax[i]);
            if self.ref_count[i] > 0 {
                v = 0;
            }
            let spiked = v > p.vth[i];
            if spiked {
                v = 0;
                self.ref_count[i] = p.refract[i];
            }
            self.ref_count[i] = (self.ref_count[i] - 1).max(0);
            self.voltage[i] = v;
            self.spiked[i] = spiked;
        }
    }
}
