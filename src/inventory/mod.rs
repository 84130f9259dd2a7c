//! `ferry inventory` (DESIGN §12): what a target registry already holds, for `ferry export
//! --since-inventory` on the connected side. Blob presence is per repository and `_catalog`
//! is not in the OCI spec, so the inventory comes from names ferry maps itself: for a bundle,
//! every blob of every image is HEADed in the repository import would push it to; for an image
//! list, each relocated manifest is read and walked without downloading a blob (a registry
//! keeps a manifest only with its blobs in that repository).
//! It uses `registry`, `layout`, `mapping` and import's bundle plan (`read_plan`); it must not
//! import `export`.

mod walk;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::Boxed;
use crate::image_list::ListError;
use crate::import::ImportError;
use crate::layout::{parts, LayoutError};
use crate::manifest::ManifestError;
use crate::mapping::{Mapper, MappingChoice, MappingError};
use crate::reference::ReferenceError;
use crate::registry::{Client, RegistryError};
use walk::{from_bundle, from_list};

/// Media type of an inventory document.
pub const MEDIA_TYPE: &str = "application/vnd.ferry.inventory.v1+json";

/// A blob the target registry holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryBlob {
    pub digest: Digest,
    pub size: u64,
    /// Target repositories holding it.
    pub repositories: Vec<String>,
}

/// An image looked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryImage {
    /// The original reference (from the bundle or the list).
    pub reference: String,
    /// Its relocated reference in the target registry.
    pub target: String,
    /// List: the manifest is there. Bundle: every blob of the image is there.
    pub present: bool,
}

/// What the target registry already has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub media_type: String,
    /// The `--to` prefix the names were mapped under.
    pub prefix: String,
    pub images: Vec<InventoryImage>,
    /// By digest.
    pub blobs: Vec<InventoryBlob>,
}

/// Why an inventory could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Bundle(#[from] ImportError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    List(#[from] ListError),
    #[error("{image}")]
    Registry {
        image: String,
        #[source]
        cause: Boxed<RegistryError>,
    },
    /// A relocated reference the mapping made that does not parse.
    #[error("target {relocated}")]
    Target {
        relocated: String,
        source: ReferenceError,
    },
    /// A line of an image list that is not a reference.
    #[error("{}", path.display())]
    ListEntry {
        path: PathBuf,
        source: ReferenceError,
    },
    #[error("{image}")]
    Manifest {
        image: String,
        source: ManifestError,
    },
    #[error("{image}: index {digest} in {repository} is nested more than {limit} levels deep")]
    TooDeep {
        image: String,
        digest: Digest,
        repository: String,
        limit: usize,
    },
    #[error("inventory {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("inventory {}: not a ferry inventory ({MEDIA_TYPE})", path.display())]
    NotAnInventory {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("inventory {}: mediaType is {found:?}, expected {MEDIA_TYPE}", path.display())]
    MediaType { path: PathBuf, found: String },
    #[error("inventory {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to take the inventory of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A bundle in any form ferry reads.
    Bundle(PathBuf),
    /// An image list of original references (`-f` format).
    List(PathBuf),
}

/// How to take it.
#[derive(Debug, Clone)]
pub struct InventoryOptions {
    pub source: Source,
    /// Target prefix, as given to `ferry import --to`.
    pub to: String,
    pub mapping: MappingChoice,
    /// Repository for bundle entries that carry only a tag, as `import --name`.
    pub name: Option<String>,
    /// Requests in flight at once.
    pub jobs: usize,
}

pub(crate) fn registry_err(image: &str, e: RegistryError) -> InventoryError {
    InventoryError::Registry {
        image: image.to_string(),
        cause: Boxed::new(e),
    }
}

