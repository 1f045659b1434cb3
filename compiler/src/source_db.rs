//! Where source files, the standard library and weights files come from. The only module of the
//! compiler that touches the file system is the [`FsDb`] implementation.

use indexmap::IndexMap;
use ndarray::ArrayD;
use snn_syntax::FileId;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Tensors by name, from a weights file.
pub trait TensorSource {
    /// Every tensor name, in file order.
    fn names(&self) -> Vec<String>;
    /// The tensor called `name`, as f64.
    fn tensor(&self, name: &str) -> Option<ArrayD<f64>>;
}

/// An in-memory [`TensorSource`].
#[derive(Clone, Debug, Default)]
pub struct MemTensors(pub IndexMap<String, ArrayD<f64>>);

impl TensorSource for MemTensors {
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn tensor(&self, name: &str) -> Option<ArrayD<f64>> {
        self.0.get(name).cloned()
    }
}

/// Source texts and the files they refer to.
pub trait SourceDb {
    /// The text of a loaded file.
    fn text(&self, file: FileId) -> &str;
    /// A display name for a loaded file (its path as given).
    fn name(&self, file: FileId) -> String;
    /// Load `rel` relative to the file `from`.
    fn load_relative(&mut self, from: FileId, rel: &str) -> Result<FileId, String>;
    /// Load the standard-library file `name` (e.g. `integrator`).
    fn load_std(&mut self, name: &str) -> Option<FileId>;
    /// Names of the standard-library files.
    fn std_names(&self) -> Vec<&'static str>;
    /// Open the weights file `rel` relative to `from`.
    fn weights(&mut self, from: FileId, rel: &str) -> Result<Rc<dyn TensorSource>, String>;
}

/// The standard library, embedded in the binary.
pub const STDLIB: &[(&str, &str)] = &[
    ("integrator", include_str!("../../stdlib/integrator.snn")),
    ("oscillator", include_str!("../../stdlib/oscillator.snn")),
    ("ensemble_array", include_str!("../../stdlib/ensemble_array.snn")),
    ("product", include_str!("../../stdlib/product.snn")),
    ("channel", include_str!("../../stdlib/channel.snn")),
];

impl TensorSource for snn_io::WeightsFile {
    fn names(&self) -> Vec<String> {
        snn_io::WeightsFile::names(self).into_iter().map(str::to_string).collect()
    }
    fn tensor(&self, name: &str) -> Option<ArrayD<f64>> {
        self.get(name).ok().cloned()
    }
}

/// A [`SourceDb`] over the file system, with the embedded standard library.
#[derive(Default)]
pub struct FsDb {
    files: Vec<(String, Option<PathBuf>, String)>,
    by_path: IndexMap<PathBuf, FileId>,
    weights: IndexMap<PathBuf, Rc<dyn TensorSource>>,
}

impl FsDb {
    /// An empty database.
    pub fn new() -> FsDb {
        FsDb::default()
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

    /// Read a file from disk.
    pub fn load(&mut self, path: &Path) -> Result<FileId, String> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(id) = self.by_path.get(&key) {
            return Ok(*id);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(self.add(&path.display().to_string(), Some(key), text))
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
        let file = snn_io::WeightsFile::open(&path).map_err(|e| e.to_string())?;
        let source: Rc<dyn TensorSource> = Rc::new(file);
        self.weights.insert(path, source.clone());
        Ok(source)
    }
}
