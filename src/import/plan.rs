//! Reading a bundle into a plan before anything is pushed (DESIGN §4.1): names of entries, the
//! graph of each (manifests children-first, blobs with sizes), absent sparse platforms, and
//! every index, manifest and config hashed and parsed.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ImportError, Unnamed};
use crate::digest::Digest;
use crate::layout::foreign::foreign_subject;
use crate::layout::reader::Bundle;
use crate::layout::sparse::{deliberately_absent, kept_platforms};
use crate::layout::{LayoutError, MAX_DEPTH};
use crate::layout::{ANNOT_CONTAINERD_NAME, ANNOT_PLATFORMS, ANNOT_REF_NAME, ANNOT_SUBJECT};
use crate::manifest::{Checked, Parsed, RawManifest, MAX_MANIFEST_SIZE};
use crate::platform::Platform;
use crate::reference::{is_registry_host, Reference};
use crate::walk::{Failure, Node, Visit};

/// Configs bigger than this are not read whole (they are still pushed and digest-checked).
const MAX_CONFIG_READ: u64 = 64 * 1024 * 1024;

/// One `index.json` entry and everything under it.
#[derive(Debug, Clone)]
pub struct ImageGraph {
    /// The reference as recorded in the bundle (the mapping file's key).
    pub recorded: String,
    pub reference: Reference,
    pub root: RawManifest,
    /// Manifests under the root, children before parents; the root is last.
    pub manifests: Vec<RawManifest>,
    /// Config and layer blobs with their sizes.
    pub blobs: BTreeMap<Digest, u64>,
    /// Kept platforms of a sparse entry (`io.ferry.platforms`).
    pub sparse: Option<Vec<Platform>>,
    /// Deliberately absent children: digest → platform (or kind) for messages.
    pub absent: BTreeMap<Digest, String>,
    /// Attached artifact: the manifest it belongs to.
    pub subject: Option<Digest>,
    /// Layers a differential bundle left out on purpose (`io.ferry.omitted`), with sizes.
    pub omitted: BTreeMap<Digest, u64>,
}

#[derive(Deserialize)]
struct IndexFile {
    #[serde(default)]
    manifests: Vec<crate::manifest::Descriptor>,
}

fn missing(image: &str, what: &str, d: &Digest) -> ImportError {
    ImportError::Missing {
        image: image.into(),
        what: what.into(),
        digest: d.clone(),
    }
}

/// Names an entry by DESIGN §2's order: containerd name, full `ref.name`, else `--name`.
fn entry_reference(
    e: &Checked,
    name: Option<&str>,
) -> Result<Option<(String, Reference)>, ImportError> {
    let a = &e.descriptor.annotations;
    if let Some(n) = a.get(ANNOT_CONTAINERD_NAME) {
        let r = Reference::parse(n).map_err(|source| ImportError::EntryName {
            digest: e.digest.clone(),
            source,
        })?;
        return Ok(Some((n.clone(), r)));
    }
    let ref_name = a.get(ANNOT_REF_NAME);
    if let Some(n) = ref_name {
        if n.split('/').next().is_some_and(is_registry_host) && n.contains('/') {
            let r = Reference::parse(n).map_err(|source| ImportError::EntryName {
                digest: e.digest.clone(),
                source,
            })?;
            return Ok(Some((n.clone(), r)));
        }
    }
    let Some(repo) = name else { return Ok(None) };
    let full = match ref_name {
        Some(tag) => format!("{repo}:{tag}"),
        None => format!("{repo}@{}", e.digest),
    };
    let r = Reference::parse(&full).map_err(|source| ImportError::NameEntry {
        repository: repo.into(),
        digest: e.digest.clone(),
        source,
    })?;
    Ok(Some((r.to_string(), r)))
}

