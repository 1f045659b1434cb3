//! Fuzz target: arbitrary bytes as a .h5 and as a .keras (zip) file must give a model or an
//! error, never a panic; a model that reads must evaluate or fail cleanly, and convert
//! (`snnc import`'s converter) into `.snn` text that parses, or fail with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for hint in ["fuzz.h5", "fuzz.keras"] {
        if let Ok(model) = snn_keras::read_model_bytes(hint, data) {
            // Whatever reads must also evaluate (or fail) without panicking.
            let inputs: Vec<ndarray::ArrayD<f32>> = model
                .inputs
                .iter()
                .map(|i| {
                    let mut s = vec![1usize];
                    s.extend(i.shape.iter().map(|d| d.unwrap_or(1).min(64)));
                    ndarray::ArrayD::zeros(ndarray::IxDyn(&s))
                })
                .collect();
            let _ = snn_keras::evaluate(&model, &inputs);
            let opts = snn_keras::convert::Options::default();
            if let Ok(c) = snn_keras::convert::convert(&model, "w.safetensors", &opts) {
                let parsed = snn_syntax::parse(snn_syntax::FileId(0), &c.snn);
                assert!(parsed.errors.is_empty(), "emitted .snn does not parse:\n{}", c.snn);
            }
        }
    }
});
