//! Putting a planned tar somewhere: a regular file gets positional writes from the worker pool
//! into a temporary file that is renamed at the end (with a journal, to resume after a crash);
//! stdout, devices and FIFOs get the same bytes in order (DESIGN §3.4–5).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::plan::BlobSource;
use super::{fetch, ExportError, Output};
use crate::digest::Digest;
use crate::layout::output::{self, OutputKind};
use crate::layout::stream::StreamOutput;
use crate::layout::tar::TarPlan;
use crate::layout::writer::TempOutput;
use crate::progress::Progress;
use crate::registry::Client;

/// A member's content: already in memory, or still in a registry.
pub(super) enum Source<'a> {
    Inline(&'a [u8]),
    Remote(&'a BlobSource),
}

/// The planned tar and what goes into each member, in order.
pub(super) struct Layout<'a> {
    pub tar: TarPlan,
    pub contents: Vec<Source<'a>>,
    /// Identifies the plan: a crashed run's temporary file is reused only for the same one.
    pub fingerprint: String,
}

/// Identifies a tar plan from its member names and sizes.
pub(super) fn fingerprint(entries: &[(String, u64)]) -> String {
    let mut text = String::new();
    for (name, size) in entries {
        text.push_str(&format!("{name} {size}\n"));
    }
    format!("ferry-plan-v1 {}", Digest::sha256_of(text.as_bytes()))
}

/// Checks the output before any network call: how a file path is written, that its directory
/// is usable, and that no terminal or device would receive what cannot go there.
pub(super) fn check_output(out: &Output, split: Option<u64>) -> Result<OutputKind, ExportError> {
    match out {
        Output::File(p) => {
            let kind = output::check(p)?;
            if kind == OutputKind::InPlace && split.is_some() {
                return Err(crate::layout::LayoutError::OutputPath {
                    path: p.clone(),
                    problem: crate::layout::OutputProblem::SplitInPlace,
                }
                .into());
            }
            Ok(kind)
        }
        Output::Stdout => {
            output::refuse_terminal(&std::io::stdout(), None)?;
            Ok(OutputKind::InPlace)
        }
    }
}

/// A member an interrupted run wrote: kept only when its bytes still hash to its digest.
fn resumed_ok(out: &TempOutput, offset: u64, src: &BlobSource) -> Result<bool, ExportError> {
    if !out.resumed.contains(&src.digest.to_string()) {
        return Ok(false);
    }
    let mut h = crate::digest::Hasher::new(src.digest.algorithm());
    out.read_back(offset, src.size, &mut |b| h.update(b))?;
    let ok = h.finish() == src.digest;
    if ok {
        out.record(&src.digest.to_string())?;
    }
    Ok(ok)
}

impl Layout<'_> {
    /// Writes the bundle to `out` as `check_output` classified it; returns its name for the
    /// summary.
    pub fn write(
        &self,
        client: &Client,
        out: &Output,
        kind: OutputKind,
        split: Option<u64>,
        jobs: usize,
        progress: &Progress,
    ) -> Result<String, ExportError> {
        match out {
            Output::File(p) if kind == OutputKind::InPlace => {
                let file = output::open_in_place(p)?;
                output::refuse_terminal(&file, Some(p))?;
                let mut w = StreamOutput::new(BufWriter::with_capacity(1 << 20, file), p);
                self.stream(client, &mut w, progress)?;
                Ok(p.display().to_string())
            }
            Output::File(p) => self.to_file(client, p, split, jobs, progress),
            Output::Stdout => {
                let stdout = std::io::stdout();
                let mut w = StreamOutput::new(
                    BufWriter::with_capacity(1 << 20, stdout.lock()),
                    Path::new("<stdout>"),
                );
                self.stream(client, &mut w, progress)?;
                Ok("-".into())
            }
        }
    }

    /// Positional writes into a temporary file (parts with `split`), renamed when all checked.
    fn to_file(
        &self,
        client: &Client,
        p: &Path,
        split: Option<u64>,
        jobs: usize,
        progress: &Progress,
    ) -> Result<String, ExportError> {
        let out = TempOutput::create(p, self.tar.total, &self.fingerprint, split)?;
        let mut remote = Vec::new();
        let mut blobs = 0;
        for (m, c) in self.tar.members.iter().zip(&self.contents) {
            out.write_at(m.header_offset, &m.header)?;
            match c {
                Source::Inline(b) => out.write_at(m.data_offset, b)?,
                Source::Remote(src) => {
                    blobs += 1;
                    if resumed_ok(&out, m.data_offset, src)? {
                        progress.add(src.size);
                    } else {
                        remote.push((m.data_offset, *src));
                    }
                }
            }
        }
        if !out.resumed.is_empty() {
            progress.note(&format!(
                "resuming: {} of {blobs} blobs were already written by an interrupted run",
                blobs - remote.len(),
            ));
        }
        fetch::fetch_all(client, &remote, &out, jobs, progress)?;
        let parts = out.part_count();
        out.commit()?;
        Ok(if split.is_some() {
            format!(
                "{} ({parts} parts and {}.parts.json)",
                p.display(),
                p.display()
            )
        } else {
            p.display().to_string()
        })
    }

    /// The same bytes in order, one blob after the other (stdout, a device, a FIFO).
    fn stream<W: Write>(
        &self,
        client: &Client,
        w: &mut StreamOutput<W>,
        progress: &Progress,
    ) -> Result<(), ExportError> {
        let stop = AtomicBool::new(false);
        for (m, c) in self.tar.members.iter().zip(&self.contents) {
            w.pad_to(m.header_offset)?;
            w.write(&m.header)?;
            match c {
                Source::Inline(b) => w.write(b)?,
                Source::Remote(src) => {
                    let mut sink = |_: u64, b: &[u8]| w.write(b).map_err(ExportError::Layout);
                    fetch::download(client, src, progress, &stop, &mut sink)?;
                }
            }
        }
        w.pad_to(self.tar.total)?;
        w.flush()?;
        Ok(())
    }
}
