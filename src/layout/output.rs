//! What an output path is, checked before any network call. A regular file (or a name not yet
//! taken) is written through a temporary file beside it and renamed into place; a path that
//! exists and is something else (a character device such as a tape or a null device, a FIFO)
//! is written in place, sequentially, like `-o -`: renaming onto it would replace the device
//! with a plain file.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{LayoutError, OutputProblem};

/// How an output path is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Temporary file beside it, then rename (regular files and new names).
    Replace,
    /// Opened and written in order, never renamed onto (devices, FIFOs).
    InPlace,
}

/// Whether `path` exists and is neither a regular file nor a directory (symlinks followed, so
/// a link to a device is written through).
pub fn is_in_place(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Checks an output path before anything is fetched: a device or FIFO must be writable; any
/// other path must not be a directory, and its directory must exist and be writable (the
/// temporary file goes there). Errors name the path or directory at fault.
pub fn check(path: &Path) -> Result<OutputKind, LayoutError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(LayoutError::OutputPath {
            path: path.to_path_buf(),
            problem: OutputProblem::IsDirectory,
        }),
        Ok(m) if !m.is_file() => {
            writable(path, false)?;
            Ok(OutputKind::InPlace)
        }
        Ok(_) => check_dir(&parent_of(path)).map(|()| OutputKind::Replace),
        Err(e) => {
            // A missing or unusable directory explains the failure better than the path.
            check_dir(&parent_of(path))?;
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(OutputKind::Replace)
            } else {
                Err(LayoutError::Unusable {
                    path: path.to_path_buf(),
                    directory: false,
                    writable: false,
                    source: e,
                })
            }
        }
    }
}

/// Checks that an output directory, if it exists, is one (it is created when missing).
pub fn check_dir_option(dir: &Path) -> Result<(), LayoutError> {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(LayoutError::OutputDir {
            dir: dir.to_path_buf(),
            problem: OutputProblem::NotADirectoryOption,
        }),
        _ => Ok(()),
    }
}

/// Refuses a terminal as the destination of a tar: nobody wants a bundle on screen.
pub fn refuse_terminal(out: &impl IsTerminal, name: Option<&Path>) -> Result<(), LayoutError> {
    if !out.is_terminal() {
        return Ok(());
    }
    Err(match name {
        None => LayoutError::Terminal,
        Some(p) => LayoutError::OutputPath {
            path: p.to_path_buf(),
            problem: OutputProblem::Terminal,
        },
    })
}

/// Opens a device or FIFO for sequential writing (a FIFO waits here for its reader).
pub fn open_in_place(path: &Path) -> Result<File, LayoutError> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| super::writer::io_err(path, "open", e))
}

/// The directory a temporary file beside `path` goes into.
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn check_dir(dir: &Path) -> Result<(), LayoutError> {
    let err = |problem| LayoutError::OutputDir {
        dir: dir.to_path_buf(),
        problem,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(err(OutputProblem::DoesNotExist)),
        Err(source) => Err(LayoutError::Unusable {
            path: dir.to_path_buf(),
            directory: true,
            writable: false,
            source,
        }),
        Ok(m) if !m.is_dir() => Err(err(OutputProblem::NotADirectory)),
        Ok(_) => writable(dir, true),
    }
}

/// access(2) with W_OK: no side effect, and it sees read-only mounts (EROFS) too.
fn writable(path: &Path, directory: bool) -> Result<(), LayoutError> {
    let unusable = |source| LayoutError::Unusable {
        path: path.to_path_buf(),
        directory,
        writable: true,
        source,
    };
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| unusable(e.into()))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
        Ok(())
    } else {
        Err(unusable(std::io::Error::last_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_directory_errors() {
        let t = tempfile::tempdir().unwrap();
        let new = t.path().join("new.tar");
        assert_eq!(check(&new).unwrap(), OutputKind::Replace);
        std::fs::write(&new, b"x").unwrap();
        assert_eq!(check(&new).unwrap(), OutputKind::Replace);
        assert!(!is_in_place(&new));
        let e = check(&new.join("x.tar")).unwrap_err().to_string();
        assert!(e.contains("new.tar: is not a directory"), "{e}");
        let e = check(&t.path().join("a/b/x.tar")).unwrap_err().to_string();
        assert!(e.contains("a/b: does not exist"), "{e}");
        let e = check(t.path()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        assert!(check_dir_option(&new).is_err());
        assert!(check_dir_option(t.path()).is_ok());
        assert!(check_dir_option(&t.path().join("later")).is_ok());
        assert_eq!(parent_of(Path::new("x.tar")), PathBuf::from("."));
    }
}
