//! The graph of an opened bundle, read leniently for `verify` and `inspect`: the `index.json`
//! entries with the annotations ferry writes (DESIGN §2), and under each entry its manifests,
//! config and layer blobs, and the children a sparse entry left out on purpose. Problems are
//! collected as messages that name the image and the digest instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::reader::Bundle;
use super::sparse::{deliberately_absent, kept_platforms};
use super::{ANNOT_CONTAINERD_NAME, ANNOT_PLATFORMS, ANNOT_REF_NAME, ANNOT_SUBJECT};
use crate::digest::Digest;
use crate::manifest::{check_descriptor, Checked, Descriptor, Parsed, RawManifest};
use crate::manifest::{MAX_MANIFEST_SIZE, OCI_INDEX};
use crate::platform::Platform;

/// Deepest nesting of indexes followed.
const MAX_DEPTH: usize = 16;

/// `index.json` cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("index.json is not a valid OCI image index: {0}")]
    Index(String),
}

pub use super::Role;

/// One `index.json` entry with the annotations ferry reads.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in `index.json`, from 0.
    pub position: usize,
    /// `io.containerd.image.name`, else `org.opencontainers.image.ref.name`, else
    /// `index.json entry N`.
    pub name: String,
    pub descriptor: Checked,
    /// Kept platforms of a sparse entry (`io.ferry.platforms`).
    pub kept: Option<Vec<Platform>>,
    /// The manifest this attached artifact belongs to (`io.ferry.subject`).
    pub subject: Option<Digest>,
    /// Bundle-wide: layers a differential bundle left out (`io.ferry.omitted`), with sizes.
    pub omitted: std::sync::Arc<BTreeMap<Digest, u64>>,
}

impl Entry {
    /// The tag of the entry's name (`3.19`, `sha256-<hex>.sig`), if it has one.
    pub fn tag(&self) -> Option<&str> {
        let name = self.name.split('@').next().unwrap_or_default();
        let last = name.rsplit('/').next().unwrap_or_default();
        last.split_once(':').map(|(_, t)| t)
    }

    /// The descriptor's `artifactType`.
    pub fn artifact_type(&self) -> Option<&str> {
        self.descriptor.descriptor.artifact_type.as_deref()
    }
}

/// Everything `index.json` says.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    pub entries: Vec<Entry>,
    /// `index.json`'s own annotations.
    pub annotations: BTreeMap<String, String>,
    /// Malformed parts, one message each (the entry is skipped).
    pub problems: Vec<String>,
}

/// Reads `index.json`: an error when it is not an index at all, problems for bad parts.
pub fn read_entries(bundle: &Bundle) -> Result<Entries, GraphError> {
    let raw = bundle.index_json();
    let v: Value = serde_json::from_slice(raw).map_err(|e| GraphError::Index(e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| GraphError::Index("it is not a JSON object".into()))?;
    let mut out = Entries::default();
    let omitted = std::sync::Arc::new(super::omitted::sizes_or_problem(bundle, &mut out.problems));
    match obj.get("schemaVersion") {
        Some(Value::Number(n)) if n.as_i64() == Some(2) => {}
        other => out.problems.push(format!(
            "index.json: schemaVersion is {}, expected 2",
            other.map_or("missing".to_string(), Value::to_string)
        )),
    }
    if let Some(mt) = obj.get("mediaType") {
        if mt.as_str() != Some(OCI_INDEX) {
            out.problems.push(format!(
                "index.json: mediaType is {mt}, expected {OCI_INDEX}"
            ));
        }
    }
    if let Some(a) = obj.get("annotations") {
        match serde_json::from_value(a.clone()) {
            Ok(a) => out.annotations = a,
            Err(e) => out.problems.push(format!("index.json: annotations: {e}")),
        }
    }
    let manifests = obj
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| GraphError::Index("it has no \"manifests\" array".into()))?;
    let index_digest = Digest::sha256_of(raw);
    for (position, m) in manifests.iter().enumerate() {
        let bad = |e: &dyn std::fmt::Display| format!("index.json entry {position}: {e}");
        let desc: Descriptor = match serde_json::from_value(m.clone()) {
            Ok(d) => d,
            Err(e) => {
                out.problems.push(bad(&e));
                continue;
            }
        };
        let descriptor = match check_descriptor(&index_digest, desc) {
            Ok(c) => c,
            Err(e) => {
                out.problems.push(bad(&e));
                continue;
            }
        };
        let a = &descriptor.descriptor.annotations;
        let name = a
            .get(ANNOT_CONTAINERD_NAME)
            .or_else(|| a.get(ANNOT_REF_NAME))
            .cloned()
            .unwrap_or_else(|| format!("index.json entry {position}"));
        let kept = match a.get(ANNOT_PLATFORMS).map(|s| kept_platforms(s)) {
            Some(Err(e)) => {
                out.problems.push(format!("{name}: {ANNOT_PLATFORMS}: {e}"));
                None
            }
            Some(Ok(k)) => Some(k),
            None => None,
        };
        let subject = match a.get(ANNOT_SUBJECT).map(|s| Digest::parse(s)) {
            Some(Err(e)) => {
                out.problems.push(format!("{name}: {ANNOT_SUBJECT}: {e}"));
                None
            }
            Some(Ok(d)) => Some(d),
            None => None,
        };
        out.entries.push(Entry {
            position,
            name,
            descriptor,
            kept,
            subject,
            omitted: omitted.clone(),
        });
    }
    let links = out
        .entries
        .iter()
        .filter_map(|e| Some((&e.descriptor.digest, e.name.as_str(), e.subject.as_ref()?)));
    if let Some(cycle) = super::subject_cycle(links) {
        out.problems.push(format!(
            "index.json: {ANNOT_SUBJECT} annotations form a cycle: {cycle}"
        ));
    }
    Ok(out)
}

