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

use super::{leftovers, LayoutError, OutputProblem};
use crate::sizes::{part_count, smallest_split, MAX_FILE_SIZE, MAX_PARTS};

/// Writes a small file through `.NAME.ferry-PID.tmp` beside it and renames it into place, so
/// a reader never sees half of it and a failed write leaves nothing under the name. A device
/// or FIFO is written in place instead: a rename would replace it with a plain file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if super::output::is_in_place(path) {
        return OpenOptions::new().write(true).open(path)?.write_all(bytes);
    }
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.ferry-{}.tmp", std::process::id()));
    let done = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Called per part a byte range spans: (part, offset in the part, range of the buffer).
type SpanFn<'a> = dyn FnMut(&OutPart, u64, std::ops::Range<usize>) -> Result<(), LayoutError> + 'a;

/// One output file: the whole bundle, or one part of a split bundle.
struct OutPart {
    file: File,
    temp: PathBuf,
    final_path: PathBuf,
    start: u64,
    len: u64,
}

/// A bundle being written to `.NAME.ferry-PID.tmp` next to its final path (split: one
/// temporary file per part, all renamed at the end), with a journal
/// (`.NAME.ferry-PID.journal`) of the members written and verified, so a re-run of the same
/// plan after a crash keeps them (DESIGN §3.5).
pub struct TempOutput {
    parts: Vec<OutPart>,
    journal_path: PathBuf,
    journal: Mutex<File>,
    /// `NAME.parts.json` for a split bundle.
    parts_file: Option<PathBuf>,
    done: bool,
    /// Members a crashed run of the same plan had written (to re-check, not trust).
    pub resumed: BTreeSet<String>,
}

