//! `ferry import`: check a bundle, map names one to one, push children first (DESIGN §4, §7).
//! It uses `layout`, `registry` and `mapping`; it must not import `export`, `verify` or `inspect`.

mod error;
mod manifests;
mod omitted;
mod pipe;
mod plan;
mod push;
mod readback;
mod referrers;
mod refusals;
mod sparse;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::Boxed;
use crate::layout::reader::Bundle;
use crate::mapping::Mapper;
pub use crate::mapping::MappingChoice;
use crate::progress::{human, Mode, Progress};
use crate::reference::Reference;
use crate::registry::{Client, RegistryError};
use crate::sigstore::trust::TrustOptions;
pub use error::{ImportError, MissingLayer, Unnamed, Unserved};
pub use plan::{read_plan, ImageGraph};
pub use push::BlobStats;
use push::BlobWork;
pub use sparse::{SparsePolicy, SparseRefusal};

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub bundle: PathBuf,
    /// Target prefix: `reg.local/team`.
    pub to: String,
    pub mapping: MappingChoice,
    pub sparse: SparsePolicy,
    pub dry_run: bool,
    /// Where to write `relocation-mapping.json` (default: the working directory).
    pub mapping_out: Option<PathBuf>,
    /// Repository for entries that carry only a tag (bundles written by skopeo).
    pub name: Option<String>,
    pub no_overwrite: bool,
    pub jobs: usize,
    pub chunk_size: Option<u64>,
    pub progress: Mode,
    /// `--require-signed`: every image must be signed as these options say, checked before
    /// anything is pushed.
    pub require_signed: Option<TrustOptions>,
}

/// A tag that pointed elsewhere before the import.
#[derive(Debug, Clone, Serialize)]
pub struct MovedTag {
    pub reference: String,
    pub old: Digest,
    pub new: Digest,
}

/// What an import did.
#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub mapping: BTreeMap<String, String>,
    pub mapping_file: Option<String>,
    pub images: usize,
    pub manifests: usize,
    pub blobs: BlobStats,
    pub moved_tags: Vec<MovedTag>,
    /// Manifests and tags read back after the push, each serving the digest pushed.
    pub read_back: usize,
    /// Layers a differential bundle left out that its images use (checked in the target).
    pub omitted: usize,
    pub dry_run: bool,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

impl ImportSummary {
    /// One human line.
    pub fn line(&self) -> String {
        let verb = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        format!(
            "{verb} {} image(s): {} manifests{}; blobs {} uploaded ({}), {} mounted, {} already there; {:.1} s",
            self.images,
            self.manifests,
            if self.read_back > 0 {
                format!(" ({} manifests and tags read back)", self.read_back)
            } else {
                String::new()
            },
            self.blobs.uploaded,
            human(self.blobs.uploaded_bytes),
            self.blobs.mounted,
            self.blobs.existing,
            self.seconds
        )
    }
}

fn registry_err(image: &str, e: RegistryError) -> ImportError {
    ImportError::Registry {
        image: image.to_string(),
        cause: Boxed::new(e),
    }
}

/// An image ready to push: its target and the manifests to PUT (children first).
struct Prepared {
    graph: ImageGraph,
    target: Reference,
    manifests: Vec<(Digest, String, Vec<u8>)>,
    root: Digest,
    /// 0 for images, 1 for what is attached to them, and so on.
    depth: usize,
}

/// Pushes the blobs of a plan, however the bundle delivers them.
pub(crate) type BlobPusher<'a> =
    dyn FnMut(&[BlobWork], &Progress) -> Result<BlobStats, ImportError> + 'a;

