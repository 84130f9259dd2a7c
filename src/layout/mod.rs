//! The bundle format: an OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`)
//! inside one tar. This module owns the names, annotations and `index.json`; `tar` plans the
//! archive and `writer` puts it on disk.
//! It must not import `registry`, `export`, `import` or `verify`: the bundle format knows nothing
//! of where blobs come from or go.

pub mod entries;
pub mod foreign;
pub mod graph;
pub mod gz;
pub mod leftovers;
pub mod legacy;
pub mod members;
pub mod names;
pub mod omitted;
pub mod output;
pub mod parts;
pub mod reader;
pub mod sparse;
pub mod stream;
pub mod tar;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::digest::Digest;
use crate::manifest::OCI_INDEX;

pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The one nesting limit of every walk (`crate::walk::MAX_DEPTH`), here because bundles are
/// what it protects.
pub use crate::walk::MAX_DEPTH;
pub const INDEX_FILE: &str = "index.json";
pub const OCI_LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The full reference, as skopeo and podman users type it.
pub const ANNOT_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The full reference, as containerd and docker read it.
pub const ANNOT_CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Kept platforms of a sparse entry.
pub const ANNOT_PLATFORMS: &str = "io.ferry.platforms";
/// Digest of the manifest an attached artifact belongs to.
pub const ANNOT_SUBJECT: &str = "io.ferry.subject";
/// Top level: digest of the record of blobs a differential bundle left out (`omitted`).
pub const ANNOT_OMITTED: &str = "io.ferry.omitted";

/// What a blob is to the image that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Manifest,
    Config,
    Layer,
}

impl Role {
    /// `manifest`, `config` or `layer`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Manifest => "manifest",
            Role::Config => "config",
            Role::Layer => "layer",
        }
    }
}

/// Errors writing or reading a bundle. An I/O error, a tar or gzip error, a JSON error is
/// the `source` of the variant that says what was being done with which file.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot {action} {}{}", path.display(), io_hint(.source))]
    Io {
        path: PathBuf,
        /// `open`, `read`, `write`, `rename onto`, …
        action: &'static str,
        source: std::io::Error,
    },
    #[error("cannot read member {member} of {}", path.display())]
    ReadMember {
        path: PathBuf,
        member: String,
        source: std::io::Error,
    },
    #[error("output: {}: a bundle of {len} bytes is past {limit} bytes, the largest file there can be", path.display())]
    TooLarge { path: PathBuf, len: u64, limit: u64 },
    #[error("output: {}: a bundle of {len} bytes would be {parts} parts of --split-size {split}, over the limit of {limit} parts; use --split-size {} or more", path.display(), crate::sizes::size_arg(.min))]
    TooManyParts {
        path: PathBuf,
        len: u64,
        parts: u64,
        split: u64,
        limit: u64,
        /// The smallest `--split-size` that would do.
        min: u64,
    },
    #[error("output directory {}: {problem}", dir.display())]
    OutputDir {
        dir: PathBuf,
        problem: OutputProblem,
    },
    #[error("output {}: {problem}", path.display())]
    OutputPath {
        path: PathBuf,
        problem: OutputProblem,
    },
    /// The output (or its directory) cannot be written, for the reason the system gives.
    #[error("output{} {}{}", if *.directory { " directory" } else { "" }, path.display(), if *.writable { " is not writable" } else { "" })]
    Unusable {
        path: PathBuf,
        directory: bool,
        /// The `access(2)` check said no (else the path could not be looked at).
        writable: bool,
        source: std::io::Error,
    },
    #[error("refusing to write a tar to a terminal; redirect it or use -o FILE")]
    Terminal,
    /// A `.tar.gz` is read in one sequential pass; its blobs cannot be opened one by one.
    #[error("a .tar.gz bundle is read sequentially; blobs cannot be opened in place")]
    Sequential,
    /// The reader of a streamed blob stopped the stream (its own error is kept by it).
    #[error("stopped")]
    Stopped,
    #[error("cannot lay out member {name}")]
    Member {
        name: String,
        source: tar::TarPlanError,
    },
    #[error("unsafe bundle member {member:?}: {reason}; refusing the bundle")]
    Unsafe {
        member: String,
        reason: &'static str,
    },
    #[error("unsafe bundle member {member:?}: unsupported member type {entry_type:?}; refusing the bundle")]
    MemberType {
        member: String,
        entry_type: ::tar::EntryType,
    },
    #[error("bundle {} is corrupt: {damage}", path.display())]
    Corrupt { path: PathBuf, damage: Damage },
    /// The bundle cannot be read as what it should be; `source` says where reading stopped.
    #[error("bundle {} is corrupt: {reading}", path.display())]
    Unreadable {
        path: PathBuf,
        reading: Reading,
        source: std::io::Error,
    },
    #[error("bundle {} is corrupt: part {part} is missing or unreadable (bring every part listed in {})", path.display(), path.display())]
    MissingPart {
        /// The parts file.
        path: PathBuf,
        part: String,
        source: std::io::Error,
    },
    #[error("bundle {} is corrupt: not a ferry parts file", path.display())]
    PartsFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("bundle member {member} does not match its digest: expected {expected}, its bytes hash to {actual}; the bundle was altered or damaged")]
    Digest {
        member: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("bundle member {member} is missing")]
    Missing { member: String },
}

