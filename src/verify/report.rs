//! The human-readable form of a verify report. Problems are not in it: the binary prints them
//! on stderr, one `error:` line each. Names, types and reasons that come from the bundle are
//! escaped (DESIGN §1), so none can start a line of its own ("verify: OK").

use std::fmt::Write;

use super::VerifyReport;
use crate::progress::human;
use crate::text::escape;

impl VerifyReport {
    /// The report as text, one fact per line, ending with the verdict.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let h = &self.hashing;
        let _ = writeln!(s, "bundle: {}", self.bundle);
        let how = if h.hashed_when_opened {
            "hashed while reading the .tar.gz".to_string()
        } else {
            format!(
                "hashed in {:.2} s, {:.0} MiB/s on {} thread(s)",
                h.seconds, h.mib_per_s, h.threads
            )
        };
        let _ = writeln!(
            s,
            "blobs: {} members, {} ({how})",
            h.members,
            human(h.bytes)
        );
        if let Some(d) = &self.deep {
            let _ = writeln!(
                s,
                "deep: {} layer(s), {} compressed, uncompressed and compared with rootfs.diff_ids ({:.2} s)",
                d.layers_checked,
                human(d.bytes),
                d.seconds
            );
            for n in &d.not_checked {
                let _ = writeln!(
                    s,
                    "  not checked: {} layer {} ({}): {}",
                    escape(&n.image),
                    n.layer,
                    escape(&n.media_type),
                    escape(&n.reason)
                );
            }
        }
        if let Some(o) = &self.omitted {
            let _ = writeln!(s, "{}", o.line());
        }
        if let Some(k) = &self.key {
            let _ = writeln!(s, "key: {k}");
        }
        if let Some(id) = &self.identity {
            let _ = writeln!(s, "keyless identity: {}", escape(id));
        }
        for i in &self.images {
            let verdict = if i.ok { "ok" } else { "PROBLEMS" };
            let reference = escape(&i.reference);
            let _ = writeln!(s, "image {reference}  {}  {verdict}", i.digest);
            for a in &i.absent {
                let _ = writeln!(s, "  absent on purpose: {}", escape(a));
            }
            for a in &i.absent_unrecorded {
                let _ = writeln!(s, "  absent, not recorded as deliberate: {}", escape(a));
            }
            for o in &i.omitted {
                let _ = writeln!(s, "  layer omitted on purpose (differential): {o}");
            }
            for m in &i.signatures {
                let (what, signature) = (escape(&m.what), escape(&m.signature.to_string()));
                let _ = writeln!(s, "  {what} {}: {signature}", m.digest);
                if self.key.is_none() && self.identity.is_none() {
                    continue;
                }
                for f in &m.found {
                    let kind = serde_json::to_value(f.kind).ok();
                    let kind = kind
                        .as_ref()
                        .and_then(|k| k.as_str())
                        .unwrap_or("signature");
                    let predicate = f
                        .predicate_type
                        .as_deref()
                        .map(|p| format!(" {}", escape(p)))
                        .unwrap_or_default();
                    let verdict = match (&f.reason, f.verified) {
                        (_, true) => "verified".to_string(),
                        (Some(r), false) => format!("FAILED ({})", escape(r)),
                        (None, false) => "FAILED".to_string(),
                    };
                    let _ = writeln!(s, "    {kind}{predicate} {}: {verdict}", escape(&f.entry));
                }
            }
        }
        let _ = writeln!(s, "attached artifacts: {}", self.attached);
        if self.ok {
            let _ = writeln!(s, "verify: OK");
        } else {
            let _ = writeln!(
                s,
                "verify: FAILED, {} problem(s) (listed on stderr)",
                self.problems.len()
            );
        }
        s
    }
}
