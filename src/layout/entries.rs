//! The `index.json` entries of an opened bundle, read leniently for `verify` and `inspect`:
//! the annotations ferry writes (DESIGN §2), and the attachments of referrers a layout written
//! by another tool carries. Problems are collected as messages instead of stopping at the
//! first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::reader::Bundle;
use super::sparse::kept_platforms;
use super::{ANNOT_CONTAINERD_NAME, ANNOT_PLATFORMS, ANNOT_REF_NAME, ANNOT_SUBJECT};
use crate::digest::Digest;
use crate::error::Chain;
use crate::manifest::{check_descriptor, Checked, Descriptor, Parsed, RawManifest};
use crate::manifest::{MAX_MANIFEST_SIZE, OCI_INDEX};
use crate::platform::Platform;

/// `index.json` cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("index.json is not a valid OCI image index")]
    Json(#[source] serde_json::Error),
    #[error("index.json is not a valid OCI image index: it is not a JSON object")]
    NotAnObject,
    #[error("index.json is not a valid OCI image index: it has no \"manifests\" array")]
    NoManifests,
}

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
        super::foreign::entry_tag(&self.name)
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
    let v: Value = serde_json::from_slice(raw).map_err(GraphError::Json)?;
    let obj = v.as_object().ok_or(GraphError::NotAnObject)?;
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
        .ok_or(GraphError::NoManifests)?;
    let index_digest = Digest::sha256_of(raw);
    for (position, m) in manifests.iter().enumerate() {
        let bad = |e: &dyn std::error::Error| format!("index.json entry {position}: {}", Chain(e));
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
    attach_foreign(bundle, &mut out.entries);
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

/// Attaches the OCI 1.1 referrers of a layout another tool wrote (DESIGN §2): an entry whose
/// manifest has a `subject`, or an index under a fallback tag `sha256-<hex>`; and the referrers
/// such a fallback index lists become entries of their own, so each is shown and checked
/// beside its subject.
fn attach_foreign(bundle: &Bundle, entries: &mut Vec<Entry>) {
    let mut known: BTreeSet<Digest> = entries
        .iter()
        .map(|e| e.descriptor.digest.clone())
        .collect();
    let mut listed = Vec::new();
    for e in entries.iter_mut().filter(|e| e.subject.is_none()) {
        let Some(raw) = read_small(bundle, &e.descriptor) else {
            continue;
        };
        e.subject = super::foreign::foreign_subject(e.tag(), &raw);
        if e.subject.is_some() && e.descriptor.descriptor.artifact_type.is_none() {
            e.descriptor.descriptor.artifact_type = raw.artifact_type();
        }
        let fallback = e.subject.is_some() && raw.subject().is_none();
        if let (true, Ok(Parsed::Index { manifests })) = (fallback, raw.parse()) {
            for c in manifests {
                if known.insert(c.digest.clone()) {
                    listed.push((e.position, e.name.clone(), e.omitted.clone(), c));
                }
            }
        }
    }
    for (position, fallback, omitted, c) in listed {
        let Some(raw) = read_small(bundle, &c) else {
            continue;
        };
        let Some(subject) = raw.subject() else {
            continue;
        };
        let mut descriptor = c;
        if descriptor.descriptor.artifact_type.is_none() {
            descriptor.descriptor.artifact_type = raw.artifact_type();
        }
        entries.push(Entry {
            position,
            name: format!("{} (listed by {fallback})", descriptor.digest),
            descriptor,
            kept: None,
            subject: Some(subject),
            omitted,
        });
    }
}

/// A manifest present in the bundle, read and digest-checked; None when absent or unreadable
/// (the walk reports why).
fn read_small(bundle: &Bundle, c: &Checked) -> Option<RawManifest> {
    let bytes = bundle
        .read_blob_verified(&c.digest, MAX_MANIFEST_SIZE)
        .ok()??;
    Some(RawManifest::new(
        bytes,
        c.digest.clone(),
        &c.descriptor.media_type,
    ))
}
