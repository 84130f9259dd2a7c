//! `ferry map --rewrite PATH... --from-mapping FILE -o DIR`: which files are rewritten and
//! where their copies go (a file given by name goes to `DIR/<its name>`, a directory's
//! `*.yaml`, `*.yml` and `*.json` files to the same path under DIR), and writing them. Every
//! file is read and rewritten before any is written, so an unmapped image or a bad file
//! leaves DIR untouched; each copy is written through a temporary file and renamed. The
//! inputs are never written: DIR may not be, or lie inside, an input directory, and no copy
//! may land on an input file. The text editing belongs to `sources::rewrite`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::mapping::relocations::{read_relocations, RelocationFileError};
use crate::sources::rewrite::{self as edit, Relocations, Unmapped};
use crate::sources::SourceError;

/// What `--rewrite` reads and where it writes.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// Files, or directories walked for `*.yaml`, `*.yml` and `*.json`.
    pub paths: Vec<PathBuf>,
    /// `-o DIR` (created when missing).
    pub output: PathBuf,
    /// Leave images missing from the mapping as written (a warning each) instead of failing.
    pub allow_unmapped: bool,
    /// Also rewrite `image:` strings of kinds other than workloads (custom resources).
    pub any_image_field: bool,
}

/// One copy written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewrittenFile {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Image references replaced (an anchor used twice counts once).
    pub replaced: usize,
    /// Read as a CNAB bundle.json.
    pub cnab: bool,
}

/// What `--rewrite` wrote, and what it left as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewriteSummary {
    pub files: Vec<RewrittenFile>,
    pub warnings: Vec<String>,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(transparent)]
    MappingFile(#[from] RelocationFileError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("--rewrite {}: no such file or directory", path.display())]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--rewrite {}: cannot walk the directory", path.display())]
    Walk {
        path: PathBuf,
        source: walkdir::Error,
    },
    #[error("-o {}: is inside the input directory {}; write the copies elsewhere", output.display(), input.display())]
    OutputInsideInput { output: PathBuf, input: PathBuf },
    #[error("-o {}: the copy of {} would replace the input file itself", output.display(), input.display())]
    OntoInput { output: PathBuf, input: PathBuf },
    #[error("{} and {} would both be written to {}", first.display(), second.display(), output.display())]
    Collision {
        first: PathBuf,
        second: PathBuf,
        output: PathBuf,
    },
    #[error("images not in the mapping file (--allow-unmapped leaves them as written):\n  {}", list(.0))]
    Unmapped(Vec<Unmapped>),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] crate::layout::LayoutError),
}

