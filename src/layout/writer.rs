//! The output file's life cycle (DESIGN §3.5): a pre-sized temporary file beside the output,
//! positional writes from several workers, fsync, and a rename only when everything checked.
//! Dropping an unfinished output removes the temporary file, so no half-written bundle ever
//! appears under the final name.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::LayoutError;

/// A bundle being written to `.NAME.ferry-PID.tmp` next to its final path, with a journal
/// (`.NAME.ferry-PID.journal`) of the members written and verified, so a re-run of the same
/// plan after a crash keeps them (DESIGN §3.5).
pub struct TempOutput {
    file: File,
    temp: PathBuf,
    journal_path: PathBuf,
    journal: Mutex<File>,
    final_path: PathBuf,
    done: bool,
    /// Members a crashed run of the same plan had written (to re-check, not trust).
    pub resumed: BTreeSet<String>,
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

/// The journal's members when its first line is `fingerprint`; a torn last line is ignored.
fn read_journal(path: &Path, fingerprint: &str) -> Option<BTreeSet<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.split_inclusive('\n');
    if lines.next()?.trim_end() != fingerprint {
        return None;
    }
    Some(
        lines
            .filter(|l| l.ends_with('\n'))
            .map(|l| l.trim_end().to_string())
            .collect(),
    )
}

/// Looks at leftovers of this output from processes that are gone: adopts the temporary file
/// of a crashed run of the same plan (returning its path and journal), removes the rest.
fn adopt_or_remove(
    dir: &Path,
    name: &str,
    fingerprint: &str,
) -> Option<(PathBuf, BTreeSet<String>)> {
    let prefix = format!(".{name}.ferry-");
    let rd = std::fs::read_dir(dir).ok()?;
    let mut adopted = None;
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
        if alive(pid) {
            continue;
        }
        let journal = dir.join(format!("{prefix}{pid}.journal"));
        match read_journal(&journal, fingerprint) {
            Some(members) if adopted.is_none() => adopted = Some((e.path(), members)),
            _ => {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::remove_file(&journal);
    }
    // Journals whose temporary file is gone are garbage too.
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let fname = e.file_name().to_string_lossy().to_string();
            if let Some(pid) = fname
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".journal"))
                .and_then(|p| p.parse::<i32>().ok())
            {
                if !alive(pid) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    adopted
}

impl TempOutput {
    /// Creates the temporary file, sized to `len`, beside `final_path`, or adopts the one a
    /// crashed run of the same plan (`fingerprint`) left.
    pub fn create(
        final_path: &Path,
        len: u64,
        fingerprint: &str,
    ) -> Result<TempOutput, LayoutError> {
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
        let pid = std::process::id();
        let temp = dir.join(format!(".{name}.ferry-{pid}.tmp"));
        let journal_path = dir.join(format!(".{name}.ferry-{pid}.journal"));
        let mut resumed = BTreeSet::new();
        if let Some((old, members)) = adopt_or_remove(&dir, &name, fingerprint) {
            if std::fs::rename(&old, &temp).is_ok() {
                resumed = members;
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(resumed.is_empty())
            .open(&temp)
            .map_err(|e| io_err(&temp, "create", e))?;
        let mut journal =
            File::create(&journal_path).map_err(|e| io_err(&journal_path, "create", e))?;
        let mut head = format!("{fingerprint}\n");
        for m in &resumed {
            head.push_str(m);
            head.push('\n');
        }
        journal
            .write_all(head.as_bytes())
            .map_err(|e| io_err(&journal_path, "write", e))?;
        let out = TempOutput {
            file,
            temp,
            journal_path,
            journal: Mutex::new(journal),
            final_path: final_path.to_path_buf(),
            done: false,
            resumed,
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

    /// Reads back `len` bytes at `offset` through `f` (to re-check a resumed member).
    pub fn read_back(
        &self,
        offset: u64,
        len: u64,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), LayoutError> {
        let mut buf = vec![0u8; (1 << 20).min(len.max(1) as usize)];
        let mut done = 0;
        while done < len {
            let n = buf.len().min((len - done) as usize);
            self.file
                .read_exact_at(&mut buf[..n], offset + done)
                .map_err(|e| io_err(&self.temp, "read back", e))?;
            f(&buf[..n]);
            done += n as u64;
        }
        Ok(())
    }

    /// Notes a member as written and verified (not synced: a resumed run re-checks it).
    pub fn record(&self, member: &str) -> Result<(), LayoutError> {
        let mut j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        j.write_all(format!("{member}\n").as_bytes())
            .map_err(|e| io_err(&self.journal_path, "write", e))
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
        let _ = std::fs::remove_file(&self.journal_path);
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
            let _ = std::fs::remove_file(&self.journal_path);
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
