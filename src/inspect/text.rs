//! `inspect`'s text form: one tree per image, stable for the same bundle. Every name, type
//! and platform in it comes from the bundle, so each is escaped (DESIGN §1): none can carry
//! a control character or start a line of its own.

use std::fmt::Write;

use super::{omitted, Attached, Inspection};
use crate::progress::human;
use crate::text::escape;

fn write_attached(s: &mut String, list: &[Attached], prefix: &str) {
    for (i, a) in list.iter().enumerate() {
        let last = i + 1 == list.len();
        let (branch, more) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        // Names and types come from the bundle: escaped, so none can start a line of its own.
        let how = match &a.artifact_type {
            Some(t) if a.format == "referrer" => format!("referrer, {}", escape(t)),
            _ => escape(&a.format),
        };
        let _ = writeln!(
            s,
            "{prefix}{branch}{} on {} ({how})",
            escape(&a.kind),
            escape(&a.on)
        );
        let inner = format!("{prefix}{more}");
        let end = if a.attached.is_empty() {
            "└─"
        } else {
            "├─"
        };
        let _ = writeln!(s, "{inner}├─ name    {}", escape(&a.name));
        let _ = writeln!(s, "{inner}├─ digest  {}", a.digest);
        let _ = writeln!(s, "{inner}{end} size    {}", size_text(a.size, None));
        if !a.attached.is_empty() {
            let _ = writeln!(s, "{inner}└─ attached");
            write_attached(s, &a.attached, &format!("{inner}   "));
        }
    }
}

pub(super) fn size_text(bytes: u64, blobs: Option<usize>) -> String {
    let size = if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{} ({bytes} bytes)", human(bytes))
    };
    match blobs {
        Some(n) => format!("{size} in {n} blobs"),
        None => size,
    }
}

impl Inspection {
    /// The inspection as text: one tree per image, stable for the same bundle.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "bundle {}", self.bundle);
        omitted::write_summary(&mut s, self.omitted.as_ref());
        for i in &self.images {
            let _ = writeln!(s);
            let _ = writeln!(s, "{}", escape(&i.reference));
            let _ = writeln!(s, "├─ digest      {}", i.digest);
            let _ = writeln!(s, "├─ media type  {}", escape(&i.media_type));
            let _ = writeln!(s, "├─ size        {}", size_text(i.size, Some(i.blobs)));
            omitted::write_layers(&mut s, &i.omitted);
            let sparse = match &i.kept_platforms {
                Some(k) => format!(" (sparse: kept {})", k.join(", ")),
                None => String::new(),
            };
            let _ = writeln!(s, "├─ platforms{sparse}");
            let width = i
                .platforms
                .iter()
                .map(|p| escape(&p.platform).chars().count())
                .max()
                .unwrap_or(0);
            for (n, p) in i.platforms.iter().enumerate() {
                let branch = if n + 1 == i.platforms.len() {
                    "└─"
                } else {
                    "├─"
                };
                let state = if p.state == "present" {
                    String::new()
                } else {
                    format!("  {}", p.state)
                };
                let platform = escape(&p.platform);
                let _ = writeln!(s, "│  {branch} {platform:<width$}  {}{state}", p.digest);
            }
            if i.attached.is_empty() {
                let _ = writeln!(s, "└─ attached: none");
            } else {
                let _ = writeln!(s, "└─ attached");
                write_attached(&mut s, &i.attached, "   ");
            }
        }
        if !self.unattached.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "attached to manifests not in this bundle");
            write_attached(&mut s, &self.unattached, "");
        }
        if !self.problems.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "problems (run ferry verify for a full check)");
            for p in &self.problems {
                let _ = writeln!(s, "  {}", escape(p));
            }
        }
        s
    }
}
