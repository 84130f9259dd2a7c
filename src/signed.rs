//! The signatures and attestations attached to a bundle's manifests, checked offline (DESIGN
//! §6) by [`crate::sigstore::image`]: cosign 2 `.sig` and `.att` entries (tagged
//! `sha256-<hex>.sig|.att` with `io.ferry.subject`) and sigstore bundles stored as referrers.
//! A manifest counts as validly signed when one of its signatures verifies, as in cosign; every
//! one found is reported with its result. `verify` reports it; [`gate`] is `--require-signed`
//! for export (over the bundle it is about to write, held in memory) and import. It uses
//! `layout` and `sigstore` only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::digest::Digest;
use crate::layout::graph::{Entries, Graph};
use crate::layout::reader::Bundle;
use crate::manifest::{Checked, MAX_MANIFEST_SIZE};
use crate::sigstore::image::{failed as invalid, Checker, Finding, Kind};

/// The signature state of one manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum SigStatus {
    /// A signature verified: by whom (keyless) and when, as a short text.
    Valid(String),
    /// Signatures exist, none of them verifies; the reason of the first.
    Invalid(String),
    Unsigned,
    /// Signed only in a format ferry does not check (notation).
    NotChecked(String),
    /// Signatures exist but no `--key` or identity was given.
    NoKey,
}

impl std::fmt::Display for SigStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigStatus::Valid(by) if by.is_empty() => write!(f, "signed, valid"),
            SigStatus::Valid(by) => write!(f, "signed, valid ({by})"),
            SigStatus::Invalid(r) => write!(f, "signed, INVALID ({r})"),
            SigStatus::Unsigned => write!(f, "unsigned"),
            SigStatus::NotChecked(what) => write!(f, "signed in a format not checked ({what})"),
            SigStatus::NoKey => write!(
                f,
                "signed, not checked (no --key or --certificate-identity)"
            ),
        }
    }
}

/// Each signed subject's state and what was found, and the invalid ones as
/// (signature entry, subject, reason).
pub struct Signatures {
    pub by_subject: BTreeMap<Digest, (SigStatus, Vec<Finding>)>,
    pub invalid: Vec<(String, Digest, String)>,
}

/// Why a cosign entry cannot count before its layers are read.
fn entry_problem(
    kind: Kind,
    tag: Option<&str>,
    subject: &Digest,
    in_bundle: &BTreeSet<Digest>,
) -> Option<String> {
    let suffix = match kind {
        Kind::CosignSignature => "sig",
        Kind::CosignAttestation => "att",
        _ => return None,
    };
    let expected_tag = format!("{}-{}.{suffix}", subject.algorithm().name(), subject.hex());
    if tag != Some(expected_tag.as_str()) {
        return Some(format!(
            "tag {} does not name the subject {subject}",
            tag.unwrap_or("(none)")
        ));
    }
    (!in_bundle.contains(subject))
        .then(|| format!("the signed manifest {subject} is not in the bundle"))
}

/// Reads a signature layer's bytes from the bundle, digest-checked.
pub fn from_bundle(bundle: &Bundle) -> impl Fn(&Checked) -> Result<Vec<u8>, String> + '_ {
    move |l: &Checked| match bundle.read_blob_verified(&l.digest, MAX_MANIFEST_SIZE) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(format!("layer {} is missing", l.digest)),
        Err(e) => Err(format!("layer {}: {e}", l.digest)),
    }
}

