//! [`NpzSpool`]: an `.npz` of known array shapes filled piece by piece, for probes that stream
//! to disk during a long run. Each array's values go to an unnamed temporary file at their
//! final offsets (so pieces may come in any order, e.g. a chunk of steps for every batch
//! element); [`NpzSpool::finish`] then copies them into the `.npz` through the one output
//! writer. Memory stays at one piece; the result is byte for byte what [`crate::write_npz`]
//! writes for the same arrays.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use py_literal::Value as PyValue;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{check_names, IoError, Precision};

/// One array being filled.
struct Spooled {
    name: String,
    shape: Vec<usize>,
    file: File,
}

/// An `.npz` whose arrays are written in pieces (see the module documentation).
pub struct NpzSpool {
    path: PathBuf,
    precision: Precision,
    arrays: Vec<Spooled>,
    comment: String,
}

/// Bytes per value written in `precision`.
fn width(precision: Precision) -> usize {
    match precision {
        Precision::F64 => 8,
        Precision::F32 => 4,
    }
}

impl NpzSpool {
    /// An `.npz` at `path` with arrays of these names and shapes, values in `precision`. The
    /// temporary files go beside `path` (or in the system's temporary directory when that
    /// cannot hold them, e.g. for a device).
    pub fn new(
        path: &Path,
        arrays: &[(&str, Vec<usize>)],
        precision: Precision,
    ) -> Result<Self, IoError> {
        check_names(path, arrays.iter().map(|(n, _)| *n))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let werr = |e: std::io::Error| IoError::Write { path: path.to_path_buf(), source: e };
        let mut spooled = Vec::with_capacity(arrays.len());
        for (name, shape) in arrays {
            let file =
                tempfile::tempfile_in(dir).or_else(|_| tempfile::tempfile()).map_err(werr)?;
            spooled.push(Spooled { name: name.to_string(), shape: shape.clone(), file });
        }
        Ok(NpzSpool {
            path: path.to_path_buf(),
            precision,
            arrays: spooled,
            comment: String::new(),
        })
    }

    /// Sets the archive comment (what [`read_npz_comment`] returns; NumPy ignores it).
    pub fn set_comment(&mut self, comment: &str) {
        self.comment = comment.to_string();
    }

    /// Writes `values` into array `i` starting at flat (row-major) index `first`.
    pub fn write_at(&mut self, i: usize, first: usize, values: &[f64]) -> Result<(), IoError> {
        let werr = |e: std::io::Error| IoError::Write { path: self.path.clone(), source: e };
        let a = self.arrays.get(i).ok_or_else(|| werr(std::io::Error::other("no such array")))?;
        let total: usize = a.shape.iter().product();
        if first.checked_add(values.len()).is_none_or(|end| end > total) {
            return Err(werr(std::io::Error::other(format!(
                "array `{}`: values {first}..{} beyond its {total}",
                a.name,
                first + values.len()
            ))));
        }
        let mut bytes = Vec::with_capacity(values.len() * width(self.precision));
        match self.precision {
            Precision::F64 => values.iter().for_each(|v| bytes.extend(v.to_le_bytes())),
            Precision::F32 => values.iter().for_each(|v| bytes.extend((*v as f32).to_le_bytes())),
        }
        a.file.write_all_at(&bytes, (first * width(self.precision)) as u64).map_err(werr)
    }

    /// Writes the `.npz` (atomically, through symbolic links, devices directly) from the
    /// spooled values; values never written are zeros.
    pub fn finish(self) -> Result<(), IoError> {
        let path = self.path.clone();
        let werr = |e: std::io::Error| IoError::Write { path: path.clone(), source: e };
        let zerr = |e: zip::result::ZipError| werr(std::io::Error::other(e));
        let w = width(self.precision);
        let descr = match self.precision {
            Precision::F64 => "<f8",
            Precision::F32 => "<f4",
        };
        let mut arrays = self.arrays;
        let comment = self.comment;
        crate::output::write_with(&self.path, |out| {
            let mut zip = ZipWriter::new(&mut *out);
            if !comment.is_empty() {
                zip.set_comment(comment.as_str());
            }
            for a in &mut arrays {
                let bytes = a.shape.iter().product::<usize>() * w;
                let header = npy_header(descr, &a.shape).map_err(&werr)?;
                let large = (bytes + header.len()) as u64 >= u64::from(u32::MAX);
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Stored)
                    .large_file(large);
                zip.start_file(format!("{}.npy", a.name), options).map_err(zerr)?;
                zip.write_all(&header).map_err(&werr)?;
                a.file.set_len(bytes as u64).map_err(&werr)?;
                a.file.seek(SeekFrom::Start(0)).map_err(&werr)?;
                let copied = std::io::copy(&mut a.file, &mut zip).map_err(&werr)?;
                if copied != bytes as u64 {
                    return Err(werr(std::io::Error::other("spooled array changed size")));
                }
            }
            zip.finish().map_err(zerr)?;
            Ok(())
        })
    }
}

