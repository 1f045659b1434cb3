//! Fuzz target: arbitrary bytes read as `.npy`, `.npz` and `.safetensors` (the readers behind
//! `--input`, `--labels` and `weights w = "…"`) give arrays or an `IoError`, never a panic or
//! an allocation far beyond the file's size.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_io::{WeightsFile, WeightsFormat};

fuzz_target!(|data: &[u8]| {
    for format in [WeightsFormat::Npy, WeightsFormat::Npz, WeightsFormat::Safetensors] {
        if let Ok(w) = WeightsFile::from_bytes("fuzz", format, data) {
            for (_, a) in w.iter() {
                assert_eq!(a.len(), a.shape().iter().product::<usize>());
            }
        }
    }
});
