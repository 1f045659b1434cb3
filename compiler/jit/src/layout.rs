//! The state block of one batch element and what the driver sets up for generated code:
//! signals laid out contiguously, op-private regions (neuron and filter state, scratch copies),
//! host kernels and context-table slots. Filled while code is generated; owned by the compiled
//! program. Generated code embeds no address of it: the state block and the context table are
//! arguments, a kernel is reached through its context slots (constant arrays are the module's
//! data, see `emit::Pool`).

use super::float::JitFloat;
use super::host::{HostKernel, FIXED_SLOTS};
use super::JitError;
use snn_compiler::ir::Program;

/// A host kernel (the driver passes generated code a thin pointer to the box).
pub(super) type Kernel<T> = Box<dyn HostKernel<T>>;

/// Layout, constants and kernels of a compiled program.
pub(super) struct Res<T> {
    /// Elements in the state block.
    pub len: usize,
    /// Offset of each signal.
    pub sig_off: Vec<usize>,
    /// Size of each signal.
    pub sig_len: Vec<usize>,
    /// Initial values of the signals (`(offset, values)`; the rest of the block starts at 0).
    pub sig_init: Vec<(usize, Vec<T>)>,
    /// Host kernels and their first context slot (the kernel's; its state's is the next).
    pub kernels: Vec<(Kernel<T>, usize)>,
    /// Context slots in all.
    pub n_slots: usize,
    /// Per program input: (data pointer slot, byte stride per step slot).
    pub inputs: Vec<(usize, usize)>,
    /// Per probe: output pointer slot.
    pub probes: Vec<usize>,
    /// What runs on the host, for reports (`op name: reason`).
    pub host_ops: Vec<String>,
}

impl<T: JitFloat> Res<T> {
    /// Signals of `program` laid out one after the other (each starting on a 16-byte boundary).
    pub(super) fn new(program: &Program) -> Result<Self, JitError> {
        let mut res = Res {
            len: 0,
            sig_off: Vec::with_capacity(program.signals.len()),
            sig_len: Vec::with_capacity(program.signals.len()),
            sig_init: Vec::new(),
            kernels: Vec::new(),
            n_slots: FIXED_SLOTS,
            inputs: Vec::new(),
            probes: Vec::new(),
            host_ops: Vec::new(),
        };
        for s in &program.signals {
            let off = res.alloc(s.size);
            res.sig_off.push(off);
            res.sig_len.push(s.size);
            if s.init.len() == s.size && s.init.iter().any(|&v| v != 0.0) {
                res.sig_init.push((off, s.init.iter().map(|&v| T::cast(v)).collect()));
            }
        }
        for _ in &program.inputs {
            let p = res.slot();
            let s = res.slot();
            res.inputs.push((p, s));
        }
        for _ in &program.probes {
            let p = res.slot();
            res.probes.push(p);
        }
        Ok(res)
    }

    /// A region of `n` elements, 16-byte aligned.
    pub(super) fn alloc(&mut self, n: usize) -> usize {
        let lanes = T::LANES;
        let off = self.len.div_ceil(lanes) * lanes;
        self.len = off + n;
        off
    }

    /// A new context slot.
    pub(super) fn slot(&mut self) -> usize {
        self.n_slots += 1;
        self.n_slots - 1
    }

    /// Keeps `kernel` with two new context slots (the kernel, its state); returns the first.
    pub(super) fn kernel(&mut self, kernel: Box<dyn HostKernel<T>>, what: String) -> usize {
        let slot = self.slot();
        let state = self.slot();
        debug_assert_eq!(state, slot + 1);
        self.kernels.push((kernel, slot));
        if !what.is_empty() {
            self.host_ops.push(what);
        }
        slot
    }

    /// The initial state block (signal initial values, zeros elsewhere).
    pub(super) fn initial_block(&self) -> Vec<T> {
        let mut mem = vec![T::zero(); self.len];
        for (off, vals) in &self.sig_init {
            mem[*off..*off + vals.len()].copy_from_slice(vals);
        }
        mem
    }
}
