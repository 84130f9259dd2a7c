//! Image lists (`-f FILE`): one reference per line with `#` comments, or a JSON array.

use std::path::Path;

/// A list file that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error("image list {path}: {detail}")]
pub struct ListError {
    pub path: String,
    pub detail: String,
}

/// Reads references from a list file.
pub fn read_list(path: &Path) -> Result<Vec<String>, ListError> {
    let err = |detail: String| ListError {
        path: path.display().to_string(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_list(&text).map_err(err)
}

/// Parses list text: a JSON array of strings, or lines with `#` comments.
pub fn parse_list(text: &str) -> Result<Vec<String>, String> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str::<Vec<String>>(text)
            .map_err(|e| format!("not a JSON array of strings: {e}"));
    }
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_json() {
        let v = parse_list("# images\nalpine:3.19\n\n  ghcr.io/a/b@sha256:00 # pinned\n").unwrap();
        assert_eq!(v, vec!["alpine:3.19", "ghcr.io/a/b@sha256:00"]);
        assert_eq!(parse_list(r#"["a","b"]"#).unwrap(), vec!["a", "b"]);
        assert!(parse_list("[1]").is_err());
    }
}
