//! What can stop an import, each with the image, digest, repository or file it concerns and
//! the error under it as its `source`. Nothing is pushed after a check of the bundle fails.

use std::path::PathBuf;

use super::sparse::{self, SparseRefusal};
use super::MovedTag;
use crate::digest::{Digest, DigestError};
use crate::error::Boxed;
use crate::layout::omitted::OmittedError;
use crate::layout::{LayoutError, ANNOT_PLATFORMS, ANNOT_SUBJECT};
use crate::manifest::ManifestError;
use crate::mapping::MappingError;
use crate::platform::PlatformError;
use crate::progress::human;
use crate::reference::ReferenceError;
use crate::registry::RegistryError;

/// Errors of an import; nothing is pushed after a check fails.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Graph(crate::layout::graph::GraphError),
    #[error(transparent)]
    Trust(#[from] crate::sigstore::trust::TrustError),
    #[error(
        "--require-signed needs --key, or --certificate-identity and --certificate-oidc-issuer"
    )]
    RequireSignedHow,
    #[error("--require-signed needs a bundle file: a pipe cannot be checked before its images are pushed")]
    RequireSignedPipe,
    #[error("--require-signed: {} image(s) refused, nothing was pushed:\n  {}", .0.len(), .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n  "))]
    Unsigned(Vec<crate::signed::Refused>),
    /// The bundle's record of the layers it left out (`io.ferry.omitted`).
    #[error(transparent)]
    Omitted(#[from] OmittedError),
    #[error("index.json is not a valid OCI index")]
    Index(#[source] serde_json::Error),
    #[error("index.json")]
    IndexEntry(#[source] ManifestError),
    /// An entry's name annotation is not a reference.
    #[error("index.json entry {digest}")]
    EntryName {
        digest: Digest,
        source: ReferenceError,
    },
    #[error("--name {repository} with entry {digest}")]
    NameEntry {
        repository: String,
        digest: Digest,
        source: ReferenceError,
    },
    #[error("index.json names {recorded} twice, with different digests ({first} and {second})")]
    NamedTwice {
        recorded: String,
        first: Digest,
        second: Digest,
    },
    #[error("these index.json entries carry no repository name: {}; name their repository with --name REPO (e.g. --name docker.io/library/alpine)", unnamed(.0))]
    NeedsName(Vec<Unnamed>),
    #[error("index.json: {ANNOT_SUBJECT} annotations form a cycle: {cycle}; an artifact cannot be attached to itself, even through others")]
    SubjectCycle { cycle: String },
    #[error("{image}: {ANNOT_PLATFORMS}")]
    Platforms {
        image: String,
        source: PlatformError,
    },
    #[error("{image}: {ANNOT_SUBJECT}")]
    Subject { image: String, source: DigestError },
    /// `what`: `manifest`, `config`, `layer`, `linux/arm64 manifest`, …
    #[error("{image}: {what} {digest} is not in the bundle (member {} missing); the bundle is incomplete: export it again", digest.layout_path())]
    Missing {
        image: String,
        what: String,
        digest: Digest,
    },
    #[error("{image}: manifest {digest} is {size} bytes, over the 4 MiB limit")]
    ManifestTooLarge {
        image: String,
        digest: Digest,
        size: u64,
    },
    #[error("{image}: {} is {actual} bytes, but its descriptor says {expected}", digest.layout_path())]
    SizeMismatch {
        image: String,
        digest: Digest,
        actual: u64,
        expected: u64,
    },
    #[error("{image}: {} is {actual} bytes, but the manifest {manifest} says {expected}", digest.layout_path())]
    BlobSize {
        image: String,
        digest: Digest,
        manifest: Digest,
        actual: u64,
        expected: u64,
    },
    #[error("{image}: config {digest} did not come before the layers; this stream is not in ferry's member order: save it to a file and import that")]
    ConfigOrder { image: String, digest: Digest },
    #[error("{image}: config {digest} is not valid JSON")]
    ConfigJson {
        image: String,
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("{image}")]
    Manifest {
        image: String,
        source: ManifestError,
    },
    #[error("{image}: manifest {digest} is nested more than {limit} indexes deep, deeper than ferry exports or reads")]
    TooDeep {
        image: String,
        digest: Digest,
        limit: usize,
    },
    /// A sparse index to strip that is not JSON.
    #[error("index is not JSON")]
    IndexJson(#[source] serde_json::Error),
    #[error("target {repository}")]
    Target {
        repository: String,
        source: ReferenceError,
    },
    /// An image the mapping gave no target (the mapping checks them all first).
    #[error("no target for {reference}")]
    NoTarget { reference: String },
    /// A manifest to push that the plan did not prepare (it prepares them all first).
    #[error("{image}: manifest {digest} not prepared")]
    NotPrepared { image: String, digest: Digest },
    /// A blob the bundle's pass (`the stream`, `the second pass over the bundle`) never came to.
    #[error("{image}: blob {digest} was not found in {pass}; nothing that needs it was tagged")]
    NotStreamed {
        image: String,
        digest: Digest,
        pass: &'static str,
    },
    #[error("not a streaming bundle")]
    NotStreaming,
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("{image}")]
    Registry {
        image: String,
        #[source]
        cause: Boxed<RegistryError>,
    },
    #[error("{}", sparse::message(.0))]
    Sparse(Vec<SparseRefusal>),
    #[error("--no-overwrite: these tags already point at other content, nothing was pushed: {}", overwritten(.0))]
    Overwrite(Vec<MovedTag>),
    #[error("writing the mapping file {}", path.display())]
    MappingFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("this differential bundle left out layers that the target registry does not have where its images need them (blob presence is per repository), so nothing was pushed; missing ({}):\n  {}\nImport the bundle it was made against (ferry export --since) first, or export these images again without --since", .0.len(), lines(.0))]
    OmittedMissing(Vec<MissingLayer>),
    #[error("omitted layer {digest} → {into}: the registry did not mount it from {from} (it answered with an upload session instead); the bundle does not hold this layer, so it cannot be uploaded: import the bundle it was made against (ferry export --since) first")]
    NotMounted {
        digest: Digest,
        /// The repositories, by full name.
        into: String,
        from: String,
    },
    #[error("registry {registry} refused the first push into repository {repository} ({answer}): this registry needs the repository (or its project) created first, as Harbor (projects), ECR (repositories) and Nexus (hosted repositories) do not create them on push; create {repository} there, or choose a --to prefix that exists, and check that the credentials may push to it; in full")]
    CreateFirst {
        registry: String,
        repository: String,
        /// The refusal in short: `NAME_UNKNOWN to POST`, `HTTP 403 to HEAD`.
        answer: String,
        #[source]
        cause: Boxed<RegistryError>,
    },
    #[error("registry {registry} accepted the push but does not serve what was pushed when read back, so the import did not succeed: {}{}", lines_joined(.missing), more_note(*.more))]
    ReadBack {
        registry: String,
        /// One per manifest or tag, tags first; `more` further ones are only counted.
        missing: Vec<Unserved>,
        more: usize,
    },
}

/// An `index.json` entry without a repository name: its digest and `ref.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unnamed {
    pub digest: Digest,
    pub tag: String,
}

