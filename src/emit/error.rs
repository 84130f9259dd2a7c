//! Why `map --emit` could not write its configuration: one error for every kind, since they
//! read the same mapping and fail the same ways.

use std::path::PathBuf;

use crate::mapping::relocations::RelocationFileError;
use crate::mapping::MappingError;
use crate::reference::ReferenceError;

/// Why an emitted configuration could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error(transparent)]
    MappingFile(#[from] RelocationFileError),
    #[error("mapping file")]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Two originals relocated to one target; `why` says what the configuration needs.
    #[error("{first} and {second} were both relocated to {target}; {why}")]
    Conflict {
        first: String,
        second: String,
        target: String,
        why: &'static str,
    },
    #[error(
        "{original} was relocated to both {first} and {second}; the mapping must be one to one"
    )]
    Split {
        original: String,
        first: String,
        second: String,
    },
    #[error("the mapping changes the tags of several images of {repository}; kustomize can set only one newTag per name")]
    Tags { repository: String },
    #[error("nothing to write: no images were given")]
    Empty,
    #[error("--key {}", path.display())]
    KeyRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--key {}: not a PEM public key (-----BEGIN PUBLIC KEY-----), as cosign generate-key-pair writes to cosign.pub", path.display())]
    NotAKey { path: PathBuf },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] crate::layout::LayoutError),
}
