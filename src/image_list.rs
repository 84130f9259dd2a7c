//! Image lists (`-f FILE`): one reference per line with `#` comments, or a JSON array.

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
}

/// Reads references from a list file.
pub fn read_list(path: &Path) -> Result<Vec<String>, ListError> {
    let err = |problem| ListError {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(ListProblem::Read(e)))?;
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
}
