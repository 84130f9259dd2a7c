//! Resolving references and walking their graphs into a plan: which manifests (kept as raw
//! bytes) and which blobs (with sizes) go into the bundle, before any layer data moves.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use super::memo::Memo;
use super::ExportError;
use crate::digest::Digest;
use crate::layout::{IndexEntry, ANNOT_PLATFORMS, ANNOT_SUBJECT};
use crate::manifest::{Checked, Parsed};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::registry::Client;

/// What kind of content a blob is; members are ordered by it (small JSON first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Manifest,
    Config,
    Layer,
}

/// A blob still in the registry.
#[derive(Debug, Clone)]
pub struct BlobSource {
    pub digest: Digest,
    pub size: u64,
    pub role: Role,
    /// Repository to fetch it from (first image that needed it).
    pub from: Reference,
    pub urls: Vec<String>,
    /// The image that first needed it, for messages.
    pub image: String,
    /// Every source repository (`registry/path`) whose images use it, in order of first use:
    /// a differential bundle records them for the omitted blobs.
    pub repositories: Vec<String>,
}

/// One exported image, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImagePlan {
    pub reference: String,
    pub digest: Digest,
    pub media_type: String,
    /// Platforms kept (all of them without `--platform`).
    pub platforms: Vec<String>,
    /// Platforms the image has.
    pub available: Vec<String>,
    /// Asked-for platforms this image does not have.
    pub missing: Vec<String>,
}

/// Everything the bundle will hold.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<IndexEntry>,
    /// Content already in memory and verified: manifests, indexes, configs read for checks.
    pub inline: BTreeMap<Digest, (Role, Vec<u8>)>,
    pub blobs: BTreeMap<Digest, BlobSource>,
    pub images: Vec<ImagePlan>,
    /// Names of attached artifacts (signatures, attestations, SBOMs, referrers).
    pub attached: Vec<String>,
    /// The `org.opencontainers.image.ref.name` of every entry, to look names up in O(1).
    pub names: HashSet<String>,
}

impl Plan {
    /// Adds an `index.json` entry named `name`.
    fn push_entry(&mut self, name: &str, entry: IndexEntry) {
        self.names.insert(name.to_string());
        self.entries.push(entry);
    }
}

/// What one image's walk learned about its platforms.
#[derive(Default)]
pub(super) struct PlatformAcc {
    /// Kept platform manifests (not attestations): subjects for signature discovery.
    pub(super) manifests: Vec<Digest>,
    pub(super) available: Vec<Platform>,
    pub(super) kept: Vec<Platform>,
    pub(super) matched: BTreeSet<usize>,
    pub(super) dropped_any: bool,
}

/// Walks graphs for one export.
pub struct Planner<'a> {
    pub client: &'a Client,
    pub wanted: &'a [Platform],
    pub plan: Plan,
    /// What attached artifacts to look for.
    pub discovery: super::Discovery,
    /// Registry questions asked at once (`-j`).
    pub jobs: usize,
    /// Answers the registry gave already (shared by the passes of one export).
    pub memo: Arc<Memo>,
}

/// An artifact attached to a manifest (signature, attestation, SBOM, referrer).
pub struct Attachment {
    pub subject: Digest,
    pub artifact_type: Option<String>,
}

impl<'a> Planner<'a> {
    pub fn new(client: &'a Client, wanted: &'a [Platform]) -> Self {
        Planner {
            client,
            wanted,
            plan: Plan::default(),
            discovery: super::Discovery::default(),
            jobs: 1,
            memo: Arc::default(),
        }
    }

    /// Indexes of the requested platforms that `p` satisfies.
    pub(super) fn wanted_hits(&self, p: &Platform) -> Vec<usize> {
        self.wanted
            .iter()
            .enumerate()
            .filter(|(_, w)| p.matches(w))
            .map(|(i, _)| i)
            .collect()
    }

    pub(super) fn registry_err(
        &self,
        image: &str,
        source: crate::registry::RegistryError,
    ) -> ExportError {
        ExportError::registry(image, source)
    }

