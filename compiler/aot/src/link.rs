//! Linking: the shared library by the system's `cc -shared` (as rustc and Brian2's standalone
//! mode do), the static one written here (the runtime archive's members plus the model's two
//! objects, with a symbol index, by `ar_archive_writer` as rustc writes archives: binutils' `ar`
//! cannot index the objects of Rust's standard library). Everything is made in a scratch
//! directory; the caller installs the three files as a set (`snn_io::output::commit_all`), so
//! the output never holds half a build.

use crate::AotError;
use std::path::PathBuf;
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
    /// The C compiler driver that links the shared library.
    pub cc: &'a str,
}

/// The three files of a build, in a scratch directory that is removed when this is dropped.
#[derive(Debug)]
pub struct Built {
    /// The shared library (`libNAME.so`).
    pub shared: PathBuf,
    /// The static library (`libNAME.a`).
    pub static_lib: PathBuf,
    /// The header (`NAME.h`).
    pub header: PathBuf,
    _scratch: tempfile::TempDir,
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

/// Builds the three files in a scratch directory.
pub(crate) fn link(parts: &Parts<'_>) -> Result<Built, AotError> {
    let io = |what: &str, e: std::io::Error| AotError::Io(format!("{what}: {e}"));
    let scratch = tempfile::Builder::new()
        .prefix(".snnc-build-")
        .tempdir()
        .map_err(|e| io("a scratch directory", e))?;
    let s = scratch.path();
    let name = parts.name;
    let write = |file: &str, bytes: &[u8]| -> Result<PathBuf, AotError> {
        let p = s.join(file);
        std::fs::write(&p, bytes).map_err(|e| io(&format!("scratch file {file}"), e))?;
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

    let objects =
        [(format!("{name}_model.o"), parts.model_o), (format!("{name}_abi.o"), parts.abi_o)];
    let archive = static_archive(parts.runtime_a, &objects)?;
    let a = write(&format!("lib{name}.a"), &archive)?;
    Ok(Built { shared: so, static_lib: a, header, _scratch: scratch })
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
