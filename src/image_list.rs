//! Image lists (`-f FILE`): one reference per line with `#` comments, or a JSON array; or any
//! source `ferry images` reads (manifests, a chart, a CNAB bundle), so lists everywhere accept
//! the same sources.
//! It owns the list formats and imports only `sources`; never the registry
//! or the layout.

use std::path::{Path, PathBuf};

/// A list file that cannot be read or parsed; `problem` says why.
#[derive(Debug, thiserror::Error)]
#[error("image list {}", path.display())]
pub struct ListError {
    pub path: PathBuf,
    #[source]
    pub problem: ListProblem,
}

/// What is wrong with a list file.
#[derive(Debug, thiserror::Error)]
pub enum ListProblem {
    #[error(transparent)]
    Read(std::io::Error),
    #[error("not a JSON array of strings or {{\"images\": [...]}}")]
    Json(#[source] serde_json::Error),
    /// A YAML key other than `images:` at this line (1-based).
    #[error("line {0}: only a list of images (optionally under `images:`) is read")]
    NotAList(usize),
    /// Manifests, a chart or a bundle that `ferry images` could not read.
    #[error(transparent)]
    Source(Box<crate::sources::SourceError>),
}

/// Reads references from a list file (or a source, as [`read_any`] without custom resources).
pub fn read_list(path: &Path) -> Result<Vec<String>, ListError> {
    read_any(path, false)
}

/// Reads references from a list file, or, when `path` is a directory, a chart, or a text whose
/// documents have `apiVersion`/`kind` or a CNAB shape, from what `ferry images` finds there
/// (unique, in the order found). A list of strings, under `images:` or not, stays a list.
pub fn read_any(path: &Path, any_image_field: bool) -> Result<Vec<String>, ListError> {
    use crate::sources::{find, helm, unique};
    let err = |problem| ListError {
        path: path.to_path_buf(),
        problem,
    };
    let source = |e| err(ListProblem::Source(Box::new(e)));
    if path.is_dir() || helm::is_chart(path) {
        let found = find::source(path, any_image_field).map_err(source)?;
        return Ok(unique(&found));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(ListProblem::Read(e)))?;
    if find::is_manifest_or_bundle(&text) {
        let name = path.display().to_string();
        let found = find::text_source(&text, &name, any_image_field).map_err(source)?;
        return Ok(unique(&found));
    }
    parse_list(&text).map_err(err)
}

/// Parses list text: a JSON array of strings (or `{"images": [...]}`), a YAML list (`- ref`
/// lines, optionally under `images:`), or plain lines; `#` starts a comment.
pub fn parse_list(text: &str) -> Result<Vec<String>, ListProblem> {
    let t = text.trim_start();
    if t.starts_with('[') || t.starts_with('{') {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Json {
            List(Vec<String>),
            Object { images: Vec<String> },
        }
        return match serde_json::from_str::<Json>(text) {
            Ok(Json::List(v)) | Ok(Json::Object { images: v }) => Ok(v),
            Err(e) => Err(ListProblem::Json(e)),
        };
    }
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        // A `#` starts a comment only at the start or after whitespace (never inside a digest).
        let line = match raw.find(" #") {
            Some(i) => &raw[..i],
            None if raw.trim_start().starts_with('#') => "",
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line == "---" || line == "images:" {
            continue;
        }
        let item = match line.strip_prefix("- ") {
            Some(rest) => rest.trim().trim_matches(['"', '\'']),
            None if line.ends_with(':') => return Err(ListProblem::NotAList(n + 1)),
            None => line,
        };
        out.push(item.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_json() {
        let v = parse_list("# images\nalpine:3.19\n\n  ghcr.io/a/b@sha256:00 # pinned\n").unwrap();
        assert_eq!(v, vec!["alpine:3.19", "ghcr.io/a/b@sha256:00"]);
        assert_eq!(parse_list(r#"["a","b"]"#).unwrap(), vec!["a", "b"]);
        assert_eq!(parse_list(r#"{"images":["a"]}"#).unwrap(), vec!["a"]);
        let yaml = "# list\nimages:\n  - alpine:3.19\n  - \"ghcr.io/a/b:1\"  # quoted\n";
        assert_eq!(
            parse_list(yaml).unwrap(),
            vec!["alpine:3.19", "ghcr.io/a/b:1"]
        );
        assert!(parse_list("other:\n  - a\n").is_err());
        assert!(parse_list("[1]").is_err());
    }

    #[test]
    fn manifests_are_read_as_sources() {
        let d = tempfile::tempdir().unwrap();
        let list = d.path().join("list.yaml");
        std::fs::write(&list, "images:\n  - alpine:3.19\n").unwrap();
        assert_eq!(read_list(&list).unwrap(), vec!["alpine:3.19"]);
        let pods = d.path().join("pods.yaml");
        let pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{image: alpine:3.19}]\n";
        std::fs::write(&pods, format!("{pod}---\n{pod}")).unwrap();
        assert_eq!(
            read_list(&pods).unwrap(),
            vec!["docker.io/library/alpine:3.19"]
        );
        assert_eq!(
            read_list(d.path()).unwrap(),
            vec!["docker.io/library/alpine:3.19"]
        );
    }
}