/// An I/O error on `path` (its message adds what to do about a full disk or a size limit).
pub(super) fn io_err(path: &Path, action: &'static str, source: io::Error) -> LayoutError {
    LayoutError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// (final path, start, length) of each file a bundle of `len` bytes is written as; refused
/// before anything exists when it is past the largest file or needs more than
/// [`MAX_PARTS`] parts.
fn plan_parts(
    final_path: &Path,
    dir: &Path,
    name: &str,
    len: u64,
    split: Option<u64>,
) -> Result<Vec<(PathBuf, u64, u64)>, LayoutError> {
    if len > MAX_FILE_SIZE {
        return Err(LayoutError::TooLarge {
            path: final_path.to_path_buf(),
            len,
            limit: MAX_FILE_SIZE,
        });
    }
    let size = match split {
        Some(size) if size > 0 => size,
        _ => return Ok(vec![(final_path.to_path_buf(), 0, len)]),
    };
    let n = part_count(len, size);
    if n > MAX_PARTS {
        return Err(LayoutError::TooManyParts {
            path: final_path.to_path_buf(),
            len,
            parts: n,
            split: size,
            limit: MAX_PARTS,
            min: smallest_split(len),
        });
    }
    let mut layout = Vec::new();
    let mut start = 0;
    for i in 0..usize::try_from(n).unwrap_or(0) {
        let plen = size.min(len - start);
        layout.push((dir.join(super::parts::part_name(name, i)), start, plen));
        start += plen;
    }
    Ok(layout)
}

impl TempOutput {
    /// Creates the temporary file(s), sized to `len` (split into parts of at most `split`
    /// bytes), beside `final_path`, or adopts those a crashed run of the same plan left.
    pub fn create(
        final_path: &Path,
        len: u64,
        fingerprint: &str,
        split: Option<u64>,
    ) -> Result<TempOutput, LayoutError> {
        let name = final_path
            .file_name()
            .ok_or_else(|| LayoutError::OutputPath {
                path: final_path.to_path_buf(),
                problem: OutputProblem::NotAFilePath,
            })?
            .to_string_lossy()
            .to_string();
        let dir = match final_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if final_path.is_dir() {
            return Err(LayoutError::OutputPath {
                path: final_path.to_path_buf(),
                problem: OutputProblem::IsDirectory,
            });
        }
        let pid = std::process::id();
        let fingerprint = format!("{fingerprint} split={}", split.unwrap_or(0));
        let layout = plan_parts(final_path, &dir, &name, len, split)?;
        let temp_of = |i: usize| {
            if i == 0 {
                dir.join(format!(".{name}.ferry-{pid}.tmp"))
            } else {
                dir.join(format!(".{name}.ferry-{pid}.tmp.{i:03}"))
            }
        };
        let journal_path = dir.join(format!(".{name}.ferry-{pid}.journal"));
        let mut resumed = BTreeSet::new();
        if let Some(a) = leftovers::adopt_or_remove(&dir, &name, &fingerprint) {
            let all = (0..layout.len()).all(|i| {
                a.parts
                    .get(&i)
                    .is_some_and(|old| std::fs::rename(old, temp_of(i)).is_ok())
            });
            if all {
                resumed = a.members;
            }
            for p in a.parts.values() {
                let _ = std::fs::remove_file(p);
            }
        }
        let mut parts = Vec::new();
        for (i, (final_path, start, plen)) in layout.into_iter().enumerate() {
            let temp = temp_of(i);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(resumed.is_empty())
                .open(&temp)
                .map_err(|e| io_err(&temp, "create", e))?;
            parts.push(OutPart {
                file,
                temp,
                final_path,
                start,
                len: plen,
            });
        }
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
        let parts_file = split.map(|_| dir.join(format!("{name}.parts.json")));
        let out = TempOutput {
            parts,
            journal_path,
            journal: Mutex::new(journal),
            parts_file,
            done: false,
            resumed,
        };
        for p in &out.parts {
            p.file
                .set_len(p.len)
                .map_err(|e| io_err(&p.temp, "size", e))?;
        }
        Ok(out)
    }

    /// Calls `f(part, offset in part, range of bytes)` for each part that `offset..+len` spans.
    fn spans(&self, offset: u64, len: u64, f: &mut SpanFn) -> Result<(), LayoutError> {
        for p in &self.parts {
            let lo = offset.max(p.start);
            let hi = (offset + len).min(p.start + p.len);
            if lo < hi {
                f(
                    p,
                    lo - p.start,
                    (lo - offset) as usize..(hi - offset) as usize,
                )?;
            }
        }
        Ok(())
    }

    /// Writes `bytes` at `offset` of the bundle (callable from several threads at once).
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), LayoutError> {
        self.spans(offset, bytes.len() as u64, &mut |p, at, r| {
            p.file
                .write_all_at(&bytes[r], at)
                .map_err(|e| io_err(&p.temp, "write", e))
        })
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
            let chunk = &mut buf[..n];
            self.spans(offset + done, n as u64, &mut |p, at, r| {
                p.file
                    .read_exact_at(&mut chunk[r], at)
                    .map_err(|e| io_err(&p.temp, "read back", e))
            })?;
            f(chunk);
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

    /// How many files the bundle is written as.
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// fsyncs and renames onto the final names (split: every part, then `NAME.parts.json`
    /// listing each part's size and sha256); only called after every digest checked.
    pub fn commit(mut self) -> Result<(), LayoutError> {
        let mut entries = Vec::new();
        for p in &self.parts {
            p.file.sync_all().map_err(|e| io_err(&p.temp, "fsync", e))?;
            if self.parts_file.is_some() {
                let mut h = crate::digest::Hasher::new(crate::digest::Algorithm::Sha256);
                let mut buf = vec![0u8; 1 << 20];
                let mut at = 0;
                while at < p.len {
                    let n = buf.len().min((p.len - at) as usize);
                    p.file
                        .read_exact_at(&mut buf[..n], at)
                        .map_err(|e| io_err(&p.temp, "read back", e))?;
                    h.update(&buf[..n]);
                    at += n as u64;
                }
                let name = p
                    .final_path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                entries.push(super::parts::PartEntry {
                    name,
                    size: p.len,
                    sha256: h.finish().hex().to_string(),
                });
            }
        }
        let manifest = match &self.parts_file {
            Some(pf) => {
                let tmp = pf.with_file_name(format!(
                    ".{}.ferry-{}.tmp",
                    pf.file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default(),
                    std::process::id()
                ));
                let mut bytes =
                    serde_json::to_vec_pretty(&super::parts::PartsFile { parts: entries })
                        .unwrap_or_default();
                bytes.push(b'\n');
                std::fs::write(&tmp, &bytes).map_err(|e| io_err(&tmp, "write", e))?;
                Some((tmp, pf.clone()))
            }
            None => None,
        };
        for p in &self.parts {
            std::fs::rename(&p.temp, &p.final_path)
                .map_err(|e| io_err(&p.final_path, "rename onto", e))?;
        }
        self.done = true;
        if let Some((tmp, pf)) = manifest {
            std::fs::rename(&tmp, &pf).map_err(|e| io_err(&pf, "rename onto", e))?;
        }
        let _ = std::fs::remove_file(&self.journal_path);
        if let Some(dir) = self.parts[0]
            .final_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            // Make the renames durable too; failing to open a directory is not fatal.
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
            for p in &self.parts {
                let _ = std::fs::remove_file(&p.temp);
            }
            let _ = std::fs::remove_file(&self.journal_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_outputs_are_refused_before_a_file_exists() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("b.tar");
        let fat32 = super::super::parts::FAT32_MAX;
        for (len, split, needle) in [
            (1u64 << 62, Some(fat32), "1073741825 parts"),
            ((1 << 40) + 3072, Some(64 << 20), "16385 parts"),
            (MAX_FILE_SIZE + 1, None, "largest file"),
        ] {
            let e = TempOutput::create(&out, len, "fp", split)
                .err()
                .unwrap_or_else(|| panic!("{len} {split:?} accepted"))
                .to_string();
            assert!(e.contains(needle), "{e}");
            let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
            assert!(left.is_empty(), "{left:?}");
        }
        // 10 000 parts is the limit, not past it: laid out, not created.
        let layout = plan_parts(&out, d.path(), "b.tar", 10_000 * 1024, Some(1024)).unwrap();
        assert_eq!(layout.len(), 10_000);
        assert_eq!(layout[9_999].0, d.path().join("b.tar.9999"));
        assert_eq!(layout[9_999].1, 9_999 * 1024);
        assert!(plan_parts(&out, d.path(), "b.tar", 10_000 * 1024 + 1, Some(1024)).is_err());
    }
}