fn list(unmapped: &[Unmapped]) -> String {
    unmapped
        .iter()
        .map(Unmapped::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Rewrites every file of `opts.paths` with the relocations of `mapping_file` into `opts.output`.
pub fn rewrite(mapping_file: &Path, opts: &Rewrite) -> Result<RewriteSummary, RewriteError> {
    let relocations = Relocations::new(read_relocations(mapping_file)?);
    crate::layout::output::check_dir_option(&opts.output)?;
    let inputs = inputs(opts)?;
    let mut done = Vec::new();
    let mut unmapped = Vec::new();
    let mut warnings = Vec::new();
    for (input, output) in inputs {
        let text = std::fs::read_to_string(&input).map_err(|source| SourceError::Read {
            path: input.clone(),
            source,
        })?;
        let file = input.display().to_string();
        let r = edit::rewrite(&text, &file, &relocations, opts.any_image_field)?;
        warnings.extend(r.warnings.iter().cloned());
        unmapped.extend(r.unmapped.iter().cloned());
        done.push((input, output, r));
    }
    if !unmapped.is_empty() && !opts.allow_unmapped {
        return Err(RewriteError::Unmapped(unmapped));
    }
    warnings.extend(
        unmapped
            .iter()
            .map(|u| format!("{u}: not in the mapping file; left as written")),
    );
    let mut files = Vec::new();
    for (input, output, r) in done {
        let err = |source| RewriteError::Write {
            path: output.clone(),
            source,
        };
        if let Some(parent) = output.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        crate::layout::writer::write_atomically(&output, r.text.as_bytes()).map_err(err)?;
        files.push(RewrittenFile {
            input,
            output,
            replaced: r.replaced.len(),
            cnab: r.cnab,
        });
    }
    Ok(RewriteSummary { files, warnings })
}

/// (input file, output file) in the order given, directories walked in name order.
fn inputs(opts: &Rewrite) -> Result<Vec<(PathBuf, PathBuf)>, RewriteError> {
    let out_dir = resolved(&opts.output);
    let mut by_output: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut pairs = Vec::new();
    for path in &opts.paths {
        let meta = std::fs::metadata(path).map_err(|source| RewriteError::Missing {
            path: path.clone(),
            source,
        })?;
        let files = if meta.is_dir() {
            if out_dir.starts_with(resolved(path)) {
                return Err(RewriteError::OutputInsideInput {
                    output: opts.output.clone(),
                    input: path.clone(),
                });
            }
            walk(path)?
        } else {
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            vec![(path.clone(), name)]
        };
        for (input, relative) in files {
            let output = opts.output.join(&relative);
            if resolved(&output) == resolved(&input) {
                return Err(RewriteError::OntoInput {
                    output: opts.output.clone(),
                    input,
                });
            }
            if let Some(first) = by_output.insert(output.clone(), input.clone()) {
                return Err(RewriteError::Collision {
                    first,
                    second: input,
                    output,
                });
            }
            pairs.push((input, output));
        }
    }
    Ok(pairs)
}

/// A directory's YAML and JSON files (hidden ones left out, as `images` does), with their
/// paths relative to it.
fn walk(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, RewriteError> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(crate::sources::find::not_hidden);
    for entry in walk {
        let entry = entry.map_err(|source| RewriteError::Walk {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !crate::sources::find::is_manifest_name(&name) {
            continue;
        }
        let relative = p.strip_prefix(dir).unwrap_or(p).to_path_buf();
        out.push((p.to_path_buf(), relative));
    }
    Ok(out)
}

/// `path` made absolute with symlinks resolved as far as it exists (DIR may not exist yet).
fn resolved(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut at = path.to_path_buf();
    loop {
        if let Ok(real) = at.canonicalize() {
            return missing.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (at.file_name(), at.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_os_string());
                at = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            // `..` or a root that does not resolve: compare as given.
            _ => {
                return path
                    .components()
                    .filter(|c| *c != Component::CurDir)
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(paths: &[&Path], output: &Path) -> Rewrite {
        Rewrite {
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
            output: output.to_path_buf(),
            allow_unmapped: false,
            any_image_field: false,
        }
    }

    #[test]
    fn inputs_are_never_written() {
        let t = tempfile::tempdir().unwrap();
        let k8s = t.path().join("k8s");
        std::fs::create_dir_all(k8s.join("sub")).unwrap();
        std::fs::write(k8s.join("a.yaml"), "a: 1\n").unwrap();
        std::fs::write(k8s.join("sub/b.yml"), "b: 1\n").unwrap();
        std::fs::write(k8s.join("notes.txt"), "x").unwrap();
        let out = t.path().join("out");
        let got = inputs(&opts(&[&k8s], &out)).unwrap();
        assert_eq!(
            got,
            [
                (k8s.join("a.yaml"), out.join("a.yaml")),
                (k8s.join("sub/b.yml"), out.join("sub/b.yml")),
            ]
        );
        for bad in [k8s.clone(), k8s.join("new/deeper"), k8s.join("sub/..")] {
            let e = inputs(&opts(&[&k8s], &bad)).unwrap_err();
            assert!(matches!(e, RewriteError::OutputInsideInput { .. }), "{e}");
        }
        let e = inputs(&opts(&[&k8s.join("a.yaml")], &k8s)).unwrap_err();
        assert!(matches!(e, RewriteError::OntoInput { .. }), "{e}");
        let e = inputs(&opts(&[&k8s.join("a.yaml"), &k8s], &out)).unwrap_err();
        assert!(matches!(e, RewriteError::Collision { .. }), "{e}");
    }
}
