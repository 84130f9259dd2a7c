//! The `--sparse` policy (DESIGN §7): `keep` pushes the original index bytes (a registry may
//! refuse them), `strip` writes new indexes holding only the children the bundle has.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ImageGraph, ImportError, Prepared};
use crate::digest::Digest;
use crate::reference::Reference;
use crate::registry::Answer;

/// What to do with an index whose platforms were left out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SparsePolicy {
    #[default]
    Keep,
    Strip,
}

impl SparsePolicy {
    /// `keep` or `strip`, as typed.
    pub fn name(self) -> &'static str {
        match self {
            SparsePolicy::Keep => "keep",
            SparsePolicy::Strip => "strip",
        }
    }
}

/// Orders the manifests to push (children first) and applies the sparse policy.
pub(super) fn prepare(
    graph: ImageGraph,
    target: Reference,
    policy: SparsePolicy,
) -> Result<Prepared, ImportError> {
    let mut manifests = Vec::new();
    let mut rewritten: BTreeMap<Digest, (Digest, u64)> = BTreeMap::new();
    for m in &graph.manifests {
        let changed = if policy == SparsePolicy::Strip && m.is_index() {
            strip_index(&m.bytes, &graph.absent, &rewritten)?
        } else {
            None
        };
        match changed {
            Some(bytes) => {
                let d = Digest::sha256_of(&bytes);
                rewritten.insert(m.digest.clone(), (d.clone(), bytes.len() as u64));
                manifests.push((d, m.media_type.clone(), bytes));
            }
            None => manifests.push((m.digest.clone(), m.media_type.clone(), m.bytes.clone())),
        }
    }
    let root = rewritten
        .get(&graph.root.digest)
        .map(|(d, _)| d.clone())
        .unwrap_or_else(|| graph.root.digest.clone());
    Ok(Prepared {
        graph,
        target,
        manifests,
        root,
        depth: 0,
    })
}

