//! The record of a differential bundle (DESIGN §2, §12): the layer blobs left out because the
//! other side already has them. It is a blob of the bundle named by `index.json`'s
//! `io.ferry.omitted` annotation, so `verify`, `inspect` and `import` can tell "omitted on
//! purpose" from "missing", and import knows which repositories must already hold what.
//!
//! ```json
//! {"schemaVersion":1,"mediaType":"application/vnd.ferry.omitted.v1+json","blobs":[
//!   {"digest":"sha256:…","size":123,"repositories":["reg.io/app"],
//!    "earlierRepositories":["reg.io/base"],"targetRepositories":["reg.local/team/app-…"]}]}
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::reader::Bundle;
use super::{LayoutError, ANNOT_OMITTED};
use crate::digest::{Digest, DigestError};
use crate::error::chain;
use crate::manifest::MAX_MANIFEST_SIZE;

/// Media type of the record.
pub const MEDIA_TYPE: &str = "application/vnd.ferry.omitted.v1+json";
/// Largest record read: a `.tar.gz` first pass keeps JSON documents only up to this size.
pub const MAX_RECORD_SIZE: u64 = MAX_MANIFEST_SIZE;

/// Why a bundle's omitted record cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OmittedError {
    #[error("index.json annotation {ANNOT_OMITTED}: index.json is not JSON")]
    IndexJson(#[source] serde_json::Error),
    #[error("index.json annotation {ANNOT_OMITTED}: not a digest")]
    AnnotationDigest(#[source] DigestError),
    /// The annotation's value (as JSON) is not a string.
    #[error("index.json annotation {ANNOT_OMITTED}: {0} is not a digest string")]
    AnnotationType(String),
    #[error("index.json names the record of omitted blobs {digest} ({ANNOT_OMITTED}), but the bundle has no member {}: without it the left-out layers cannot be told from missing ones; the bundle is incomplete", .digest.layout_path())]
    Missing { digest: Digest },
    #[error("the record of omitted blobs {digest} ({ANNOT_OMITTED}) is invalid: not valid JSON")]
    RecordJson {
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("the record of omitted blobs {digest} ({ANNOT_OMITTED}) is invalid: mediaType is {found:?}, expected {MEDIA_TYPE}")]
    RecordMediaType { digest: Digest, found: String },
    #[error("the record of omitted blobs {digest} ({ANNOT_OMITTED}) is invalid: schemaVersion {version} is not supported (this ferry reads 1)")]
    RecordVersion { digest: Digest, version: u32 },
    #[error("the record of omitted blobs {digest} ({ANNOT_OMITTED}) is invalid: blob {blob} is listed twice")]
    ListedTwice { digest: Digest, blob: Digest },
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// One blob left out of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmittedBlob {
    pub digest: Digest,
    pub size: u64,
    /// Source repositories of this bundle's images that use it: import maps each to its target
    /// repository, where the blob must already be (or be mounted).
    pub repositories: Vec<String>,
    /// Source repositories of the earlier bundle(s) (`--since`) that carried it: mapped the
    /// same way, they are where import may mount it from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_repositories: Vec<String>,
    /// Target repositories an inventory (`--since-inventory`) found holding it, as named there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_repositories: Vec<String>,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmittedRecord {
    pub schema_version: u32,
    pub media_type: String,
    pub blobs: Vec<OmittedBlob>,
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl OmittedRecord {
    /// A record of `blobs`, put in a canonical order so the same export gives the same bytes.
    pub fn new(blobs: impl IntoIterator<Item = OmittedBlob>) -> OmittedRecord {
        let mut by: BTreeMap<Digest, OmittedBlob> = BTreeMap::new();
        for mut b in blobs {
            if let Some(prev) = by.remove(&b.digest) {
                b.repositories.extend(prev.repositories);
                b.earlier_repositories.extend(prev.earlier_repositories);
                b.target_repositories.extend(prev.target_repositories);
            }
            b.repositories = sorted(b.repositories);
            b.earlier_repositories = sorted(b.earlier_repositories);
            b.target_repositories = sorted(b.target_repositories);
            by.insert(b.digest.clone(), b);
        }
        OmittedRecord {
            schema_version: 1,
            media_type: MEDIA_TYPE.into(),
            blobs: by.into_values().collect(),
        }
    }

    /// Compact JSON, one trailing newline: small enough for the `.tar.gz` first pass.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parses and checks a record (`digest` names it in messages).
    pub fn parse(digest: &Digest, bytes: &[u8]) -> Result<OmittedRecord, OmittedError> {
        let digest = || digest.clone();
        let r: OmittedRecord =
            serde_json::from_slice(bytes).map_err(|source| OmittedError::RecordJson {
                digest: digest(),
                source,
            })?;
        if r.media_type != MEDIA_TYPE {
            return Err(OmittedError::RecordMediaType {
                digest: digest(),
                found: r.media_type,
            });
        }
        if r.schema_version != 1 {
            return Err(OmittedError::RecordVersion {
                digest: digest(),
                version: r.schema_version,
            });
        }
        let mut seen = BTreeSet::new();
        for b in &r.blobs {
            if !seen.insert(&b.digest) {
                return Err(OmittedError::ListedTwice {
                    digest: digest(),
                    blob: b.digest.clone(),
                });
            }
        }
        Ok(OmittedRecord::new(r.blobs))
    }

    /// The entry for a digest.
    pub fn get(&self, d: &Digest) -> Option<&OmittedBlob> {
        self.blobs
            .binary_search_by(|b| b.digest.cmp(d))
            .ok()
            .map(|i| &self.blobs[i])
    }

    /// Digest → size of every omitted blob.
    pub fn sizes(&self) -> BTreeMap<Digest, u64> {
        self.blobs
            .iter()
            .map(|b| (b.digest.clone(), b.size))
            .collect()
    }

    /// Bytes left out.
    pub fn total_size(&self) -> u64 {
        crate::sizes::saturating_total(self.blobs.iter().map(|b| b.size))
    }
}

/// A differential bundle's record in brief, for `verify` and `inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The record's digest (`io.ferry.omitted`).
    pub record: Digest,
    pub blobs: usize,
    pub bytes: u64,
}

impl Summary {
    /// The record of a bundle, when it is differential and its record can be read.
    pub fn of(bundle: &Bundle) -> Option<Summary> {
        let (record, r) = read(bundle).ok()??;
        Some(Summary {
            record,
            blobs: r.blobs.len(),
            bytes: r.total_size(),
        })
    }

    /// One line: what was left out and why that is fine.
    pub fn line(&self) -> String {
        format!(
            "differential bundle: {} layer blob(s) ({}) left out on purpose, the target already has them (record {} {})",
            self.blobs,
            crate::progress::human(self.bytes),
            ANNOT_OMITTED,
            self.record
        )
    }
}

/// The digest `index.json` names in `io.ferry.omitted`, if any.
pub fn annotation(index_json: &[u8]) -> Result<Option<Digest>, OmittedError> {
    let v: serde_json::Value =
        serde_json::from_slice(index_json).map_err(OmittedError::IndexJson)?;
    match v.get("annotations").and_then(|a| a.get(ANNOT_OMITTED)) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => Digest::parse(s)
            .map(Some)
            .map_err(OmittedError::AnnotationDigest),
        Some(other) => Err(OmittedError::AnnotationType(other.to_string())),
    }
}

