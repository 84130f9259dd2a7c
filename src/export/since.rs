//! Differential export (DESIGN §12): `--since OLD-BUNDLE` and `--since-inventory FILE` say what
//! the other side already has, and those layer blobs are left out of the new bundle and listed
//! in its omitted record (`io.ferry.omitted`). Manifests, indexes and configs always travel:
//! they are small, and import and verify need them to check the structure. Blobs an earlier
//! bundle itself left out count as held too, so bundles can be chained.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::plan::{Plan, Role};
use super::ExportError;
use crate::digest::Digest;
use crate::inventory::Inventory;
use crate::layout::graph::{read_entries, walk, Role as GraphRole};
use crate::layout::omitted::{self, OmittedBlob, OmittedRecord};
use crate::layout::reader::Bundle;
use crate::reference::{is_registry_host, Reference};

/// What the other side is known to have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// A bundle already carried across (any form ferry reads).
    Bundle(PathBuf),
    /// `ferry inventory` output from the other side.
    Inventory(PathBuf),
}

#[derive(Debug, Default)]
struct HeldBlob {
    size: u64,
    /// Source repositories of earlier bundles that carried it.
    earlier: BTreeSet<String>,
    /// Target repositories an inventory saw holding it.
    targets: BTreeSet<String>,
}

/// Layer blobs the other side has, by digest.
#[derive(Debug, Default)]
pub struct Held {
    blobs: BTreeMap<Digest, HeldBlob>,
    /// Digests seen with two different sizes: never left out.
    conflicts: BTreeSet<Digest>,
}

/// Why a `--since` source could not be read (a layout, record, index or inventory error).
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A bundle entry's source repository, when its name is a full reference (DESIGN §2).
fn repository_of(name: &str) -> Option<String> {
    let first = name.split('/').next()?;
    if !name.contains('/') || !is_registry_host(first) {
        return None;
    }
    Reference::parse(name).ok().map(|r| r.name())
}

impl Held {
    /// Reads every `--since` source.
    pub fn load(sources: &[Since]) -> Result<Held, ExportError> {
        let mut held = Held::default();
        for s in sources {
            let (flag, path, r) = match s {
                Since::Bundle(p) => ("--since", p, held.add_bundle(p)),
                Since::Inventory(p) => ("--since-inventory", p, held.add_inventory(p)),
            };
            r.map_err(|source| ExportError::Since {
                flag,
                path: path.clone(),
                source,
            })?;
        }
        Ok(held)
    }

    fn add(&mut self, d: &Digest, size: u64) -> Option<&mut HeldBlob> {
        if self.conflicts.contains(d) {
            return None;
        }
        if self.blobs.get(d).is_some_and(|b| b.size != size) {
            self.blobs.remove(d);
            self.conflicts.insert(d.clone());
            return None;
        }
        Some(self.blobs.entry(d.clone()).or_insert_with(|| HeldBlob {
            size,
            ..HeldBlob::default()
        }))
    }

    /// Layers of every image in an earlier bundle, and what it left out itself.
    fn add_bundle(&mut self, path: &Path) -> Result<(), Cause> {
        let bundle = Bundle::open(path)?;
        if let Some((_, record)) = omitted::read(&bundle)? {
            for b in record.blobs {
                if let Some(h) = self.add(&b.digest, b.size) {
                    h.earlier.extend(b.repositories);
                    h.earlier.extend(b.earlier_repositories);
                    h.targets.extend(b.target_repositories);
                }
            }
        }
        let entries = read_entries(&bundle)?;
        for e in &entries.entries {
            let g = walk(&bundle, e);
            let repo = repository_of(&e.name);
            let layers = g
                .blobs
                .iter()
                .filter(|(_, (_, role))| *role == GraphRole::Layer)
                .map(|(d, (size, _))| (d, *size));
            for (d, size) in layers.chain(g.omitted.iter().map(|(d, s)| (d, *s))) {
                if let Some(h) = self.add(d, size) {
                    h.earlier.extend(repo.clone());
                }
            }
        }
        Ok(())
    }