/// A bundle (tar, `.tar.gz`, split parts, directory) or else an image list.
pub fn detect(path: &Path) -> Source {
    if path.is_dir() || parts::manifest_for(path).is_some() {
        return Source::Bundle(path.to_path_buf());
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let gzip = n >= 2 && head[..2] == [0x1f, 0x8b];
    let tar = n >= 262 && &head[257..262] == b"ustar";
    if gzip || tar {
        Source::Bundle(path.to_path_buf())
    } else {
        Source::List(path.to_path_buf())
    }
}

/// Blobs found: digest → (size, target repositories).
pub(crate) type Found = BTreeMap<Digest, (u64, BTreeSet<String>)>;

/// Takes the inventory.
pub fn inventory(client: &Client, opts: &InventoryOptions) -> Result<Inventory, InventoryError> {
    let mapper = Mapper::from_choice(&opts.to, &opts.mapping)?;
    let mut found = Found::new();
    let images = match &opts.source {
        Source::Bundle(p) => from_bundle(client, p, &mapper, opts, &mut found)?,
        Source::List(p) => from_list(client, p, &mapper, opts.jobs, &mut found)?,
    };
    Ok(Inventory {
        media_type: MEDIA_TYPE.into(),
        prefix: mapper.prefix().to_string(),
        images,
        blobs: found
            .into_iter()
            .map(|(digest, (size, repos))| InventoryBlob {
                digest,
                size,
                repositories: repos.into_iter().collect(),
            })
            .collect(),
    })
}

impl Inventory {
    /// Reads and checks an inventory file.
    pub fn read(path: &Path) -> Result<Inventory, InventoryError> {
        let bytes = std::fs::read(path).map_err(|source| InventoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let inv: Inventory =
            serde_json::from_slice(&bytes).map_err(|source| InventoryError::NotAnInventory {
                path: path.to_path_buf(),
                source,
            })?;
        if inv.media_type != MEDIA_TYPE {
            return Err(InventoryError::MediaType {
                path: path.to_path_buf(),
                found: inv.media_type,
            });
        }
        Ok(inv)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Writes to `path` through a temporary file beside it, so a reader never sees half.
    pub fn write(&self, path: &Path) -> Result<(), InventoryError> {
        let err = |source| InventoryError::Write {
            path: path.to_path_buf(),
            source,
        };
        crate::layout::writer::write_atomically(path, &self.to_bytes()).map_err(err)
    }

    /// One line for people: images found, blobs and bytes held.
    pub fn line(&self) -> String {
        let repos: BTreeSet<&String> = self.blobs.iter().flat_map(|b| &b.repositories).collect();
        let bytes = crate::sizes::saturating_total(self.blobs.iter().map(|b| b.size));
        format!(
            "inventory of {}: {} of {} image(s) present; {} blob(s) ({}) in {} repositories",
            self.prefix,
            self.images.iter().filter(|i| i.present).count(),
            self.images.len(),
            self.blobs.len(),
            crate::progress::human(bytes),
            repos.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventories_round_trip_and_are_checked() {
        let t = tempfile::tempdir().unwrap();
        let inv = Inventory {
            media_type: MEDIA_TYPE.into(),
            prefix: "reg.local/team".into(),
            images: vec![InventoryImage {
                reference: "r.io/a:1".into(),
                target: "reg.local/team/a-x:1".into(),
                present: true,
            }],
            blobs: vec![InventoryBlob {
                digest: Digest::sha256_of(b"l"),
                size: 3,
                repositories: vec!["reg.local/team/a-x".into()],
            }],
        };
        let p = t.path().join("inv.json");
        inv.write(&p).unwrap();
        assert_eq!(Inventory::read(&p).unwrap(), inv);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(r#""mediaType": "application/vnd.ferry.inventory.v1+json""#));
        assert!(inv.line().contains("1 of 1 image(s) present; 1 blob(s)"));
        std::fs::write(&p, text.replace("inventory.v1", "other")).unwrap();
        assert!(Inventory::read(&p)
            .unwrap_err()
            .to_string()
            .contains("mediaType"));
        std::fs::write(&p, text.replace("sha256:", "md5:")).unwrap();
        assert!(Inventory::read(&p).is_err());
    }

    #[test]
    fn bundles_and_lists_are_told_apart() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(detect(t.path()), Source::Bundle(t.path().into()));
        let list = t.path().join("images.txt");
        std::fs::write(&list, "alpine:3.19\n").unwrap();
        assert_eq!(detect(&list), Source::List(list.clone()));
        let gz = t.path().join("b.tar.gz");
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
        assert_eq!(detect(&gz), Source::Bundle(gz.clone()));
        let mut h = tar::Header::new_ustar();
        h.set_path("oci-layout").unwrap();
        h.set_size(0);
        h.set_cksum();
        let tarfile = t.path().join("b.tar");
        std::fs::write(&tarfile, h.as_bytes()).unwrap();
        assert_eq!(detect(&tarfile), Source::Bundle(tarfile.clone()));
    }
}
