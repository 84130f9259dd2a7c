//! `ferry images SOURCE...`: which reader each source goes to. A directory is walked (sorted,
//! hidden entries skipped) for `*.yaml`, `*.yml`, `*.json` and chart archives; a chart (a
//! directory with `Chart.yaml`, a `.tgz` holding `NAME/Chart.yaml`) goes to `helm`, a CNAB
//! bundle (by its shape) to `cnab`, anything else to `kube`; `-` is standard input.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::yaml::{self, Node};
use super::{cnab, helm, kube, Found, SourceError};

/// What [`images`] reads.
#[derive(Debug, Clone, Default)]
pub struct ImagesOptions {
    /// Files, directories, charts and `-` (standard input), read in this order.
    pub sources: Vec<PathBuf>,
    /// Also take the `image:` strings of kinds that are not workloads (custom resources).
    pub any_image_field: bool,
}

/// Every image reference in the sources, in the order found, each place it is found (so
/// duplicates stay; [`super::unique`] merges them).
pub fn images(opts: &ImagesOptions) -> Result<Vec<Found>, SourceError> {
    let mut out = Vec::new();
    for s in &opts.sources {
        out.extend(source(s, opts.any_image_field)?);
    }
    Ok(out)
}

/// One source: `-`, a chart, a directory or a file.
pub fn source(path: &Path, any_image_field: bool) -> Result<Vec<Found>, SourceError> {
    if path.as_os_str() == "-" {
        let text =
            std::io::read_to_string(std::io::stdin()).map_err(|source| SourceError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        return text_source(&text, "-", any_image_field);
    }
    if helm::is_chart(path) {
        return helm::find(path);
    }
    if path.is_dir() {
        return directory(path, any_image_field);
    }
    file(path, any_image_field)
}

/// The images of a text read from `file`: a CNAB bundle or Kubernetes manifests.
pub fn text_source(
    text: &str,
    file: &str,
    any_image_field: bool,
) -> Result<Vec<Found>, SourceError> {
    if cnab::is_cnab(text) {
        return cnab::find(text, file);
    }
    let docs = yaml::parse(text).map_err(|source| SourceError::Yaml {
        file: file.to_string(),
        source,
    })?;
    if let Some(n) = docs.iter().position(|d| !object_or_empty(d)) {
        return Err(SourceError::Format {
            file: file.to_string(),
            detail: format!("document {n} is not a Kubernetes object (a mapping)"),
        });
    }
    kube::find(text, file, any_image_field)
}

/// True when a text is Kubernetes manifests or a CNAB bundle rather than an image list: some
/// document is a mapping with `apiVersion` or `kind` (a list of strings, or one under
/// `images:`, has neither).
pub fn is_manifest_or_bundle(text: &str) -> bool {
    cnab::is_cnab(text)
        || yaml::parse(text).is_ok_and(|docs| {
            docs.iter()
                .any(|d| d.get("apiVersion").is_some() || d.get("kind").is_some())
        })
}

/// A mapping, or an empty document (`---` alone, comments only).
fn object_or_empty(doc: &Node) -> bool {
    match doc {
        Node::Map(_) => true,
        Node::Scalar(s) => matches!(s.value.as_str(), "" | "~" | "null"),
        Node::Seq(_) => false,
    }
}

fn file(path: &Path, any_image_field: bool) -> Result<Vec<Found>, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SourceError::Format {
        file: name.clone(),
        detail: "not YAML or JSON (not UTF-8 text)".to_string(),
    })?;
    text_source(&text, &name, any_image_field)
}

/// Names a walk reads: manifests and chart archives.
/// A file a directory walk reads as a manifest (`images` and `map --rewrite` alike).
pub(crate) fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

/// Hidden entries below the walk's root (`.git/`, `.env.yaml`) are not read.
pub(crate) fn not_hidden(e: &walkdir::DirEntry) -> bool {
    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
}

fn wanted(name: &str) -> (bool, bool) {
    let manifest = is_manifest_name(name);
    let archive = name.ends_with(".tgz") || name.ends_with(".tar.gz");
    (manifest, archive)
}

fn directory(root: &Path, any_image_field: bool) -> Result<Vec<Found>, SourceError> {
    let mut out = Vec::new();
    let mut walk = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(not_hidden);
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| SourceError::Read {
            path: e.path().unwrap_or(root).to_path_buf(),
            source: e.into(),
        })?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            if entry.depth() > 0 && helm::is_chart(path) {
                out.extend(helm::find(path)?);
                walk.skip_current_dir();
            }
            continue;
        }
        let (manifest, archive) = wanted(&entry.file_name().to_string_lossy());
        if manifest {
            out.extend(file(path, any_image_field)?);
        } else if archive && helm::is_chart(path) {
            out.extend(helm::find(path)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_skips_hidden_and_tells_lists_from_manifests() {
        let d = tempfile::tempdir().unwrap();
        let pod = |img: &str| format!("kind: Pod\nspec:\n  containers: [{{image: {img}}}]\n");
        std::fs::create_dir_all(d.path().join("b/.git")).unwrap();
        std::fs::write(d.path().join("b/z.yml"), pod("z")).unwrap();
        std::fs::write(d.path().join("b/.git/x.yaml"), pod("hidden")).unwrap();
        std::fs::write(d.path().join(".h.yaml"), pod("hidden")).unwrap();
        std::fs::write(
            d.path().join("a.json"),
            r#"{"kind":"Pod","spec":{"containers":[{"image":"a"}]}}"#,
        )
        .unwrap();
        std::fs::write(d.path().join("notes.txt"), "not read").unwrap();
        std::fs::write(d.path().join("c.yaml"), "# only a comment\n---\n").unwrap();
        let opts = ImagesOptions {
            sources: vec![d.path().to_path_buf()],
            any_image_field: false,
        };
        let found = images(&opts).unwrap();
        let refs: Vec<_> = found.iter().map(|f| f.reference.as_str()).collect();
        assert_eq!(
            refs,
            ["docker.io/library/a:latest", "docker.io/library/z:latest"]
        );
        assert!(found[1].file.ends_with("b/z.yml"), "{}", found[1].file);

        let seq = text_source("- alpine\n", "l.yaml", false).unwrap_err();
        assert!(seq.to_string().contains("l.yaml: document 0"), "{seq}");
        assert!(!is_manifest_or_bundle("images:\n  - alpine:3.19\n"));
        assert!(!is_manifest_or_bundle("alpine:3.19\nghcr.io/a/b:1 # c\n"));
        assert!(!is_manifest_or_bundle(r#"["alpine"]"#));
        assert!(is_manifest_or_bundle(
            "# x\n---\napiVersion: v1\nkind: Pod\n"
        ));
        assert!(is_manifest_or_bundle(
            r#"{"schemaVersion":"v1","invocationImages":[]}"#
        ));
    }
}
