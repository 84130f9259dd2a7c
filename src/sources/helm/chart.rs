//! A chart's files, wherever they are: a directory, or a `.tgz` read into memory with bounds
//! (Helm's own loader refuses files over 5 MiB; ferry refuses members over 4 MiB, paths that
//! leave the archive, and more than 256 MiB of decompressed stream). Subcharts under `charts/`
//! are charts of either kind, so a `.tgz` inside a directory or inside a `.tgz` reads the same.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use crate::sources::SourceError;

/// The largest archive member read (Helm's limit is 5 MiB).
pub const MAX_MEMBER: u64 = 4 << 20;
/// The most decompressed bytes read from one archive (a gzip bomb stops here).
pub const MAX_STREAM: u64 = 256 << 20;

/// Where a chart's files are.
#[derive(Debug, Clone)]
pub enum Files {
    Dir(PathBuf),
    /// `members` by full path; the chart is the part under `base` (`app/`, `app/charts/sub/`).
    Archive {
        label: String,
        members: Rc<BTreeMap<String, Vec<u8>>>,
        base: String,
    },
}

fn format(file: &str, detail: impl Into<String>) -> SourceError {
    SourceError::Format {
        file: file.to_string(),
        detail: detail.into(),
    }
}

/// True for a file name Helm packages charts as.
pub fn is_archive_name(name: &str) -> bool {
    name.ends_with(".tgz") || name.ends_with(".tar.gz")
}

impl Files {
    /// A file of the chart as text, `None` when it is not there.
    pub fn read(&self, rel: &str) -> Result<Option<String>, SourceError> {
        let shown = self.shown(rel);
        let bytes = match self {
            Files::Dir(dir) => match read_bounded(&dir.join(rel)) {
                Ok(Some(b)) => b,
                Ok(None) => return Err(format(&shown, format!("over {} MiB", MAX_MEMBER >> 20))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => {
                    return Err(SourceError::Read {
                        path: dir.join(rel),
                        source,
                    })
                }
            },
            Files::Archive { members, base, .. } => match members.get(&format!("{base}{rel}")) {
                Some(b) => b.clone(),
                None => return Ok(None),
            },
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| format(&shown, "not UTF-8 text"))
    }

    /// How a file of the chart is named in what ferry reports (`app-1.0.0.tgz:app/values.yaml`).
    pub fn shown(&self, rel: &str) -> String {
        match self {
            Files::Dir(dir) => dir.join(rel).display().to_string(),
            Files::Archive { label, base, .. } => format!("{label}:{base}{rel}"),
        }
    }

    /// The subcharts under `charts/`: directories holding a `Chart.yaml`, and chart archives,
    /// in name order.
    pub fn subcharts(&self) -> Result<Vec<Files>, SourceError> {
        let mut out = Vec::new();
        match self {
            Files::Dir(dir) => {
                let charts = dir.join("charts");
                let entries = match std::fs::read_dir(&charts) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                    Err(source) => {
                        return Err(SourceError::Read {
                            path: charts,
                            source,
                        })
                    }
                };
                let mut paths = Vec::new();
                for e in entries {
                    let e = e.map_err(|source| SourceError::Read {
                        path: charts.clone(),
                        source,
                    })?;
                    paths.push(e.path());
                }
                paths.sort();
                for p in paths {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if p.join("Chart.yaml").is_file() {
                        out.push(Files::Dir(p));
                    } else if p.is_file() && is_archive_name(name) {
                        let f = std::fs::File::open(&p).map_err(|source| SourceError::Read {
                            path: p.clone(),
                            source,
                        })?;
                        out.push(open_archive(&p.display().to_string(), f)?);
                    }
                }
            }
            Files::Archive {
                label,
                members,
                base,
            } => {
                let under = format!("{base}charts/");
                let mut dirs = std::collections::BTreeSet::new();
                let mut named = Vec::new();
                for (name, bytes) in members.range(under.clone()..) {
                    let Some(rest) = name.strip_prefix(&under) else {
                        break;
                    };
                    match rest.split_once('/') {
                        Some((sub, "Chart.yaml")) => {
                            dirs.insert(sub.to_string());
                        }
                        None if is_archive_name(rest) => {
                            let label = self.shown(&format!("charts/{rest}"));
                            named.push((rest.to_string(), open_archive(&label, bytes.as_slice())?))
                        }
                        _ => {}
                    }
                }
                for sub in dirs {
                    let files = Files::Archive {
                        label: label.clone(),
                        members: members.clone(),
                        base: format!("{under}{sub}/"),
                    };
                    named.push((sub, files));
                }
                // Name order, as for a directory.
                named.sort_by(|a, b| a.0.cmp(&b.0));
                out.extend(named.into_iter().map(|(_, f)| f));
            }
        }
        Ok(out)
    }
}

/// A file's bytes, `None` when it is over `MAX_MEMBER` (the same bound as in an archive).
fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_MEMBER + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_MEMBER).then_some(bytes))
}

/// Counts what is read through it and fails past `MAX_STREAM`.
struct Bounded<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > MAX_STREAM {
            return Err(std::io::Error::other(format!(
                "more than {} MiB decompressed",
                MAX_STREAM >> 20
            )));
        }
        Ok(n)
    }
}

