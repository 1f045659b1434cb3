//! Fuzz target: any text goes through parse → resolve/check → (for small models) NEF build and
//! lowering to the IR, exactly as `snnc check` / `snnc run` do; none of it may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_fs::FsDb;

/// Models bigger than this (neurons, or values over all objects) are checked but not built: the
/// NEF solve and dense transforms are slow for them, not wrong.
const MAX_NEURONS: usize = 2_000;
const MAX_VALUES: usize = 20_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = snn_syntax::format(text);
    let mut db = FsDb::new();
    let root = db.add("fuzz.snn", None, text.to_string());
    let checked = snn_compiler::check(&mut db, root);
    let objects = &checked.model.objects;
    let neurons: usize = objects.iter().filter_map(|o| o.n_neurons()).sum();
    let values: usize = objects.iter().map(|o| o.size_out().max(o.size_in)).sum();
    if checked.has_errors() || neurons > MAX_NEURONS || values > MAX_VALUES {
        return;
    }
    let _ = snn_compiler::lower_model(&checked.model, 0.001);
});
