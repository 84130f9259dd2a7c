//! `ferry verify`: an offline check of a bundle (DESIGN §1, §2, §6). Every member under
//! `blobs/` must hash to its name; every descriptor reachable from `index.json` must resolve
//! with its size, except the children a sparse entry (`io.ferry.platforms`) left out on
//! purpose. `--deep` also checks layers against their configs' `rootfs.diff_ids`; `--key`
//! checks cosign signatures. Problems are collected, not stopped at: the report lists them all.
//! It uses `layout` only: verify is offline and must never import `registry`.

pub mod deep;
pub mod hash;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::chain;
use crate::layout::graph::{read_entries, walk, Graph, GraphError, Role};
use crate::layout::reader::Bundle;
use crate::layout::{LayoutError, OCI_LAYOUT_FILE};
use crate::progress::{Mode, Progress};
pub use crate::signed::SigStatus;
use crate::sigstore::image::Finding;
use crate::sigstore::trust::{TrustError, TrustOptions};
pub use deep::DeepReport;
pub use hash::HashStats;

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// A `.tar`, a `.tar.gz` or a layout directory.
    pub bundle: PathBuf,
    /// Also uncompress layers and compare with `rootfs.diff_ids`.
    pub deep: bool,
    /// What signatures must verify against (`--key`, or keyless identity and trust root).
    pub trust: TrustOptions,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    pub progress: Mode,
    /// Platforms absent without a record that it was deliberate (a foreign sparse index) are
    /// errors instead of warnings.
    pub strict: bool,
}

/// Why verification could not run at all (a bundle with problems is a report, not an error).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// A manifest's signature state, reported per image and per signed manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestSignature {
    pub digest: Digest,
    /// `index`, `manifest`, or the platform (`linux/amd64`).
    pub what: String,
    pub signature: SigStatus,
    /// Every signature and attestation found on it, with its result.
    pub found: Vec<Finding>,
}

/// One exported image (an `index.json` entry without `io.ferry.subject`).
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    pub reference: String,
    pub digest: Digest,
    pub media_type: String,
    /// No problem was found in its graph, blobs or signatures.
    pub ok: bool,
    /// Children left out on purpose: `linux/arm64/v8 sha256:…`.
    pub absent: Vec<String>,
    /// Children absent without a record that it was deliberate (another tool's sparse index).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub absent_unrecorded: Vec<String>,
    /// Layers a differential bundle left out on purpose: `sha256:… (N bytes)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<String>,
    /// The image's own manifest first, then each other signed manifest.
    pub signatures: Vec<ManifestSignature>,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub bundle: String,
    /// True when nothing is corrupt, missing or invalid.
    pub ok: bool,
    pub hashing: HashStats,
    pub images: Vec<ImageReport>,
    /// Entries attached to others (signatures, attestations, SBOMs, referrers).
    pub attached: usize,
    pub deep: Option<DeepReport>,
    /// A differential bundle's record of the layers it left out (`io.ferry.omitted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<crate::layout::omitted::Summary>,
    /// The key signatures were checked with.
    pub key: Option<String>,
    /// The keyless identity and issuer signatures were checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Every problem, one message each, naming the image and the digest or member.
    pub problems: Vec<String>,
    /// What is not an error but should be known: platforms a foreign writer left out without
    /// recording it.
    pub warnings: Vec<String>,
}