/// A member's path as `a/b/c`, or why it is refused (absolute, `..`, not UTF-8).
fn member_path(raw: &[u8]) -> Result<String, String> {
    let s = std::str::from_utf8(raw).map_err(|_| "a member name is not UTF-8".to_string())?;
    if s.starts_with('/') {
        return Err(format!("member {s:?} is an absolute path"));
    }
    let parts: Vec<&str> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!("member {s:?} leaves the archive"));
    }
    Ok(parts.join("/"))
}

/// Walks a gzip'd tar, calling `each` with every regular member's path and a reader of it.
fn members(
    label: &str,
    reader: impl Read,
    mut each: impl FnMut(&str, &mut dyn Read) -> Result<bool, SourceError>,
) -> Result<(), SourceError> {
    let gz = Bounded {
        inner: MultiGzDecoder::new(reader),
        read: 0,
    };
    let mut ar = tar::Archive::new(gz);
    let entries = ar.entries().map_err(|e| format(label, e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format(label, format!("not a chart archive: {e}")))?;
        let path = member_path(&entry.path_bytes()).map_err(|d| format(label, d))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| format(label, e.to_string()))?;
        if size > MAX_MEMBER {
            return Err(format(
                label,
                format!("member {path:?} is over {} MiB", MAX_MEMBER >> 20),
            ));
        }
        if !each(&path, &mut entry)? {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads a chart archive: the members ferry needs (`Chart.yaml`, `values.yaml`, archives of
/// subcharts), every member checked against the bounds.
pub fn open_archive(label: &str, reader: impl Read) -> Result<Files, SourceError> {
    let mut kept = BTreeMap::new();
    let mut root = None;
    members(label, reader, |path, r| {
        let name = path.rsplit('/').next().unwrap_or(path);
        if matches!(name, "Chart.yaml" | "values.yaml") || is_archive_name(name) {
            let mut bytes = Vec::new();
            r.take(MAX_MEMBER + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format(label, format!("member {path:?}: {e}")))?;
            if root.is_none() {
                if let Some((top, "Chart.yaml")) = path.split_once('/') {
                    root = Some(top.to_string());
                }
            }
            kept.insert(path.to_string(), bytes);
        }
        Ok(true)
    })?;
    let root = root.ok_or_else(|| format(label, "no <name>/Chart.yaml in the archive"))?;
    Ok(Files::Archive {
        label: label.to_string(),
        members: Rc::new(kept),
        base: format!("{root}/"),
    })
}

/// True when a chart archive holds `<name>/Chart.yaml` (headers only; false on any error).
pub fn archive_has_chart(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut found = false;
    let _ = members("", f, |p, _| {
        found = matches!(p.split_once('/'), Some((_, "Chart.yaml")));
        Ok(!found)
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // set_path refuses `..`; write the raw name as a hostile archive would.
            let raw = name.as_bytes();
            h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        let tar = b.into_inner().unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &tar).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_the_chart_and_its_nested_archives() {
        let sub = tgz(&[
            ("sub/Chart.yaml", b"name: sub\n"),
            ("sub/values.yaml", b"a: 1\n"),
        ]);
        let app = tgz(&[
            ("app/Chart.yaml", b"name: app\n"),
            ("app/templates/x.yaml", b"kind: Pod\n"),
            ("app/charts/sub-0.1.0.tgz", &sub),
            ("app/charts/d/Chart.yaml", b"name: d\n"),
        ]);
        let f = open_archive("app.tgz", app.as_slice()).unwrap();
        assert_eq!(
            f.read("Chart.yaml").unwrap().as_deref(),
            Some("name: app\n")
        );
        assert_eq!(f.read("templates/x.yaml").unwrap(), None);
        let subs = f.subcharts().unwrap();
        let shown: Vec<_> = subs.iter().map(|s| s.shown("values.yaml")).collect();
        assert_eq!(
            shown,
            [
                "app.tgz:app/charts/d/values.yaml",
                "app.tgz:app/charts/sub-0.1.0.tgz:sub/values.yaml"
            ]
        );
        assert_eq!(
            subs[1].read("values.yaml").unwrap().as_deref(),
            Some("a: 1\n")
        );
    }

    #[test]
    fn refuses_escapes_big_members_and_non_charts() {
        for (name, want) in [
            ("../x/Chart.yaml", "leaves"),
            ("/app/Chart.yaml", "absolute"),
        ] {
            let e = open_archive("e.tgz", tgz(&[(name, b"name: x\n")]).as_slice()).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
        }
        let big = vec![b'a'; (MAX_MEMBER + 1) as usize];
        let e = open_archive(
            "b.tgz",
            tgz(&[("app/Chart.yaml", b""), ("app/f", &big)]).as_slice(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("over 4 MiB"), "{e}");
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("values.yaml"), &big).unwrap();
        let e = Files::Dir(d.path().to_path_buf())
            .read("values.yaml")
            .unwrap_err();
        assert!(e.to_string().ends_with("values.yaml: over 4 MiB"), "{e}");
        let e = open_archive("n.tgz", tgz(&[("app/values.yaml", b"")]).as_slice()).unwrap_err();
        assert!(e.to_string().contains("no <name>/Chart.yaml"), "{e}");
        let e = open_archive("g.tgz", b"not gzip".as_slice()).unwrap_err();
        assert!(e.to_string().starts_with("g.tgz: "), "{e}");
    }
}
