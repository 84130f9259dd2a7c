//! Reading back what was pushed (DESIGN §4.3): every manifest and tag is HEADed after the
//! push and its digest compared, so a registry (or a proxy in front of one) that answers
//! "created" but stores nothing, or stores something else, fails the import by name instead
//! of letting it report success.

use super::manifests::plan;
use super::push::target;
use super::{registry_err, ImportError, Prepared, Unserved};
use crate::digest::Digest;
use crate::manifest::OCI_INDEX;
use crate::reference::Reference;
use crate::registry::Client;

/// Read-back failures listed in one error; the rest are counted.
const LISTED: usize = 20;

/// One manifest PUT to read back.
pub(super) struct Pushed {
    pub repo: Reference,
    /// The tag, or the digest.
    pub reference: String,
    pub digest: Digest,
    pub media_type: String,
    /// The image it belongs to, for messages.
    pub image: String,
}

impl Pushed {
    fn name(&self) -> String {
        if self.reference.contains(':') {
            format!("{}@{}", self.repo.name(), self.reference)
        } else {
            format!("{}:{}", self.repo.name(), self.reference)
        }
    }

    fn is_tag(&self) -> bool {
        !self.reference.contains(':')
    }
}

/// Every PUT of the import (each planned manifest and tag, and the fallback tags written).
pub(super) fn pushed(
    prepared: &[Prepared],
    fallback: Vec<(Reference, String, Digest)>,
) -> Vec<Pushed> {
    let mut out: Vec<Pushed> = plan(prepared)
        .into_iter()
        .map(|p| Pushed {
            image: prepared[p.image].graph.recorded.clone(),
            repo: p.repo,
            reference: p.reference,
            digest: p.digest,
            media_type: p.media_type,
        })
        .collect();
    out.extend(fallback.into_iter().map(|(repo, tag, digest)| Pushed {
        image: format!("referrers fallback tag {}:{tag}", repo.name()),
        repo,
        reference: tag,
        digest,
        media_type: OCI_INDEX.to_string(),
    }));
    // Tags first: they are what users pull, and what a failure should name.
    out.sort_by_key(|p| !p.is_tag());
    out
}

/// HEADs every pushed manifest and tag (`jobs` at a time); the count read back, else one
/// error listing what the registry does not serve as pushed.
pub(super) fn read_back(
    client: &Client,
    items: &[Pushed],
    jobs: usize,
) -> Result<usize, ImportError> {
    let answers = crate::pool::map(items, jobs, |p| {
        client
            .served_digest(&target(&p.repo), &p.reference, &p.media_type, &p.digest)
            .map_err(|e| registry_err(&p.image, e))
    });
    let mut missing = Vec::new();
    for (p, a) in items.iter().zip(answers) {
        match a? {
            Some(d) if d == p.digest => {}
            served => missing.push(Unserved {
                name: p.name(),
                pushed: p.digest.clone(),
                served,
            }),
        }
    }
    let Some(first) = items.first().filter(|_| !missing.is_empty()) else {
        return Ok(items.len());
    };
    let more = missing.len().saturating_sub(LISTED);
    missing.truncate(LISTED);
    Err(ImportError::ReadBack {
        registry: first.repo.registry.clone(),
        missing,
        more,
    })
}