fn threads(jobs: usize) -> usize {
    if jobs > 0 {
        return jobs;
    }
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// No progress lines for bundles read in a moment.
fn mode_for(total: u64, asked: Mode) -> Mode {
    if total < 256 << 20 {
        Mode::Quiet
    } else {
        asked
    }
}

fn check_oci_layout(bundle: &Bundle, problems: &mut Vec<(String, String)>) {
    let mut bad = |m: String| problems.push((String::new(), m));
    match bundle.read_member(OCI_LAYOUT_FILE, 4096) {
        Ok(Some(b)) => {
            let v: Option<serde_json::Value> = serde_json::from_slice(&b).ok();
            if v.as_ref()
                .and_then(|v| v.get("imageLayoutVersion"))
                .and_then(|x| x.as_str())
                .is_none()
            {
                bad(format!(
                    "{OCI_LAYOUT_FILE} is not {{\"imageLayoutVersion\": \"…\"}}"
                ));
            }
        }
        Ok(None) => bad(format!(
            "{OCI_LAYOUT_FILE} is missing: this is not an OCI image layout"
        )),
        Err(e) => bad(chain(&e)),
    }
}

/// Which images use each blob, for messages about members.
fn users(graphs: &[Graph]) -> BTreeMap<Digest, Vec<(String, Role)>> {
    let mut out: BTreeMap<Digest, Vec<(String, Role)>> = BTreeMap::new();
    for g in graphs {
        for (d, (_, role)) in &g.blobs {
            let v = out.entry(d.clone()).or_default();
            if !v.iter().any(|(i, _)| *i == g.image) {
                v.push((g.image.clone(), *role));
            }
        }
    }
    out
}

/// Runs every check and returns the report; Err only when the bundle cannot be read at all.
pub fn verify(opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let checker = opts.trust.checker()?;
    let bundle = Bundle::open(&opts.bundle)?;
    let entries = read_entries(&bundle)?;
    let threads = threads(opts.jobs);
    // (image it concerns, message); the image is empty for bundle-wide problems.
    let mut problems: Vec<(String, String)> = Vec::new();
    check_oci_layout(&bundle, &mut problems);
    problems.extend(entries.problems.iter().map(|p| (String::new(), p.clone())));
    let graphs: Vec<Graph> = entries.entries.iter().map(|e| walk(&bundle, e)).collect();
    let mut warnings = Vec::new();
    for g in &graphs {
        problems.extend(g.problems.iter().map(|p| (g.image.clone(), p.clone())));
        let unrecorded: Vec<String> = g
            .absent
            .iter()
            .filter(|a| !a.recorded)
            .map(|a| describe_absent(g, a))
            .collect();
        if !unrecorded.is_empty() {
            let msg = format!("{}: {} absent from the bundle, not recorded as deliberate by the tool that wrote it (no io.ferry.platforms); everything present is checked{}", g.image, unrecorded.join(", "), if opts.strict { "; --strict makes this an error" } else { "" });
            if opts.strict {
                problems.push((g.image.clone(), msg));
            } else {
                warnings.push(msg);
            }
        }
    }

    let members = bundle.blob_members()?;
    let total = members.iter().map(|m| m.size).sum();
    let progress = Progress::new("verify", total, mode_for(total, opts.progress));
    let (hashing, findings) = hash::hash_all(&bundle, &members, threads, &progress);
    progress.finish();
    let users = users(&graphs);
    for f in findings {
        let used = f.digest.as_ref().and_then(|d| users.get(d));
        let by = used.map_or("not used by any image".to_string(), |u| {
            let list: Vec<String> = u
                .iter()
                .map(|(i, r)| format!("{} of {i}", r.name()))
                .collect();
            format!("the {}", list.join(", the "))
        });
        let msg = format!("member {} ({by}): {}", f.member, f.detail);
        match used {
            Some(u) => problems.extend(u.iter().map(|(i, _)| (i.clone(), msg.clone()))),
            None => problems.push((String::new(), msg)),
        }
    }

    let deep = opts.deep.then(|| {
        let (report, p) = deep::check(&bundle, &graphs, threads, |total| {
            Progress::new("verify --deep", total, mode_for(total, opts.progress))
        });
        problems.extend(p);
        report
    });

    let sigs = crate::signed::check_all(
        &entries,
        &graphs,
        checker.as_ref(),
        &crate::signed::from_bundle(&bundle),
    );
    for (name, subject, reason) in &sigs.invalid {
        let image = graphs
            .iter()
            .zip(&entries.entries)
            .find(|(g, e)| e.subject.is_none() && g.nodes.iter().any(|n| n.digest == *subject))
            .map_or(name.clone(), |(g, _)| g.image.clone());
        problems.push((
            image.clone(),
            format!("{image}: signature {name} over {subject} is INVALID: {reason}"),
        ));
    }

    let bad_images: BTreeSet<&str> = problems.iter().map(|(i, _)| i.as_str()).collect();
    let mut images = Vec::new();
    for (e, g) in entries.entries.iter().zip(&graphs) {
        if e.subject.is_some() {
            continue;
        }
        images.push(image_report(
            e.descriptor.digest.clone(),
            g,
            &sigs.by_subject,
            &bad_images,
        ));
    }
    let mut seen = BTreeSet::new();
    let problems: Vec<String> = problems
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    Ok(VerifyReport {
        bundle: opts.bundle.display().to_string(),
        ok: problems.is_empty(),
        hashing,
        images,
        attached: entries
            .entries
            .iter()
            .filter(|e| e.subject.is_some())
            .count(),
        deep,
        omitted: crate::layout::omitted::Summary::of(&bundle),
        key: opts.trust.key.as_ref().map(|k| k.display().to_string()),
        identity: match (&opts.trust.identity, &opts.trust.issuer) {
            (Some(id), Some(iss)) => Some(format!("{id} from {iss}")),
            _ => None,
        },
        problems,
        warnings,
    })
}

/// `linux/arm64 sha256:…`, `attestation of linux/amd64 sha256:…`: an absent child, for
/// messages.
fn describe_absent(g: &Graph, a: &crate::layout::graph::Absent) -> String {
    let platform_of = |d: &str| {
        let nodes = g.nodes.iter().map(|n| (&n.digest, &n.platform));
        let absent = g.absent.iter().map(|n| (&n.digest, &n.platform));
        nodes
            .chain(absent)
            .find(|(x, _)| x.to_string() == d)
            .and_then(|(_, p)| p.as_ref().map(|p| p.to_string()))
    };
    let what = match (&a.attests, &a.platform) {
        (Some(d), _) => match platform_of(d) {
            Some(p) => format!("attestation of {p}"),
            None => "attestation".to_string(),
        },
        (None, Some(p)) => p.to_string(),
        (None, None) => "child".to_string(),
    };
    format!("{what} {}", a.digest)
}

fn image_report(
    digest: Digest,
    g: &Graph,
    sigs: &BTreeMap<Digest, (SigStatus, Vec<Finding>)>,
    bad_images: &BTreeSet<&str>,
) -> ImageReport {
    let media_type = g.root().map(|r| r.media_type.clone()).unwrap_or_default();
    let mut signatures = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let status = sigs.get(&n.digest).cloned();
        if i > 0 && status.is_none() {
            continue;
        }
        let what = match (&n.platform, &n.attests, n.is_index) {
            (_, Some(_), _) => "attestation".to_string(),
            (Some(p), _, _) => p.to_string(),
            (None, _, true) => "index".to_string(),
            (None, _, false) => "manifest".to_string(),
        };
        signatures.push(ManifestSignature {
            digest: n.digest.clone(),
            what,
            signature: status
                .as_ref()
                .map_or(SigStatus::Unsigned, |(s, _)| s.clone()),
            found: status.map(|(_, f)| f).unwrap_or_default(),
        });
    }
    let (recorded, unrecorded): (Vec<_>, Vec<_>) = g.absent.iter().partition(|a| a.recorded);
    let absent = recorded.iter().map(|a| describe_absent(g, a)).collect();
    let absent_unrecorded = unrecorded.iter().map(|a| describe_absent(g, a)).collect();
    ImageReport {
        reference: g.image.clone(),
        digest,
        media_type,
        ok: !bad_images.contains(g.image.as_str()),
        absent,
        absent_unrecorded,
        omitted: g
            .omitted
            .iter()
            .map(|(d, size)| format!("{d} ({size} bytes)"))
            .collect(),
        signatures,
    }
}
