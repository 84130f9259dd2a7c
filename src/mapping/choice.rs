//! Which mapping a command asked for (`--mapping hashed|path|FILE`) and the one place that
//! turns that choice into a [`Mapper`]; import, inventory and map all build theirs here.

use std::path::{Path, PathBuf};

use super::{Mapper, MappingError, Scheme};

/// How source names become target names: a built-in scheme or a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingChoice {
    /// `PREFIX/flat-md5` (duffle and image-relocation compatible, the default).
    Hashed,
    /// `PREFIX/host/path`.
    Path,
    /// A JSON or YAML file of source → target pairs.
    File(PathBuf),
}

impl MappingChoice {
    /// The choice a `--mapping` value names: `hashed`, `path`, or else a file.
    pub fn from_arg(value: &str) -> MappingChoice {
        match value {
            "hashed" => MappingChoice::Hashed,
            "path" => MappingChoice::Path,
            file => MappingChoice::File(Path::new(file).to_path_buf()),
        }
    }
}

impl Mapper {
    /// A mapper under `prefix` as `choice` says: a scheme, or the pairs of a mapping file.
    pub fn from_choice(prefix: &str, choice: &MappingChoice) -> Result<Mapper, MappingError> {
        match choice {
            MappingChoice::Hashed => Mapper::new(prefix, Scheme::Hashed),
            MappingChoice::Path => Mapper::new(prefix, Scheme::Path),
            MappingChoice::File(f) => Mapper::from_file(prefix, f),
        }
    }
}