/// Runs an import (`-` reads a tar from standard input).
pub fn import(client: &Client, opts: &ImportOptions) -> Result<ImportSummary, ImportError> {
    if !opts.dry_run {
        crate::layout::output::check(&mapping_path(opts))?;
    }
    let checker = match &opts.require_signed {
        Some(t) => Some(t.checker()?.ok_or(ImportError::RequireSignedHow)?),
        None => None,
    };
    if opts.bundle.as_os_str() == "-" {
        if checker.is_some() {
            return Err(ImportError::RequireSignedPipe);
        }
        return pipe::import_stdin(client, opts);
    }
    Progress::new("import", 0, opts.progress).note(&format!("checking {}", opts.bundle.display()));
    let bundle = Bundle::open(&opts.bundle)?;
    if let Some(c) = &checker {
        let entries = crate::layout::graph::read_entries(&bundle).map_err(ImportError::Graph)?;
        let graphs: Vec<_> = entries
            .entries
            .iter()
            .map(|e| crate::layout::graph::walk(&bundle, e))
            .collect();
        let refused =
            crate::signed::gate(&entries, &graphs, c, &crate::signed::from_bundle(&bundle));
        if !refused.is_empty() {
            return Err(ImportError::Unsigned(refused));
        }
    }
    run(client, opts, &bundle, &mut |work, progress| {
        if bundle.is_streaming() {
            push::push_blobs_streaming(client, &bundle, work, opts.chunk_size, progress)
        } else {
            push::push_blobs(client, &bundle, work, opts.jobs, opts.chunk_size, progress)
        }
    })
}