/// Finds every signature in the bundle and checks it with `checker` (None: found, not
/// checked), reading signature layers with `read` ([`from_bundle`], or a registry).
pub fn check_all(
    entries: &Entries,
    graphs: &[Graph],
    checker: Option<&Checker>,
    read: &dyn Fn(&Checked) -> Result<Vec<u8>, String>,
) -> Signatures {
    let in_bundle: BTreeSet<Digest> = graphs
        .iter()
        .flat_map(|g| g.nodes.iter().map(|n| n.digest.clone()))
        .collect();
    let mut found: BTreeMap<Digest, Vec<Finding>> = BTreeMap::new();
    for (e, g) in entries.entries.iter().zip(graphs) {
        let Some(subject) = &e.subject else { continue };
        let artifact_type = e
            .artifact_type()
            .map(str::to_string)
            .or_else(|| g.root().and_then(|r| artifact_type_of(&r.bytes)));
        let Some(kind) = Kind::of(e.tag(), artifact_type.as_deref()) else {
            continue;
        };
        let findings = match (checker, entry_problem(kind, e.tag(), subject, &in_bundle)) {
            (None, _) => {
                let why = if kind.checkable() {
                    "not checked: no --key or --certificate-identity"
                } else {
                    "format not checked"
                };
                vec![invalid(kind, &e.name, why.to_string())]
            }
            (Some(_), Some(problem)) => vec![invalid(kind, &e.name, problem)],
            (Some(c), None) => match g.root() {
                None => vec![invalid(
                    kind,
                    &e.name,
                    "the signature manifest cannot be read".into(),
                )],
                Some(root) => c.check(kind, &e.name, &root.layers, subject, &mut |l| read(l)),
            },
        };
        found.entry(subject.clone()).or_default().extend(findings);
    }
    let mut out = Signatures {
        by_subject: BTreeMap::new(),
        invalid: Vec::new(),
    };
    for (subject, findings) in found {
        let status = status_of(checker.is_some(), &findings);
        if let SigStatus::Invalid(reason) = &status {
            let first = findings.iter().find(|f| f.kind.checkable() && !f.verified);
            out.invalid.push((
                first.map(|f| f.entry.clone()).unwrap_or_default(),
                subject.clone(),
                reason.clone(),
            ));
        }
        out.by_subject.insert(subject, (status, findings));
    }
    out
}

/// A manifest's state from what was found on it: valid when one verifies (as cosign counts).
pub fn status_of(checked: bool, findings: &[Finding]) -> SigStatus {
    let checkable: Vec<&Finding> = findings.iter().filter(|f| f.kind.checkable()).collect();
    if checkable.is_empty() {
        return SigStatus::NotChecked("notation signature".into());
    }
    if !checked {
        return SigStatus::NoKey;
    }
    if let Some(v) = checkable.iter().find(|f| f.verified) {
        return SigStatus::Valid(summary(v));
    }
    SigStatus::Invalid(checkable[0].reason.clone().unwrap_or_default())
}

/// `keyless: ID (ISSUER) at TIME` for a keyless signature; empty for a key one.
fn summary(f: &Finding) -> String {
    let mut s = match (&f.identity, &f.issuer) {
        (Some(id), Some(iss)) => format!("keyless: {id} ({iss})"),
        (Some(id), None) => format!("keyless: {id}"),
        _ => String::new(),
    };
    if let (Some(t), false) = (&f.signing_time, s.is_empty()) {
        s.push_str(&format!(" at {t}"));
    }
    s
}

fn artifact_type_of(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("artifactType")?.as_str().map(str::to_string)
}

/// An image `--require-signed` refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub image: String,
    pub digest: Digest,
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.image, self.digest, self.reason)
    }
}

/// `--require-signed`: every image (an entry without `io.ferry.subject`) must have a
/// signature over its own manifest that verifies with `checker`, and no manifest of it a
/// signature that is invalid. Returns the images refused.
pub fn gate(
    entries: &Entries,
    graphs: &[Graph],
    checker: &Checker,
    read: &dyn Fn(&Checked) -> Result<Vec<u8>, String>,
) -> Vec<Refused> {
    let sigs = check_all(entries, graphs, Some(checker), read);
    let mut refused = Vec::new();
    for (e, g) in entries.entries.iter().zip(graphs) {
        if e.subject.is_some() {
            continue;
        }
        let root = &e.descriptor.digest;
        let reason = match sigs.by_subject.get(root).map(|(s, _)| s) {
            Some(SigStatus::Valid(_)) => {
                g.nodes
                    .iter()
                    .find_map(|n| match sigs.by_subject.get(&n.digest) {
                        Some((SigStatus::Invalid(r), _)) => Some(format!(
                            "the signature on {} {} is INVALID: {r}",
                            n.platform
                                .as_ref()
                                .map_or("manifest".to_string(), |p| p.to_string()),
                            n.digest
                        )),
                        _ => None,
                    })
            }
            Some(SigStatus::Invalid(r)) => Some(format!("its signature is INVALID: {r}")),
            Some(SigStatus::NotChecked(what)) => Some(format!(
                "signed only in a format ferry does not check ({what})"
            )),
            Some(SigStatus::NoKey) | Some(SigStatus::Unsigned) | None => {
                Some("unsigned: no signature or attestation over its manifest".to_string())
            }
        };
        if let Some(reason) = reason {
            refused.push(Refused {
                image: g.image.clone(),
                digest: root.clone(),
                reason,
            });
        }
    }
    refused
}
