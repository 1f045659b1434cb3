//! Output files, written safely: the one way every snnc command writes a file.
//!
//! - A symbolic link is written through: its target is replaced, the link stays.
//! - A device, FIFO or socket is written directly (opened for writing, never created,
//!   truncated or replaced), so `-o /dev/null` or `-o /dev/stdout` work and stay what they are.
//! - A regular file (or a new one) is written to a temporary file in its own directory, which
//!   then replaces it by a rename (keeping its permissions, and its owner where allowed): a
//!   failed write leaves the old file as it was. A file with other hard links is rewritten in
//!   place instead (a rename would leave the other names on the old contents), and a file this
//!   user may not write (read-only) is refused.
//! - [`commit_all`] replaces several files as a set: all of them or none.
//! - Errors name the path the user gave, never a temporary file.
//!
//! Data is first written to a staged file ([`Staged::file`] or, for writers that want a path,
//! [`Staged::path`], which keeps the output's extension); nothing reaches the output before
//! [`Staged::commit`].

use crate::IoError;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Where an output path leads once symbolic links are followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The file written: the path with every symbolic link followed (the parent directory
    /// canonical when it exists).
    pub path: PathBuf,
    /// The file exists and is not a regular file (a device, FIFO or socket).
    pub special: bool,
    /// The file exists.
    pub exists: bool,
}

fn write_err(path: &Path, source: std::io::Error) -> IoError {
    IoError::Write { path: path.to_path_buf(), source }
}

/// Follow `path`'s symbolic links (a dangling link resolves to the file it names).
pub fn resolve(path: &Path) -> Result<Resolved, IoError> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|e| write_err(path, e))?;
                p = match p.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(m) if m.is_dir() => {
                return Err(write_err(
                    path,
                    std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"),
                ))
            }
            Ok(m) => {
                let path = p.canonicalize().unwrap_or(p);
                return Ok(Resolved { path, special: !m.is_file(), exists: true });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = p.file_name().map(|n| n.to_os_string()).ok_or_else(|| {
                    write_err(path, std::io::Error::other("it does not name a file"))
                })?;
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let dir = dir.canonicalize().unwrap_or(dir);
                return Ok(Resolved { path: dir.join(name), special: false, exists: false });
            }
            Err(e) => return Err(write_err(path, e)),
        }
    }
    Err(write_err(path, std::io::Error::other("too many levels of symbolic links")))
}

/// Whether `a` and `b` are the same existing file (device and inode, links followed).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// An output being written: a temporary file that [`Staged::commit`] moves into place.
pub struct Staged {
    user: PathBuf,
    target: Resolved,
    tmp: tempfile::NamedTempFile,
    /// The target is a regular file with other hard links: written in place (truncated and
    /// rewritten), as a rename would leave the other names on the old contents.
    in_place: bool,
}

/// The error of creating a staged file in `dir`, without the temporary file's name (tempfile
/// appends it) and naming a directory that does not exist as such.
fn staging_error(dir: &Path, e: std::io::Error) -> std::io::Error {
    let kind = e.kind();
    if kind == std::io::ErrorKind::NotFound && !dir.is_dir() {
        return std::io::Error::new(
            kind,
            format!("the directory {} does not exist", dir.display()),
        );
    }
    // tempfile's message ends in ` at path "DIR/.snn-tmp-…"`: not the user's concern
    let text = e.to_string();
    let reason = text.rsplit_once(" at path ").map_or(text.as_str(), |(m, _)| m);
    std::io::Error::new(kind, format!("cannot create a file in {}: {reason}", dir.display()))
}

impl Staged {
    /// Stage an output for `path` (the path as the user gave it, for messages).
    pub fn new(path: &Path) -> Result<Staged, IoError> {
        let target = resolve(path)?;
        // same extension: some writers (image encoders) go by it
        let suffix = target
            .path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let mut b = tempfile::Builder::new();
        b.prefix(".snn-tmp-").suffix(&suffix);
        let dir = target.path.parent().unwrap_or(Path::new("."));
        let mut in_place = false;
        if target.exists && !target.special {
            // a file its owner made read-only stays unwritten, as `cp` and editors leave it
            // (a rename would replace it regardless of its permissions)
            rustix::fs::access(&target.path, rustix::fs::Access::WRITE_OK).map_err(|_| {
                write_err(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        "it is read-only (not writable by this user)",
                    ),
                )
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                in_place = std::fs::metadata(&target.path).is_ok_and(|m| m.nlink() > 1);
            }
        }
        let tmp = if target.special || in_place { b.tempfile() } else { b.tempfile_in(dir) }
            .map_err(|e| write_err(path, staging_error(dir, e)))?;
        Ok(Staged { user: path.to_path_buf(), target, tmp, in_place })
    }

    /// The staged file, to write into.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// The staged file's path, for writers that open a path themselves.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The path the user gave.
    pub fn user_path(&self) -> &Path {
        &self.user
    }

    /// Where the data goes.
    pub fn target(&self) -> &Resolved {
        &self.target
    }