/// Checks, maps and pushes an opened bundle; `push_blobs` moves the blob bytes.
fn run(
    client: &Client,
    opts: &ImportOptions,
    bundle: &Bundle,
    push_blobs: &mut BlobPusher,
) -> Result<ImportSummary, ImportError> {
    let start = Instant::now();
    let graphs = plan::read_plan(bundle, opts.name.as_deref())?;
    let mapper = Mapper::from_choice(&opts.to, &opts.mapping)?;
    let targets = mapper.check_all(graphs.iter().map(|g| &g.reference))?;
    let mut prepared = Vec::new();
    let mut mapping = BTreeMap::new();
    let mut warnings = Vec::new();
    for g in graphs {
        let repo = targets
            .get(&g.reference.name())
            .ok_or_else(|| ImportError::NoTarget {
                reference: g.reference.to_string(),
            })?;
        let target = Reference::parse(repo).map_err(|source| ImportError::Target {
            repository: repo.clone(),
            source,
        })?;
        if g.sparse.is_none() && !g.absent.is_empty() {
            let absent: Vec<&str> = g.absent.values().map(String::as_str).collect();
            warnings.push(format!("{}: {} absent from the bundle, not recorded as deliberate by the tool that wrote it (no {}); --sparse {} applies", g.recorded, absent.join(", "), crate::layout::ANNOT_PLATFORMS, opts.sparse.name()));
        }
        let p = sparse::prepare(g, target, opts.sparse)?;
        if p.root != p.graph.root.digest {
            warnings.push(format!("{}: --sparse strip pushed a new index {} for {}; signatures over the original index {} will not verify", p.graph.recorded, p.root, p.target.name(), p.graph.root.digest));
        }
        if p.graph.subject.is_none() {
            record_mapping(&mut mapping, &mapper, &p)?;
        }
        prepared.push(p);
    }
    manifests::order_attached(&mut prepared);
    let manifests: usize = prepared.iter().map(|p| p.manifests.len()).sum();
    let mut summary = ImportSummary {
        mapping,
        mapping_file: None,
        images: prepared.len(),
        manifests,
        blobs: BlobStats::default(),
        moved_tags: Vec::new(),
        read_back: 0,
        omitted: omitted::count(&prepared),
        dry_run: opts.dry_run,
        seconds: 0.0,
        warnings,
    };
    if opts.dry_run {
        summary.seconds = start.elapsed().as_secs_f64();
        return Ok(summary);
    }
    let mounts = omitted::check(client, bundle, &mapper, &prepared, opts.jobs)?;
    summary.moved_tags = check_tags(client, &prepared, opts.no_overwrite)?;
    let before = omitted::mount(client, &mounts, opts.jobs)?;
    let mut work = blob_work(&prepared);
    for w in &mut work {
        w.location = bundle.part_note(&w.digest.layout_path());
    }
    let total = crate::sizes::saturating_total(work.iter().map(|w| w.size));
    let progress = Progress::new("import", total, opts.progress);
    summary.blobs = omitted::add(push_blobs(&work, &progress)?, before);
    progress.finish();
    let pending = manifests::push_all_manifests(client, &prepared, opts.jobs)?;
    let fallback = referrers::update_fallback_tags(client, &pending)?;
    let pushed = readback::pushed(&prepared, fallback);
    summary.read_back = readback::read_back(client, &pushed, opts.jobs)?;
    summary.mapping_file = Some(write_mapping(opts, &summary.mapping)?);
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

fn record_mapping(
    mapping: &mut BTreeMap<String, String>,
    mapper: &Mapper,
    p: &Prepared,
) -> Result<(), ImportError> {
    let relocated = mapper.relocate(&p.graph.reference)?;
    if p.root == p.graph.root.digest {
        mapping.insert(p.graph.recorded.clone(), relocated);
        return Ok(());
    }
    // A stripped index has a new digest: the values carry it (DESIGN §4.5).
    let new_ref = p.target.with_digest(&p.root);
    let value = match &p.graph.reference.tag {
        Some(t) => format!("{}:{t}@{}", p.target.name(), p.root),
        None => new_ref.to_string(),
    };
    mapping.insert(p.graph.recorded.clone(), value);
    mapping.insert(
        p.graph
            .reference
            .with_digest(&p.graph.root.digest)
            .to_string(),
        new_ref.to_string(),
    );
    Ok(())
}

fn blob_work(prepared: &[Prepared]) -> Vec<BlobWork> {
    let mut by_digest: BTreeMap<Digest, BlobWork> = BTreeMap::new();
    for p in prepared {
        for (d, size) in &p.graph.blobs {
            let w = by_digest.entry(d.clone()).or_insert_with(|| BlobWork {
                digest: d.clone(),
                size: *size,
                repos: Vec::new(),
                image: p.graph.recorded.clone(),
                location: String::new(),
            });
            if !w.repos.contains(&p.target) {
                w.repos.push(p.target.clone());
            }
        }
    }
    by_digest.into_values().collect()
}

/// Tags that already point elsewhere: listed, or refused up front with `--no-overwrite`.
fn check_tags(
    client: &Client,
    prepared: &[Prepared],
    no_overwrite: bool,
) -> Result<Vec<MovedTag>, ImportError> {
    let mut moved = Vec::new();
    for p in prepared {
        let Some(tag) = &p.graph.reference.tag else {
            continue;
        };
        let r = p.target.with_tag(tag);
        if let Some(old) = client
            .head_manifest(&r)
            .map_err(|e| registry_err(&p.graph.recorded, e))?
        {
            if old != p.root {
                moved.push(MovedTag {
                    reference: r.to_string(),
                    old,
                    new: p.root.clone(),
                });
            }
        }
    }
    if no_overwrite && !moved.is_empty() {
        return Err(ImportError::Overwrite(moved));
    }
    Ok(moved)
}

/// `--mapping-out`, else `relocation-mapping.json` in the working directory.
fn mapping_path(opts: &ImportOptions) -> PathBuf {
    opts.mapping_out
        .clone()
        .unwrap_or_else(|| PathBuf::from("relocation-mapping.json"))
}

fn write_mapping(
    opts: &ImportOptions,
    mapping: &BTreeMap<String, String>,
) -> Result<String, ImportError> {
    let path = mapping_path(opts);
    let err = |source: std::io::Error| ImportError::MappingFile {
        path: path.clone(),
        source,
    };
    let mut bytes = serde_json::to_vec_pretty(mapping).map_err(|e| err(e.into()))?;
    bytes.push(b'\n');
    crate::layout::writer::write_atomically(&path, &bytes).map_err(err)?;
    Ok(path.display().to_string())
}
