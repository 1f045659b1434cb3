//! snn-fs: [`FsDb`], the [`SourceDb`] over the file system (source files, the embedded standard
//! library, weights files read through `snn-io`). The compiler itself reads no file: it sees
//! sources and tensors only through the `SourceDb` and `TensorSource` traits, so it needs no
//! file-format reader (and no `zip`).

use indexmap::IndexMap;
use ndarray::ArrayD;
use snn_compiler::source_db::STDLIB;
use snn_compiler::{SourceDb, TensorSource};
use snn_syntax::FileId;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A weights file (`.npz`, `.safetensors`, `.npy`) as a [`TensorSource`].
struct WeightsTensors(snn_io::WeightsFile);

impl TensorSource for WeightsTensors {
    fn names(&self) -> Vec<String> {
        self.0.names().into_iter().map(str::to_string).collect()
    }
    fn tensor(&self, name: &str) -> Option<ArrayD<f64>> {
        self.0.get(name).ok().cloned()
    }
}

/// A [`SourceDb`] over the file system, with the embedded standard library.
#[derive(Default)]
pub struct FsDb {
    files: Vec<(String, Option<PathBuf>, String)>,
    by_path: IndexMap<PathBuf, FileId>,
    weights: IndexMap<PathBuf, Rc<dyn TensorSource>>,
    /// Read only regular files (no pipes or devices): the language server, whose own
    /// standard input is the protocol stream.
    files_only: bool,
}

impl FsDb {
    /// An empty database.
    pub fn new() -> FsDb {
        FsDb::default()
    }

    /// An empty database that reads only regular files for `use` and `weights`: a pipe or
    /// device (`/dev/stdin`) is an error rather than a read that may block or steal input.
    pub fn files_only() -> FsDb {
        FsDb { files_only: true, ..FsDb::default() }
    }