/// A manifest or index present in the bundle.
#[derive(Debug, Clone)]
pub struct Node {
    pub digest: Digest,
    /// The manifest's own `mediaType`, else its descriptor's.
    pub media_type: String,
    pub size: u64,
    /// The platform its parent index gives it.
    pub platform: Option<Platform>,
    /// For a buildkit attestation manifest: the digest of the manifest it attests.
    pub attests: Option<String>,
    pub parent: Option<Digest>,
    pub bytes: Vec<u8>,
    pub is_index: bool,
    pub config: Option<Checked>,
    pub layers: Vec<Checked>,
}

/// An index child the bundle does not hold, left out on purpose by a sparse export.
#[derive(Debug, Clone)]
pub struct Absent {
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
    pub attests: Option<String>,
    pub parent: Digest,
}

/// One entry's graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub image: String,
    /// Manifests and indexes present, the root first, parents before children.
    pub nodes: Vec<Node>,
    pub absent: Vec<Absent>,
    /// Every blob present that the entry uses (manifests included): digest → (size, role).
    pub blobs: BTreeMap<Digest, (u64, Role)>,
    /// Layers left out of a differential bundle on purpose: digest → size.
    pub omitted: BTreeMap<Digest, u64>,
    pub problems: Vec<String>,
}

impl Graph {
    /// The entry's own manifest or index, when it could be read.
    pub fn root(&self) -> Option<&Node> {
        self.nodes.first()
    }

    /// Bytes of all blobs present, each counted once.
    pub fn total_size(&self) -> u64 {
        crate::sizes::saturating_total(self.blobs.values().map(|(s, _)| *s))
    }
}

/// Walks one entry: reads and parses every manifest, checks every blob is present with the
/// descriptor's size, and sorts absent children into deliberate ones and problems.
pub fn walk(bundle: &Bundle, entry: &Entry) -> Graph {
    let mut g = Graph {
        image: entry.name.clone(),
        ..Graph::default()
    };
    let mut seen = BTreeSet::new();
    let root = &entry.descriptor;
    match bundle.blob_size(&root.digest) {
        Ok(Some(_)) => visit(bundle, entry, root, None, &mut g, &mut seen, 0),
        Ok(None) => g.problems.push(missing(&g.image, "manifest", &root.digest)),
        Err(e) => g.problems.push(format!("{}: {e}", g.image)),
    }
    g
}

fn missing(image: &str, what: &str, d: &Digest) -> String {
    format!(
        "{image}: {what} {d} is missing from the bundle (no member {})",
        d.layout_path()
    )
}

