//! What can go wrong reading or writing a bundle, as data: the file or member, what was being
//! done, and the I/O, tar or JSON error as the `source`. Imports nothing outside `layout` but
//! digests and sizes.

use std::path::PathBuf;

use crate::digest::Digest;

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
        source: super::tar::TarPlanError,
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
            Damage::LegacyDocker => f.write_str(super::legacy::LEGACY_DOCKER),
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
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull => " (the disk is full: free space or write the bundle elsewhere)",
        ErrorKind::FileTooLarge => " (the file system's file size limit was hit: use --split-size (e.g. --split-size fat32) or another file system)",
        ErrorKind::QuotaExceeded => " (disk quota exceeded)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::io_hint;
    use std::io::Error;

    #[test]
    fn the_errnos_of_a_full_disk_a_size_limit_and_a_quota_get_their_hint() {
        assert!(io_hint(&Error::from_raw_os_error(libc::ENOSPC)).contains("disk is full"));
        assert!(io_hint(&Error::from_raw_os_error(libc::EFBIG)).contains("--split-size"));
        assert!(io_hint(&Error::from_raw_os_error(libc::EDQUOT)).contains("quota"));
        assert_eq!(io_hint(&Error::from_raw_os_error(libc::EACCES)), "");
    }
}
