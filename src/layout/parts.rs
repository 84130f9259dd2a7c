//! Split volumes (DESIGN §12): one tar byte stream stored as `NAME.000`, `NAME.001`, … plus
//! `NAME.parts.json` (each part's size and sha256). Readers see one stream across the parts
//! without joining them; a missing or short part is named.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Damage, LayoutError, Reading};
use crate::manifest::MAX_MANIFEST_SIZE;
use crate::sizes::{len64, MAX_FILE_SIZE, MAX_PARTS};

/// `--split-size fat32`: FAT32's largest file.
pub const FAT32_MAX: u64 = (4 << 30) - 1;

/// One part in `NAME.parts.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The `NAME.parts.json` document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartsFile {
    pub parts: Vec<PartEntry>,
}

/// Name of part `i` of `base` (`bundle.tar.000`).
pub fn part_name(base: &str, i: usize) -> String {
    format!("{base}.{i:03}")
}

/// The parts file that describes `path`, when `path` is one (or is the first part of a set).
pub fn manifest_for(path: &Path) -> Option<PathBuf> {
    let s = path.to_string_lossy();
    if s.ends_with(".parts.json") {
        return Some(path.to_path_buf());
    }
    if let Some(base) = s.strip_suffix(".000") {
        let p = PathBuf::from(format!("{base}.parts.json"));
        return p.exists().then_some(p);
    }
    // `bundle.tar` when only its parts exist.
    let p = PathBuf::from(format!("{s}.parts.json"));
    (!path.exists() && p.exists()).then_some(p)
}

struct Part {
    file: File,
    start: u64,
    len: u64,
    name: String,
}

/// Several files read as one byte stream by offset.
pub struct Parts {
    parts: Vec<Part>,
    total: u64,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parts({} parts, {} bytes)", self.parts.len(), self.total)
    }
}

fn corrupt(path: &Path, damage: Damage) -> LayoutError {
    LayoutError::Corrupt {
        path: path.to_path_buf(),
        damage,
    }
}

impl Parts {
    /// One plain file.
    pub fn single(file: File, path: &Path) -> Result<Parts, LayoutError> {
        let len = file
            .metadata()
            .map_err(|source| LayoutError::Io {
                path: path.to_path_buf(),
                action: "stat",
                source,
            })?
            .len();
        let name = path.display().to_string();
        Ok(Parts {
            parts: vec![Part {
                file,
                start: 0,
                len,
                name,
            }],
            total: len,
        })
    }