/// Bytes free for an unprivileged user on the file system holding `path` (or its directory),
/// `None` when it cannot be told (e.g. a device). Through rustix's `statvfs` (a dependency
/// already, of tempfile): `f_bavail` blocks of `f_frsize` bytes.
pub fn free_space(path: &Path) -> Option<u64> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Writes arrays to an uncompressed `.npz` as [`crate::write_npz`] does, with an archive
/// `comment` (metadata NumPy ignores, read back by [`read_npz_comment`]).
pub fn write_npz_with_comment(
    path: &Path,
    arrays: &[(&str, ndarray::ArrayViewD<f64>)],
    precision: Precision,
    comment: &str,
) -> Result<(), IoError> {
    check_names(path, arrays.iter().map(|(n, _)| *n))?;
    let werr = |e: std::io::Error| IoError::Write { path: path.to_path_buf(), source: e };
    let zerr = |e: zip::result::ZipError| werr(std::io::Error::other(e));
    let descr = match precision {
        Precision::F64 => "<f8",
        Precision::F32 => "<f4",
    };
    crate::output::write_with(path, |out| {
        let mut zip = ZipWriter::new(std::io::BufWriter::new(&mut *out));
        if !comment.is_empty() {
            zip.set_comment(comment);
        }
        for (name, a) in arrays {
            let header = npy_header(descr, a.shape()).map_err(&werr)?;
            let bytes = a.len() * width(precision) + header.len();
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(bytes as u64 >= u64::from(u32::MAX));
            zip.start_file(format!("{name}.npy"), options).map_err(zerr)?;
            zip.write_all(&header).map_err(&werr)?;
            let mut buf = Vec::with_capacity(8192);
            for v in a.iter() {
                match precision {
                    Precision::F64 => buf.extend(v.to_le_bytes()),
                    Precision::F32 => buf.extend((*v as f32).to_le_bytes()),
                }
                if buf.len() >= 8192 {
                    zip.write_all(&buf).map_err(&werr)?;
                    buf.clear();
                }
            }
            zip.write_all(&buf).map_err(&werr)?;
        }
        let mut w = zip.finish().map_err(zerr)?;
        w.flush().map_err(&werr)?;
        Ok(())
    })
}

/// The archive comment of the `.npz` at `path` (empty when it has none).
pub fn read_npz_comment(path: &Path) -> Result<String, IoError> {
    let bytes = crate::read_file(path)?;
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| IoError::BadArray {
        path: path.to_path_buf(),
        name: String::new(),
        reason: format!("not an .npz (zip) archive: {e}"),
    })?;
    Ok(String::from_utf8_lossy(zip.comment()).into_owned())
}