    /// Refuse `path` when this reads only regular files and it is not one.
    fn check_regular(&self, path: &Path) -> Result<(), String> {
        match std::fs::metadata(path) {
            Ok(m) if self.files_only && !m.is_file() => {
                Err(format!("cannot read {}: not a regular file", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Add a file with the given text (used by tests and the LSP for unsaved buffers).
    pub fn add(&mut self, name: &str, path: Option<PathBuf>, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        if let Some(p) = &path {
            self.by_path.insert(p.clone(), id);
        }
        self.files.push((name.to_string(), path, text));
        id
    }

    /// Registers `source` as the weights file `rel` of `file` (in-memory tensors, as `import`
    /// checks its output before writing anything).
    pub fn add_weights(&mut self, file: FileId, rel: &str, source: Rc<dyn TensorSource>) {
        let path = self.dir_of(file).join(rel);
        self.weights.insert(path, source);
    }

    /// Read a file from disk.
    pub fn load(&mut self, path: &Path) -> Result<FileId, String> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(id) = self.by_path.get(&key) {
            return Ok(*id);
        }
        self.check_regular(path)?;
        let text = read_source_text(path)?;
        Ok(self.add(&path.display().to_string(), Some(key), text))
    }

    /// Every file read so far (sources and weights files, links followed where the file
    /// exists): what a command must not overwrite.
    pub fn files_read(&self) -> Vec<PathBuf> {
        let sources = self.files.iter().filter_map(|f| f.1.clone());
        sources.chain(self.weights.keys().cloned()).collect()
    }

    fn dir_of(&self, file: FileId) -> PathBuf {
        self.files
            .get(file.0 as usize)
            .and_then(|f| f.1.as_ref())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

impl SourceDb for FsDb {
    fn text(&self, file: FileId) -> &str {
        self.files.get(file.0 as usize).map(|f| f.2.as_str()).unwrap_or("")
    }

    fn name(&self, file: FileId) -> String {
        self.files.get(file.0 as usize).map(|f| f.0.clone()).unwrap_or_default()
    }

    fn load_relative(&mut self, from: FileId, rel: &str) -> Result<FileId, String> {
        let path = self.dir_of(from).join(rel);
        self.load(&path)
    }

    fn load_std(&mut self, name: &str) -> Option<FileId> {
        let key = PathBuf::from(format!("<std>/{name}.snn"));
        if let Some(id) = self.by_path.get(&key) {
            return Some(*id);
        }
        let (_, text) = STDLIB.iter().find(|(n, _)| *n == name)?;
        let id = FileId(self.files.len() as u32);
        self.by_path.insert(key, id);
        self.files.push((format!("std/{name}.snn"), None, (*text).to_string()));
        Some(id)
    }

    fn std_names(&self) -> Vec<&'static str> {
        STDLIB.iter().map(|(n, _)| *n).collect()
    }

    fn weights(&mut self, from: FileId, rel: &str) -> Result<Rc<dyn TensorSource>, String> {
        let path = self.dir_of(from).join(rel);
        if let Some(w) = self.weights.get(&path) {
            return Ok(w.clone());
        }
        self.check_regular(&path)?;
        let file = snn_io::WeightsFile::open(&path).map_err(|e| e.to_string())?;
        let source: Rc<dyn TensorSource> = Rc::new(WeightsTensors(file));
        self.weights.insert(path, source.clone());
        Ok(source)
    }
}

/// The largest source file read (a device such as `/dev/zero` never ends).
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// The bytes of the source file `path`: a regular file or a pipe (`/dev/stdin` from a
/// shell pipeline; a device is refused, as `/dev/zero` never ends) of at most
/// [`MAX_SOURCE_BYTES`].
pub fn read_source(path: &Path) -> Result<Vec<u8>, String> {
    snn_io::read_at_most(path, MAX_SOURCE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The text of the source file `path`: [`read_source`] then [`source_text`], errors naming
/// the path.
pub fn read_source_text(path: &Path) -> Result<String, String> {
    source_text(read_source(path)?).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A source's bytes from standard input (`-`), capped as [`read_source`] caps files.
pub fn read_stdin_source() -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::io::stdin().lock().take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes);
    match read {
        Err(e) => Err(format!("cannot read standard input: {e}")),
        Ok(_) if bytes.len() as u64 > MAX_SOURCE_BYTES => {
            Err(format!("cannot read standard input: larger than {} MiB", MAX_SOURCE_BYTES >> 20))
        }
        Ok(_) => Ok(bytes),
    }
}

/// A source file's bytes as text: a UTF-8 byte-order mark is dropped; invalid UTF-8 and NUL
/// bytes are errors naming their line and column.
pub fn source_text(mut bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let at = |bytes: &[u8], i: usize| {
        let before = &bytes[..i];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        format!("line {line}, column {col} (byte {i})")
    };
    match String::from_utf8(bytes) {
        Ok(mut text) => match text.bytes().position(|b| b == 0) {
            Some(i) => Err(format!("a NUL byte at {}: not a text file", at(text.as_bytes(), i))),
            None => {
                snn_syntax::normalize_line_breaks(&mut text);
                Ok(text)
            }
        },
        Err(e) => {
            let i = e.utf8_error().valid_up_to();
            Err(format!("invalid UTF-8 at {}: source files must be UTF-8", at(e.as_bytes(), i)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snn-fs-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn serves_the_standard_library() {
        let mut db = FsDb::new();
        assert_eq!(db.std_names(), STDLIB.iter().map(|(n, _)| *n).collect::<Vec<_>>());
        let id = db.load_std("integrator").unwrap();
        assert_eq!(db.load_std("integrator"), Some(id), "loaded once");
        assert_eq!(db.name(id), "std/integrator.snn");
        assert!(!db.text(id).is_empty());
        assert_eq!(db.load_std("no_such_network"), None);
    }

    #[test]
    fn source_text_takes_a_bom_and_locates_bad_bytes() {
        assert_eq!(source_text(b"\xEF\xBB\xBFnode a: [1]".to_vec()).unwrap(), "node a: [1]");
        let e = source_text(b"node a\nnode \xFF".to_vec()).unwrap_err();
        assert_eq!(e, "invalid UTF-8 at line 2, column 6 (byte 12): source files must be UTF-8");
        let e = source_text(b"n\xC3\xA9\x00".to_vec()).unwrap_err();
        assert_eq!(e, "a NUL byte at line 1, column 3 (byte 3): not a text file");
    }

    #[test]
    fn missing_files_are_errors() {
        let dir = scratch("missing");
        let mut db = FsDb::new();
        let root = db.add("main.snn", Some(dir.join("main.snn")), String::new());
        let err = db.load_relative(root, "absent.snn").unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        assert!(db.weights(root, "absent.npz").is_err());
        assert_eq!(db.text(FileId(99)), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_sources_and_weights_relative_to_the_importer() {
        let dir = scratch("weights");
        std::fs::write(dir.join("lib.snn"), "// a library\n").unwrap();
        let w = arr2(&[[1.0, 2.0], [3.0, 4.0]]).into_dyn();
        snn_io::write_npz(&dir.join("w.npz"), &[("w", w.view())], snn_io::Precision::F64).unwrap();
        let mut db = FsDb::new();
        let root = db.add("main.snn", Some(dir.join("main.snn")), String::new());
        let lib = db.load_relative(root, "lib.snn").unwrap();
        assert_eq!(db.text(lib), "// a library\n");
        assert_eq!(db.load_relative(root, "lib.snn").unwrap(), lib, "loaded once");
        let weights = db.weights(root, "w.npz").unwrap();
        assert_eq!(weights.names(), vec!["w".to_string()]);
        assert_eq!(weights.tensor("w"), Some(w));
        assert_eq!(weights.tensor("v"), None);
        assert!(Rc::ptr_eq(&weights, &db.weights(root, "w.npz").unwrap()), "opened once");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
