//! `.tar.gz` bundles cannot be indexed in place and may hold `index.json` last, so they are read
//! in two streaming passes (DESIGN §2): `scan` reads headers, hashes every member and keeps the
//! small JSON documents; `stream` hands each blob to the caller in a second pass. Nothing is
//! spooled to disk, and memory holds only JSON documents.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::reader::regular_member;
use super::{Damage, LayoutError, Reading};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::manifest::MAX_MANIFEST_SIZE;

/// Most JSON kept in memory from one bundle (manifests, indexes, configs).
const MAX_JSON_TOTAL: u64 = 512 * 1024 * 1024;

/// Called with each blob's digest, size and bytes during the second pass.
pub type BlobVisitor<'a> = dyn FnMut(&Digest, u64, &mut dyn Read) -> Result<(), LayoutError> + 'a;

/// What the first pass learned about each member.
#[derive(Debug)]
pub struct GzIndex {
    path: PathBuf,
    sizes: BTreeMap<String, (u64, Digest)>,
    small: BTreeMap<String, Vec<u8>>,
}

fn corrupt(path: &Path, damage: Damage) -> LayoutError {
    LayoutError::Corrupt {
        path: path.to_path_buf(),
        damage,
    }
}

fn unreadable(path: &Path, reading: Reading, source: io::Error) -> LayoutError {
    LayoutError::Unreadable {
        path: path.to_path_buf(),
        reading,
        source,
    }
}

fn open(path: &Path) -> Result<tar::Archive<MultiGzDecoder<BufReader<File>>>, LayoutError> {
    let f = File::open(path).map_err(|source| LayoutError::Io {
        path: path.to_path_buf(),
        action: "open",
        source,
    })?;
    Ok(tar::Archive::new(MultiGzDecoder::new(
        BufReader::with_capacity(1 << 20, f),
    )))
}

/// Expected digest of a `blobs/<alg>/<hex>` member name.
pub fn blob_digest(name: &str) -> Option<Digest> {
    let rest = name.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

/// Records the sizes that the descriptors of a manifest or index (`doc`, JSON) give blobs.
fn declare(doc: &str, data: &[u8], declared: &mut BTreeMap<String, (u64, String)>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let config = v.get("config").into_iter();
    let lists = ["manifests", "layers"].into_iter().filter_map(|k| v.get(k));
    let listed = lists.filter_map(|l| l.as_array()).flatten();
    for d in config.chain(listed) {
        let digest = d.get("digest").and_then(|x| x.as_str()).map(Digest::parse);
        if let (Some(Ok(digest)), Some(size)) = (digest, d.get("size").and_then(|x| x.as_u64())) {
            declared
                .entry(digest.layout_path())
                .or_insert_with(|| (size, format!("a descriptor in {doc}")));
        }
    }
}

impl GzIndex {
    /// First pass: checks names and types, hashes every member (a blob whose bytes do not hash
    /// to its name is an error here), keeps JSON documents.
    pub fn scan(path: &Path) -> Result<GzIndex, LayoutError> {
        let mut ar = open(path)?;
        let mut sizes = BTreeMap::new();
        let mut small = BTreeMap::new();
        let mut kept = 0u64;
        // Sizes descriptors read so far give members: checked against each header before its
        // data is inflated, so a member claiming far more (a gzip bomb) is refused at once.
        let mut declared: BTreeMap<String, (u64, String)> = BTreeMap::new();
        let entries = ar
            .entries()
            .map_err(|e| unreadable(path, Reading::TarGz, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| unreadable(path, Reading::TarGzMembers, e))?;
            let Some(name) = regular_member(&entry)? else {
                continue;
            };
            let size = entry.size();
            if let Some((want, by)) = declared.get(&name).filter(|(want, _)| *want != size) {
                let damage = Damage::DeclaredSize {
                    member: name,
                    size,
                    by: by.clone(),
                    want: *want,
                };
                return Err(corrupt(path, damage));
            }
            let expected = blob_digest(&name);
            let mut h = Hasher::new(
                expected
                    .as_ref()
                    .map_or(Algorithm::Sha256, Digest::algorithm),
            );
            let keep = size <= MAX_MANIFEST_SIZE;
            let mut data = Vec::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut read = 0u64;
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| unreadable(path, Reading::GzMember(name.clone()), e))?;
                if n == 0 {
                    break;
                }
                read += n as u64;
                h.update(&buf[..n]);
                if keep && (data.len() + n) as u64 <= MAX_MANIFEST_SIZE {
                    data.extend_from_slice(&buf[..n]);
                }
            }
            if read != size {
                let damage = Damage::ShortMember {
                    member: name,
                    read,
                    size,
                };
                return Err(corrupt(path, damage));
            }
            let actual = h.finish();
            if let Some(d) = &expected {
                if *d != actual {
                    return Err(LayoutError::Digest {
                        member: name,
                        expected: d.clone(),
                        actual,
                    });
                }
            }
            if let Some((_, prev)) = sizes.get(&name) {
                if *prev != actual {
                    return Err(LayoutError::Unsafe {
                        member: name,
                        reason: "appears twice with different content",
                    });
                }
                continue;
            }
            let is_json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if keep && (is_json || expected.is_none()) {
                kept += data.len() as u64;
                if kept > MAX_JSON_TOTAL {
                    return Err(corrupt(path, Damage::JsonTotal));
                }
                if is_json {
                    declare(&name, &data, &mut declared);
                }
                small.insert(name.clone(), data);
            }
            sizes.insert(name, (size, actual));
        }
        Ok(GzIndex {
            path: path.to_path_buf(),
            sizes,
            small,
        })
    }

    /// A small member kept by the first pass; `Err(size)` when it is over `limit`.
    pub fn small(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, u64> {
        match self.sizes.get(name) {
            None => Ok(None),
            Some((size, _)) if *size > limit => Err(*size),
            Some(_) => Ok(self.small.get(name).cloned()),
        }
    }

    /// Size of a member.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.sizes.get(name).map(|(s, _)| *s)
    }

    /// Every regular member with its size and the digest the first pass computed.
    pub fn members(&self) -> impl Iterator<Item = (&str, u64, &Digest)> {
        self.sizes.iter().map(|(n, (s, d))| (n.as_str(), *s, d))
    }

    /// Second pass: calls `f(digest, size, reader)` for each blob member, in archive order,
    /// the first time it appears.
    pub fn stream(&self, f: &mut BlobVisitor) -> Result<(), LayoutError> {
        let mut ar = open(&self.path)?;
        let entries = ar
            .entries()
            .map_err(|e| unreadable(&self.path, Reading::SecondPass, e))?;
        let mut seen = std::collections::BTreeSet::new();
        for entry in entries {
            let mut entry = entry.map_err(|e| unreadable(&self.path, Reading::SecondPass, e))?;
            let Some(name) = regular_member(&entry)? else {
                continue;
            };
            let Some(d) = blob_digest(&name) else {
                continue;
            };
            if !seen.insert(name) {
                continue;
            }
            let size = entry.size();
            f(&d, size, &mut entry)?;
            // Drain whatever the caller did not read, so the next header is found.
            io::copy(&mut entry, &mut io::sink())
                .map_err(|e| unreadable(&self.path, Reading::SecondPass, e))?;
        }
        Ok(())
    }
}
