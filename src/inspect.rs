//! `ferry inspect`: what a bundle holds, per exported image (an `index.json` entry without
//! `io.ferry.subject`): reference, digest, media type, size, platforms (kept and absent for a
//! sparse entry) and the signatures, attestations, SBOMs and other artifacts attached to the
//! image's index or manifests, nested when artifacts are attached to artifacts. Read only;
//! blobs are not hashed (that is `verify`).
//! It uses `layout` only and must never import `registry`: inspect is offline.

mod omitted;
mod text;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::digest::Digest;
use crate::layout::graph::{read_entries, walk, Entry, Graph, GraphError};
use crate::layout::reader::Bundle;
use crate::layout::LayoutError;
use crate::manifest::{Parsed, RawManifest};
use crate::platform::Platform;
pub use omitted::OmittedLayer;

/// Why a bundle cannot be inspected at all.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// A child of an image index.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformInfo {
    /// `linux/amd64`, `attestation of linux/amd64`, or `index`/`manifest` without a platform.
    pub platform: String,
    pub digest: Digest,
    /// `kept` or `absent` for a sparse entry, `present` otherwise; `missing` when it should be
    /// there and is not.
    pub state: String,
}

/// An artifact attached to an image's index or manifests.
#[derive(Debug, Clone, Serialize)]
pub struct Attached {
    /// `signature`, `attestation`, `sbom` or `artifact`.
    pub kind: String,
    /// `cosign tag` or `referrer`.
    pub format: String,
    pub name: String,
    pub digest: Digest,
    pub artifact_type: Option<String>,
    /// The manifest it belongs to.
    pub subject: Digest,
    /// What the subject is: `index`, `manifest`, a platform, or `artifact`.
    pub on: String,
    pub size: u64,
    pub attached: Vec<Attached>,
}

/// One exported image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub reference: String,
    pub digest: Digest,
    pub media_type: String,
    /// Bytes of the blobs it uses that are in the bundle, each counted once.
    pub size: u64,
    pub blobs: usize,
    /// Kept platforms of a sparse entry; None when nothing was left out.
    pub kept_platforms: Option<Vec<String>>,
    pub platforms: Vec<PlatformInfo>,
    pub attached: Vec<Attached>,
    /// Layers a differential bundle left out on purpose (the target has them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<OmittedLayer>,
}

/// What `inspect` found.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub bundle: String,
    /// A differential bundle's record of what it left out (`io.ferry.omitted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<crate::layout::omitted::Summary>,
    pub images: Vec<ImageInfo>,
    /// Attached artifacts whose subject is not in any exported image.
    pub unattached: Vec<Attached>,
    /// Missing or unreadable parts (`ferry verify` checks everything).
    pub problems: Vec<String>,
}

/// What to inspect.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// A `.tar`, split parts, a `.tar.gz` or a layout directory.
    pub bundle: PathBuf,
}

/// Reads a bundle's `index.json` and manifests and describes every image.
pub fn inspect(opts: &InspectOptions) -> Result<Inspection, InspectError> {
    let bundle = Bundle::open(&opts.bundle)?;
    let entries = read_entries(&bundle)?;
    let graphs: Vec<Graph> = entries.entries.iter().map(|e| walk(&bundle, e)).collect();
    let mut problems = entries.problems.clone();
    problems.extend(graphs.iter().flat_map(|g| g.problems.iter().cloned()));
    let items: Vec<(&Entry, &Graph)> = entries.entries.iter().zip(&graphs).collect();
    let mut placed = BTreeSet::new();
    let mut images = Vec::new();
    for (i, (e, g)) in items.iter().enumerate() {
        if e.subject.is_some() {
            continue;
        }
        placed.insert(i);
        let attached = attached_to(&items, g, &mut placed, None);
        images.push(ImageInfo {
            reference: e.name.clone(),
            digest: e.descriptor.digest.clone(),
            media_type: g
                .root()
                .map_or(e.descriptor.descriptor.media_type.clone(), |r| {
                    r.media_type.clone()
                }),
            size: g.total_size(),
            blobs: g.blobs.len(),
            kept_platforms: e
                .kept
                .as_ref()
                .map(|k| k.iter().map(Platform::to_string).collect()),
            platforms: platforms(&bundle, e, g),
            attached,
            omitted: omitted::layers(g),
        });
    }
    let mut unattached = Vec::new();
    for (i, (e, g)) in items.iter().enumerate() {
        if !placed.contains(&i) {
            placed.insert(i);
            let subject = e
                .subject
                .clone()
                .unwrap_or_else(|| e.descriptor.digest.clone());
            let mut a = describe(e, g, subject, "not in this bundle".into());
            a.attached = attached_to(&items, g, &mut placed, Some(&a.kind));
            unattached.push(a);
        }
    }
    Ok(Inspection {
        bundle: opts.bundle.display().to_string(),
        omitted: crate::layout::omitted::Summary::of(&bundle),
        images,
        unattached,
        problems,
    })
}

