//! Printing that never panics: a closed stdout (`snnc ir … | head`) ends the process quietly
//! with status 0, as ripgrep does; a closed or failing stderr is ignored.

use std::io::Write;

/// Write `s` to stdout; on a broken or closed stdout, exit quietly (status 0).
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if o.write_all(s.as_bytes()).and_then(|_| o.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Write `s` to stderr, ignoring failure (a closed stderr must not end a command).
pub fn err(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes()).and_then(|_| e.flush());
}

/// `print!` that never panics ([`out`]).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::io::out(&format!($($t)*)) };
}

/// `println!` that never panics ([`out`]).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::io::out(&format!("{}\n", format_args!($($t)*))) };
}

/// `eprint!` that never panics ([`err`]).
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => { $crate::io::err(&format!($($t)*)) };
}

/// `eprintln!` that never panics ([`err`]).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::io::err(&format!("{}\n", format_args!($($t)*))) };
}