/// Reads `index.json` and walks every entry.
pub fn read_plan(bundle: &Bundle, name: Option<&str>) -> Result<Vec<ImageGraph>, ImportError> {
    let idx: IndexFile = serde_json::from_slice(bundle.index_json()).map_err(ImportError::Index)?;
    let index_digest = Digest::sha256_of(bundle.index_json());
    let left_out = crate::layout::omitted::read(bundle)?
        .map(|(_, r)| r.sizes())
        .unwrap_or_default();
    let mut unnamed = Vec::new();
    let mut graphs: Vec<ImageGraph> = Vec::new();
    for desc in idx.manifests {
        let e = crate::manifest::check_descriptor(&index_digest, desc)
            .map_err(ImportError::IndexEntry)?;
        let Some((recorded, reference)) = entry_reference(&e, name)? else {
            let tag = e
                .descriptor
                .annotations
                .get(ANNOT_REF_NAME)
                .cloned()
                .unwrap_or_default();
            unnamed.push(Unnamed {
                digest: e.digest.clone(),
                tag,
            });
            continue;
        };
        if let Some(prev) = graphs.iter().find(|g| g.recorded == recorded) {
            if prev.root.digest != e.digest {
                return Err(ImportError::NamedTwice {
                    recorded,
                    first: prev.root.digest.clone(),
                    second: e.digest.clone(),
                });
            }
            continue;
        }
        graphs.push(walk_entry(bundle, &e, recorded, reference, &left_out)?);
    }
    if !unnamed.is_empty() {
        return Err(ImportError::NeedsName(unnamed));
    }
    check_subjects(&graphs)?;
    Ok(graphs)
}

/// Refuses `io.ferry.subject` annotations that loop (DESIGN §6: cycles are errors).
fn check_subjects(graphs: &[ImageGraph]) -> Result<(), ImportError> {
    let links = graphs
        .iter()
        .filter_map(|g| Some((&g.root.digest, g.recorded.as_str(), g.subject.as_ref()?)));
    match crate::layout::subject_cycle(links) {
        Some(cycle) => Err(ImportError::SubjectCycle { cycle }),
        None => Ok(()),
    }
}

