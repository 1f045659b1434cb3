//! The outputs of a command, checked before anything is written: no output may be one of the
//! command's inputs, and no two outputs may be the same file. Writing itself is
//! `snn_io::output` (through links, devices directly, regular files atomically, sets of files
//! all or none), which every command uses.

use snn_io::output::resolve;
use std::path::{Path, PathBuf};

/// Refuse (with a message naming the paths as given) an output that is one of `inputs` or
/// that another output also names, and `-` (which would otherwise become a file named `-`).
/// Devices, FIFOs and sockets are exempt from the input check (`-o /dev/stdout` while
/// reading `/dev/stdin` destroys nothing).
pub fn check(inputs: &[PathBuf], outputs: &[&Path]) -> Result<(), String> {
    let mut seen: Vec<(&Path, PathBuf)> = Vec::new();
    for &out in outputs {
        if out == Path::new("-") {
            return Err("`-` is not standard output here: give a file name (or /dev/stdout); \
                 nothing was written"
                .to_string());
        }
        let r = resolve(out).map_err(|e| e.to_string())?;
        if r.special && outputs.len() > 1 {
            return Err(format!(
                "refusing to write {}: it is a device or pipe, and this command's outputs are \
                 written together, all or none, which only regular files can be; nothing was written",
                out.display()
            ));
        }
        if r.exists && !r.special {
            if let Some(input) = inputs.iter().find(|i| snn_io::output::same_file(i, &r.path)) {
                let link = std::fs::symlink_metadata(out).is_ok_and(|m| m.is_symlink());
                let same =
                    if link { format!(" (a link to {})", input.display()) } else { String::new() };
                return Err(format!(
                    "refusing to write {}: it is an input of this command{same}; nothing was written",
                    out.display()
                ));
            }
        }
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == r.path) {
            return Err(format!(
                "refusing to write {} and {}: they are the same file; nothing was written",
                other.display(),
                out.display()
            ));
        }
        if !r.special {
            seen.push((out, r.path));
        }
    }
    Ok(())
}

/// Refuse an output whose directory does not exist, before any work (a long run would
/// otherwise fail only when writing). Devices and existing files pass.
pub fn check_directories(outputs: &[&Path]) -> Result<(), String> {
    for &out in outputs {
        let r = resolve(out).map_err(|e| e.to_string())?;
        let dir = r.path.parent().unwrap_or(Path::new("."));
        if !r.exists && !dir.is_dir() {
            let given = match out.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            // a dangling link: the missing directory is the one it points into
            let linked = std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
            let missing = if linked {
                format!("{} (where the link points)", dir.display())
            } else {
                given.display().to_string()
            };
            return Err(format!(
                "cannot write {}: the directory {missing} does not exist; nothing was written",
                out.display()
            ));
        }
    }
    Ok(())
}

/// The weights file beside a `.snn` output (`OUT.safetensors`); an error when `output` is not
/// a `.snn` file (a model written as `x.txt` or `-` would not be found or run as one).
pub fn weights_beside(output: &Path) -> Result<PathBuf, String> {
    if output.extension().and_then(|e| e.to_str()) != Some("snn") {
        return Err(format!(
            "the output `{}` must be a .snn file (its weights go beside it as .safetensors)",
            output.display()
        ));
    }
    Ok(output.with_extension("safetensors"))
}

/// `-o DIR` must name a directory (or nothing yet), not an existing file.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(dir).is_ok() && !dir.is_dir() {
        return Err(format!(
            "{} exists and is not a directory (-o names the output directory)",
            dir.display()
        ));
    }
    Ok(())
}

/// Write `files` (path, contents) into the directory `dir` as a set: all or none. `dir` is
/// created when missing and removed again (with any parent this created) when the write fails.
pub fn write_into_dir(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), String> {
    check_dir(dir)?;
    let created: Vec<&Path> =
        dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).collect();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let written = (|| {
        let mut staged = Vec::with_capacity(files.len());
        for (path, bytes) in files {
            let mut s = snn_io::output::Staged::new(path)?;
            std::io::Write::write_all(s.file(), bytes)
                .map_err(|e| snn_io::IoError::Write { path: path.clone(), source: e })?;
            staged.push(s);
        }
        snn_io::output::commit_all(staged)
    })();
    written.map_err(|e| {
        // only directories this made, and only while empty
        for d in &created {
            let _ = std::fs::remove_dir(d);
        }
        e.to_string()
    })
}