/// New index bytes without the absent children (and with rewritten children's new digests),
/// or None when nothing changes.
fn strip_index(
    bytes: &[u8],
    absent: &BTreeMap<Digest, String>,
    rewritten: &BTreeMap<Digest, (Digest, u64)>,
) -> Result<Option<Vec<u8>>, ImportError> {
    let mut v: Value = serde_json::from_slice(bytes).map_err(ImportError::IndexJson)?;
    let Some(list) = v.get_mut("manifests").and_then(Value::as_array_mut) else {
        return Ok(None);
    };
    let before = list.len();
    let digest_of = |e: &Value| {
        e.get("digest")
            .and_then(Value::as_str)
            .and_then(|s| Digest::parse(s).ok())
    };
    list.retain(|e| digest_of(e).is_none_or(|d| !absent.contains_key(&d)));
    let mut changed = list.len() != before;
    for e in list.iter_mut() {
        if let Some((new, size)) = digest_of(e).and_then(|d| rewritten.get(&d)) {
            e["digest"] = Value::String(new.to_string());
            e["size"] = Value::from(*size);
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&v)
        .map(Some)
        .map_err(ImportError::IndexJson)
}

/// A sparse index the target registry would not take under `--sparse keep` (DESIGN §7).
#[derive(Debug, Clone)]
pub struct SparseRefusal {
    pub image: String,
    pub target: String,
    pub digest: Digest,
    /// The platforms absent from the bundle.
    pub missing: Vec<String>,
    /// Whether the bundle recorded them as left out on purpose (`io.ferry.platforms`); a
    /// foreign bundle (`ctr images export`) does not.
    pub deliberate: bool,
    /// The registry's answer.
    pub answer: Answer,
}

/// The one error for every refused sparse index, with the ways out.
pub(super) fn message(refused: &[SparseRefusal]) -> String {
    let each: Vec<String> = refused
        .iter()
        .map(|r| {
            let why = if r.deliberate {
                "were left out of the bundle on purpose"
            } else {
                "are absent from the bundle, not recorded as deliberate by the tool that wrote it"
            };
            format!(
                "{}: {} refused the sparse index {} (platforms {} {why}): {}",
                r.image,
                r.target,
                r.digest,
                r.missing.join(", "),
                r.answer
            )
        })
        .collect();
    let what = if refused.len() == 1 {
        "index".to_string()
    } else {
        format!("{} indexes", refused.len())
    };
    format!("{}. Everything else was pushed by digest and stays valid; no tag of a refused {what} was pushed. Ways out: a registry configured to accept indexes with absent children (distribution v3: validation.manifests.indexes.platforms), or --sparse strip (pushes a new index of the kept platforms, with a new digest; signatures over the original index will not verify)", each.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{RawManifest, OCI_INDEX, OCI_MANIFEST};

    fn graph(absent: &[Digest]) -> (ImageGraph, RawManifest, RawManifest) {
        let child = br#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#.to_vec();
        let child = RawManifest::new(child.clone(), Digest::sha256_of(&child), OCI_MANIFEST);
        let gone = absent
            .first()
            .cloned()
            .unwrap_or_else(|| Digest::sha256_of(b"gone"));
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"os":"linux","architecture":"arm64"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{gone}","size":9,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
            child.digest,
            child.bytes.len()
        );
        let root = RawManifest::new(
            idx.clone().into_bytes(),
            Digest::sha256_of(idx.as_bytes()),
            OCI_INDEX,
        );
        let g = ImageGraph {
            recorded: "r.io/a:1".into(),
            reference: Reference::parse("r.io/a:1").unwrap(),
            root: root.clone(),
            manifests: vec![child.clone(), root.clone()],
            blobs: BTreeMap::new(),
            sparse: Some(vec![
                crate::platform::Platform::parse("linux/arm64").unwrap()
            ]),
            absent: absent
                .iter()
                .map(|d| (d.clone(), "linux/amd64".to_string()))
                .collect(),
            subject: None,
            omitted: BTreeMap::new(),
        };
        (g, child, root)
    }

    #[test]
    fn keep_pushes_children_first_then_the_original_index_bytes() {
        let gone = Digest::sha256_of(b"gone");
        let (g, child, root) = graph(std::slice::from_ref(&gone));
        let p = prepare(g, Reference::parse("t.io/x").unwrap(), SparsePolicy::Keep).unwrap();
        let order: Vec<&Digest> = p.manifests.iter().map(|(d, _, _)| d).collect();
        assert_eq!(
            order,
            vec![&child.digest, &root.digest],
            "children first, index last"
        );
        assert_eq!(
            p.manifests[1].2, root.bytes,
            "keep must push the index bytes unchanged"
        );
        assert_eq!(p.root, root.digest);
        assert!(
            !p.manifests.iter().any(|(d, _, _)| *d == gone),
            "an absent child is never pushed"
        );

        let (g, _, root) = graph(std::slice::from_ref(&gone));
        let p = prepare(g, Reference::parse("t.io/x").unwrap(), SparsePolicy::Strip).unwrap();
        assert_ne!(p.root, root.digest);
        assert_eq!(p.manifests.last().unwrap().0, p.root);
        assert!(!String::from_utf8_lossy(&p.manifests[1].2).contains(&gone.to_string()));
    }

    #[test]
    fn strip_removes_absent_children_and_keeps_order() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let idx = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"m","digest":"{a}","size":1}},{{"mediaType":"m","digest":"{b}","size":1}}],"annotations":{{"z":"1","a":"2"}}}}"#
        );
        let mut absent = BTreeMap::new();
        absent.insert(a.clone(), "linux/amd64".to_string());
        let out = strip_index(idx.as_bytes(), &absent, &BTreeMap::new())
            .unwrap()
            .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains(&a.to_string()) && s.contains(&b.to_string()));
        assert!(s.starts_with(r#"{"schemaVersion":2,"mediaType""#), "{s}");
        assert!(
            s.find("\"z\"").unwrap() < s.find("\"a\":\"2\"").unwrap(),
            "key order changed: {s}"
        );
        assert!(
            strip_index(idx.as_bytes(), &BTreeMap::new(), &BTreeMap::new())
                .unwrap()
                .is_none()
        );
    }
}