/// The `.npy` header of a C-order array of `shape` with dtype `descr`, as ndarray-npy (and
/// NumPy) write it: format 1.0 unless the text needs 2.0, padded with spaces to a multiple of
/// 64 bytes, ending in a newline.
pub(crate) fn npy_header(descr: &str, shape: &[usize]) -> Result<Vec<u8>, std::io::Error> {
    let dict = PyValue::Dict(vec![
        (PyValue::String("descr".into()), PyValue::String(descr.into())),
        (PyValue::String("fortran_order".into()), PyValue::Boolean(false)),
        (
            PyValue::String("shape".into()),
            PyValue::Tuple(shape.iter().map(|&d| PyValue::Integer(d.into())).collect()),
        ),
    ]);
    let mut text = Vec::new();
    dict.write_ascii(&mut text).map_err(std::io::Error::other)?;
    // magic (6) + version (2) + length (2 in 1.0, 4 in 2.0), the text, a newline, padding
    let prefix_v1 = 6 + 2 + 2;
    let unpadded = prefix_v1 + text.len() + 1;
    let (major, prefix) = if unpadded + (64 - unpadded % 64) - prefix_v1 <= usize::from(u16::MAX) {
        (1u8, prefix_v1)
    } else {
        (2u8, 6 + 2 + 4)
    };
    let unpadded = prefix + text.len() + 1;
    let total = unpadded + (64 - unpadded % 64);
    let header_len = total - prefix;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY");
    out.push(major);
    out.push(0);
    if major == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(&text);
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    /// Filled in pieces, out of order, the spool writes exactly `write_npz`'s bytes.
    #[test]
    fn spooled_file_equals_write_npz() {
        let dir = tempfile::tempdir().expect("dir");
        for precision in [Precision::F64, Precision::F32] {
            let shapes: [&[usize]; 4] = [&[2, 7, 3], &[2, 7], &[1, 5, 2, 2], &[3, 0, 4]];
            let arrays: Vec<ArrayD<f64>> = shapes
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let mut c = 0.1;
                    ArrayD::from_shape_fn(IxDyn(s), |_| {
                        c += 1.0;
                        c * (k as f64 + 1.5)
                    })
                })
                .collect();
            let names = ["a", "probe.b", "c", "empty"];
            let whole = dir.path().join("whole.npz");
            let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
                names.iter().zip(&arrays).map(|(n, a)| (*n, a.view())).collect();
            crate::write_npz(&whole, &named, precision).expect("write_npz");
            let spooled = dir.path().join("spooled.npz");
            let decl: Vec<(&str, Vec<usize>)> =
                names.iter().zip(&shapes).map(|(n, s)| (*n, s.to_vec())).collect();
            let mut spool = NpzSpool::new(&spooled, &decl, precision).expect("spool");
            for (i, a) in arrays.iter().enumerate().rev() {
                let flat: Vec<f64> = a.iter().copied().collect();
                // pieces of 4 values, last first
                let mut starts: Vec<usize> = (0..flat.len()).step_by(4).collect();
                starts.reverse();
                for s in starts {
                    let e = (s + 4).min(flat.len());
                    spool.write_at(i, s, &flat[s..e]).expect("piece");
                }
            }
            spool.finish().expect("finish");
            assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&spooled).unwrap());
            let direct = dir.path().join("direct.npz");
            write_npz_with_comment(&direct, &named, precision, "").expect("direct");
            assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&direct).unwrap());
        }
    }

    #[test]
    fn headers_match_ndarray_npy() {
        use ndarray_npy::WriteNpyExt;
        // a long header: 30 dimensions (a few elements, not 3^30)
        let long: Vec<usize> = (0..30).map(|i| if i % 10 == 0 { 2 } else { 1 }).collect();
        for shape in [vec![], vec![5], vec![1, 10, 1], long] {
            let a = ArrayD::<f64>::zeros(IxDyn(&shape));
            let mut bytes = Vec::new();
            a.write_npy(&mut bytes).expect("npy");
            let h = npy_header("<f8", &shape).expect("header");
            assert_eq!(&bytes[..h.len()], &h[..], "shape {shape:?}");
        }
    }

    #[test]
    fn comments_are_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("c.npz");
        let a = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |ix| ix[0] as f64 + ix[1] as f64 * 0.5);
        write_npz_with_comment(&p, &[("a", a.view())], Precision::F64, "{\"x\": 1}").unwrap();
        assert_eq!(read_npz_comment(&p).unwrap(), "{\"x\": 1}");
        assert_eq!(crate::read_npz(&p).unwrap()["a"], a);
    }

    /// The free space of a real directory is told (and agrees with `df` to within what other
    /// writers change meanwhile); a directory that does not exist gives `None`.
    #[test]
    fn free_space_is_told_or_none() {
        let dir = tempfile::tempdir().expect("dir");
        let free = free_space(&dir.path().join("out.npz")).expect("free space of a temp dir");
        assert!(free > 0);
        let df = std::process::Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(dir.path())
            .output();
        if let Some(df) = df.ok().filter(|o| o.status.success()) {
            let text = String::from_utf8_lossy(&df.stdout);
            if let Some(avail) = text.lines().nth(1).and_then(|l| l.trim().parse::<u64>().ok()) {
                assert!(free.abs_diff(avail) < 1 << 30, "statvfs {free} vs df {avail}");
            }
        }
        assert_eq!(free_space(Path::new("/no/such/directory/out.npz")), None);
    }

    #[test]
    fn pieces_beyond_the_array_are_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s =
            NpzSpool::new(&dir.path().join("x.npz"), &[("a", vec![2, 2])], Precision::F64).unwrap();
        assert!(s.write_at(0, 3, &[1.0, 2.0]).is_err());
        assert!(s.write_at(1, 0, &[1.0]).is_err());
        assert!(s.write_at(0, usize::MAX, &[1.0]).is_err());
    }
}
