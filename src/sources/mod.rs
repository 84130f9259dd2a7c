//! Where image names come from (issue 18, DESIGN §5, §12): Kubernetes manifests, Helm charts and
//! CNAB bundles, read for the image references they name, each with where it was found. The
//! finders read files only (never the network, never a cluster); `images` prints what they
//! find and `export --from` carries it; `map --rewrite` puts relocated names back into the
//! same files. It imports only `reference` (to normalise) and `mapping` (for rewrites).

pub mod cnab;
pub mod find;
pub mod helm;
pub mod kube;
pub mod rewrite;
pub mod yaml;

use std::path::PathBuf;

use serde::Serialize;

/// One image reference found in a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The reference, normalised as everywhere else (`docker.io/library/nginx:1.25`).
    pub reference: String,
    /// As written in the source.
    pub written: String,
    /// The file (or `-` for stdin).
    pub file: String,
    /// 0-based document of a multi-document YAML stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// `Kind/name` of the resource, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Where in the document: `spec.template.spec.containers[0].image`.
    pub field: String,
    /// 1-based line and column, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// How it was found.
    pub how: How,
}

/// Which reader found an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// A Kubernetes workload's container (or any `image:` with `--any-image-field`).
    Manifest,
    /// A template rendered by `helm template`.
    HelmTemplate,
    /// A Helm `values.yaml` convention (`image:`, `image.repository`/`tag`/`digest`, …).
    HelmValues,
    /// A CNAB `bundle.json` (`invocationImages`, `images`).
    Cnab,
}

/// Why a source could not be read; each names the file and, where it can, the position.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not YAML or JSON")]
    Yaml {
        file: String,
        source: yaml::YamlError,
    },
    /// A reference that does not parse, with where it was found.
    #[error("{file}:{}: {field}: {written:?} is not an image reference", line.map_or("?".to_string(), |l| l.to_string()))]
    Reference {
        file: String,
        line: Option<usize>,
        field: String,
        written: String,
        source: Box<crate::reference::ReferenceError>,
    },
    #[error("{file}: {detail}")]
    Format { file: String, detail: String },
}

/// Merges duplicates (by normalised reference), keeping the first place each was found.
pub fn unique(found: &[Found]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    found
        .iter()
        .filter(|f| seen.insert(f.reference.clone()))
        .map(|f| f.reference.clone())
        .collect()
}

/// Normalises a reference as written; an error names where it stands.
pub(crate) fn normalise(
    written: &str,
    file: &str,
    line: Option<usize>,
    field: &str,
) -> Result<String, SourceError> {
    crate::reference::Reference::parse(written.trim())
        .map(|r| r.with_default_tag().to_string())
        .map_err(|source| SourceError::Reference {
            file: file.to_string(),
            line,
            field: field.to_string(),
            written: written.to_string(),
            source: Box::new(source),
        })
}
