//! Printing that never panics: a closed stdout (`snnc ir … | head`) ends the process quietly
//! with status 0, as ripgrep does; any other failure to write it (a full disk, `> /dev/full`)
//! is an error, status 1, since what the user asked for was not written; a closed or failing
//! stderr is ignored.

use std::io::Write;

/// Write `s` to stdout; on a broken or closed stdout, exit quietly (status 0); on any other
/// write error, say so on stderr and exit with status 1.
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        // EBADF: stdout was closed (`>&-`)
        if e.kind() == std::io::ErrorKind::BrokenPipe || e.raw_os_error() == Some(9) {
            std::process::exit(0);
        }
        err(&format!("error: cannot write to standard output: {e}\n"));
        std::process::exit(1);
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
