//! What can stop an export, each naming the image and, where it applies, the blob, the
//! registry and the platform, with the error under it as its `source`.

use std::path::PathBuf;

use super::bounds;
use crate::digest::{Digest, VerifyError};
use crate::error::{chain, Boxed};
use crate::layout::LayoutError;
use crate::manifest::ManifestError;
use crate::reference::ReferenceError;
use crate::registry::stall::{Stall, StallTimeout};
use crate::registry::RegistryError;

/// Errors of an export; each names the image and, where it applies, the blob and registry.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Trust(#[from] crate::sigstore::trust::TrustError),
    #[error(
        "--require-signed needs --key, or --certificate-identity and --certificate-oidc-issuer"
    )]
    RequireSignedHow,
    #[error("--require-signed: the planned bundle")]
    Planned(#[source] crate::layout::graph::GraphError),
    #[error("--require-signed: {} image(s) refused, nothing was written:\n  {}", .0.len(), .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n  "))]
    Unsigned(Vec<crate::signed::Refused>),
    #[error("{image}")]
    Registry {
        image: String,
        #[source]
        cause: Boxed<RegistryError>,
    },
    #[error("{image}")]
    Manifest {
        image: String,
        #[source]
        cause: ManifestError,
    },
    #[error("{image} has none of the requested platforms ({}); it has: {}", .wanted.join(", "), or_none(.available))]
    NoPlatform {
        image: String,
        wanted: Vec<String>,
        available: Vec<String>,
    },
    #[error("{image} lacks requested platform(s) {} (--strict-platforms); it has: {}", .missing.join(", "), .available.join(", "))]
    MissingPlatforms {
        image: String,
        missing: Vec<String>,
        available: Vec<String>,
    },
    #[error("{image}: {digest} is {actual} bytes, but its descriptor says {expected}")]
    SizeMismatch {
        image: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{image}: blob {digest} from {registry}")]
    Blob {
        image: String,
        digest: Digest,
        registry: String,
        #[source]
        problem: Boxed<BlobProblem>,
    },
    #[error("{image}: manifest {digest} is nested more than {limit} indexes deep; ferry carries at most {limit} levels (verify and import accept exactly what export writes), so this image cannot be exported")]
    TooDeep {
        image: String,
        digest: Digest,
        limit: usize,
    },
    #[error("{image}: child {digest} is typed as an index but is not one")]
    NotAnIndex { image: String, digest: Digest },
    #[error("{}: the registry does not have the {} {} that index {} lists (not found in {})", .0.image, .0.what, .0.digest, .0.index, .0.repository)]
    AbsentChild(Box<AbsentChild>),
    #[error("{image} is a single manifest without a config, so it has no platform to match --platform against")]
    NoConfig { image: String },
    #[error("{image}: config {digest} is {size} bytes, too large to read its platform")]
    ConfigTooLarge {
        image: String,
        digest: Digest,
        size: u64,
    },
    /// `name`: the repository, by full name.
    #[error("{name}: attached artifacts form a cycle through {subject}")]
    AttachedCycle { name: String, subject: Digest },
    #[error("{name}: {subject} lists itself as its own referrer")]
    OwnReferrer { name: String, subject: Digest },
    /// A split bundle needing more parts than ferry writes.
    #[error(transparent)]
    TooManyParts(Box<bounds::TooManyParts>),
    /// An index whose registry lacks some of its children.
    #[error(transparent)]
    SparseSource(Box<super::select::SparseSource>),
    #[error("the record of {layers} omitted layers would be {size} bytes, over the {limit}-byte limit: export fewer images per bundle")]
    RecordTooLarge {
        layers: usize,
        size: u64,
        limit: u64,
    },
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("no images given: name at least one IMAGE or use -f FILE")]
    NoImages,
    #[error("--split-size writes files; it cannot be combined with -o -")]
    SplitToStdout,
    /// A `--since` bundle or `--since-inventory` file that cannot be read.
    #[error("{flag} {}", path.display())]
    Since {
        flag: &'static str,
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cancelled after another download failed")]
    Cancelled,
    #[error("{} image(s) failed, nothing was written (use --keep-going to export the rest):\n  {}", .0.len(), each_failed(.0))]
    Failed(Vec<ExportError>),
}

/// A child an index lists that its registry does not have.
#[derive(Debug)]
pub struct AbsentChild {
    pub image: String,
    /// `linux/arm64 manifest`, `attestation manifest`, `child manifest`.
    pub what: String,
    pub digest: Digest,
    pub index: Digest,
    /// The repository, by full name.
    pub repository: String,
}

/// What was wrong with a blob the registry served.
#[derive(Debug, thiserror::Error)]
pub enum BlobProblem {
    #[error("its descriptor says {size} bytes, which takes the bundle past {limit} bytes, the largest file there can be: the manifest is wrong, or this is too much for one bundle (export fewer images)")]
    PastLargestFile { size: u64, limit: u64 },
    #[error("{served_by} answered Content-Length {length}, but the manifest says {size} bytes (the registry is serving different content)")]
    ContentLength {
        served_by: String,
        length: u64,
        size: u64,
    },
    #[error("{served_by} sent more than the {size} bytes the manifest lists")]
    TooLong { served_by: String, size: u64 },
    #[error("the download ended early after {got} of {size} bytes, {times} times")]
    EndedEarly { got: u64, size: u64, times: u32 },
    /// Every attempt stalled (the last one as `stall`, in the `--timeout` window); `from` is
    /// a host other than the registry that was sending the bytes.
    #[error("{stall} in {} (--timeout {timeout}), {attempts} attempts ({got} of {size} bytes arrived{})", .timeout.seconds(), from_note(.from))]
    Stalled {
        stall: Stall,
        timeout: StallTimeout,
        attempts: u32,
        got: u64,
        size: u64,
        from: Option<String>,
    },
    /// Every attempt was cut off; the last cut is the source.
    #[error("download cut, {attempts} attempts ({got} of {size} bytes arrived{})", from_note(.from))]
    Cut {
        attempts: u32,
        got: u64,
        size: u64,
        from: Option<String>,
        source: std::io::Error,
    },
    #[error("content hashes to {actual}: the registry's stored blob is corrupt or was altered; nothing was written under the output name")]
    Corrupt { actual: Digest },
    #[error(transparent)]
    Read(std::io::Error),
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

impl ExportError {
    /// Wraps a registry error with the image it concerns.
    pub fn registry(image: &str, source: RegistryError) -> ExportError {
        ExportError::Registry {
            image: image.to_string(),
            cause: Boxed::new(source),
        }
    }
}

fn or_none(available: &[String]) -> String {
    if available.is_empty() {
        "none recorded".into()
    } else {
        available.join(", ")
    }
}

fn from_note(from: &Option<String>) -> String {
    match from {
        Some(host) => format!(" from {host}"),
        None => String::new(),
    }
}

fn each_failed(failed: &[ExportError]) -> String {
    let each: Vec<String> = failed.iter().map(|e| chain(e)).collect();
    each.join("\n  ")
}
