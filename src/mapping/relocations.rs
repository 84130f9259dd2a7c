//! Reading a `relocation-mapping.json` back (what `ferry import` wrote): the pairs of original
//! and relocated references that `map --emit` turns into policies and mirror configurations.

use std::path::{Path, PathBuf};

use crate::reference::{Reference, ReferenceError};

/// A mapping file that cannot be read or is not ferry's shape.
#[derive(Debug, thiserror::Error)]
pub enum RelocationFileError {
    #[error("cannot read the mapping file {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("mapping file {path}: {detail}; expected a JSON object {{\"original reference\": \"relocated reference\"}} such as ferry import writes to relocation-mapping.json")]
    Format { path: PathBuf, detail: String },
    #[error("mapping file: {0}")]
    Reference(#[from] ReferenceError),
}

/// (original, relocated) for every key of the file, in key order.
pub fn read_relocations(path: &Path) -> Result<Vec<(Reference, Reference)>, RelocationFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| RelocationFileError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let bad = |detail: String| RelocationFileError::Format {
        path: path.to_path_buf(),
        detail,
    };
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in &map {
        let v = v
            .as_str()
            .ok_or_else(|| bad(format!("the value of {k:?} is not a string")))?;
        out.push((Reference::parse(k)?, Reference::parse(v)?));
    }
    Ok(out)
}