/// What is wrong with an output path or directory that can be looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputProblem {
    /// `-o` names a directory where a file is wanted.
    IsDirectory,
    /// A directory is wanted (the parent of `-o FILE`).
    NotADirectory,
    /// `-o` of a command that writes into a directory names something else.
    NotADirectoryOption,
    DoesNotExist,
    /// A terminal named by its path (`-o /dev/tty`).
    Terminal,
    /// A device or FIFO, with `--split-size`.
    SplitInPlace,
    /// A path without a file name (`/`, `..`).
    NotAFilePath,
}

impl std::fmt::Display for OutputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputProblem::IsDirectory => "is a directory; give a file name",
            OutputProblem::NotADirectory => "is not a directory",
            OutputProblem::NotADirectoryOption => "is not a directory (-o takes a directory here)",
            OutputProblem::DoesNotExist => "does not exist",
            OutputProblem::Terminal => "is a terminal; refusing to write a tar to a terminal: redirect it or use -o FILE",
            OutputProblem::NotAFilePath => "is not a file path",
            OutputProblem::SplitInPlace => "is a device or FIFO, not a regular file; --split-size writes part files beside it, which cannot be done there: write to a file name, or drop --split-size",
        })
    }
}

/// What is wrong with a bundle (or its parts file, or the stream on standard input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    PartsFileTooLarge {
        limit: u64,
    },
    TooManyParts {
        parts: usize,
        limit: u64,
    },
    PartName(String),
    PartSize {
        part: String,
        len: u64,
        size: u64,
    },
    PartsPastMax,
    NoParts,
    /// A tar member that would end past the end of the file.
    PastEnd {
        member: String,
        size: u64,
        offset: u64,
        len: u64,
    },
    LegacyDocker,
    NoIndex,
    /// A bundle on standard input whose blobs came first.
    IndexNotFirst,
    JsonTooLarge {
        member: String,
        size: u64,
        limit: u64,
    },
    LayoutVersion(String),
    /// A tar.gz member whose header contradicts a size a descriptor (`by`) gave it.
    DeclaredSize {
        member: String,
        size: u64,
        by: String,
        want: u64,
    },
    ShortMember {
        member: String,
        read: u64,
        size: u64,
    },
    JsonTotal,
    StreamShort {
        member: String,
        got: u64,
        size: u64,
    },
    StreamTooLarge {
        member: String,
        size: u64,
    },
    BeforeIndex {
        member: String,
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::PartsFileTooLarge { limit } => write!(f, "the parts file is over {limit} bytes"),
            Damage::TooManyParts { parts, limit } => write!(f, "the parts file lists {parts} parts, over the limit of {limit}"),
            Damage::PartName(n) => write!(f, "part name {n:?} is not a plain file name"),
            Damage::PartSize { part, len, size } => write!(f, "part {part} is {len} bytes, but the parts file says {size}: it is truncated or from another bundle"),
            Damage::PartsPastMax => f.write_str("the parts add up past 2^63 bytes"),
            Damage::NoParts => f.write_str("the parts file lists no parts"),
            Damage::PastEnd { member, size, offset, len } => write!(f, "member {member} claims {size} bytes at offset {offset}, but the file is {len} bytes: the bundle is truncated"),
            Damage::LegacyDocker => f.write_str(legacy::LEGACY_DOCKER),
            Damage::NoIndex => f.write_str("no index.json: this is not an OCI image layout"),
            Damage::IndexNotFirst => f.write_str("index.json did not come before the blobs; save the stream to a file and import that"),
            Damage::JsonTooLarge { member, size, limit } => write!(f, "{member} is {size} bytes, over the {limit}-byte limit for JSON documents"),
            Damage::LayoutVersion(v) => write!(f, "oci-layout says imageLayoutVersion {v:?}; ferry reads OCI image layout version 1.x only"),
            Damage::DeclaredSize { member, size, by, want } => write!(f, "member {member} is {size} bytes by its tar header, but {by} says {want}; refusing it before reading it"),
            Damage::ShortMember { member, read, size } => write!(f, "member {member} holds {read} bytes but its header says {size}: the bundle is truncated"),
            Damage::JsonTotal => f.write_str("more than 512 MiB of JSON documents"),
            Damage::StreamShort { member, got, size } => write!(f, "{member} ended after {got} of {size} bytes: the stream is truncated"),
            Damage::StreamTooLarge { member, size } => write!(f, "{member} is {size} bytes, over the 4 MiB limit"),
            Damage::BeforeIndex { member } => write!(f, "{member} came before index.json: a pipe can only be imported when index.json comes first (ferry's own bundles); save the stream to a file and import that"),
        }
    }
}

