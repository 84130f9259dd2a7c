//! `ferry export`: resolve, plan, then write one deterministic OCI-layout tar (DESIGN §3).
//! It uses `registry` and `layout` (and `inventory`'s file format for `--since-inventory`); it must
//! not import `import`, `verify` or `inspect`.

pub mod attached;
pub mod bounds;
mod error;
mod fetch;
mod gate;
mod memo;
pub mod plan;
mod probe;
mod rollback;
mod select;
pub mod since;
mod single;
mod write;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::chain;
use crate::layout::{index_json, INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE};
use crate::layout::{omitted::MAX_RECORD_SIZE, ANNOT_OMITTED};
use crate::platform::Platform;
use crate::progress::{human, Mode, Progress};
use crate::reference::Reference;
use crate::registry::Client;
use crate::sizes::{len64, saturating_total};
pub use attached::Discovery;
pub use error::{AbsentChild, BlobProblem, ExportError};
use plan::{ImagePlan, Role};
use write::{Layout, Source};

/// Where the bundle goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// A regular file (temporary file, then rename), or a device or FIFO (written in order).
    File(PathBuf),
    /// Sequential bytes to stdout (`-o -`); never a terminal.
    Stdout,
}

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub images: Vec<String>,
    pub output: Output,
    pub platforms: Vec<Platform>,
    pub strict_platforms: bool,
    /// Parallel blob downloads.
    pub jobs: usize,
    pub progress: Mode,
    /// Signatures, attestations, SBOMs and referrers to carry along.
    pub discovery: Discovery,
    /// Export the images that resolve even when others fail (the run still fails).
    pub keep_going: bool,
    /// Write parts of at most this many bytes (`NAME.000`, … and `NAME.parts.json`).
    pub split_size: Option<u64>,
    /// What the other side already has: its layers are left out (a differential bundle).
    pub since: Vec<since::Since>,
    /// `--require-signed`: every image must be signed as these options say, checked before
    /// the output exists.
    pub require_signed: Option<crate::sigstore::trust::TrustOptions>,
}

