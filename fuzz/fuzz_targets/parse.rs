//! Fuzz target: any text goes through the parser (with its error recovery) and the formatter;
//! neither may panic, and formatting text that parses without errors must give text that
//! parses without errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snn_syntax::FileId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = snn_syntax::parse(FileId(0), text);
    if let Ok(formatted) = snn_syntax::format(text) {
        if parsed.errors.is_empty() {
            let again = snn_syntax::parse(FileId(0), &formatted);
            assert!(again.errors.is_empty(), "formatted text does not parse:\n{formatted}");
        }
    }
    let _ = snn_syntax::parse_expr(FileId(0), text);
});
