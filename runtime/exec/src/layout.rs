//! The state block of one batch element and what the driver sets up for generated code:
//! signals laid out contiguously, op-private regions (neuron and filter state, scratch copies),
//! host kernels and context-table slots. Filled while code is generated, then carried with the
//! code (in memory for the JIT, serialised into a native library). Generated code embeds no
//! address of it: the state block and the context table are arguments, a kernel is reached
//! through its context slots, constant arrays are data of the code's own module.

use crate::float::Float;
use crate::kernel::FIXED_SLOTS;
use crate::spec::KernelSpec;
use serde::{Deserialize, Serialize};

/// Layout, initial values and kernels of a compiled program.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Layout {
    /// Values per 16-byte alignment unit (the float type's 128-bit vector lanes).
    pub lanes: usize,
    /// Elements in the state block.
    pub len: usize,
    /// Offset of each signal.
    pub sig_off: Vec<usize>,
    /// Size of each signal.
    pub sig_len: Vec<usize>,
    /// Initial values of the signals (`(offset, values)`; the rest of the block starts at 0).
    pub sig_init: Vec<(usize, Vec<f64>)>,
    /// Host kernels and their first context slot (the kernel's; its state's is the next).
    pub kernels: Vec<(KernelSpec, usize)>,
    /// Context slots in all.
    pub n_slots: usize,
    /// Per program input: (data pointer slot, byte stride per step slot).
    pub inputs: Vec<(usize, usize)>,
    /// Per probe: output pointer slot.
    pub probes: Vec<usize>,
    /// What runs on the host, for reports (`op name: reason`).
    pub host_ops: Vec<String>,
}

impl Layout {
    /// Signals (`(size, initial values or empty)`) laid out one after the other, each on a
    /// `lanes`-element boundary, and the slots of `inputs` inputs and `probes` probes.
    pub fn new<'a>(
        lanes: usize,
        signals: impl IntoIterator<Item = (usize, &'a [f64])>,
        inputs: usize,
        probes: usize,
    ) -> Self {
        let mut layout = Layout {
            lanes: lanes.max(1),
            len: 0,
            sig_off: Vec::new(),
            sig_len: Vec::new(),
            sig_init: Vec::new(),
            kernels: Vec::new(),
            n_slots: FIXED_SLOTS,
            inputs: Vec::new(),
            probes: Vec::new(),
            host_ops: Vec::new(),
        };
        for (size, init) in signals {
            let off = layout.alloc(size);
            layout.sig_off.push(off);
            layout.sig_len.push(size);
            if init.len() == size && init.iter().any(|&v| v != 0.0) {
                layout.sig_init.push((off, init.to_vec()));
            }
        }
        for _ in 0..inputs {
            let p = layout.slot();
            let s = layout.slot();
            layout.inputs.push((p, s));
        }
        for _ in 0..probes {
            let p = layout.slot();
            layout.probes.push(p);
        }
        layout
    }

    /// A region of `n` elements, 16-byte aligned.
    pub fn alloc(&mut self, n: usize) -> usize {
        let off = self.len.div_ceil(self.lanes) * self.lanes;
        self.len = off + n;
        off
    }

    /// A new context slot.
    pub fn slot(&mut self) -> usize {
        self.n_slots += 1;
        self.n_slots - 1
    }

    /// Keeps `kernel` with two new context slots (the kernel, its state); returns the first.
    /// `what` (when not empty) names it in reports.
    pub fn kernel(&mut self, kernel: KernelSpec, what: String) -> usize {
        let slot = self.slot();
        let state = self.slot();
        debug_assert_eq!(state, slot + 1);
        self.kernels.push((kernel, slot));
        if !what.is_empty() {
            self.host_ops.push(what);
        }
        slot
    }

    /// The initial state block in `T` (signal initial values, zeros elsewhere).
    pub fn initial_block<T: Float>(&self) -> Vec<T> {
        let mut mem = vec![T::zero(); self.len];
        self.write_initial(&mut mem, false);
        mem
    }

    /// Writes the signals' initial values into `mem` (a block of [`Layout::len`] values), and
    /// zeros everywhere else when `clear` (a reused block).
    pub fn write_initial<T: Float>(&self, mem: &mut [T], clear: bool) {
        if clear {
            mem.fill(T::zero());
        }
        for (off, vals) in &self.sig_init {
            for (m, &v) in mem[*off..*off + vals.len()].iter_mut().zip(vals) {
                *m = T::cast(v);
            }
        }
    }
}
