//! Where source files, the standard library and weights files come from: the [`SourceDb`] and
//! [`TensorSource`] traits. The compiler touches no file system; `snn-fs`'s `FsDb` is the
//! implementation over files (the CLI's and the tests'), [`MemTensors`] an in-memory source.

use indexmap::IndexMap;
use ndarray::ArrayD;
use snn_syntax::FileId;
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
    /// The syntax tree of a loaded file: `snn_syntax::parse` of its text, unless the database
    /// has a faster way to the same result (the language server's incremental parser).
    fn parse(&mut self, file: FileId) -> snn_syntax::Parse {
        snn_syntax::parse(file, self.text(file))
    }
}

/// The standard library, embedded in the binary.
pub const STDLIB: &[(&str, &str)] = &[
    ("integrator", include_str!("../../stdlib/integrator.snn")),
    ("oscillator", include_str!("../../stdlib/oscillator.snn")),
    ("ensemble_array", include_str!("../../stdlib/ensemble_array.snn")),
    ("product", include_str!("../../stdlib/product.snn")),
    ("channel", include_str!("../../stdlib/channel.snn")),
];
