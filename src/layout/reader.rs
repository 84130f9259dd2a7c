//! Reading a bundle without extracting it: a tar is indexed in one pass over its headers and
//! blobs are read in place (positional reads, several at once); a layout directory is read as
//! files; a `.tar.gz` is read in streaming passes (`gz`). Every member name is checked before
//! anything else happens (DESIGN §2).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::names::{check_name, regular_member};
use super::parts::{self, Parts};
use super::{gz, Damage, LayoutError, Reading, INDEX_FILE};
use crate::digest::{Digest, Hasher};
use crate::manifest::{RawManifest, MAX_MANIFEST_SIZE};

/// Where a member's bytes are in the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug)]
pub(super) enum Source {
    Tar {
        file: Arc<Parts>,
        members: BTreeMap<String, Location>,
    },
    Dir(PathBuf),
    Gz(gz::GzIndex),
    /// What a pipe delivered before its first layer (`ferry import -`): the JSON documents;
    /// layers follow in the stream and are sized by their descriptors.
    Memory(BTreeMap<String, Vec<u8>>),
}

/// An opened bundle: `index.json` read, member names checked.
#[derive(Debug)]
pub struct Bundle {
    pub path: PathBuf,
    pub(super) source: Source,
    index: Vec<u8>,
}

fn unsafe_member(name: &str, reason: &'static str) -> LayoutError {
    LayoutError::Unsafe {
        member: name.chars().take(300).collect(),
        reason,
    }
}

fn io_err(path: &Path, action: &'static str, source: io::Error) -> LayoutError {
    LayoutError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// A reader over one member of the tar, by positional reads (no shared file cursor).
pub struct RangeReader {
    file: Arc<Parts>,
    pos: u64,
    end: u64,
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(left as usize);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the bundle ends inside this member (truncated)",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn index_tar(path: &Path, shared: &Arc<Parts>) -> Result<BTreeMap<String, Location>, LayoutError> {
    let len = shared.len();
    let mut ar = tar::Archive::new(shared.cursor());
    let entries = ar
        .entries_with_seek()
        .map_err(|e| io_err(path, "read", e))?;
    let mut members: BTreeMap<String, Location> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|source| LayoutError::Unreadable {
            path: path.to_path_buf(),
            reading: Reading::Tar,
            source,
        })?;
        let Some(name) = regular_member(&entry)? else {
            continue;
        };
        let loc = Location {
            offset: entry.raw_file_position(),
            size: entry.size(),
        };
        if loc.offset.checked_add(loc.size).is_none_or(|end| end > len) {
            return Err(LayoutError::Corrupt {
                path: path.to_path_buf(),
                damage: Damage::PastEnd {
                    member: name,
                    size: loc.size,
                    offset: loc.offset,
                    len,
                },
            });
        }
        if let Some(prev) = members.get(&name) {
            let same = prev.size == loc.size
                && hash_range(shared, *prev).map_err(|e| io_err(path, "read", e))?
                    == hash_range(shared, loc).map_err(|e| io_err(path, "read", e))?;
            if !same {
                return Err(unsafe_member(&name, "appears twice with different content"));
            }
            continue;
        }
        members.insert(name, loc);
    }
    Ok(members)
}

