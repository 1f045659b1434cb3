//! Fuzz target: text that checks without errors, and is small, is built, lowered and run for a
//! few steps by the reference interpreter (inputs held at ones), as `snnc run` does; none of it
//! may panic, and every probe must have the shape it declares.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_compiler::backend::interp::Interp;
use snn_compiler::target::Target;
use snn_fs::FsDb;
use snn_runtime::Precision;

/// Models bigger than this are not built (the NEF solve is slow for them, not wrong).
const MAX_NEURONS: usize = 1_000;
const MAX_VALUES: usize = 10_000;
/// The memory budget a fuzzed model may claim (as `--max-memory 256MB`).
const MAX_MEMORY: u64 = 256 << 20;
const STEPS: usize = 5;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut db = FsDb::new();
    let root = db.add("fuzz.snn", None, text.to_string());
    let checked = snn_compiler::check(&mut db, root);
    let objects = &checked.model.objects;
    let neurons: usize = objects.iter().filter_map(|o| o.n_neurons()).sum();
    let values: usize = objects.iter().map(|o| o.size_out().max(o.size_in)).sum();
    if checked.has_errors() || neurons > MAX_NEURONS || values > MAX_VALUES {
        return;
    }
    if snn_compiler::budget::check(&checked.model, MAX_MEMORY).is_some() {
        return;
    }
    let Ok(program) = snn_compiler::lower_model(&checked.model, 0.001) else { return };
    let inputs: Vec<ndarray::ArrayD<f64>> = program
        .inputs
        .iter()
        .map(|i| {
            let mut shape = vec![1];
            shape.extend(&i.shape);
            ndarray::ArrayD::ones(ndarray::IxDyn(&shape))
        })
        .collect();
    let Ok(exe) = Interp.prepare(&program, Precision::F64) else { return };
    if let Ok(out) = exe.run(STEPS, 1, &inputs, 1, &mut |_| {}) {
        assert_eq!(out.len(), program.probes.len());
        for (a, p) in out.iter().zip(&program.probes) {
            assert_eq!(&a.shape()[2..], &p.shape[..], "probe {}", p.name);
        }
    }
});
