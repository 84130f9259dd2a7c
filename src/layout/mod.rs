//! The bundle format: an OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`)
//! inside one tar. This module owns the names, annotations and `index.json`; `tar` plans the
//! archive and `writer` puts it on disk.
//! It must not import `registry`, `export`, `import` or `verify`: the bundle format knows nothing
//! of where blobs come from or go.

pub mod entries;
mod error;
pub mod foreign;
pub mod graph;
pub mod gz;
pub mod leftovers;
pub mod legacy;
pub mod members;
pub mod names;
pub mod omitted;
pub mod output;
pub mod parts;
pub mod reader;
pub mod sparse;
pub mod stream;
pub mod tar;
pub mod writer;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::digest::Digest;
use crate::manifest::OCI_INDEX;

pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The one nesting limit of every walk (`crate::walk::MAX_DEPTH`), here because bundles are
/// what it protects.
pub use crate::walk::MAX_DEPTH;
pub use error::{Damage, LayoutError, OutputProblem, Reading};
pub const INDEX_FILE: &str = "index.json";
pub const OCI_LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The full reference, as skopeo and podman users type it.
pub const ANNOT_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The full reference, as containerd and docker read it.
pub const ANNOT_CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Kept platforms of a sparse entry.
pub const ANNOT_PLATFORMS: &str = "io.ferry.platforms";
/// Digest of the manifest an attached artifact belongs to.
pub const ANNOT_SUBJECT: &str = "io.ferry.subject";
/// Top level: digest of the record of blobs a differential bundle left out (`omitted`).
pub const ANNOT_OMITTED: &str = "io.ferry.omitted";

/// What a blob is to the image that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Manifest,
    Config,
    Layer,
}

impl Role {
    /// `manifest`, `config` or `layer`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Manifest => "manifest",
            Role::Config => "config",
            Role::Layer => "layer",
        }
    }
}

/// One `index.json` entry: what a reference resolved to.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl IndexEntry {
    /// An entry named by a full reference (both name annotations, DESIGN §2).
    pub fn named(reference: &str, media_type: &str, digest: Digest, size: u64) -> IndexEntry {
        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOT_CONTAINERD_NAME.to_string(), reference.to_string());
        annotations.insert(ANNOT_REF_NAME.to_string(), reference.to_string());
        IndexEntry {
            media_type: media_type.to_string(),
            digest,
            size,
            artifact_type: None,
            annotations,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexFile<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: &'a [IndexEntry],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// Serialises `index.json` deterministically (fixed field order, sorted annotations).
pub fn index_json(entries: &[IndexEntry], annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let f = IndexFile {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: entries,
        annotations,
    };
    let mut v = serde_json::to_vec_pretty(&f).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A loop among `io.ferry.subject` annotations (DESIGN §6: cycles are errors, not loops),
/// shown as `name (digest) -> … -> name (digest)`; `entries` are (digest, name, subject).
pub fn subject_cycle<'a>(
    entries: impl IntoIterator<Item = (&'a Digest, &'a str, &'a Digest)>,
) -> Option<String> {
    let mut links: BTreeMap<&Digest, (&str, &Digest)> = BTreeMap::new();
    for (d, name, subject) in entries {
        links.entry(d).or_insert((name, subject));
    }
    let mut done = std::collections::BTreeSet::new();
    for start in links.keys().copied() {
        let mut path = Vec::new();
        let mut on_path = std::collections::BTreeSet::new();
        let mut cur = start;
        while !done.contains(cur) {
            if !on_path.insert(cur) {
                let i = path.iter().position(|d| *d == cur).unwrap_or_default();
                let shown: Vec<String> = path[i..]
                    .iter()
                    .chain([&cur])
                    .map(|d| format!("{} ({d})", links.get(d).map_or("?", |l| l.0)))
                    .collect();
                return Some(shown.join(" -> "));
            }
            path.push(cur);
            match links.get(cur) {
                Some((_, next)) => cur = next,
                None => break,
            }
        }
        done.extend(path);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_loops_are_found() {
        let [a, b, c] = [b"a", b"b", b"c"].map(|x| Digest::sha256_of(x));
        assert_eq!(subject_cycle([(&a, "a", &b), (&b, "b", &c)]), None);
        let cycle = subject_cycle([(&c, "c", &a), (&a, "a", &b), (&b, "b", &a)]);
        assert_eq!(cycle.unwrap(), format!("a ({a}) -> b ({b}) -> a ({a})"));
        assert_eq!(
            subject_cycle([(&c, "c", &c)]).unwrap(),
            format!("c ({c}) -> c ({c})")
        );
    }

    #[test]
    fn index_json_is_deterministic_and_named() {
        let d = Digest::sha256_of(b"m");
        let e = IndexEntry::named("docker.io/library/alpine:3.19", OCI_INDEX, d.clone(), 1);
        let a = index_json(std::slice::from_ref(&e), &BTreeMap::new());
        assert_eq!(a, index_json(&[e], &BTreeMap::new()));
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(
            v["manifests"][0]["annotations"][ANNOT_REF_NAME],
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(v["manifests"][0]["digest"], d.to_string());
        assert!(v.get("annotations").is_none());
    }
}