fn visit(
    bundle: &Bundle,
    entry: &Entry,
    c: &Checked,
    parent: Option<&Digest>,
    g: &mut Graph,
    seen: &mut BTreeSet<Digest>,
    depth: usize,
) {
    let image = g.image.clone();
    if depth > MAX_DEPTH {
        g.problems.push(format!(
            "{image}: index {} is nested more than {MAX_DEPTH} levels deep",
            c.digest
        ));
        return;
    }
    if !seen.insert(c.digest.clone()) {
        return;
    }
    // Present (the caller checked): recorded even when unreadable, so messages about the
    // member can name this image.
    g.blobs.insert(c.digest.clone(), (c.size, Role::Manifest));
    let bytes = match bundle.read_blob_verified(&c.digest, MAX_MANIFEST_SIZE) {
        Ok(Some(b)) => b,
        Ok(None) => return g.problems.push(missing(&image, "manifest", &c.digest)),
        Err(e) => {
            return g
                .problems
                .push(format!("{image}: manifest {}: {e}", c.digest))
        }
    };
    if bytes.len() as u64 != c.size {
        g.problems.push(format!(
            "{image}: manifest {} is {} bytes, but its descriptor says {}",
            c.digest,
            bytes.len(),
            c.size
        ));
    }
    g.blobs
        .insert(c.digest.clone(), (bytes.len() as u64, Role::Manifest));
    let raw = RawManifest::new(bytes, c.digest.clone(), &c.descriptor.media_type);
    let declared = &c.descriptor.media_type;
    if !declared.is_empty() && !raw.media_type.is_empty() && *declared != raw.media_type {
        g.problems.push(format!(
            "{image}: manifest {} is a {}, but its descriptor says {declared}",
            c.digest, raw.media_type
        ));
    }
    let parsed = match raw.parse() {
        Ok(p) => p,
        Err(e) => return g.problems.push(format!("{image}: {e}")),
    };
    let mut node = Node {
        digest: c.digest.clone(),
        media_type: raw.media_type,
        size: c.size,
        platform: c.platform(),
        attests: c.attests().map(str::to_string),
        parent: parent.cloned(),
        bytes: raw.bytes,
        is_index: false,
        config: None,
        layers: Vec::new(),
    };
    match parsed {
        Parsed::Index { manifests } => {
            node.is_index = true;
            g.nodes.push(node);
            for child in &manifests {
                visit_child(bundle, entry, child, &manifests, &c.digest, g, seen, depth);
            }
        }
        Parsed::Manifest { config, layers } => {
            let roles = config.iter().map(|c| (c, Role::Config));
            for (b, role) in roles.chain(layers.iter().map(|l| (l, Role::Layer))) {
                check_blob(bundle, &image, &c.digest, b, role, g, &entry.omitted);
            }
            node.config = config;
            node.layers = layers;
            g.nodes.push(node);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn visit_child(
    bundle: &Bundle,
    entry: &Entry,
    child: &Checked,
    siblings: &[Checked],
    parent: &Digest,
    g: &mut Graph,
    seen: &mut BTreeSet<Digest>,
    depth: usize,
) {
    match bundle.blob_size(&child.digest) {
        Ok(Some(_)) => visit(bundle, entry, child, Some(parent), g, seen, depth + 1),
        Ok(None) => {
            let deliberate = entry
                .kept
                .as_ref()
                .is_some_and(|kept| deliberately_absent(kept, child, siblings));
            if deliberate {
                g.absent.push(Absent {
                    digest: child.digest.clone(),
                    size: child.size,
                    platform: child.platform(),
                    attests: child.attests().map(str::to_string),
                    parent: parent.clone(),
                });
                return;
            }
            let what = match (child.attests(), child.platform()) {
                (Some(_), _) => "attestation manifest".to_string(),
                (None, Some(p)) => format!("{p} manifest"),
                (None, None) => "child manifest".to_string(),
            };
            g.problems.push(missing(&g.image, &what, &child.digest));
        }
        Err(e) => g.problems.push(format!("{}: {e}", g.image)),
    }
}

fn check_blob(
    bundle: &Bundle,
    image: &str,
    manifest: &Digest,
    b: &Checked,
    role: Role,
    g: &mut Graph,
    omitted: &BTreeMap<Digest, u64>,
) {
    match bundle.blob_size(&b.digest) {
        Ok(Some(size)) if size == b.size => {
            g.blobs.insert(b.digest.clone(), (size, role));
        }
        Ok(Some(size)) => g.problems.push(format!(
            "{image}: {} {} is {size} bytes, but manifest {manifest} says {}",
            role.name(),
            b.digest.layout_path(),
            b.size
        )),
        Ok(None) if role == Role::Layer && omitted.get(&b.digest) == Some(&b.size) => {
            g.omitted.insert(b.digest.clone(), b.size);
        }
        Ok(None) => g.problems.push(missing(image, role.name(), &b.digest)),
        Err(e) => g.problems.push(format!("{image}: {e}")),
    }
}
