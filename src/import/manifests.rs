//! Pushing manifests (DESIGN §4.3, §6): children first within an image, images in parallel,
//! attached artifacts in waves after their subjects.

use std::collections::BTreeMap;

use super::push::target;
use super::{referrers, registry_err, ImportError, Prepared};
use crate::digest::Digest;
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
        while let Some(s) = cur.filter(|_| d < 16) {
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

/// Pushes the manifests of all images, `jobs` images at a time; attached artifacts wait for
/// the wave before them (their subjects).
pub(super) fn push_all_manifests(
    client: &Client,
    prepared: &[Prepared],
    jobs: usize,
) -> Result<referrers::Pending, ImportError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let pending = Mutex::new(referrers::Pending::new());
    let first_error: Mutex<Option<ImportError>> = Mutex::new(None);
    let mut start = 0;
    while start < prepared.len() {
        let depth = prepared[start].depth;
        let end = prepared[start..]
            .iter()
            .position(|p| p.depth != depth)
            .map_or(prepared.len(), |i| start + i);
        let wave = &prepared[start..end];
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1).min(wave.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = wave.get(i) else { break };
                    if first_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .is_some()
                    {
                        break;
                    }
                    match push_manifests(client, p) {
                        Ok(Some((subject, m))) => pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .entry((p.target.clone(), subject))
                            .or_default()
                            .push(m),
                        Ok(None) => {}
                        Err(e) => {
                            first_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(e);
        }
        start = end;
    }
    Ok(pending.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// PUTs an image's manifests children first, then its tag. Returns (subject, manifest) when it
/// is a referrer the registry did not index itself, for the fallback tag.
fn push_manifests(
    client: &Client,
    p: &Prepared,
) -> Result<Option<(Digest, crate::manifest::RawManifest)>, ImportError> {
    let t = target(&p.target);
    let image = &p.graph.recorded;
    let mut indexed = false;
    for (d, media_type, bytes) in &p.manifests {
        match client.put_manifest(&t, &d.to_string(), media_type, bytes) {
            Ok(put) => indexed |= *d == p.root && put.oci_subject,
            Err(RegistryError::ManifestRejected { detail, .. })
                if *d == p.root && !p.graph.absent.is_empty() =>
            {
                let missing: Vec<&str> = p.graph.absent.values().map(String::as_str).collect();
                return Err(ImportError::Sparse {
                    image: image.clone(),
                    target: p.target.name(),
                    digest: d.to_string(),
                    missing: missing.join(", "),
                    answer: detail,
                });
            }
            Err(e) => return Err(registry_err(image, e)),
        }
    }
    if let Some(tag) = &p.graph.reference.tag {
        let (_, media_type, bytes) = p
            .manifests
            .iter()
            .find(|(d, _, _)| *d == p.root)
            .ok_or_else(|| ImportError::Bundle(format!("{image}: root manifest not prepared")))?;
        client
            .put_manifest(&t, tag, media_type, bytes)
            .map_err(|e| registry_err(image, e))?;
    }
    let needs_fallback = p.graph.subject.is_some() && p.graph.reference.tag.is_none() && !indexed;
    Ok(needs_fallback
        .then(|| p.graph.root.subject().map(|s| (s, p.graph.root.clone())))
        .flatten())
}
