//! Linking: the shared library by the system's `cc -shared` (as rustc and Brian2's standalone
//! mode do), the static one written here (the runtime archive's members plus the model's two
//! objects, with a symbol index, by `ar_archive_writer` as rustc writes archives: binutils' `ar`
//! cannot index the objects of Rust's standard library). Everything is made in a scratch directory beside the output; the three files
//! then replace their targets by renames, so the output never holds half a build.

use crate::AotError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of one build, in a scratch directory.
pub(crate) struct Parts<'a> {
    /// Library name (`libNAME.so`, `libNAME.a`, `NAME.h`).
    pub name: &'a str,
    /// The generated step code.
    pub model_o: &'a [u8],
    /// The C functions.
    pub abi_o: &'a [u8],
    /// The runtime archive.
    pub runtime_a: &'a [u8],
    /// The header text.
    pub header: &'a str,
    /// The model file (canonical), never overwritten.
    pub source: Option<&'a Path>,
    /// The C compiler driver that links the shared library.
    pub cc: &'a str,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    /// The shared library.
    pub shared: PathBuf,
    /// The static library.
    pub static_lib: PathBuf,
    /// The header.
    pub header: PathBuf,
}

fn run(tool: &str, cmd: &mut Command) -> Result<(), AotError> {
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AotError::Tool(format!(
                "`{tool}` was not found: `snnc build` links with the system C toolchain (install gcc or clang and binutils, e.g. `apt-get install gcc`)"
            ))
        } else {
            AotError::Tool(format!("could not run `{tool}`: {e}"))
        }
    })?;
    if !out.status.success() {
        return Err(AotError::Tool(format!(
            "`{tool}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Builds the three files into `dir` (created if missing).
pub(crate) fn link(parts: &Parts<'_>, dir: &Path) -> Result<Written, AotError> {
    let io = |what: &str, e: std::io::Error| AotError::Io(format!("{what}: {e}"));
    if dir.exists() && !dir.is_dir() {
        return Err(AotError::Io(format!(
            "{} exists and is not a directory (-o names the output directory)",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), e))?;
    let scratch = tempfile::Builder::new()
        .prefix(".snnc-build-")
        .tempdir_in(dir)
        .map_err(|e| io(&format!("a scratch directory in {}", dir.display()), e))?;
    let s = scratch.path();
    let name = parts.name;
    let write = |file: &str, bytes: &[u8]| -> Result<PathBuf, AotError> {
        let p = s.join(file);
        std::fs::write(&p, bytes).map_err(|e| io(&p.display().to_string(), e))?;
        Ok(p)
    };
    let model_o = write(&format!("{name}_model.o"), parts.model_o)?;
    let abi_o = write(&format!("{name}_abi.o"), parts.abi_o)?;
    let runtime_a = write("libsnn_capi.a", parts.runtime_a)?;
    let globals: String = crate::abi::functions().map(|f| format!(" {name}_{f};")).collect();
    let exports =
        write("exports.map", format!("{{\n  global:{globals}\n  local: *;\n}};\n").as_bytes())?;
    let header = write(&format!("{name}.h"), parts.header.as_bytes())?;

    let so = s.join(format!("lib{name}.so"));
    let cc = parts.cc;
    run(
        cc,
        Command::new(cc)
            .arg("-shared")
            .arg("-o")
            .arg(&so)
            .arg(&model_o)
            .arg(&abi_o)
            .arg(&runtime_a)
            .arg(format!("-Wl,--version-script={}", exports.display()))
            .args(["-Wl,--gc-sections", "-Wl,-z,noexecstack", "-lm", "-lpthread", "-ldl"]),
    )?;

    let a = s.join(format!("lib{name}.a"));
    let objects =
        [(format!("{name}_model.o"), parts.model_o), (format!("{name}_abi.o"), parts.abi_o)];
    let archive = static_archive(parts.runtime_a, &objects)?;
    std::fs::write(&a, archive).map_err(|e| io(&a.display().to_string(), e))?;

    let out = Written {
        shared: dir.join(format!("lib{name}.so")),
        static_lib: dir.join(format!("lib{name}.a")),
        header: dir.join(format!("{name}.h")),
    };
    for to in [&out.shared, &out.static_lib, &out.header] {
        refuse_special(to)?;
        if let (Some(src), Ok(to)) = (parts.source, to.canonicalize()) {
            if src == to {
                return Err(AotError::Io(format!(
                    "{} is the model being built; not overwriting it",
                    to.display()
                )));
            }
        }
    }
    for (from, to) in [(&so, &out.shared), (&a, &out.static_lib), (&header, &out.header)] {
        std::fs::rename(from, to).map_err(|e| io(&to.display().to_string(), e))?;
    }
    Ok(out)
}

/// An output path that is a directory, a symlink or a device is never replaced.
fn refuse_special(p: &Path) -> Result<(), AotError> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if !m.file_type().is_file() => Err(AotError::Io(format!(
            "{} exists and is not a regular file; not replacing it",
            p.display()
        ))),
        _ => Ok(()),
    }
}

/// A GNU archive of `runtime`'s members and `objects`, with a symbol index.
fn static_archive(runtime: &[u8], objects: &[(String, &[u8])]) -> Result<Vec<u8>, AotError> {
    use ar_archive_writer::{write_archive_to_stream, ArchiveKind, NewArchiveMember};
    let bad = |e: object::read::Error| AotError::Codegen(format!("runtime archive: {e}"));
    let reader = &ar_archive_writer::DEFAULT_OBJECT_READER;
    let archive = object::read::archive::ArchiveFile::parse(runtime).map_err(bad)?;
    let mut members = Vec::new();
    for m in archive.members() {
        let m = m.map_err(bad)?;
        let name = String::from_utf8_lossy(m.name()).into_owned();
        members.push(NewArchiveMember::new(m.data(runtime).map_err(bad)?, reader, name));
    }
    for (name, bytes) in objects {
        members.push(NewArchiveMember::new(*bytes, reader, name.clone()));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    write_archive_to_stream(&mut out, &members, ArchiveKind::Gnu, false, None)
        .map_err(|e| AotError::Codegen(format!("static library: {e}")))?;
    Ok(out.into_inner())
}