/// What an export did, for the summary line and `--json`.
#[derive(Debug, Serialize)]
pub struct ExportSummary {
    pub output: String,
    pub images: Vec<ImagePlan>,
    /// Signatures, attestations, SBOMs and referrers carried along.
    pub attached: Vec<String>,
    /// Images that failed under `--keep-going` (the command then exits 1).
    pub failed: Vec<String>,
    pub manifests: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub bundle_bytes: u64,
    /// Layers left out because the other side has them (`--since`), and their bytes.
    pub omitted_blobs: usize,
    pub omitted_bytes: u64,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// Runs an export.
pub fn export(client: &Client, opts: &ExportOptions) -> Result<ExportSummary, ExportError> {
    let start = Instant::now();
    if matches!(opts.output, Output::Stdout) && opts.split_size.is_some() {
        return Err(ExportError::SplitToStdout);
    }
    let mut refs: Vec<Reference> = Vec::new();
    for s in &opts.images {
        let r = Reference::parse(s)?.with_default_tag();
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    if refs.is_empty() {
        return Err(ExportError::NoImages);
    }
    let checker = match &opts.require_signed {
        Some(t) => Some(t.checker()?.ok_or(ExportError::RequireSignedHow)?),
        None => None,
    };
    let kind = write::check_output(&opts.output, opts.split_size)?;
    let held = since::Held::load(&opts.since)?;
    let note = Progress::new("export", 0, opts.progress);
    let (mut plan, failed) = probe::plan_all(client, opts, &refs, &note)?;
    if !failed.is_empty() && (!opts.keep_going || failed.len() == refs.len()) {
        return Err(ExportError::Failed(failed));
    }
    plan.settle();
    if let Some(c) = &checker {
        gate::check(client, &plan, c)?;
    }
    let mut warnings = Vec::new();
    for img in &plan.images {
        if !img.missing.is_empty() {
            if opts.strict_platforms {
                return Err(ExportError::MissingPlatforms {
                    image: img.reference.clone(),
                    missing: img.missing.clone(),
                    available: img.available.clone(),
                });
            }
            warnings.push(format!(
                "{} lacks platform(s) {}; exported {}",
                img.reference,
                img.missing.join(", "),
                img.platforms.join(", ")
            ));
        }
    }
    let mut annotations = std::collections::BTreeMap::new();
    let omitted = since::omit(&mut plan, &held);
    if let Some(record) = &omitted {
        let bytes = record.to_bytes();
        if bytes.len() as u64 > MAX_RECORD_SIZE {
            return Err(ExportError::RecordTooLarge {
                layers: record.blobs.len(),
                size: len64(bytes.len()),
                limit: MAX_RECORD_SIZE,
            });
        }
        let d = Digest::sha256_of(&bytes);
        annotations.insert(ANNOT_OMITTED.to_string(), d.to_string());
        plan.inline.insert(d, (Role::Config, bytes));
    }
    if !opts.since.is_empty() && omitted.is_none() {
        warnings.push(
            "--since: the other side has none of these layers; the bundle is complete".into(),
        );
    }
    let index = index_json(&plan.entries, &annotations);
    // Member order: layout files, then manifests, configs, layers, each by digest.
    let mut order: Vec<(Role, &Digest, u64, Source)> = Vec::new();
    for (d, (role, bytes)) in &plan.inline {
        order.push((*role, d, bytes.len() as u64, Source::Inline(bytes)));
    }
    for (d, b) in &plan.blobs {
        order.push((b.role, d, b.size, Source::Remote(b)));
    }
    order.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut entries: Vec<(String, u64)> = vec![
        (OCI_LAYOUT_FILE.into(), OCI_LAYOUT_CONTENT.len() as u64),
        (INDEX_FILE.into(), index.len() as u64),
    ];
    entries.extend(order.iter().map(|(_, d, size, _)| (d.layout_path(), *size)));
    let contents: Vec<Source> = [Source::Inline(OCI_LAYOUT_CONTENT), Source::Inline(&index)]
        .into_iter()
        .chain(order.into_iter().map(|o| o.3))
        .collect();
    // Every size is checked here, before a file is created or a blob fetched.
    let tar = bounds::lay_out(&entries, |i| match contents.get(i) {
        Some(Source::Remote(src)) => Some(*src),
        _ => None,
    })?;
    bounds::check_parts(tar.total, opts.split_size, &plan.blobs)?;
    let layout = Layout {
        tar,
        contents,
        fingerprint: write::fingerprint(&entries),
    };
    let remote_bytes = saturating_total(plan.blobs.values().map(|b| b.size));
    let progress = Progress::new("export", remote_bytes, opts.progress);
    let output_name = layout.write(
        client,
        &opts.output,
        kind,
        opts.split_size,
        opts.jobs,
        &progress,
    )?;
    progress.finish();
    let manifests = plan
        .inline
        .values()
        .filter(|(r, _)| *r == Role::Manifest)
        .count();
    let summary = ExportSummary {
        output: output_name,
        manifests,
        blobs: plan.blobs.len() + plan.inline.len() - manifests,
        bytes: remote_bytes.saturating_add(saturating_total(
            plan.inline.values().map(|(_, b)| len64(b.len())),
        )),
        bundle_bytes: layout.tar.total,
        omitted_blobs: omitted.as_ref().map_or(0, |r| r.blobs.len()),
        omitted_bytes: omitted.as_ref().map_or(0, |r| r.total_size()),
        images: plan.images,
        attached: plan.attached,
        failed: failed.iter().map(|e| chain(e)).collect(),
        seconds: start.elapsed().as_secs_f64(),
        warnings,
    };
    Ok(summary)
}

impl ExportSummary {
    /// One human line: images, platforms, blobs, bytes, time.
    pub fn line(&self) -> String {
        let platforms: usize = self.images.iter().map(|i| i.platforms.len().max(1)).sum();
        format!(
            "exported {} image(s) with {} attached artifact(s), {} platform manifest(s), {} manifests and {} blobs ({}) to {} in {:.1} s",
            self.images.len(),
            self.attached.len(),
            platforms,
            self.manifests,
            self.blobs,
            human(self.bytes),
            self.output,
            self.seconds
        ) + &if self.omitted_blobs > 0 {
            format!(
                "; left out {} layer(s) ({}) the other side has (io.ferry.omitted)",
                self.omitted_blobs,
                human(self.omitted_bytes)
            )
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod chain_tests;
