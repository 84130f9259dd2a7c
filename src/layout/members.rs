//! Listing what a bundle holds under `blobs/`, whatever its container (tar, `.tar.gz`,
//! directory), so `verify` can hash every member and not only the ones `index.json` reaches.

use std::path::Path;

use super::reader::{Bundle, Source};
use super::LayoutError;
use crate::digest::Digest;

/// One member under `blobs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Normalised member name (`blobs/sha256/<hex>`).
    pub name: String,
    pub size: u64,
    /// The digest of its bytes, when already computed while opening (`.tar.gz` first pass).
    pub hashed: Option<Digest>,
}

fn io_err(path: &Path, source: std::io::Error) -> LayoutError {
    LayoutError::Io {
        path: path.to_path_buf(),
        action: "list",
        source,
    }
}

fn not_regular(name: &str) -> LayoutError {
    LayoutError::Unsafe {
        member: name.to_string(),
        reason: "not a regular file or directory (symbolic links are not followed)",
    }
}

/// Lists `blobs/` of a layout directory: files two levels down (`blobs/<alg>/<hex>`), plus any
/// stray file directly under `blobs/` (reported by name, it has no digest). Symbolic links are
/// refused, not followed.
fn list_dir(dir: &Path) -> Result<Vec<Member>, LayoutError> {
    let blobs = dir.join("blobs");
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(&blobs)
        .min_depth(1)
        .max_depth(2)
        .follow_links(false);
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e)
                if e.depth() == 0
                    && e.io_error().map(|i| i.kind()) == Some(std::io::ErrorKind::NotFound) =>
            {
                return Ok(out)
            }
            Err(e) => {
                let path = e.path().unwrap_or(&blobs).to_path_buf();
                return Err(io_err(&path, e.into()));
            }
        };
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = rel
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let kind = entry.file_type();
        if kind.is_dir() && entry.depth() == 1 {
            continue;
        }
        if !kind.is_file() {
            return Err(not_regular(&name));
        }
        let meta = entry
            .metadata()
            .map_err(|e| io_err(entry.path(), e.into()))?;
        out.push(Member {
            name,
            size: meta.len(),
            hashed: None,
        });
    }
    Ok(out)
}

impl Bundle {
    /// Every regular member under `blobs/`, sorted by name.
    pub fn blob_members(&self) -> Result<Vec<Member>, LayoutError> {
        let mut out: Vec<Member> = match &self.source {
            Source::Tar { members, .. } => members
                .iter()
                .filter(|(n, _)| n.starts_with("blobs/"))
                .map(|(n, l)| Member {
                    name: n.clone(),
                    size: l.size,
                    hashed: None,
                })
                .collect(),
            Source::Gz(g) => g
                .members()
                .filter(|(n, _, _)| n.starts_with("blobs/"))
                .map(|(n, size, d)| Member {
                    name: n.to_string(),
                    size,
                    hashed: Some(d.clone()),
                })
                .collect(),
            Source::Dir(dir) => list_dir(dir)?,
            Source::Memory(m) => m
                .iter()
                .filter(|(n, _)| n.starts_with("blobs/"))
                .map(|(n, b)| Member {
                    name: n.clone(),
                    size: b.len() as u64,
                    hashed: None,
                })
                .collect(),
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_layout_directory() {
        let t = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"x");
        std::fs::create_dir_all(t.path().join("blobs/sha256")).unwrap();
        std::fs::write(t.path().join(d.layout_path()), b"x").unwrap();
        std::fs::write(t.path().join("blobs/stray"), b"yy").unwrap();
        std::fs::write(
            t.path().join("index.json"),
            br#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let b = Bundle::open(t.path()).unwrap();
        let m = b.blob_members().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, d.layout_path());
        assert_eq!(m[1].name, "blobs/stray");
        assert_eq!(m[1].size, 2);
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("blobs/sha256/ln")).unwrap();
        assert!(matches!(b.blob_members(), Err(LayoutError::Unsafe { .. })));
    }
}

#[cfg(test)]
mod dir_tests {
    use super::list_dir;

    #[test]
    fn a_directory_lists_blobs_and_strays_and_refuses_symlinks() {
        let d = tempfile::tempdir().unwrap();
        assert!(
            list_dir(d.path()).unwrap().is_empty(),
            "no blobs/ is an empty list"
        );
        std::fs::create_dir_all(d.path().join("blobs/sha256")).unwrap();
        std::fs::write(d.path().join("blobs/sha256/aa"), b"abc").unwrap();
        std::fs::write(d.path().join("blobs/stray"), b"x").unwrap();
        let mut names: Vec<_> = list_dir(d.path())
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.size))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("blobs/sha256/aa".to_string(), 3),
                ("blobs/stray".to_string(), 1)
            ]
        );
        std::os::unix::fs::symlink("aa", d.path().join("blobs/sha256/ln")).unwrap();
        let e = list_dir(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("blobs/sha256/ln") && e.contains("symbolic links"),
            "{e}"
        );
    }
}