    /// Make the staged file durable and give it the permissions (and, where allowed, the
    /// owner and group) of the file it replaces.
    fn seal(&mut self) -> Result<(), IoError> {
        let user = self.user.clone();
        self.tmp.as_file_mut().flush().map_err(|e| write_err(&user, e))?;
        if self.copies() {
            return Ok(());
        }
        self.tmp.as_file().sync_all().map_err(|e| write_err(&user, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let old = std::fs::metadata(&self.target.path).ok();
            if let Some(m) = &old {
                // best effort: only root may give a file to another user
                let _ = std::os::unix::fs::fchown(self.tmp.as_file(), Some(m.uid()), Some(m.gid()));
            }
            // Temporary files are private (0600); give the result ordinary permissions.
            let mode = old.map_or(0o644, |m| m.permissions().mode());
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| write_err(&user, e))?;
        }
        Ok(())
    }

    /// Whether the data is copied into the existing file (a special file, or a hard-linked
    /// one) rather than renamed over it; such a write cannot be taken back.
    fn copies(&self) -> bool {
        self.target.special || self.in_place
    }

    /// Copy the staged bytes into a special file (opened for writing, not created), or into
    /// a hard-linked regular file in place (truncated first).
    fn copy_into(&mut self) -> Result<(), IoError> {
        let user = self.user.clone();
        // writers that reopen the path leave the handle's position anywhere
        let mut src = std::fs::File::open(self.tmp.path()).map_err(|e| write_err(&user, e))?;
        src.rewind().map_err(|e| write_err(&user, e))?;
        let mut dst = std::fs::OpenOptions::new()
            .write(true)
            .truncate(self.in_place)
            .open(&self.target.path)
            .map_err(|e| write_err(&user, e))?;
        std::io::copy(&mut src, &mut dst).map_err(|e| write_err(&user, e))?;
        dst.flush().map_err(|e| write_err(&user, e))?;
        if self.in_place {
            dst.sync_all().map_err(|e| write_err(&user, e))?;
        }
        Ok(())
    }

    /// Move the staged data into place (see the module's rules); on error the output is as
    /// it was and the temporary file is gone.
    pub fn commit(mut self) -> Result<(), IoError> {
        self.seal()?;
        if self.copies() {
            return self.copy_into();
        }
        let user = self.user;
        self.tmp.persist(&self.target.path).map_err(|e| write_err(&user, e.error))?;
        Ok(())
    }
}

/// Write `path` by `fill`, which writes the whole content into the staged file.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), IoError>,
) -> Result<(), IoError> {
    let mut staged = Staged::new(path)?;
    fill(staged.file())?;
    staged.commit()
}

/// Write `bytes` to `path`.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let user = path.to_path_buf();
    write_with(path, |f| f.write_all(bytes).map_err(|e| write_err(&user, e)))
}

/// Commit several staged outputs as a set: every one or none. Regular files are replaced
/// first, each old file kept (hard-linked) until all are in place and put back on a failure;
/// a hard-linked file, rewritten in place, last. A device or pipe in a set is refused.
pub fn commit_all(mut staged: Vec<Staged>) -> Result<(), IoError> {
    // a write into a device or pipe cannot be taken back, nor wait for a reader mid-set
    if staged.len() > 1 {
        if let Some(s) = staged.iter().find(|s| s.target.special) {
            return Err(write_err(
                &s.user,
                std::io::Error::other(
                    "a device or pipe cannot be one of a set of files written all or none",
                ),
            ));
        }
    }
    for s in &mut staged {
        s.seal()?;
    }
    // copies into existing files cannot be taken back: last
    staged.sort_by_key(Staged::copies);
    // (target, backup of the old file if there was one)
    let mut done: Vec<(PathBuf, Option<tempfile::TempPath>)> = Vec::new();
    let undo = |done: Vec<(PathBuf, Option<tempfile::TempPath>)>| {
        for (target, backup) in done.into_iter().rev() {
            match backup {
                Some(b) => {
                    let _ = b.persist(&target);
                }
                None => {
                    let _ = std::fs::remove_file(&target);
                }
            }
        }
    };
    for mut s in staged {
        if s.copies() {
            if let Err(e) = s.copy_into() {
                undo(done);
                return Err(e);
            }
            continue;
        }
        let backup = if s.target.exists {
            match backup_of(&s.target.path) {
                Ok(b) => Some(b),
                Err(e) => {
                    undo(done);
                    return Err(write_err(&s.user, e));
                }
            }
        } else {
            None
        };
        let target = s.target.path.clone();
        if let Err(e) = s.tmp.persist(&target) {
            drop(backup);
            undo(done);
            return Err(write_err(&s.user, e.error));
        }
        done.push((target, backup));
    }
    // success: the backups are removed as they drop
    Ok(())
}

/// A hard link to `path` under a temporary name in its directory (a copy where links are not
/// possible), removed when dropped.
fn backup_of(path: &Path) -> std::io::Result<tempfile::TempPath> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".snn-old-").tempfile_in(dir)?.into_temp_path();
    let name = tmp.to_path_buf();
    std::fs::remove_file(&name)?;
    if std::fs::hard_link(path, &name).is_err() {
        std::fs::copy(path, &name)?;
    }
    Ok(tmp)
}