    /// Blobs an inventory of the target registry found.
    fn add_inventory(&mut self, path: &Path) -> Result<(), Cause> {
        let inv = Inventory::read(path)?;
        for b in inv.blobs {
            if let Some(h) = self.add(&b.digest, b.size) {
                h.targets.extend(b.repositories);
            }
        }
        Ok(())
    }

    /// Whether the other side has this blob with this size.
    pub fn has(&self, d: &Digest, size: u64) -> bool {
        self.blobs.get(d).is_some_and(|b| b.size == size)
    }
}

/// Takes the layers the other side has out of the plan; the record of them, when any.
pub fn omit(plan: &mut Plan, held: &Held) -> Option<OmittedRecord> {
    let out: Vec<Digest> = plan
        .blobs
        .iter()
        .filter(|(d, b)| b.role == Role::Layer && held.has(d, b.size))
        .map(|(d, _)| d.clone())
        .collect();
    if out.is_empty() {
        return None;
    }
    let blobs = out.iter().filter_map(|d| {
        let b = plan.blobs.remove(d)?;
        let h = held.blobs.get(d)?;
        Some(OmittedBlob {
            digest: d.clone(),
            size: b.size,
            repositories: b.repositories,
            earlier_repositories: h.earlier.iter().cloned().collect(),
            target_repositories: h.targets.iter().cloned().collect(),
        })
    });
    Some(OmittedRecord::new(blobs))
}

#[cfg(test)]
mod tests {
    use super::super::plan::BlobSource;
    use super::*;

    fn source(seed: &[u8], size: u64, role: Role, repos: &[&str]) -> BlobSource {
        BlobSource {
            digest: Digest::sha256_of(seed),
            size,
            role,
            from: Reference::parse("r.io/a:1").unwrap(),
            urls: Vec::new(),
            image: "r.io/a:1".into(),
            repositories: repos.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_held_layers_of_the_same_size_are_left_out() {
        let mut plan = Plan::default();
        for b in [
            source(b"base", 10, Role::Layer, &["r.io/b", "r.io/a"]),
            source(b"new", 20, Role::Layer, &["r.io/a"]),
            source(b"cfg", 30, Role::Config, &["r.io/a"]),
            source(b"resized", 40, Role::Layer, &["r.io/a"]),
        ] {
            plan.blobs.insert(b.digest.clone(), b);
        }
        let mut held = Held::default();
        held.add(&Digest::sha256_of(b"base"), 10)
            .unwrap()
            .earlier
            .insert("r.io/old".into());
        held.add(&Digest::sha256_of(b"cfg"), 30);
        held.add(&Digest::sha256_of(b"resized"), 41);
        held.add(&Digest::sha256_of(b"other"), 5);
        held.add(&Digest::sha256_of(b"other"), 6);
        assert!(!held.has(&Digest::sha256_of(b"other"), 5));
        let record = omit(&mut plan, &held).unwrap();
        assert_eq!(record.blobs.len(), 1);
        let b = &record.blobs[0];
        assert_eq!(b.digest, Digest::sha256_of(b"base"));
        assert_eq!(
            (b.size, b.repositories.clone()),
            (10, vec!["r.io/a".to_string(), "r.io/b".into()])
        );
        assert_eq!(b.earlier_repositories, ["r.io/old"]);
        assert_eq!(plan.blobs.len(), 3);
        assert!(omit(&mut plan, &held).is_none());
    }

    #[test]
    fn only_full_references_name_a_repository() {
        assert_eq!(
            repository_of("r.io:5000/x/y:1").as_deref(),
            Some("r.io:5000/x/y")
        );
        assert_eq!(repository_of("3.19"), None);
        assert_eq!(repository_of("library/alpine:3"), None);
    }
}
