//! Reading a `relocation-mapping.json` back (what `ferry import` wrote): the pairs of original
//! and relocated references that `map --emit` turns into policies and mirror configurations.

use std::path::{Path, PathBuf};

use crate::reference::{Reference, ReferenceError};

/// A mapping file that cannot be read or is not ferry's shape.
#[derive(Debug, thiserror::Error)]
pub enum RelocationFileError {
    #[error("cannot read the mapping file {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mapping file {}: expected a JSON object {{\"original reference\": \"relocated reference\"}} such as ferry import writes to relocation-mapping.json", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("mapping file {}: the value of {key:?} is not a string; expected a JSON object {{\"original reference\": \"relocated reference\"}} such as ferry import writes to relocation-mapping.json", path.display())]
    NotAString { path: PathBuf, key: String },
    #[error("mapping file")]
    Reference(#[from] ReferenceError),
}

/// (original, relocated) for every key of the file, in key order.
pub fn read_relocations(path: &Path) -> Result<Vec<(Reference, Reference)>, RelocationFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| RelocationFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|source| RelocationFileError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in &map {
        let v = v.as_str().ok_or_else(|| RelocationFileError::NotAString {
            path: path.to_path_buf(),
            key: k.clone(),
        })?;
        out.push((Reference::parse(k)?, Reference::parse(v)?));
    }
    Ok(out)
}
