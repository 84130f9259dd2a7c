//! The two ways `ferry inventory` looks at a target registry: HEAD every blob of a bundle's
//! images in their mapped repositories, or GET and walk the relocated manifests of a list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{registry_err, Found, InventoryError, InventoryImage, InventoryOptions};
use crate::digest::Digest;
use crate::image_list::read_list;
use crate::import::read_plan;
use crate::layout::reader::Bundle;
use crate::layout::MAX_DEPTH;
use crate::manifest::{Checked, Parsed, RawManifest};
use crate::mapping::Mapper;
use crate::reference::Reference;
use crate::registry::{Client, RegistryError, Repository};
use crate::walk::{Failure, Node, Visit};

fn target_of(relocated: &str) -> Result<Reference, InventoryError> {
    Reference::parse(relocated).map_err(|source| InventoryError::Target {
        relocated: relocated.into(),
        source,
    })
}

/// HEADs every config and layer of every image in its target repository.
pub(super) fn from_bundle(
    client: &Client,
    path: &Path,
    mapper: &Mapper,
    opts: &InventoryOptions,
    found: &mut Found,
) -> Result<Vec<InventoryImage>, InventoryError> {
    let bundle = Bundle::open(path)?;
    let graphs = read_plan(&bundle, opts.name.as_deref())?;
    let targets = mapper.check_all(graphs.iter().map(|g| &g.reference))?;
    // (digest, size, target repository) → one image that uses it, for messages.
    let mut checks: BTreeMap<(Digest, u64, String), String> = BTreeMap::new();
    for g in &graphs {
        let repo = &targets[&g.reference.name()];
        for (d, size) in g.blobs.iter().chain(&g.omitted) {
            checks
                .entry((d.clone(), *size, repo.clone()))
                .or_insert_with(|| g.recorded.clone());
        }
    }
    let checks: Vec<_> = checks.into_iter().collect();
    let present = crate::pool::try_map(&checks, opts.jobs, |((d, _, repo), image)| {
        client
            .head_blob(&target_of(repo)?, d)
            .map_err(|e| registry_err(image, e))
    })?;
    let mut have = BTreeSet::new();
    for (((d, size, repo), _), yes) in checks.iter().zip(present) {
        if yes {
            let f = found.entry(d.clone()).or_insert((*size, BTreeSet::new()));
            f.1.insert(repo.clone());
            have.insert((d.clone(), repo.clone()));
        }
    }
    let mut images = Vec::new();
    for g in graphs.iter().filter(|g| g.subject.is_none()) {
        let repo = &targets[&g.reference.name()];
        images.push(InventoryImage {
            reference: g.recorded.clone(),
            target: mapper.relocate(&g.reference)?,
            present: g
                .blobs
                .keys()
                .chain(g.omitted.keys())
                .all(|d| have.contains(&(d.clone(), repo.clone()))),
        });
    }
    Ok(images)
}

/// Reads each relocated manifest and walks it, without touching a blob.
pub(super) fn from_list(
    client: &Client,
    path: &Path,
    mapper: &Mapper,
    jobs: usize,
    found: &mut Found,
) -> Result<Vec<InventoryImage>, InventoryError> {
    let mut refs: Vec<(String, Reference)> = Vec::new();
    for s in read_list(path)? {
        let r = Reference::parse(&s)
            .map_err(|source| InventoryError::ListEntry {
                path: path.to_path_buf(),
                source,
            })?
            .with_default_tag();
        if !refs.iter().any(|(_, x)| *x == r) {
            refs.push((r.to_string(), r));
        }
    }
    mapper.check_all(refs.iter().map(|(_, r)| r))?;
    let walked = crate::pool::try_map(&refs, jobs, |(name, r)| {
        let relocated = mapper.relocate(r)?;
        let t = target_of(&relocated)?;
        let mut blobs = Vec::new();
        let present = match client.get_manifest(&t) {
            Ok(root) => {
                walk_remote(client, &t, name, root, &mut blobs)?;
                true
            }
            Err(RegistryError::ManifestNotFound { .. }) => false,
            Err(e) => return Err(registry_err(name, e)),
        };
        let image = InventoryImage {
            reference: name.clone(),
            target: relocated,
            present,
        };
        Ok((image, t.name(), blobs))
    })?;
    let mut images = Vec::new();
    for (image, repo, blobs) in walked {
        for (d, size) in blobs {
            let f = found.entry(d).or_insert((size, BTreeSet::new()));
            f.1.insert(repo.clone());
        }
        images.push(image);
    }
    Ok(images)
}

/// Index → manifests → config and layers, by the one graph walk. A child the registry does
/// not have is skipped: a sparse index was imported with only some platforms.
fn walk_remote(
    client: &Client,
    t: &Reference,
    image: &str,
    root: RawManifest,
    out: &mut Vec<(Digest, u64)>,
) -> Result<(), InventoryError> {
    let source = Repository {
        client,
        reference: t,
    };
    let descriptor = Checked::of(&root);
    crate::walk::walk(
        &source,
        &descriptor,
        root,
        &mut Blobs {
            image,
            repo: t,
            out,
        },
    )
}

/// Collects every config and layer the walk reaches.
struct Blobs<'a> {
    image: &'a str,
    repo: &'a Reference,
    out: &'a mut Vec<(Digest, u64)>,
}

impl Visit<Repository<'_>> for Blobs<'_> {
    type Error = InventoryError;

    fn enter(&mut self, _node: &Node, parsed: &Parsed) -> Result<(), InventoryError> {
        if let Parsed::Manifest { config, layers } = parsed {
            let blobs = config.iter().chain(layers);
            self.out.extend(blobs.map(|c| (c.digest.clone(), c.size)));
        }
        Ok(())
    }

    fn absent(&mut self, _: &Node, _: &Checked, _: &[Checked]) -> Result<(), InventoryError> {
        Ok(())
    }

    fn failed(
        &mut self,
        _parent: Option<&Node>,
        c: &Checked,
        why: Failure<RegistryError>,
    ) -> Result<(), InventoryError> {
        Err(match why {
            Failure::Source(e) => registry_err(self.image, e),
            Failure::Parse(source) => InventoryError::Manifest {
                image: self.image.into(),
                source,
            },
            Failure::TooDeep => InventoryError::TooDeep {
                image: self.image.into(),
                digest: c.digest.clone(),
                repository: self.repo.name(),
                limit: MAX_DEPTH,
            },
        })
    }
}
