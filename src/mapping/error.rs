//! Why a name cannot be mapped: each variant names the culprit, and each reason is data
//! rendered here with what to do about it.

use std::path::PathBuf;

use super::NAME_MAX;
use crate::reference::ReferenceError;

/// Why a name cannot be mapped; each variant names the culprit and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("invalid target prefix {prefix:?}: {reason}")]
    InvalidPrefix {
        prefix: String,
        reason: PrefixProblem,
    },
    #[error("cannot map {repository}: target {target:?} {reason}")]
    InvalidTarget {
        repository: String,
        target: String,
        reason: TargetProblem,
    },
    #[error(
        "{first} and {second} would both go to {target}; the mapping must be one to one: {hint}"
    )]
    Collision {
        first: String,
        second: String,
        target: String,
        hint: &'static str,
    },
    #[error("{repository} has no entry in the mapping file; add \"{repository}\": \"<target>\"")]
    NotInMapping { repository: String },
    #[error("cannot read mapping file {}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mapping file {}", .path.display())]
    FileFormat {
        path: PathBuf,
        #[source]
        problem: FileProblem,
    },
    #[error("mapping entry {key:?}: {value:?}: {reason}")]
    InvalidEntry {
        key: String,
        value: String,
        reason: EntryProblem,
    },
}

/// The reason of a reference that does not parse (without the probe it was parsed as).
#[derive(Debug, PartialEq, Eq)]
pub struct Syntax(pub ReferenceError);

impl std::fmt::Display for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            ReferenceError::Invalid { reason, .. } => write!(f, "{reason}"),
            ReferenceError::Digest { source, .. } => write!(f, "{source}"),
        }
    }
}

/// What is wrong with a `--to` prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum PrefixProblem {
    /// Empty, or a URL.
    NotHostAndPath,
    /// The first component is no registry host; `prefix` as written.
    NotAHost {
        host: String,
        prefix: String,
    },
    HubNamespace,
    NotPlain,
    Syntax(Syntax),
    /// Too long for `/<md5>` after it.
    NoRoomForHash {
        len: usize,
        max: usize,
    },
}

impl std::fmt::Display for PrefixProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrefixProblem::NotHostAndPath => f.write_str("give a registry host and optional path, without a scheme, e.g. reg.local/team"),
            PrefixProblem::NotAHost { host, prefix } => write!(f, "{host:?} is not a registry host (it needs a '.' or ':' or must be localhost); for Docker Hub write docker.io/{prefix}"),
            PrefixProblem::HubNamespace => f.write_str("Docker Hub needs a namespace: write docker.io/<user>"),
            PrefixProblem::NotPlain => f.write_str("not a plain registry host and repository path"),
            PrefixProblem::Syntax(s) => write!(f, "{s}"),
            PrefixProblem::NoRoomForHash { len, max } => write!(f, "{len} characters leaves no room for /<md5>; hashed targets need a prefix of at most {max}"),
        }
    }
}

/// What is wrong with a target repository name.
#[derive(Debug, PartialEq, Eq)]
pub enum TargetProblem {
    TooLong {
        len: usize,
    },
    /// It parses as more than a repository (`reads_as`).
    NotPlain {
        reads_as: String,
    },
    Syntax(Syntax),
    /// `--mapping path` of a registry host with no letters or digits.
    EmptyHost,
}

impl std::fmt::Display for TargetProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetProblem::TooLong { len } => write!(f, "is {len} characters, over the {NAME_MAX} registries accept; use a shorter prefix or --mapping hashed"),
            TargetProblem::NotPlain { reads_as } => write!(f, "is not a plain repository name (reads as {reads_as})"),
            TargetProblem::Syntax(s) => write!(f, "{s}"),
            TargetProblem::EmptyHost => f.write_str("cannot be made from a host with no letters or digits; use --mapping hashed"),
        }
    }
}

/// What is wrong with one entry of a mapping file.
#[derive(Debug, PartialEq, Eq)]
pub enum EntryProblem {
    Syntax(Syntax),
    TagChanged,
    /// The target is on another registry than `--to`'s (`host`).
    OtherRegistry {
        host: String,
    },
    AlreadyMapped {
        name: String,
        target: String,
    },
}

impl std::fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryProblem::Syntax(s) => write!(f, "{s}"),
            EntryProblem::TagChanged => f.write_str("the target may repeat the source's tag but not change it: ferry maps repositories and carries tags over unchanged"),
            EntryProblem::OtherRegistry { host } => write!(f, "the target is not on the --to registry {host}; every image is pushed there"),
            EntryProblem::AlreadyMapped { name, target } => write!(f, "{name} is already mapped to {target}"),
        }
    }
}

const YAML_HINT: &str = "only `source: target` lines of YAML are read; use JSON for anything else";

/// What is wrong with a mapping file's text; YAML problems name their line (1-based).
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("invalid JSON")]
    Json(#[source] serde_json::Error),
    #[error("no entries; expected {{\"source\": \"target\", ...}}")]
    Empty,
    #[error("line {0}: indented line; {YAML_HINT}")]
    Indented(usize),
    #[error("line {0}: expected `source: target`; {YAML_HINT}")]
    NotAPair(usize),
    #[error("line {0}: expected `:` after the key; {YAML_HINT}")]
    NoColon(usize),
    #[error("line {0}: unexpected text after the value")]
    AfterValue(usize),
    #[error("line {line}: {key:?} has no target; {YAML_HINT}")]
    NoTarget { line: usize, key: String },
    #[error("line {0}: unclosed quote")]
    UnclosedQuote(usize),
    #[error("line {0}: escapes are not supported; {YAML_HINT}")]
    Escapes(usize),
    #[error("line {line}: {text:?} is not a plain name; {YAML_HINT}")]
    NotPlain { line: usize, text: String },
}
