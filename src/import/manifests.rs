//! Pushing manifests in waves (DESIGN §4.3, §6). Registries validate an index by reading its
//! children's links, and distribution's filesystem driver rewrites a link non-atomically, so
//! overlapping PUTs of one manifest, or of a manifest and an index that lists it, fail at
//! random. Every PUT is therefore planned once per (target repository, reference) and run in
//! waves: attached artifacts after their subjects, and within each, manifests by digest, then
//! indexes by digest (inner before outer), then tags in the same height order. Parallelism
//! stays inside a wave; a wave finishes before the next starts.

use std::collections::{BTreeMap, BTreeSet};

use super::push::target;
use super::{referrers, registry_err, ImportError, Prepared, SparseRefusal};
use crate::digest::Digest;
use crate::manifest::{Parsed, RawManifest};
use crate::reference::Reference;
use crate::registry::{Client, RegistryError};

/// Attached artifacts go after what they are attached to (images first, then artifacts of
/// artifacts), so a subject is always in the target before its referrers.
pub(super) fn order_attached(prepared: &mut Vec<Prepared>) {
    let subject_of: BTreeMap<Digest, Digest> = prepared
        .iter()
        .filter_map(|p| {
            p.graph
                .subject
                .clone()
                .map(|s| (p.graph.root.digest.clone(), s))
        })
        .collect();
    let depth = |p: &Prepared| {
        let mut d = 0;
        let mut cur = p.graph.subject.clone();
        while let Some(s) = cur.filter(|_| d < crate::layout::MAX_DEPTH) {
            d += 1;
            cur = subject_of.get(&s).cloned();
        }
        d
    };
    let mut keyed: Vec<(usize, Prepared)> = prepared.drain(..).map(|p| (depth(&p), p)).collect();
    keyed.sort_by_key(|(d, _)| *d);
    prepared.extend(keyed.into_iter().map(|(d, mut p)| {
        p.depth = d;
        p
    }));
}

/// One planned PUT: a manifest by digest or by tag into one target repository.
#[derive(Debug, Clone)]
pub(super) struct Put {
    /// (attachment depth, by-digest 0 / by-tag 1, height): the wave it belongs to.
    pub wave: (usize, u8, usize),
    pub repo: Reference,
    /// The digest, or the tag.
    pub reference: String,
    pub digest: Digest,
    pub media_type: String,
    /// Index into the prepared images, for messages and the sparse policy.
    pub image: usize,
}

/// Height of each manifest: 0 for an image manifest, 1 + the highest child for an index.
/// `manifests` come children first, so every child present is seen before its parent.
fn heights(manifests: &[(Digest, String, Vec<u8>)], out: &mut BTreeMap<Digest, usize>) {
    for (d, mt, bytes) in manifests {
        let raw = RawManifest::new(bytes.clone(), d.clone(), mt);
        let h = match raw.parse() {
            Ok(Parsed::Index { manifests }) => manifests
                .iter()
                .filter_map(|c| out.get(&c.digest))
                .max()
                .map_or(1, |h| h + 1),
            _ => 0,
        };
        out.entry(d.clone()).or_insert(h);
    }
}

/// Every PUT the prepared images need, each (repository, reference) once, sorted into waves.
pub(super) fn plan(prepared: &[Prepared]) -> Vec<Put> {
    let mut height = BTreeMap::new();
    for p in prepared {
        heights(&p.manifests, &mut height);
    }
    let mut seen = BTreeSet::new();
    let mut puts = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let mut add = |by_tag: u8, reference: String, d: &Digest, mt: &str| {
            if seen.insert((p.target.name(), reference.clone())) {
                puts.push(Put {
                    wave: (p.depth, by_tag, height.get(d).copied().unwrap_or(0)),
                    repo: p.target.clone(),
                    reference,
                    digest: d.clone(),
                    media_type: mt.to_string(),
                    image: i,
                });
            }
        };
        for (d, mt, _) in &p.manifests {
            add(0, d.to_string(), d, mt);
        }
        if let Some(tag) = &p.graph.reference.tag {
            if let Some((d, mt, _)) = p.manifests.iter().find(|(d, _, _)| *d == p.root) {
                add(1, tag.clone(), d, mt);
            }
        }
    }
    puts.sort_by_key(|p| p.wave);
    puts
}

/// The manifest bytes of a planned PUT.
fn bytes_of<'a>(prepared: &'a [Prepared], put: &Put) -> Option<&'a [u8]> {
    prepared[put.image]
        .manifests
        .iter()
        .find(|(d, _, _)| *d == put.digest)
        .map(|(_, _, b)| b.as_slice())
}