/// What a node of `g` is, for the `on` of artifacts attached to it.
fn role_of(g: &Graph, d: &Digest) -> String {
    let Some((i, n)) = g.nodes.iter().enumerate().find(|(_, n)| n.digest == *d) else {
        return "artifact".into();
    };
    match (&n.attests, &n.platform) {
        (Some(_), _) => "attestation".into(),
        (None, Some(p)) if i > 0 => p.to_string(),
        _ if n.is_index => "index".into(),
        _ => "manifest".into(),
    }
}

/// Artifacts attached to any manifest of `g`, in node then `index.json` order, recursively;
/// `owner` is the kind of artifact `g` is, when it is one.
fn attached_to(
    items: &[(&Entry, &Graph)],
    g: &Graph,
    placed: &mut BTreeSet<usize>,
    owner: Option<&str>,
) -> Vec<Attached> {
    let mut out = Vec::new();
    for n in &g.nodes {
        for (i, (e, ag)) in items.iter().enumerate() {
            if e.subject.as_ref() != Some(&n.digest) || !placed.insert(i) {
                continue;
            }
            let on = owner.map_or_else(|| role_of(g, &n.digest), str::to_string);
            let mut a = describe(e, ag, n.digest.clone(), on);
            a.attached = attached_to(items, ag, placed, Some(&a.kind));
            out.push(a);
        }
    }
    out
}

fn describe(e: &Entry, g: &Graph, subject: Digest, on: String) -> Attached {
    // The descriptor's or manifest's artifactType, else a config type that says more than
    // "an image config" (artifacts from before artifactType existed).
    let generic = [
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.empty.v1+json",
        "application/vnd.docker.container.image.v1+json",
    ];
    let artifact_type = e.artifact_type().map(str::to_string).or_else(|| {
        let root = g.root()?;
        RawManifest::new(root.bytes.clone(), root.digest.clone(), &root.media_type)
            .artifact_type()
            .filter(|t| !t.is_empty() && !generic.contains(&t.as_str()))
    });
    let tag_kind = e.tag().and_then(|t| {
        [".sig", ".att", ".sbom"]
            .into_iter()
            .zip(["signature", "attestation", "sbom"])
            .find(|(suffix, _)| t.ends_with(suffix))
            .map(|(_, k)| k)
    });
    let fallback = e
        .tag()
        .and_then(crate::layout::foreign::fallback_subject)
        .is_some_and(|s| s == subject)
        && g.root().is_some_and(|r| r.is_index);
    let (kind, format) = match tag_kind {
        Some(k) => (k, "cosign tag"),
        None if fallback => ("referrers index", "fallback tag"),
        None => (
            kind_of_type(artifact_type.as_deref().unwrap_or_default()),
            "referrer",
        ),
    };
    Attached {
        kind: kind.into(),
        format: format.into(),
        name: e.name.clone(),
        digest: e.descriptor.digest.clone(),
        artifact_type,
        subject,
        on,
        size: g.total_size(),
        attached: Vec::new(),
    }
}

fn kind_of_type(t: &str) -> &'static str {
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["sigstore.bundle", "signature"]) {
        "signature"
    } else if has(&["in-toto", "attestation", "provenance", "slsa"]) {
        "attestation"
    } else if has(&["spdx", "cyclonedx", "sbom", "syft"]) {
        "sbom"
    } else {
        "artifact"
    }
}

/// The children of an index in index order, or the one platform of a manifest.
fn platforms(bundle: &Bundle, e: &Entry, g: &Graph) -> Vec<PlatformInfo> {
    let Some(root) = g.root() else {
        return Vec::new();
    };
    let raw = RawManifest::new(root.bytes.clone(), root.digest.clone(), &root.media_type);
    let children = match raw.parse() {
        Ok(Parsed::Index { manifests }) => manifests,
        Ok(Parsed::Manifest { config, .. }) => {
            let p = config
                .and_then(|c| bundle.read_blob_verified(&c.digest, 1 << 20).ok().flatten())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| Platform::from_json(&v))
                .map_or("manifest".to_string(), |p| p.to_string());
            let state = "present".to_string();
            return vec![PlatformInfo {
                platform: p,
                digest: root.digest.clone(),
                state,
            }];
        }
        Err(_) => return Vec::new(),
    };
    let sparse = e.kept.is_some();
    let name = |c: &crate::manifest::Checked| match c.platform() {
        Some(p) => p.to_string(),
        None if c.is_index() => "index".to_string(),
        None => "manifest".to_string(),
    };
    children
        .iter()
        .map(|c| {
            let platform = match c.attests() {
                Some(d) => {
                    let of = children.iter().find(|s| s.digest.to_string() == d);
                    format!(
                        "attestation of {}",
                        of.map_or("an unknown manifest".into(), name)
                    )
                }
                None => name(c),
            };
            let present = g.nodes.iter().any(|n| n.digest == c.digest);
            let absent = g.absent.iter().any(|a| a.digest == c.digest);
            let state = match (present, absent, sparse) {
                (true, _, true) => "kept",
                (true, _, false) => "present",
                (false, true, _) => "absent",
                (false, false, _) => "missing",
            };
            PlatformInfo {
                platform,
                digest: c.digest.clone(),
                state: state.into(),
            }
        })
        .collect()
}
