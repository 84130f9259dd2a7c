//! Discovering what is attached to each exported manifest (DESIGN §6): cosign tags
//! (`sha256-<hex>.sig|.att|.sbom`), OCI 1.1 referrers from the API or, on registries without
//! it, from the fallback tag `sha256-<hex>`. Referrers of referrers are followed to a bounded
//! depth; a cycle is an error, not a loop.

use super::memo::{subject_key, Found};
use super::plan::{Attachment, Planner};
use super::ExportError;
use crate::digest::Digest;
use crate::manifest::{Descriptor, Parsed};
use crate::reference::Reference;
use crate::registry::referrers::{too_many, Full, UniqueReferrers};
use crate::registry::Overflow;

/// Deepest chain of artifacts attached to artifacts that is followed.
pub(super) const MAX_DEPTH: usize = 4;

/// Which attached artifacts export looks for.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// Cosign signature, attestation and SBOM tags.
    pub cosign: bool,
    /// OCI referrers: None = none, Some(empty) = all, Some(types) = these artifact types.
    pub referrers: Option<Vec<String>>,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            cosign: true,
            referrers: Some(Vec::new()),
        }
    }
}

impl Discovery {
    /// Whether anything attached is looked for at all.
    pub fn any(&self) -> bool {
        self.cosign || self.referrers.is_some()
    }
}

impl Planner<'_> {
    /// Adds every artifact attached to `subject` (in repository `r`), and theirs in turn.
    pub fn discover(
        &mut self,
        r: &Reference,
        subject: &Digest,
        path: &mut Vec<Digest>,
    ) -> Result<(), ExportError> {
        if path.contains(subject) {
            return Err(ExportError::AttachedCycle {
                name: r.name(),
                subject: subject.clone(),
            });
        }
        if path.len() >= MAX_DEPTH {
            return Ok(());
        }
        path.push(subject.clone());
        let found = self.attached_to(r, subject)?;
        for (name, at, artifact_type) in found {
            if self.plan.names.contains(&name) {
                continue;
            }
            // Attached artifacts are exported whole: no platform filter applies to them.
            let wanted = std::mem::take(&mut self.wanted);
            let added = self.add_root(
                &at,
                name,
                Some(Attachment {
                    subject: subject.clone(),
                    artifact_type,
                }),
            );
            self.wanted = wanted;
            let digests = added?;
            if let Some(root) = digests.first() {
                self.discover(r, root, path)?;
            }
        }
        path.pop();
        Ok(())
    }

    /// What is attached to `subject`: the answer gathered beforehand (`probe`), else asked now.
    fn attached_to(&self, r: &Reference, subject: &Digest) -> Result<Vec<Found>, ExportError> {
        match self.memo.attached(&subject_key(r, subject)) {
            Some(got) => got,
            None => self.ask_attached(r, subject),
        }
    }

    /// (entry name, reference to fetch, artifact type) of everything attached to `subject`,
    /// asked of the registry. Without a referrers API the fallback tag is read; with one, never.
    pub(super) fn ask_attached(
        &self,
        r: &Reference,
        subject: &Digest,
    ) -> Result<Vec<Found>, ExportError> {
        let mut out = Vec::new();
        if self.discovery.cosign {
            for suffix in ["sig", "att", "sbom"] {
                let tagged = r.with_tag(&format!("{}.{suffix}", subject.as_tag()));
                if self.has_tag(r, &tagged)? {
                    out.push((tagged.to_string(), tagged, None));
                }
            }
        }
        let Some(types) = &self.discovery.referrers else {
            return Ok(out);
        };
        for d in self.referrers(r, subject, types)? {
            let Ok(digest) = Digest::parse(&d.digest) else {
                continue;
            };
            if digest == *subject {
                return Err(ExportError::OwnReferrer {
                    name: r.name(),
                    subject: subject.clone(),
                });
            }
            let at = r.with_digest(&digest);
            out.push((at.to_string(), at, d.artifact_type.clone()));
        }
        Ok(out)
    }

    /// Referrer descriptors from the API, else from the fallback tag; filtered by type, each
    /// digest once, at most `MAX_REFERRERS` in all.
    fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        types: &[String],
    ) -> Result<Vec<Descriptor>, ExportError> {
        let err = |e| ExportError::registry(&r.to_string(), e);
        let queries: Vec<Option<&str>> = if types.is_empty() {
            vec![None]
        } else {
            types.iter().map(|t| Some(t.as_str())).collect()
        };
        if self.memo.without_referrers_api(&r.registry) {
            return self.fallback(r, subject, types);
        }
        let mut found = UniqueReferrers::new();
        for q in queries {
            let Some(listed) = self.client.referrers(r, subject, q).map_err(err)? else {
                self.memo.put_without_referrers_api(&r.registry);
                return self.fallback(r, subject, types);
            };
            for d in listed {
                found
                    .insert(d)
                    .map_err(|Full| err(too_many(r, subject, Overflow::Types(types.to_vec()))))?;
            }
        }
        Ok(found.into_vec())
    }

    fn fallback(
        &self,
        r: &Reference,
        subject: &Digest,
        types: &[String],
    ) -> Result<Vec<Descriptor>, ExportError> {
        let err = |e| ExportError::registry(&r.to_string(), e);
        let tag = r.with_tag(&subject.as_tag());
        if !self.has_tag(r, &tag)? {
            return Ok(Vec::new());
        }
        let m = self.client.get_manifest(&tag).map_err(err)?;
        let Parsed::Index { manifests } = m.parse().map_err(|e| ExportError::Manifest {
            image: tag.to_string(),
            cause: e,
        })?
        else {
            return Ok(Vec::new());
        };
        let mut found = UniqueReferrers::new();
        for d in manifests.into_iter().map(|c| c.descriptor) {
            if types.is_empty() || d.artifact_type.as_ref().is_some_and(|t| types.contains(t)) {
                found.insert(d).map_err(|Full| {
                    err(too_many(r, subject, Overflow::FallbackTag(tag.to_string())))
                })?;
            }
        }
        Ok(found.into_vec())
    }

    /// Whether `tagged` exists: from the repository's tag list when it was read, else a HEAD.
    fn has_tag(&self, r: &Reference, tagged: &Reference) -> Result<bool, ExportError> {
        if let (Some(listed), Some(tag)) = (self.memo.tags(&r.name()), &tagged.tag) {
            return Ok(listed.contains(tag));
        }
        let found = self.client.head_manifest(tagged);
        Ok(found
            .map_err(|e| ExportError::registry(&r.to_string(), e))?
            .is_some())
    }
}
