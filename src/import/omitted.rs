//! Differential bundles on import (DESIGN §12): the layers a bundle left out must already be in
//! every target repository whose images need them, because blob presence is per repository.
//! Checked with HEAD before anything is pushed; a layer found only in a sibling repository of
//! the same registry (another target of this import, or one the record names) is mounted from
//! there. Every layer still missing is named in one error, and nothing is pushed.

use std::collections::BTreeMap;

use super::push::{target, BlobStats};
use super::MissingLayer;
use super::{registry_err, ImportError, Prepared};
use crate::digest::Digest;
use crate::layout::omitted::{self, OmittedRecord};
use crate::layout::reader::Bundle;
use crate::mapping::Mapper;
use crate::reference::Reference;
use crate::registry::{Client, RegistryError, Target};

/// One omitted layer and where it is needed.
struct Need {
    digest: Digest,
    size: u64,
    /// Target repositories whose images use it, with one such image (for messages).
    repos: Vec<(Reference, String)>,
    /// Other repositories of the same registry it may be mounted from, likeliest first.
    candidates: Vec<Reference>,
}

/// What one layer needs: mounts (into, from), repositories that have it, and what is missing.
#[derive(Default)]
struct Outcome {
    mounts: Vec<(Digest, Reference, Reference)>,
    existing: usize,
    missing: Vec<MissingLayer>,
}

/// Mounts to make once every check passed.
#[derive(Default)]
pub(super) struct Mounts {
    list: Vec<(Digest, Reference, Reference)>,
    existing: usize,
}

/// Where the record says a blob is, as target repositories: its source repositories mapped
/// like the bundle's own names, then the repositories an inventory saw.
fn recorded_places(record: &OmittedRecord, d: &Digest, mapper: &Mapper) -> Vec<Reference> {
    let Some(b) = record.get(d) else {
        return Vec::new();
    };
    let mapped = b
        .repositories
        .iter()
        .chain(&b.earlier_repositories)
        .filter_map(|name| Reference::parse(name).ok())
        .filter_map(|r| mapper.target_repository(&r).ok());
    mapped
        .chain(b.target_repositories.iter().cloned())
        .filter_map(|t| Reference::parse(&t).ok())
        .collect()
}

fn needs(prepared: &[Prepared], record: &OmittedRecord, mapper: &Mapper) -> Vec<Need> {
    let mut by: BTreeMap<Digest, Need> = BTreeMap::new();
    for p in prepared {
        for (d, size) in &p.graph.omitted {
            let n = by.entry(d.clone()).or_insert_with(|| Need {
                digest: d.clone(),
                size: *size,
                repos: Vec::new(),
                candidates: Vec::new(),
            });
            if !n.repos.iter().any(|(r, _)| *r == p.target) {
                n.repos.push((p.target.clone(), p.graph.recorded.clone()));
            }
        }
    }
    let siblings: Vec<Reference> = prepared.iter().map(|p| p.target.clone()).collect();
    for n in by.values_mut() {
        let places = recorded_places(record, &n.digest, mapper);
        for c in places.into_iter().chain(siblings.iter().cloned()) {
            let same_registry = n
                .repos
                .first()
                .is_some_and(|(r, _)| r.registry == c.registry);
            let known = n.repos.iter().any(|(r, _)| r.name() == c.name())
                || n.candidates.iter().any(|x| x.name() == c.name());
            if same_registry && !known {
                n.candidates.push(c);
            }
        }
    }
    by.into_values().collect()
}

/// Whether `r` has the layer with its size (DESIGN §4.3: a HEAD with another size is absent);
/// a read, so asked without push scope (a sibling may be readable only).
fn has(client: &Client, r: &Reference, n: &Need) -> Result<bool, RegistryError> {
    let t = Target {
        push: false,
        ..target(r)
    };
    client.blob_exists(&t, &n.digest, n.size)
}

fn check_one(client: &Client, n: &Need) -> Result<Outcome, ImportError> {
    let mut have = None;
    let mut lack = Vec::new();
    let mut out = Outcome::default();
    for (repo, image) in &n.repos {
        if has(client, repo, n).map_err(|e| registry_err(image, e))? {
            have.get_or_insert_with(|| repo.clone());
            out.existing += 1;
        } else {
            lack.push((repo, image));
        }
    }
    if lack.is_empty() {
        return Ok(out);
    }
    // A repository the user may not read is simply not a place to mount from.
    let from = have.or_else(|| {
        n.candidates
            .iter()
            .find(|c| has(client, c, n).unwrap_or(false))
            .cloned()
    });
    for (repo, image) in lack {
        match &from {
            Some(f) => out.mounts.push((n.digest.clone(), repo.clone(), f.clone())),
            None => out.missing.push(MissingLayer {
                image: image.clone(),
                digest: n.digest.clone(),
                size: n.size,
                repository: repo.name(),
            }),
        }
    }
    Ok(out)
}

/// Checks, before anything is pushed, that every omitted layer is in (or can be mounted into)
/// each target repository that needs it.
pub(super) fn check(
    client: &Client,
    bundle: &Bundle,
    mapper: &Mapper,
    prepared: &[Prepared],
    jobs: usize,
) -> Result<Mounts, ImportError> {
    let Some((_, record)) = omitted::read(bundle)? else {
        return Ok(Mounts::default());
    };
    let needs = needs(prepared, &record, mapper);
    let outcomes = crate::pool::try_map(&needs, jobs, |n| check_one(client, n))?;
    let mut missing: Vec<MissingLayer> = outcomes.iter().flat_map(|o| o.missing.clone()).collect();
    missing.sort_by_key(ToString::to_string);
    if !missing.is_empty() {
        return Err(ImportError::OmittedMissing(missing));
    }
    Ok(Mounts {
        existing: outcomes.iter().map(|o| o.existing).sum(),
        list: outcomes.into_iter().flat_map(|o| o.mounts).collect(),
    })
}

/// Mounts the omitted layers found only in sibling repositories.
pub(super) fn mount(client: &Client, m: &Mounts, jobs: usize) -> Result<BlobStats, ImportError> {
    crate::pool::try_map(&m.list, jobs, |(d, into, from)| {
        let image = format!("omitted layer {d} → {}", into.name());
        match client.mount_blob(&target(into), d, &from.repository) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ImportError::NotMounted {
                digest: d.clone(),
                into: into.name(),
                from: from.name(),
            }),
            Err(e) => Err(registry_err(&image, e)),
        }
    })?;
    Ok(BlobStats {
        mounted: m.list.len(),
        existing: m.existing,
        ..BlobStats::default()
    })
}

/// Distinct layers the bundle left out that its images use.
pub(super) fn count(prepared: &[Prepared]) -> usize {
    let all = prepared.iter().flat_map(|p| p.graph.omitted.keys());
    all.collect::<std::collections::BTreeSet<_>>().len()
}

/// Adds the omitted layers' counts to the pushed blobs' counts.
pub(super) fn add(a: BlobStats, b: BlobStats) -> BlobStats {
    BlobStats {
        uploaded: a.uploaded + b.uploaded,
        mounted: a.mounted + b.mounted,
        existing: a.existing + b.existing,
        uploaded_bytes: a.uploaded_bytes + b.uploaded_bytes,
    }
}