/// What reading a bundle was doing when it broke off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// The members of a tar.
    Tar,
    /// The start of a tar.gz.
    TarGz,
    /// The members of a tar.gz.
    TarGzMembers,
    /// The data of one member of a tar.gz.
    GzMember(String),
    /// The second pass over a tar.gz.
    SecondPass,
    /// The parts file of a split bundle.
    PartsFile,
    /// The start of a tar on standard input.
    Stream,
    /// The members of a tar on standard input.
    StreamMembers,
    /// The data of one member on standard input.
    StreamMember(String),
    /// The members after the first layer, while pushing.
    StreamRest,
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reading::Tar => f.write_str("not a readable tar (the bundle may be truncated or not a tar)"),
            Reading::TarGz => f.write_str("not a readable tar.gz"),
            Reading::TarGzMembers => f.write_str("not a readable tar.gz (the bundle may be truncated)"),
            Reading::GzMember(m) => write!(f, "reading member {m} (truncated or corrupt gzip)"),
            Reading::SecondPass => f.write_str("second pass (the file changed since the first pass?)"),
            Reading::PartsFile => f.write_str("cannot read the parts file"),
            Reading::Stream => f.write_str("not a tar stream"),
            Reading::StreamMembers => f.write_str("not a readable tar stream"),
            Reading::StreamMember(m) => write!(f, "reading {m} from the pipe (truncated?)"),
            Reading::StreamRest => f.write_str("the stream broke off; nothing that needs the rest was tagged: run the import again"),
        }
    }
}

/// What to do about an I/O error that says what it is (full disk, file size limit).
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) => " (the disk is full: free space or write the bundle elsewhere)",
        Some(libc::EFBIG) => " (the file system's file size limit was hit: use --split-size (e.g. --split-size fat32) or another file system)",
        Some(libc::EDQUOT) => " (disk quota exceeded)",
        _ => "",
    }
}

/// One `index.json` entry: what a reference resolved to.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl IndexEntry {
    /// An entry named by a full reference (both name annotations, DESIGN §2).
    pub fn named(reference: &str, media_type: &str, digest: Digest, size: u64) -> IndexEntry {
        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOT_CONTAINERD_NAME.to_string(), reference.to_string());
        annotations.insert(ANNOT_REF_NAME.to_string(), reference.to_string());
        IndexEntry {
            media_type: media_type.to_string(),
            digest,
            size,
            artifact_type: None,
            annotations,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexFile<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: &'a [IndexEntry],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// Serialises `index.json` deterministically (fixed field order, sorted annotations).
pub fn index_json(entries: &[IndexEntry], annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let f = IndexFile {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: entries,
        annotations,
    };
    let mut v = serde_json::to_vec_pretty(&f).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A loop among `io.ferry.subject` annotations (DESIGN §6: cycles are errors, not loops),
/// shown as `name (digest) -> … -> name (digest)`; `entries` are (digest, name, subject).
pub fn subject_cycle<'a>(
    entries: impl IntoIterator<Item = (&'a Digest, &'a str, &'a Digest)>,
) -> Option<String> {
    let mut links: BTreeMap<&Digest, (&str, &Digest)> = BTreeMap::new();
    for (d, name, subject) in entries {
        links.entry(d).or_insert((name, subject));
    }
    let mut done = std::collections::BTreeSet::new();
    for start in links.keys().copied() {
        let mut path = Vec::new();
        let mut on_path = std::collections::BTreeSet::new();
        let mut cur = start;
        while !done.contains(cur) {
            if !on_path.insert(cur) {
                let i = path.iter().position(|d| *d == cur).unwrap_or_default();
                let shown: Vec<String> = path[i..]
                    .iter()
                    .chain([&cur])
                    .map(|d| format!("{} ({d})", links.get(d).map_or("?", |l| l.0)))
                    .collect();
                return Some(shown.join(" -> "));
            }
            path.push(cur);
            match links.get(cur) {
                Some((_, next)) => cur = next,
                None => break,
            }
        }
        done.extend(path);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_loops_are_found() {
        let [a, b, c] = [b"a", b"b", b"c"].map(|x| Digest::sha256_of(x));
        assert_eq!(subject_cycle([(&a, "a", &b), (&b, "b", &c)]), None);
        let cycle = subject_cycle([(&c, "c", &a), (&a, "a", &b), (&b, "b", &a)]);
        assert_eq!(cycle.unwrap(), format!("a ({a}) -> b ({b}) -> a ({a})"));
        assert_eq!(
            subject_cycle([(&c, "c", &c)]).unwrap(),
            format!("c ({c}) -> c ({c})")
        );
    }

    #[test]
    fn index_json_is_deterministic_and_named() {
        let d = Digest::sha256_of(b"m");
        let e = IndexEntry::named("docker.io/library/alpine:3.19", OCI_INDEX, d.clone(), 1);
        let a = index_json(std::slice::from_ref(&e), &BTreeMap::new());
        assert_eq!(a, index_json(&[e], &BTreeMap::new()));
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(
            v["manifests"][0]["annotations"][ANNOT_REF_NAME],
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(v["manifests"][0]["digest"], d.to_string());
        assert!(v.get("annotations").is_none());
    }
}
