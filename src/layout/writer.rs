//! The output file's life cycle (DESIGN §3.5): a pre-sized temporary file beside the output,
//! positional writes from several workers, fsync, and a rename only when everything checked.
//! Dropping an unfinished output removes the temporary file, so no half-written bundle ever
//! appears under the final name.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::LayoutError;

/// A bundle being written to `.NAME.ferry-PID.tmp` next to its final path.
pub struct TempOutput {
    file: File,
    temp: PathBuf,
    final_path: PathBuf,
    done: bool,
}

fn io_err(path: &Path, action: &str, e: io::Error) -> LayoutError {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSPC) => " (the disk is full: free space or write the bundle elsewhere)",
        Some(libc::EFBIG) => {
            " (the file system's file size limit was hit: use --split-size or another file system)"
        }
        Some(libc::EDQUOT) => " (disk quota exceeded)",
        _ => "",
    };
    LayoutError::Io {
        path: path.to_path_buf(),
        action: action.to_string(),
        detail: format!("{e}{hint}"),
    }
}

/// True when process `pid` still runs (signal 0 probes without sending anything).
fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Removes temporary files of this output left by processes that are gone.
fn remove_stale(dir: &Path, name: &str) {
    let prefix = format!(".{name}.ferry-");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let fname = e.file_name().to_string_lossy().to_string();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest
            .strip_suffix(".tmp")
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl TempOutput {
    /// Creates the temporary file, sized to `len`, beside `final_path`.
    pub fn create(final_path: &Path, len: u64) -> Result<TempOutput, LayoutError> {
        let name = final_path
            .file_name()
            .ok_or_else(|| {
                LayoutError::Output(format!("{} is not a file path", final_path.display()))
            })?
            .to_string_lossy()
            .to_string();
        let dir = match final_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if final_path.is_dir() {
            return Err(LayoutError::Output(format!(
                "{} is a directory; -o takes a file name",
                final_path.display()
            )));
        }
        remove_stale(&dir, &name);
        let temp = dir.join(format!(".{name}.ferry-{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| io_err(&temp, "create", e))?;
        let out = TempOutput {
            file,
            temp,
            final_path: final_path.to_path_buf(),
            done: false,
        };
        out.file
            .set_len(len)
            .map_err(|e| io_err(&out.temp, "size", e))?;
        Ok(out)
    }

    /// Writes `bytes` at `offset` (callable from several threads at once).
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), LayoutError> {
        self.file
            .write_all_at(bytes, offset)
            .map_err(|e| io_err(&self.temp, "write", e))
    }

    /// Path of the temporary file (for messages and tests).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// fsyncs and renames onto the final name; only called after every digest checked.
    pub fn commit(mut self) -> Result<(), LayoutError> {
        self.file
            .sync_all()
            .map_err(|e| io_err(&self.temp, "fsync", e))?;
        std::fs::rename(&self.temp, &self.final_path)
            .map_err(|e| io_err(&self.final_path, "rename onto", e))?;
        self.done = true;
        if let Some(dir) = self
            .final_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            // Make the rename durable too; failing to open a directory is not fatal.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A sequential sink (`-o -`): counts bytes so the caller can check them against the plan.
pub struct StreamOutput<W: Write> {
    inner: W,
    pub written: u64,
}

impl<W: Write> StreamOutput<W> {
    pub fn new(inner: W) -> Self {
        StreamOutput { inner, written: 0 }
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), LayoutError> {
        self.inner
            .write_all(bytes)
            .map_err(|e| io_err(Path::new("<stdout>"), "write", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes zeros up to `offset` (tar padding).
    pub fn pad_to(&mut self, offset: u64) -> Result<(), LayoutError> {
        const ZEROS: [u8; 1024] = [0; 1024];
        while self.written < offset {
            let n = (offset - self.written).min(ZEROS.len() as u64) as usize;
            self.write(&ZEROS[..n])?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), LayoutError> {
        self.inner
            .flush()
            .map_err(|e| io_err(Path::new("<stdout>"), "flush", e))
    }
}