/// Reads a bundle's record: None when it is not differential, an error when the annotation
/// names a record the bundle does not hold or that is not valid.
pub fn read(bundle: &Bundle) -> Result<Option<(Digest, OmittedRecord)>, OmittedError> {
    let Some(digest) = annotation(bundle.index_json())? else {
        return Ok(None);
    };
    let bytes = bundle
        .read_blob_verified(&digest, MAX_RECORD_SIZE)?
        .ok_or_else(|| OmittedError::Missing {
            digest: digest.clone(),
        })?;
    let record = OmittedRecord::parse(&digest, &bytes)?;
    Ok(Some((digest, record)))
}

/// The omitted sizes for the lenient graph walk of `verify` and `inspect`; a bad record
/// becomes a problem there, and nothing counts as omitted.
pub fn sizes_or_problem(bundle: &Bundle, problems: &mut Vec<String>) -> BTreeMap<Digest, u64> {
    match read(bundle) {
        Ok(Some((_, r))) => r.sizes(),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            problems.push(chain(&e));
            BTreeMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(seed: &[u8], size: u64, repos: &[&str]) -> OmittedBlob {
        OmittedBlob {
            digest: Digest::sha256_of(seed),
            size,
            repositories: repos.iter().map(|s| s.to_string()).collect(),
            earlier_repositories: Vec::new(),
            target_repositories: Vec::new(),
        }
    }

    #[test]
    fn records_are_canonical_and_round_trip() {
        let a = blob(b"a", 10, &["r.io/z", "r.io/a", "r.io/z"]);
        let b = blob(b"b", 20, &["r.io/b"]);
        let one = OmittedRecord::new([a.clone(), b.clone()]);
        let two = OmittedRecord::new([b, a.clone()]);
        assert_eq!(one.to_bytes(), two.to_bytes());
        assert!(one.blobs.windows(2).all(|w| w[0].digest < w[1].digest));
        let got = one.get(&a.digest).unwrap();
        assert_eq!(got.repositories, ["r.io/a", "r.io/z"]);
        let d = Digest::sha256_of(&one.to_bytes());
        assert_eq!(OmittedRecord::parse(&d, &one.to_bytes()).unwrap(), one);
        assert_eq!(one.total_size(), 30);
        let text = String::from_utf8(one.to_bytes()).unwrap();
        assert!(text.starts_with(
            r#"{"schemaVersion":1,"mediaType":"application/vnd.ferry.omitted.v1+json","blobs":[{"digest":"sha256:"#
        ));
        assert!(!text.contains("earlierRepositories") && text.ends_with("}\n"));
    }

    #[test]
    fn the_same_digest_twice_is_merged_when_built_and_refused_when_read() {
        let r = OmittedRecord::new([blob(b"a", 1, &["x/b"]), blob(b"a", 1, &["x/a"])]);
        assert_eq!(r.blobs.len(), 1);
        assert_eq!(r.blobs[0].repositories, ["x/a", "x/b"]);
        let d = Digest::sha256_of(b"rec");
        let a = Digest::sha256_of(b"a");
        let twice = format!(
            r#"{{"schemaVersion":1,"mediaType":"{MEDIA_TYPE}","blobs":[{{"digest":"{a}","size":1,"repositories":[]}},{{"digest":"{a}","size":1,"repositories":[]}}]}}"#
        );
        let e = OmittedRecord::parse(&d, twice.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
    }

    #[test]
    fn bad_records_are_refused() {
        let d = Digest::sha256_of(b"rec");
        let a = Digest::sha256_of(b"a");
        for (bad, why) in [
            (
                r#"{"schemaVersion":1,"mediaType":"x","blobs":[]}"#.to_string(),
                "mediaType",
            ),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE}","blobs":[]}}"#),
                "schemaVersion",
            ),
            (
                format!(
                    r#"{{"schemaVersion":1,"mediaType":"{MEDIA_TYPE}","blobs":[{{"digest":"sha256:nothex","size":1,"repositories":[]}}]}}"#
                ),
                "invalid digest",
            ),
            (
                format!(
                    r#"{{"schemaVersion":1,"mediaType":"{MEDIA_TYPE}","blobs":[{{"digest":"{a}","size":-1,"repositories":[]}}]}}"#
                ),
                "JSON",
            ),
            (
                format!(
                    r#"{{"schemaVersion":1,"mediaType":"{MEDIA_TYPE}","blobs":[{{"digest":"{a}","size":1}}]}}"#
                ),
                "repositories",
            ),
            ("[]".to_string(), "JSON"),
        ] {
            let e = chain(&OmittedRecord::parse(&d, bad.as_bytes()).unwrap_err());
            assert!(e.contains(why) && e.contains(&d.to_string()), "{bad}: {e}");
        }
    }

    #[test]
    fn the_annotation_is_read_from_index_json() {
        let d = Digest::sha256_of(b"rec");
        let with = format!(r#"{{"manifests":[],"annotations":{{"{ANNOT_OMITTED}":"{d}"}}}}"#);
        assert_eq!(annotation(with.as_bytes()).unwrap(), Some(d));
        assert_eq!(annotation(br#"{"manifests":[]}"#).unwrap(), None);
        let bad = format!(r#"{{"annotations":{{"{ANNOT_OMITTED}":"md5:1"}}}}"#);
        assert!(annotation(bad.as_bytes()).is_err());
    }

    #[test]
    fn a_bundle_without_its_record_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"rec");
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[],"annotations":{{"{ANNOT_OMITTED}":"{d}"}}}}"#
        );
        std::fs::write(t.path().join("index.json"), index).unwrap();
        let b = Bundle::open(t.path()).unwrap();
        assert!(matches!(read(&b), Err(OmittedError::Missing { .. })));
        let mut problems = Vec::new();
        assert!(sizes_or_problem(&b, &mut problems).is_empty());
        assert!(problems[0].contains("incomplete"), "{problems:?}");
        let rec = OmittedRecord::new([blob(b"layer", 5, &["r.io/a"])]);
        let rd = Digest::sha256_of(&rec.to_bytes());
        std::fs::create_dir_all(t.path().join("blobs/sha256")).unwrap();
        std::fs::write(t.path().join(rd.layout_path()), rec.to_bytes()).unwrap();
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[],"annotations":{{"{ANNOT_OMITTED}":"{rd}"}}}}"#
        );
        std::fs::write(t.path().join("index.json"), index).unwrap();
        let b = Bundle::open(t.path()).unwrap();
        let (got, r) = read(&b).unwrap().unwrap();
        assert_eq!((got, r), (rd, rec));
    }
}
