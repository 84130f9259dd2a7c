//! The graph under each `index.json` entry of an opened bundle, read leniently for `verify` and
//! `inspect` by the one graph walk (`crate::walk`): its manifests, config and layer blobs, and
//! the children a sparse entry left out. Problems are collected as messages that name the
//! image and the digest instead of stopping at the first.

use std::collections::BTreeMap;

use super::reader::Bundle;
use super::sparse::deliberately_absent;
use super::MAX_DEPTH;
use crate::digest::Digest;
use crate::error::Chain;
use crate::manifest::{Checked, Parsed};
use crate::platform::Platform;
use crate::walk::{Failure, Source, Visit};

pub use super::entries::{read_entries, Entries, Entry, GraphError};
pub use super::Role;

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

/// An index child the bundle does not hold, left out by a sparse export (ferry's, recorded, or
/// another tool's).
#[derive(Debug, Clone)]
pub struct Absent {
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
    pub attests: Option<String>,
    pub parent: Digest,
    /// Recorded as deliberate (`io.ferry.platforms`); false when a foreign writer left the
    /// index sparse without saying so.
    pub recorded: bool,
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
    let mut v = Lenient {
        bundle,
        entry,
        g: Graph {
            image: entry.name.clone(),
            ..Graph::default()
        },
        any_present: BTreeMap::new(),
    };
    let root = &entry.descriptor;
    match bundle.manifest(root) {
        Ok(Some(m)) => {
            let Ok(()) = crate::walk::walk(bundle, root, m, &mut v);
        }
        Ok(None) => {
            v.g.problems
                .push(missing(&v.g.image, "manifest", &root.digest))
        }
        Err(e) => {
            v.record_present(root);
            v.g.problems.push(format!(
                "{}: manifest {}: {}",
                v.g.image,
                root.digest,
                Chain(&e)
            ));
        }
    }
    v.g
}

fn missing(image: &str, what: &str, d: &Digest) -> String {
    format!(
        "{image}: {what} {d} is missing from the bundle (no member {})",
        d.layout_path()
    )
}

/// The verify/inspect visitor: every finding becomes a problem, the walk goes on.
struct Lenient<'a> {
    bundle: &'a Bundle,
    entry: &'a Entry,
    g: Graph,
    /// Per index: whether any of its children is present (an index with none present is not
    /// a sparse one, it is broken).
    any_present: BTreeMap<Digest, bool>,
}

impl Lenient<'_> {
    /// Present but unreadable: still recorded, so messages about the member name this image.
    fn record_present(&mut self, c: &Checked) {
        if let Ok(Some(size)) = self.bundle.blob_size(&c.digest) {
            self.g
                .blobs
                .insert(c.digest.clone(), (size, Role::Manifest));
        }
    }

    fn check_blob(&mut self, manifest: &Digest, b: &Checked, role: Role) {
        let image = &self.g.image;
        match self.bundle.blob_size(&b.digest) {
            Ok(Some(size)) if size == b.size => {
                self.g.blobs.insert(b.digest.clone(), (size, role));
            }
            Ok(Some(size)) => self.g.problems.push(format!(
                "{image}: {} {} is {size} bytes, but manifest {manifest} says {}",
                role.name(),
                b.digest.layout_path(),
                b.size
            )),
            Ok(None)
                if role == Role::Layer && self.entry.omitted.get(&b.digest) == Some(&b.size) =>
            {
                self.g.omitted.insert(b.digest.clone(), b.size);
            }
            Ok(None) => self.g.problems.push(missing(image, role.name(), &b.digest)),
            Err(e) => self.g.problems.push(format!("{image}: {}", Chain(&e))),
        }
    }
}

impl Visit<Bundle> for Lenient<'_> {
    type Error = std::convert::Infallible;

    fn enter(&mut self, node: &crate::walk::Node, parsed: &Parsed) -> Result<(), Self::Error> {
        let (c, m) = (node.descriptor, node.manifest);
        let image = self.g.image.clone();
        let size = m.bytes.len() as u64;
        if size != c.size {
            self.g.problems.push(format!(
                "{image}: manifest {} is {size} bytes, but its descriptor says {}",
                c.digest, c.size
            ));
        }
        self.g
            .blobs
            .insert(c.digest.clone(), (size, Role::Manifest));
        let declared = &c.descriptor.media_type;
        if !declared.is_empty() && !m.media_type.is_empty() && *declared != m.media_type {
            self.g.problems.push(format!(
                "{image}: manifest {} is a {}, but its descriptor says {declared}",
                c.digest, m.media_type
            ));
        }
        let mut n = Node {
            digest: c.digest.clone(),
            media_type: m.media_type.clone(),
            size: c.size,
            platform: c.platform(),
            attests: c.attests().map(str::to_string),
            parent: node.parent.cloned(),
            bytes: m.bytes.clone(),
            is_index: false,
            config: None,
            layers: Vec::new(),
        };
        match parsed {
            Parsed::Index { manifests } => {
                n.is_index = true;
                let present = manifests
                    .iter()
                    .any(|x| matches!(self.bundle.blob_size(&x.digest), Ok(Some(_))));
                self.any_present.insert(c.digest.clone(), present);
            }
            Parsed::Manifest { config, layers } => {
                if let Some(b) = config {
                    self.check_blob(&c.digest, b, Role::Config);
                }
                for b in layers {
                    self.check_blob(&c.digest, b, Role::Layer);
                }
                n.config = config.clone();
                n.layers = layers.clone();
            }
        }
        self.g.nodes.push(n);
        Ok(())
    }

    fn absent(
        &mut self,
        index: &crate::walk::Node,
        child: &Checked,
        siblings: &[Checked],
    ) -> Result<(), Self::Error> {
        let recorded = self
            .entry
            .kept
            .as_ref()
            .is_some_and(|kept| deliberately_absent(kept, child, siblings));
        // Without `io.ferry.platforms`, an index whose children are partly present was left
        // sparse by the tool that wrote it (DESIGN §2, foreign bundles).
        let foreign = self.entry.kept.is_none()
            && self.any_present.get(&index.manifest.digest) == Some(&true);
        if recorded || foreign {
            self.g.absent.push(Absent {
                digest: child.digest.clone(),
                size: child.size,
                platform: child.platform(),
                attests: child.attests().map(str::to_string),
                parent: index.manifest.digest.clone(),
                recorded,
            });
            return Ok(());
        }
        let what = child.what();
        self.g
            .problems
            .push(missing(&self.g.image, &what, &child.digest));
        Ok(())
    }

    fn failed(
        &mut self,
        _parent: Option<&crate::walk::Node>,
        child: &Checked,
        why: Failure<super::LayoutError>,
    ) -> Result<(), Self::Error> {
        let image = &self.g.image;
        let msg = match why {
            Failure::TooDeep => format!(
                "{image}: index {} is nested more than {MAX_DEPTH} levels deep",
                child.digest
            ),
            Failure::Source(e) => format!("{image}: manifest {}: {}", child.digest, Chain(&e)),
            Failure::Parse(e) => format!("{image}: {}", Chain(&e)),
        };
        self.g.problems.push(msg);
        self.record_present(child);
        Ok(())
    }
}
