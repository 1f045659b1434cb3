//! snn-io, array files as `ndarray::ArrayD<f64>`: `.npy`, `.npz` (NumPy) and `.safetensors`, plus
//! [`WeightsFile`], which opens either kind by extension and serves tensors by name.
//!
//! Reading converts every supported element type (floats, integers, bool) to `f64`. Writing goes
//! through [`output`] (the one way snnc writes files): symbolic links are written through,
//! devices and FIFOs directly, and regular files atomically (a temporary file in the target's
//! directory renamed over it), so a failed write never leaves a half-written file. No function here panics on a
//! bad file; every failure is an [`IoError`] naming the file, the array and the reason.

mod npy;
pub mod output;
mod safetensors;
mod spool;
mod weights;

use std::fmt;
use std::path::{Path, PathBuf};

pub use self::npy::{read_npy, read_npy_bytes, read_npz, read_npz_bytes, write_npy, write_npz};
pub use self::safetensors::{
    read_safetensors, read_safetensors_bytes, write_safetensors, write_safetensors_to,
};
pub use self::spool::{free_space, read_npz_comment, write_npz_with_comment, NpzSpool};
pub use self::weights::{WeightsFile, WeightsFormat};
pub use snn_runtime::Precision;

/// What can go wrong reading or writing an array file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be opened or read.
    #[error("{}: cannot read file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file could not be written (or the temporary file could not be renamed).
    #[error("{}: cannot write file: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file is not in the expected container format.
    #[error("{}: not a valid {format} file: {reason}", path.display())]
    BadFormat {
        /// The file.
        path: PathBuf,
        /// `.npy`, `.npz` or `.safetensors`.
        format: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// An array whose element type cannot be converted to `f64`.
    #[error("{}: array `{name}` has unsupported dtype {dtype} (this format's supported dtypes: {supported})", path.display())]
    UnknownDtype {
        /// The file.
        path: PathBuf,
        /// The array.
        name: String,
        /// The dtype as the file spells it.
        dtype: String,
        /// The dtypes this file format is read in.
        supported: &'static str,
    },
    /// An array that exists but cannot be decoded.
    #[error("{}: array `{name}`: {reason}", path.display())]
    BadArray {
        /// The file.
        path: PathBuf,
        /// The array.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A requested array that the file does not hold.
    #[error("{}: no array named `{name}` (the file has: {})", path.display(), Available(available))]
    MissingArray {
        /// The file.
        path: PathBuf,
        /// The requested name.
        name: String,
        /// The names the file does hold.
        available: Vec<String>,
    },
    /// A file whose extension says neither `.npz`, `.npy` nor `.safetensors`.
    #[error("{}: unsupported weights file extension (expected .npz, .npy or .safetensors)", path.display())]
    UnknownExtension {
        /// The file.
        path: PathBuf,
    },
    /// An array name that cannot be stored (empty, or repeated within one write).
    #[error("{}: invalid array name `{name}`: {reason}", path.display())]
    BadName {
        /// The file being written.
        path: PathBuf,
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// Formats a list of names for [`IoError::MissingArray`], shortened when long.
struct Available<'a>(&'a [String]);

impl fmt::Display for Available<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        if self.0.is_empty() {
            return write!(f, "no arrays");
        }
        let names: Vec<String> = self.0.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
        write!(f, "{}", names.join(", "))?;
        if self.0.len() > SHOWN {
            write!(f, ", ... ({} more)", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// The most bytes read from a pipe (a FIFO, such as the shell's `<(...)`), whose length is not
/// known beforehand, and the most the compressed arrays of one `.npz` may inflate to: 4 GiB.
pub const MAX_STREAM_BYTES: u64 = 4 << 30;

/// Reads a whole data file, bounded: a regular file up to its size (as it was when opened), a
/// pipe (FIFO) up to [`MAX_STREAM_BYTES`]. Anything else, links followed (a device such as
/// `/dev/zero`, a socket, a directory), is refused as "not a regular file", before it is
/// opened. Every reader of this crate reads through this; errors name `path` as given.
pub fn read_file(path: &Path) -> Result<Vec<u8>, IoError> {
    read_at_most(path, u64::MAX)
        .map_err(|source| IoError::Read { path: path.to_path_buf(), source })
}

/// [`read_file`]'s bounded read with a second bound: more than `max` bytes (a larger regular
/// file, a pipe carrying more) is an error rather than a partial read. The error is the
/// reason only; the caller names the path.
pub fn read_at_most(path: &Path, max: u64) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    readable(&meta)?;
    let file = std::fs::File::open(path)?;
    // the file opened may not be the one looked at (replaced meanwhile): look again
    let meta = file.metadata()?;
    let limit = readable(&meta)?.min(max);
    let mut bytes = Vec::new();
    if meta.is_file() && meta.len() <= max {
        // no further than its size, even if it grows while being read
        bytes.reserve_exact(usize::try_from(limit).unwrap_or(0));
        file.take(limit).read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        let bound = if limit >= 1 << 30 && limit % (1 << 30) == 0 {
            format!("{} GiB", limit >> 30)
        } else {
            format!("{} MiB", limit >> 20)
        };
        return Err(std::io::Error::other(if meta.is_file() {
            format!("larger than {bound}")
        } else {
            format!("a pipe carrying more than {bound} (the most read from a pipe)")
        }));
    }
    Ok(bytes)
}

/// The most bytes [`read_file`] reads from a file of this kind, or why it reads none.
fn readable(meta: &std::fs::Metadata) -> Result<u64, std::io::Error> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(meta.len());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Ok(MAX_STREAM_BYTES);
        }
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ))
    }
    #[cfg(not(unix))]
    Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"))
}

/// Checks array names before writing: non-empty and unique.
pub(crate) fn check_names<'a>(
    path: &Path,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), IoError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if name.is_empty() {
            return Err(IoError::BadName {
                path: path.to_path_buf(),
                name: String::new(),
                reason: "empty name",
            });
        }
        if !seen.insert(name) {
            return Err(IoError::BadName {
                path: path.to_path_buf(),
                name: name.to_string(),
                reason: "given twice",
            });
        }
    }
    Ok(())
}

/// Writes `path` by [`output::write_with`]: through symbolic links, directly into devices and
/// FIFOs, and atomically into regular files (a temporary file in the same directory, renamed over
/// it). On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), IoError>,
) -> Result<(), IoError> {
    output::write_with(path, fill)
}