fn hash_range(file: &Arc<Parts>, loc: Location) -> io::Result<Digest> {
    let mut r = RangeReader {
        file: file.clone(),
        pos: loc.offset,
        end: loc.offset + loc.size,
    };
    let mut h = Hasher::new(crate::digest::Algorithm::Sha256);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

impl Bundle {
    /// Opens a `.tar`, `.tar.gz` or layout directory and reads `index.json`.
    pub fn open(path: &Path) -> Result<Bundle, LayoutError> {
        let source = if let Some(manifest) = parts::manifest_for(path) {
            let file = Arc::new(Parts::open_manifest(&manifest)?);
            let members = index_tar(path, &file)?;
            Source::Tar { file, members }
        } else if std::fs::metadata(path)
            .map_err(|e| io_err(path, "open", e))?
            .is_dir()
        {
            Source::Dir(path.to_path_buf())
        } else {
            let file = File::open(path).map_err(|e| io_err(path, "open", e))?;
            let mut magic = [0u8; 2];
            let n = file
                .read_at(&mut magic, 0)
                .map_err(|e| io_err(path, "read", e))?;
            if n == 2 && magic == [0x1f, 0x8b] {
                Source::Gz(gz::GzIndex::scan(path)?)
            } else {
                let file = Arc::new(Parts::single(file, path)?);
                let members = index_tar(path, &file)?;
                Source::Tar { file, members }
            }
        };
        let mut b = Bundle {
            path: path.to_path_buf(),
            source,
            index: Vec::new(),
        };
        b.index = match b.read_member(INDEX_FILE, MAX_MANIFEST_SIZE)? {
            Some(index) => index,
            None if super::legacy::is_docker_archive(path) => {
                return Err(LayoutError::Corrupt {
                    path: path.to_path_buf(),
                    damage: Damage::LegacyDocker,
                })
            }
            None => {
                return Err(LayoutError::Corrupt {
                    path: path.to_path_buf(),
                    damage: Damage::NoIndex,
                })
            }
        };
        if let Some(v) = b.read_member(super::OCI_LAYOUT_FILE, 4096)? {
            super::legacy::check_layout_version(path, &v)?;
        }
        Ok(b)
    }

    /// ` (in part NAME.001)` for a member of a split bundle, else empty: lets an error name
    /// the damaged part.
    pub fn part_note(&self, member: &str) -> String {
        match &self.source {
            Source::Tar { file, members } if file.is_split() => match members.get(member) {
                Some(loc) => format!(
                    " (in part {})",
                    file.names_for(loc.offset, loc.size).join(", ")
                ),
                None => String::new(),
            },
            _ => String::new(),
        }
    }

    /// A bundle read from a pipe: the members seen so far, layers still to come.
    pub fn from_memory(
        label: &str,
        members: BTreeMap<String, Vec<u8>>,
    ) -> Result<Bundle, LayoutError> {
        let path = PathBuf::from(label);
        let index = members
            .get(INDEX_FILE)
            .cloned()
            .ok_or_else(|| LayoutError::Corrupt {
                path: path.clone(),
                damage: Damage::IndexNotFirst,
            })?;
        if let Some(v) = members.get(super::OCI_LAYOUT_FILE) {
            super::legacy::check_layout_version(&path, v)?;
        }
        Ok(Bundle {
            path,
            source: Source::Memory(members),
            index,
        })
    }

    /// True for a pipe: absent layers are still to come, sized by their descriptors.
    pub fn is_deferred(&self) -> bool {
        matches!(self.source, Source::Memory(_))
    }

    /// The raw `index.json`.
    pub fn index_json(&self) -> &[u8] {
        &self.index
    }

    /// Reads a whole member of at most `limit` bytes; None when absent.
    pub fn read_member(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, LayoutError> {
        let too_big = |size: u64| LayoutError::Corrupt {
            path: self.path.clone(),
            damage: Damage::JsonTooLarge {
                member: name.to_string(),
                size,
                limit,
            },
        };
        match &self.source {
            Source::Tar { file, members } => {
                let Some(loc) = members.get(name) else {
                    return Ok(None);
                };
                if loc.size > limit {
                    return Err(too_big(loc.size));
                }
                let mut out = Vec::with_capacity(loc.size as usize);
                RangeReader {
                    file: file.clone(),
                    pos: loc.offset,
                    end: loc.offset + loc.size,
                }
                .read_to_end(&mut out)
                .map_err(|source| LayoutError::ReadMember {
                    path: self.path.clone(),
                    member: name.to_string(),
                    source,
                })?;
                Ok(Some(out))
            }
            Source::Dir(dir) => {
                let p = dir.join(name);
                match std::fs::symlink_metadata(&p) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_err(&p, "stat", e)),
                    Ok(m) if !m.is_file() => Err(unsafe_member(
                        name,
                        "not a regular file (symbolic links are not followed)",
                    )),
                    Ok(m) if m.len() > limit => Err(too_big(m.len())),
                    Ok(_) => std::fs::read(&p)
                        .map(Some)
                        .map_err(|e| io_err(&p, "read", e)),
                }
            }
            Source::Gz(g) => g.small(name, limit).map_err(too_big),
            Source::Memory(m) => match m.get(name) {
                Some(b) if b.len() as u64 > limit => Err(too_big(b.len() as u64)),
                b => Ok(b.cloned()),
            },
        }
    }

    /// Size of a blob when the bundle has it.
    pub fn blob_size(&self, d: &Digest) -> Result<Option<u64>, LayoutError> {
        let name = d.layout_path();
        match &self.source {
            Source::Tar { members, .. } => Ok(members.get(&name).map(|l| l.size)),
            Source::Gz(g) => Ok(g.size(&name)),
            Source::Memory(m) => Ok(m.get(&name).map(|b| b.len() as u64)),
            Source::Dir(dir) => match std::fs::symlink_metadata(dir.join(&name)) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Err(unsafe_member(
                    &name,
                    "not a regular file (symbolic links are not followed)",
                )),
                Err(_) => Ok(None),
            },
        }
    }

    /// Reads a small blob whole and checks it against its digest.
    pub fn read_blob_verified(
        &self,
        d: &Digest,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, LayoutError> {
        let Some(bytes) = self.read_member(&d.layout_path(), limit)? else {
            return Ok(None);
        };
        let actual = d.of_same_kind(&bytes);
        if &actual != d {
            return Err(LayoutError::Digest {
                member: d.layout_path(),
                expected: d.clone(),
                actual,
            });
        }
        Ok(Some(bytes))
    }

    /// True for a `.tar.gz`: blobs can only be read in a sequential pass (`gz::GzIndex::stream`).
    pub fn is_streaming(&self) -> bool {
        matches!(self.source, Source::Gz(_))
    }

    /// The gzip index (for the streaming pass).
    pub fn gz(&self) -> Option<&gz::GzIndex> {
        match &self.source {
            Source::Gz(g) => Some(g),
            _ => None,
        }
    }

    /// Opens a blob for reading in place (tar or directory). The caller verifies the digest
    /// while it reads.
    pub fn open_blob(&self, d: &Digest) -> Result<Box<dyn Read + Send>, LayoutError> {
        let name = d.layout_path();
        let missing = || LayoutError::Missing {
            member: name.clone(),
        };
        match &self.source {
            Source::Tar { file, members } => {
                let loc = members.get(&name).ok_or_else(missing)?;
                Ok(Box::new(RangeReader {
                    file: file.clone(),
                    pos: loc.offset,
                    end: loc.offset + loc.size,
                }))
            }
            Source::Dir(dir) => {
                let p = dir.join(&name);
                let f = File::open(&p).map_err(|e| io_err(&p, "open", e))?;
                Ok(Box::new(f))
            }
            Source::Memory(m) => Ok(Box::new(io::Cursor::new(
                m.get(&name).ok_or_else(missing)?.clone(),
            ))),
            Source::Gz(_) => Err(LayoutError::Sequential),
        }
    }
}

/// A bundle as a place manifests come from, for the one graph walk.
impl crate::walk::Source for Bundle {
    type Error = LayoutError;

    fn manifest(&self, c: &crate::manifest::Checked) -> Result<Option<RawManifest>, LayoutError> {
        if self.blob_size(&c.digest)?.is_none() {
            return Ok(None);
        }
        let Some(bytes) = self.read_blob_verified(&c.digest, MAX_MANIFEST_SIZE)? else {
            return Ok(None);
        };
        Ok(Some(RawManifest::new(
            bytes,
            c.digest.clone(),
            &c.descriptor.media_type,
        )))
    }
}