/// A layer a differential bundle left out that a target repository does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingLayer {
    pub image: String,
    pub digest: Digest,
    pub size: u64,
    /// The target repository, by full name.
    pub repository: String,
}

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: layer {} ({}) is not in {}",
            self.image,
            self.digest,
            human(self.size),
            self.repository
        )
    }
}

/// A manifest or tag the registry does not serve as pushed when read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unserved {
    /// `repo:tag` or `repo@digest`.
    pub name: String,
    pub pushed: Digest,
    /// What it serves instead; None when the HEAD answered 404.
    pub served: Option<Digest>,
}

impl std::fmt::Display for Unserved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.served {
            Some(d) => write!(
                f,
                "{} serves {d}, not the {} pushed",
                self.name, self.pushed
            ),
            None => write!(
                f,
                "{} is not found (HEAD answered 404) though its PUT was accepted",
                self.name
            ),
        }
    }
}

fn unnamed(entries: &[Unnamed]) -> String {
    let each: Vec<String> = entries
        .iter()
        .map(|u| format!("{} (ref.name {:?})", u.digest, u.tag))
        .collect();
    each.join(", ")
}

fn overwritten(moved: &[MovedTag]) -> String {
    let each: Vec<String> = moved
        .iter()
        .map(|m| format!("{} (now {})", m.reference, m.old))
        .collect();
    each.join(", ")
}

fn lines(missing: &[MissingLayer]) -> String {
    let each: Vec<String> = missing.iter().map(ToString::to_string).collect();
    each.join("\n  ")
}

fn lines_joined(missing: &[Unserved]) -> String {
    let each: Vec<String> = missing.iter().map(ToString::to_string).collect();
    each.join("; ")
}

fn more_note(more: usize) -> String {
    if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    }
}
