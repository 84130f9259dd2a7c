//! How each command's result is shown: human lines on stderr, names, reports and JSON on
//! stdout, every one through `main.rs`'s escaping macros (`tell!`, `say!`, `say_text!`,
//! `json_text!`). Decides nothing about success: `main.rs` maps results to exit codes.

use std::path::Path;

use anyhow::Result;

use super::OutputArgs;
use ferry::inventory::Inventory;
use ferry::sigstore::{time::format_rfc3339, Verified};
use ferry::{ExportSummary, ImportSummary, Inspection, MapOutput, VerifyReport};

/// `ferry images`: one reference per line, each once, in the order first found (an image
/// list `export -f` reads), or every place each was found as JSON.
pub fn found(found: &[ferry::sources::Found], json: bool) -> Result<()> {
    if json {
        println!("{}", json_text!(found));
    } else {
        ferry::sources::unique(found)
            .iter()
            .for_each(|r| say!("{r}"));
    }
    Ok(())
}

/// Each of `lines` on stderr after `prefix`.
fn tell_each(prefix: &str, lines: &[String]) {
    lines.iter().for_each(|l| tell!("{prefix}{l}"));
}

/// Warnings, the JSON summary (on stderr when the bundle went to stdout), the summary line,
/// and the images `--keep-going` left out.
pub fn exported(s: &ExportSummary, out: &OutputArgs, to_stdout: bool) -> Result<()> {
    tell_each("warning: ", &s.warnings);
    match (out.json, to_stdout) {
        (true, true) => eprintln!("{}", json_text!(s)),
        (true, false) => println!("{}", json_text!(s)),
        _ => {}
    }
    if !out.quiet {
        tell!("{}", s.line());
    }
    if !s.failed.is_empty() {
        let n = s.failed.len();
        tell!("error: {n} image(s) failed (--keep-going exported the rest):");
        tell_each("  ", &s.failed);
    }
    Ok(())
}

/// Warnings, moved tags, the summary (JSON, or a dry run's mapping), the summary line.
pub fn imported(s: &ImportSummary, out: &OutputArgs) -> Result<()> {
    tell_each("warning: ", &s.warnings);
    for m in &s.moved_tags {
        tell!("moved tag {}: {} -> {}", m.reference, m.old, m.new);
    }
    if out.json {
        println!("{}", json_text!(s));
    } else if s.dry_run {
        s.mapping.iter().for_each(|(k, v)| say!("{k} -> {v}"));
    }
    if !out.quiet {
        tell!("{}", s.line());
        if let Some(f) = &s.mapping_file {
            tell!("mapping written to {f}");
        }
    }
    Ok(())
}

/// Names one per line (or a JSON object), a configuration, or the files written.
pub fn mapped(out: MapOutput, json: bool) -> Result<()> {
    match out {
        MapOutput::Names(names) if json => {
            let names: serde_json::Map<_, _> =
                names.into_iter().map(|(k, v)| (k, v.into())).collect();
            println!("{}", json_text!(&names));
        }
        MapOutput::Names(names) => names.iter().for_each(|(_, relocated)| say!("{relocated}")),
        MapOutput::Policy(p) => {
            print!("{}", ferry::text::json_safe(&p.policy_json));
            let file = ferry::emit::policy::REGISTRIES_D_FILE;
            let fragment = &p.registries_d;
            tell!(
                "# registries.d fragment (e.g. /etc/containers/registries.d/{file}):\n{fragment}"
            );
        }
        MapOutput::Config(text) => say_text!(text),
        MapOutput::Written(paths) => paths.iter().for_each(|p| tell!("wrote {}", p.display())),
        MapOutput::Rewritten(r) => {
            tell_each("warning: ", &r.warnings);
            if json {
                println!("{}", json_text!(&r.files));
            }
            for f in &r.files {
                let n = f.replaced;
                let s = if n == 1 { "" } else { "s" };
                tell!("wrote {}: {n} image{s} replaced", f.output.display());
            }
        }
    }
    Ok(())
}

/// Warnings and problems, then the report (always when it is not ok, even with `-q`).
pub fn verified(report: &VerifyReport, out: &OutputArgs) -> Result<()> {
    tell_each("warning: ", &report.warnings);
    tell_each("error: ", &report.problems);
    if out.json {
        println!("{}", json_text!(report));
    } else if !out.quiet || !report.ok {
        say_text!(report.text());
    }
    Ok(())
}

/// A tree per image, or the same data as JSON.
pub fn inspected(info: &Inspection, json: bool) -> Result<()> {
    tell_each("warning: ", &info.problems);
    if json {
        println!("{}", json_text!(info));
    } else {
        say_text!(info.text());
    }
    Ok(())
}

/// The inventory to `output` (None: stdout), then its summary line unless `quiet`.
pub fn inventoried(inventory: &Inventory, output: Option<&Path>, quiet: bool) -> Result<()> {
    match output {
        Some(p) => inventory.write(p)?,
        None => print!(
            "{}",
            ferry::text::json_safe(&String::from_utf8_lossy(&inventory.to_bytes()))
        ),
    }
    if !quiet {
        tell!("{}", inventory.line());
    }
    Ok(())
}

/// The one line a verified sigstore bundle gets: who signed (or the key) and when.
pub fn bundle_verified(v: &Verified, key: Option<&Path>) {
    let who = match (&v.identity, &v.issuer, key) {
        (Some(id), Some(iss), _) => format!("{id} ({iss})"),
        (_, _, Some(k)) => format!("the key {}", k.display()),
        (id, _, None) => id.clone().unwrap_or_else(|| "an unnamed signer".into()),
    };
    let what = match &v.dsse {
        Some((t, _)) => format!(" [DSSE {t}]"),
        None => String::new(),
    };
    say!(
        "verified: {who} at {}{what}",
        format_rfc3339(v.signing_time)
    );
}