    /// The parts listed in a `NAME.parts.json`, each checked to exist with its size.
    pub fn open_manifest(manifest: &Path) -> Result<Parts, LayoutError> {
        let mut bytes = Vec::new();
        File::open(manifest)
            .and_then(|f| f.take(MAX_MANIFEST_SIZE + 1).read_to_end(&mut bytes))
            .map_err(|source| LayoutError::Unreadable {
                path: manifest.to_path_buf(),
                reading: Reading::PartsFile,
                source,
            })?;
        if len64(bytes.len()) > MAX_MANIFEST_SIZE {
            return Err(corrupt(
                manifest,
                Damage::PartsFileTooLarge {
                    limit: MAX_MANIFEST_SIZE,
                },
            ));
        }
        let pf: PartsFile =
            serde_json::from_slice(&bytes).map_err(|source| LayoutError::PartsFile {
                path: manifest.to_path_buf(),
                source,
            })?;
        if len64(pf.parts.len()) > MAX_PARTS {
            return Err(corrupt(
                manifest,
                Damage::TooManyParts {
                    parts: pf.parts.len(),
                    limit: MAX_PARTS,
                },
            ));
        }
        let dir = manifest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut parts = Vec::new();
        let mut start = 0u64;
        for e in &pf.parts {
            if e.name.contains('/') || e.name.starts_with('.') {
                return Err(corrupt(manifest, Damage::PartName(e.name.clone())));
            }
            let p = dir.join(&e.name);
            let file = File::open(&p).map_err(|source| LayoutError::MissingPart {
                path: manifest.to_path_buf(),
                part: e.name.clone(),
                source,
            })?;
            let len = file
                .metadata()
                .map_err(|source| LayoutError::Io {
                    path: p.clone(),
                    action: "stat",
                    source,
                })?
                .len();
            if len != e.size {
                return Err(corrupt(
                    manifest,
                    Damage::PartSize {
                        part: e.name.clone(),
                        len,
                        size: e.size,
                    },
                ));
            }
            parts.push(Part {
                file,
                start,
                len,
                name: e.name.clone(),
            });
            start = start
                .checked_add(len)
                .filter(|s| *s <= MAX_FILE_SIZE)
                .ok_or_else(|| corrupt(manifest, Damage::PartsPastMax))?;
        }
        if parts.is_empty() {
            return Err(corrupt(manifest, Damage::NoParts));
        }
        Ok(Parts {
            parts,
            total: start,
        })
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// More than one file.
    pub fn is_split(&self) -> bool {
        self.parts.len() > 1
    }

    /// Reads at `offset` of the joined stream (may return fewer bytes at a part boundary).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Some(p) = self
            .parts
            .iter()
            .find(|p| offset >= p.start && offset < p.start + p.len)
        else {
            return Ok(0);
        };
        let want = buf.len().min((p.start + p.len - offset) as usize);
        p.file.read_at(&mut buf[..want], offset - p.start)
    }

    /// Names of the parts holding bytes `offset..offset+len` (for messages).
    pub fn names_for(&self, offset: u64, len: u64) -> Vec<String> {
        self.parts
            .iter()
            .filter(|p| p.start < offset + len.max(1) && offset < p.start + p.len)
            .map(|p| p.name.clone())
            .collect()
    }

    /// A sequential reader over the joined stream (for indexing the tar).
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            parts: self,
            pos: 0,
        }
    }
}

/// `Read + Seek` over [`Parts`].
pub struct Cursor<'a> {
    parts: &'a Parts,
    pos: u64,
}

impl Read for Cursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.parts.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.parts.total.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_across_parts_and_names_them() {
        let d = tempfile::tempdir().unwrap();
        let mut entries = Vec::new();
        for (i, chunk) in [&b"hello "[..], b"split ", b"world"].iter().enumerate() {
            let name = part_name("b.tar", i);
            File::create(d.path().join(&name))
                .unwrap()
                .write_all(chunk)
                .unwrap();
            entries.push(PartEntry {
                name,
                size: chunk.len() as u64,
                sha256: String::new(),
            });
        }
        let m = d.path().join("b.tar.parts.json");
        std::fs::write(
            &m,
            serde_json::to_vec(&PartsFile { parts: entries }).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest_for(&d.path().join("b.tar.000")), Some(m.clone()));
        let p = Parts::open_manifest(&m).unwrap();
        let mut all = String::new();
        p.cursor().read_to_string(&mut all).unwrap();
        assert_eq!(all, "hello split world");
        assert_eq!(p.names_for(4, 4), vec!["b.tar.000", "b.tar.001"]);
        std::fs::remove_file(d.path().join("b.tar.001")).unwrap();
        let e = Parts::open_manifest(&m).unwrap_err().to_string();
        assert!(e.contains("b.tar.001") && e.contains("missing"), "{e}");

        // More parts than ferry writes: refused before one is opened.
        let many = PartsFile {
            parts: (0..=MAX_PARTS as usize)
                .map(|i| PartEntry {
                    name: part_name("b.tar", i),
                    size: 1,
                    sha256: String::new(),
                })
                .collect(),
        };
        std::fs::write(&m, serde_json::to_vec(&many).unwrap()).unwrap();
        let e = Parts::open_manifest(&m).unwrap_err().to_string();
        assert!(e.contains("10001 parts"), "{e}");
    }
}