/// What a wave's PUT ended in.
enum Outcome {
    Done {
        oci_subject: bool,
    },
    /// A sparse index the registry would not take (`--sparse keep`): collected, not fatal.
    Refused(SparseRefusal),
    Failed(ImportError),
}

/// Pushes every manifest and tag in waves, `jobs` PUTs at a time. Sparse indexes the registry
/// refuses are all collected (their tags and the indexes above them are not pushed) and
/// reported together at the end; any other failure stops after its wave.
pub(super) fn push_all_manifests(
    client: &Client,
    prepared: &[Prepared],
    jobs: usize,
) -> Result<referrers::Pending, ImportError> {
    let puts = plan(prepared);
    let mut refused: Vec<SparseRefusal> = Vec::new();
    let mut refused_digests: BTreeSet<(String, Digest)> = BTreeSet::new();
    let mut indexed: BTreeSet<(String, Digest)> = BTreeSet::new();
    let mut start = 0;
    while start < puts.len() {
        let wave = puts[start].wave;
        let end = puts[start..]
            .iter()
            .position(|p| p.wave != wave)
            .map_or(puts.len(), |i| start + i);
        let todo: Vec<&Put> = puts[start..end]
            .iter()
            .filter(|p| !blocked(prepared, p, &refused_digests))
            .collect();
        let outcomes = crate::pool::map(&todo, jobs, |p| push_one(client, prepared, p));
        let mut failed = None;
        for (p, o) in todo.iter().zip(outcomes) {
            match o {
                Outcome::Done { oci_subject } => {
                    if oci_subject {
                        indexed.insert((p.repo.name(), p.digest.clone()));
                    }
                }
                Outcome::Refused(r) => {
                    refused_digests.insert((p.repo.name(), p.digest.clone()));
                    refused.push(r);
                }
                Outcome::Failed(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        start = end;
    }
    if !refused.is_empty() {
        return Err(ImportError::Sparse(refused));
    }
    Ok(pending_fallback(prepared, &indexed))
}

/// A PUT that would need a refused sparse index: its tag, or an index that lists it.
fn blocked(prepared: &[Prepared], put: &Put, refused: &BTreeSet<(String, Digest)>) -> bool {
    if refused.is_empty() {
        return false;
    }
    let repo = put.repo.name();
    if refused.contains(&(repo.clone(), put.digest.clone())) {
        return true;
    }
    let Some(bytes) = bytes_of(prepared, put) else {
        return false;
    };
    let raw = RawManifest::new(bytes.to_vec(), put.digest.clone(), &put.media_type);
    match raw.parse() {
        Ok(Parsed::Index { manifests }) => manifests
            .iter()
            .any(|c| refused.contains(&(repo.clone(), c.digest.clone()))),
        _ => false,
    }
}

fn push_one(client: &Client, prepared: &[Prepared], put: &Put) -> Outcome {
    let p = &prepared[put.image];
    let image = &p.graph.recorded;
    let Some(bytes) = bytes_of(prepared, put) else {
        return Outcome::Failed(ImportError::NotPrepared {
            image: image.clone(),
            digest: put.digest.clone(),
        });
    };
    let t = target(&put.repo);
    match client.put_manifest(&t, &put.reference, &put.media_type, bytes) {
        Ok(r) => Outcome::Done {
            oci_subject: r.oci_subject,
        },
        Err(RegistryError::ManifestRejected { answer, .. })
            if put.digest == p.root && !p.graph.absent.is_empty() =>
        {
            Outcome::Refused(SparseRefusal {
                image: image.clone(),
                target: p.target.name(),
                digest: put.digest.clone(),
                missing: p.graph.absent.values().cloned().collect(),
                deliberate: p.graph.sparse.is_some(),
                answer,
            })
        }
        Err(e) => Outcome::Failed(registry_err(image, e)),
    }
}

/// Referrers without a tag whose registry did not index them itself (no `OCI-Subject`
/// answer): their subject's fallback tag is kept by ferry.
fn pending_fallback(
    prepared: &[Prepared],
    indexed: &BTreeSet<(String, Digest)>,
) -> referrers::Pending {
    let mut pending = referrers::Pending::new();
    for p in prepared {
        if p.graph.subject.is_none() || p.graph.reference.tag.is_some() {
            continue;
        }
        if indexed.contains(&(p.target.name(), p.root.clone())) {
            continue;
        }
        if let Some(s) = p.graph.root.subject() {
            let list = pending.entry((p.target.clone(), s)).or_default();
            if !list.iter().any(|m| m.digest == p.graph.root.digest) {
                list.push(p.graph.root.clone());
            }
        }
    }
    pending
}