    /// Resolves one reference, adds its graph and then what is attached to it.
    pub fn add_image(&mut self, r: &Reference) -> Result<(), ExportError> {
        let subjects = self.add_root(r, r.to_string(), None)?;
        let mut path = Vec::new();
        for d in subjects {
            self.discover(r, &d, &mut path)?;
        }
        Ok(())
    }

    /// Adds one `index.json` entry named `image` and its graph; returns the digests of the
    /// root and of the kept platform manifests.
    pub fn add_root(
        &mut self,
        r: &Reference,
        image: String,
        attached: Option<Attachment>,
    ) -> Result<Vec<Digest>, ExportError> {
        let root = self
            .memo
            .manifest(self.client, r)
            .map_err(|e| self.registry_err(&image, e))?;
        let mut acc = PlatformAcc::default();
        let parsed = root.parse().map_err(|e| ExportError::Manifest {
            image: image.clone(),
            cause: e,
        })?;
        match parsed {
            Parsed::Index { .. } => {
                super::select::walk(self, r, &image, &root, &mut acc)?;
            }
            Parsed::Manifest { config, layers } => {
                if !self.wanted.is_empty() {
                    self.check_single(r, &image, config.as_ref(), &mut acc)?;
                }
                self.add_manifest_blobs(r, &image, config, layers);
            }
        }
        let show = |v: &[Platform]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let missing: Vec<String> = self
            .wanted
            .iter()
            .enumerate()
            .filter(|(i, _)| !acc.matched.contains(i))
            .map(|(_, p)| p.to_string())
            .collect();
        if !self.wanted.is_empty() && acc.matched.is_empty() {
            return Err(ExportError::NoPlatform {
                image,
                wanted: show(self.wanted),
                available: show(&acc.available),
            });
        }
        let mut entry = IndexEntry::named(
            &image,
            &root.media_type,
            root.digest.clone(),
            root.bytes.len() as u64,
        );
        if !self.wanted.is_empty() && acc.dropped_any {
            entry
                .annotations
                .insert(ANNOT_PLATFORMS.into(), show(&acc.kept).join(","));
        }
        let mut subjects = vec![root.digest.clone()];
        subjects.extend(acc.manifests.iter().cloned());
        if let Some(a) = attached {
            entry
                .annotations
                .insert(ANNOT_SUBJECT.into(), a.subject.to_string());
            entry.artifact_type = a.artifact_type.or_else(|| root.artifact_type());
            self.plan.push_entry(&image, entry);
            self.plan.attached.push(image);
            self.plan
                .inline
                .insert(root.digest.clone(), (Role::Manifest, root.bytes));
            return Ok(subjects);
        }
        self.plan.push_entry(&image, entry);
        self.plan.images.push(ImagePlan {
            reference: image,
            digest: root.digest.clone(),
            media_type: root.media_type.clone(),
            platforms: show(&acc.kept),
            available: show(&acc.available),
            missing,
        });
        self.plan
            .inline
            .insert(root.digest.clone(), (Role::Manifest, root.bytes));
        Ok(subjects)
    }

    pub(super) fn add_manifest_blobs(
        &mut self,
        r: &Reference,
        image: &str,
        config: Option<Checked>,
        layers: Vec<Checked>,
    ) {
        let items = config
            .into_iter()
            .map(|c| (Role::Config, c))
            .chain(layers.into_iter().map(|l| (Role::Layer, l)));
        for (role, c) in items {
            if let Some(b) = self.plan.blobs.get_mut(&c.digest) {
                if !b.repositories.contains(&r.name()) {
                    b.repositories.push(r.name());
                }
                continue;
            }
            if self.plan.inline.contains_key(&c.digest) {
                continue;
            }
            self.plan.blobs.insert(
                c.digest.clone(),
                BlobSource {
                    digest: c.digest.clone(),
                    size: c.size,
                    role,
                    from: r.clone(),
                    urls: c.descriptor.urls.clone(),
                    image: image.to_string(),
                    repositories: vec![r.name()],
                },
            );
        }
    }
}