fn walk_entry(
    bundle: &Bundle,
    e: &Checked,
    recorded: String,
    reference: Reference,
    left_out: &BTreeMap<Digest, u64>,
) -> Result<ImageGraph, ImportError> {
    let a = &e.descriptor.annotations;
    let sparse = match a.get(ANNOT_PLATFORMS) {
        Some(list) => Some(
            kept_platforms(list).map_err(|source| ImportError::Platforms {
                image: recorded.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let subject = match a.get(ANNOT_SUBJECT) {
        Some(s) => Some(Digest::parse(s).map_err(|source| ImportError::Subject {
            image: recorded.clone(),
            source,
        })?),
        None => None,
    };
    let root = read_manifest(bundle, &recorded, e)?
        .ok_or_else(|| missing(&recorded, "manifest", &e.digest))?;
    // A referrer in a layout another tool wrote: attached by its own `subject` or a fallback
    // tag (DESIGN §2), like ferry's `io.ferry.subject`.
    let subject = subject.or_else(|| foreign_subject(reference.tag.as_deref(), &root));
    let mut g = ImageGraph {
        recorded,
        reference,
        root: root.clone(),
        manifests: Vec::new(),
        blobs: BTreeMap::new(),
        sparse,
        absent: BTreeMap::new(),
        subject,
        omitted: BTreeMap::new(),
    };
    let mut v = Strict {
        bundle,
        g: &mut g,
        left_out,
        any_present: BTreeMap::new(),
    };
    crate::walk::walk(bundle, e, root, &mut v)?;
    Ok(g)
}

fn read_manifest(
    bundle: &Bundle,
    image: &str,
    c: &Checked,
) -> Result<Option<RawManifest>, ImportError> {
    if c.size > MAX_MANIFEST_SIZE {
        return Err(ImportError::ManifestTooLarge {
            image: image.into(),
            digest: c.digest.clone(),
            size: c.size,
        });
    }
    let Some(bytes) = bundle.read_blob_verified(&c.digest, MAX_MANIFEST_SIZE)? else {
        return Ok(None);
    };
    if bytes.len() as u64 != c.size {
        return Err(ImportError::SizeMismatch {
            image: image.into(),
            digest: c.digest.clone(),
            actual: bytes.len() as u64,
            expected: c.size,
        });
    }
    Ok(Some(RawManifest::new(
        bytes,
        c.digest.clone(),
        &c.descriptor.media_type,
    )))
}

/// The import visitor: anything wrong stops the import before a byte is pushed.
struct Strict<'a> {
    bundle: &'a Bundle,
    g: &'a mut ImageGraph,
    left_out: &'a BTreeMap<Digest, u64>,
    /// Per index: whether any child is present (else it is broken, not sparse).
    any_present: BTreeMap<Digest, bool>,
}

impl Visit<Bundle> for Strict<'_> {
    type Error = ImportError;

    fn enter(&mut self, node: &Node, parsed: &Parsed) -> Result<(), ImportError> {
        let (bundle, image) = (self.bundle, self.g.recorded.clone());
        let (c, m) = (node.descriptor, node.manifest);
        if m.bytes.len() as u64 != c.size {
            return Err(ImportError::SizeMismatch {
                image,
                digest: c.digest.clone(),
                actual: m.bytes.len() as u64,
                expected: c.size,
            });
        }
        let (config, layers) = match parsed {
            Parsed::Index { manifests } => {
                let present = manifests
                    .iter()
                    .any(|x| matches!(bundle.blob_size(&x.digest), Ok(Some(_))));
                self.any_present.insert(m.digest.clone(), present);
                return Ok(());
            }
            Parsed::Manifest { config, layers } => (config, layers),
        };
        for (i, c) in config.iter().chain(layers.iter()).enumerate() {
            let is_config = i == 0 && config.is_some();
            let absent = || Ok::<_, ImportError>(bundle.blob_size(&c.digest)?.is_none());
            if !is_config && self.left_out.get(&c.digest) == Some(&c.size) && absent()? {
                self.g.omitted.insert(c.digest.clone(), c.size);
                continue;
            }
            let size = match bundle.blob_size(&c.digest)? {
                // A pipe: layers are still to come; their size and digest are checked as
                // they stream to the registry.
                None if bundle.is_deferred() && !is_config => Some(c.size),
                None if bundle.is_deferred() => {
                    return Err(ImportError::ConfigOrder {
                        image,
                        digest: c.digest.clone(),
                    });
                }
                s => s,
            };
            let what = if is_config { "config" } else { "layer" };
            let size = size.ok_or_else(|| missing(&image, what, &c.digest))?;
            if size != c.size {
                return Err(ImportError::BlobSize {
                    image,
                    digest: c.digest.clone(),
                    manifest: m.digest.clone(),
                    actual: size,
                    expected: c.size,
                });
            }
            self.g.blobs.insert(c.digest.clone(), c.size);
        }
        if let Some(c) = config {
            if c.size <= MAX_CONFIG_READ && c.descriptor.media_type.contains("json") {
                let bytes = bundle
                    .read_blob_verified(&c.digest, MAX_CONFIG_READ)?
                    .unwrap_or_default();
                serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|source| {
                    ImportError::ConfigJson {
                        image: image.clone(),
                        digest: c.digest.clone(),
                        source,
                    }
                })?;
            }
        }
        Ok(())
    }

    /// Children before parents: the order manifests are pushed in.
    fn leave(&mut self, node: &Node) -> Result<(), ImportError> {
        self.g.manifests.push(node.manifest.clone());
        Ok(())
    }

    fn absent(
        &mut self,
        index: &Node,
        c: &Checked,
        siblings: &[Checked],
    ) -> Result<(), ImportError> {
        let what = c.platform().map(|p| p.to_string()).unwrap_or_else(|| {
            if c.attests().is_some() {
                "attestation".into()
            } else {
                "child".into()
            }
        });
        // Without `io.ferry.platforms`, an index whose children are partly present was left
        // sparse by the tool that wrote it (`ctr images export`, `docker save` of one
        // platform): the absent ones are treated as left out, and `--sparse` applies.
        let deliberate = match &self.g.sparse {
            Some(kept) => deliberately_absent(kept, c, siblings),
            None => self.any_present.get(&index.manifest.digest) == Some(&true),
        };
        if !deliberate {
            return Err(missing(
                &self.g.recorded,
                &format!("{what} manifest"),
                &c.digest,
            ));
        }
        self.g.absent.insert(c.digest.clone(), what);
        Ok(())
    }

    fn failed(
        &mut self,
        _parent: Option<&Node>,
        c: &Checked,
        why: Failure<LayoutError>,
    ) -> Result<(), ImportError> {
        let image = &self.g.recorded;
        Err(match why {
            Failure::Source(e) => e.into(),
            Failure::Parse(source) => ImportError::Manifest {
                image: image.clone(),
                source,
            },
            Failure::TooDeep => ImportError::TooDeep {
                image: image.clone(),
                digest: c.digest.clone(),
                limit: MAX_DEPTH,
            },
        })
    }
}
