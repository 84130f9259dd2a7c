//! The `ferry` binary: parse arguments, call the library, print, map to an exit code.

/// Lines for humans, on stderr (`tell!`) or stdout (`say!`), with every control character
/// escaped (DESIGN §1): text from a registry, a token service or a bundle may be in them, and
/// this is the one place all of it passes on its way to a terminal.
macro_rules! tell {
    ($($arg:tt)*) => { eprintln!("{}", ferry::text::printable(&format!($($arg)*))) };
}
macro_rules! say {
    ($($arg:tt)*) => { println!("{}", ferry::text::printable(&format!($($arg)*))) };
}
/// Text that ends its own lines (a report, a file's contents), escaped like `say!`.
macro_rules! say_text {
    ($text:expr) => {
        print!("{}", ferry::text::printable(&$text))
    };
}
/// JSON for scripts: serde escapes C0 controls, `json_safe` the rest (DEL, C1, bidi).
macro_rules! json_text {
    ($value:expr) => {
        ferry::text::json_safe(&serde_json::to_string_pretty($value)?)
    };
}

mod cli;
mod cli_inventory;
mod cli_map;

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;

use cli::{Cli, Command, ExportArgs, ImportArgs, OutputArgs, RegistryArgs};
use cli::{InspectArgs, VerifyArgs};
use ferry::export::since::Since;
use ferry::progress::Mode;
use ferry::registry::{Client, ClientOptions, TransportOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            tell!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Export(a) => export(a),
        Command::Import(a) => import(a),
        Command::Map(a) => cli_map::run(a),
        Command::Verify(a) => verify(a),
        Command::Inspect(a) => inspect(a),
        Command::Inventory(a) => cli_inventory::run(a),
    }
}

fn progress_mode(o: &OutputArgs) -> Mode {
    if o.quiet {
        Mode::Quiet
    } else {
        Mode::Auto
    }
}

/// Builds a client; `--username` applies to `registry` only (DESIGN §1).
fn client(a: &RegistryArgs, registry: Option<&str>) -> Result<Client> {
    if a.insecure_skip_tls_verify {
        tell!("warning: --insecure-skip-tls-verify: TLS certificates are NOT verified; anyone on the path can read and alter this traffic");
    }
    let credential = match &a.username {
        Some(user) if a.password_stdin => {
            Some(ferry::login::read(registry, user, std::io::stdin())?)
        }
        _ => None,
    };
    let opts = ClientOptions {
        transport: TransportOptions {
            plain_http: a.plain_http.clone(),
            ca_files: a.ca_file.clone(),
            cert_dir: a.cert_dir.clone(),
            insecure_skip_tls_verify: a.insecure_skip_tls_verify,
            timeout: a.timeout,
        },
        credential,
        retries: a.retries,
        ..ClientOptions::default()
    };
    Ok(Client::new(opts)?)
}

/// `--no-signatures` and `--referrers all|none|TYPE...` as a discovery setting.
fn discovery(a: &ExportArgs) -> ferry::export::Discovery {
    if a.no_signatures {
        return ferry::export::Discovery {
            cosign: false,
            referrers: None,
        };
    }
    let referrers = if a.referrers.iter().any(|r| r == "none") {
        None
    } else {
        Some(
            a.referrers
                .iter()
                .filter(|r| *r != "all")
                .cloned()
                .collect(),
        )
    };
    ferry::export::Discovery {
        cosign: true,
        referrers,
    }
}

fn export(a: ExportArgs) -> Result<ExitCode> {
    let mut images = a.images.clone();
    for f in &a.file {
        images.extend(ferry::images::read_list(f)?);
    }
    let platforms = a
        .platform
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, _>>()?;
    let single = ferry::login::registry_of_images(&images)?;
    let client = client(&a.registry, single.as_deref())?;
    let to_stdout = a.output.as_os_str() == "-";
    if to_stdout && a.split_size.is_some() {
        bail!("--split-size writes files; it cannot be combined with -o -");
    }
    let opts = ferry::ExportOptions {
        images,
        output: if to_stdout {
            ferry::Output::Stdout
        } else {
            ferry::Output::File(a.output.clone())
        },
        platforms,
        strict_platforms: a.strict_platforms,
        jobs: a.jobs.max(1),
        progress: progress_mode(&a.out),
        discovery: discovery(&a),
        keep_going: a.keep_going,
        split_size: a.split_size,
        since: (a.since.iter().cloned().map(Since::Bundle))
            .chain(a.since_inventory.iter().cloned().map(Since::Inventory))
            .collect(),
    };
    let summary = ferry::export(&client, &opts)?;
    for w in &summary.warnings {
        tell!("warning: {w}");
    }
    if a.out.json {
        let json = json_text!(&summary);
        if to_stdout {
            eprintln!("{json}");
        } else {
            println!("{json}");
        }
    }
    if !a.out.quiet {
        tell!("{}", summary.line());
    }
    if !summary.failed.is_empty() {
        tell!(
            "error: {} image(s) failed (--keep-going exported the rest):",
            summary.failed.len()
        );
        for f in &summary.failed {
            tell!("  {f}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn import(a: ImportArgs) -> Result<ExitCode> {
    let sparse = match a.sparse.as_str() {
        "keep" => ferry::import::SparsePolicy::Keep,
        "strip" => ferry::import::SparsePolicy::Strip,
        other => bail!("--sparse {other:?}: use keep or strip"),
    };
    let registry = ferry::login::registry_of_prefix(&a.to)?;
    let client = client(&a.registry, Some(&registry))?;
    let opts = ferry::import::ImportOptions {
        bundle: a.bundle.clone(),
        to: a.to.clone(),
        mapping: ferry::mapping::MappingChoice::from_arg(&a.mapping),
        sparse,
        dry_run: a.dry_run,
        mapping_out: a.mapping_out.clone(),
        name: a.name.clone(),
        no_overwrite: a.no_overwrite,
        jobs: a.jobs.max(1),
        chunk_size: a.chunk_size,
        progress: progress_mode(&a.out),
    };
    let summary = ferry::import(&client, &opts)?;
    for w in &summary.warnings {
        tell!("warning: {w}");
    }
    for m in &summary.moved_tags {
        tell!("moved tag {}: {} -> {}", m.reference, m.old, m.new);
    }
    if a.out.json {
        println!("{}", json_text!(&summary));
    } else if a.dry_run {
        for (k, v) in &summary.mapping {
            say!("{k} -> {v}");
        }
    }
    if !a.out.quiet {
        tell!("{}", summary.line());
        if let Some(f) = &summary.mapping_file {
            tell!("mapping written to {f}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry verify`: prints the report; exit 1 when anything is corrupt, missing or invalid.
fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let opts = ferry::verify::VerifyOptions {
        bundle: a.bundle.clone(),
        deep: a.deep,
        key: a.key.clone(),
        jobs: a.jobs.unwrap_or(0),
        progress: if a.out.json {
            Mode::Quiet
        } else {
            progress_mode(&a.out)
        },
        strict: a.strict,
    };
    let report = ferry::verify(&opts)?;
    for w in &report.warnings {
        tell!("warning: {w}");
    }
    for p in &report.problems {
        tell!("error: {p}");
    }
    if a.out.json {
        println!("{}", json_text!(&report));
    } else if !a.out.quiet || !report.ok {
        say_text!(report.text());
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ferry inspect`: a tree per image, or the same data as JSON.
fn inspect(a: InspectArgs) -> Result<ExitCode> {
    let info = ferry::inspect(&ferry::InspectOptions {
        bundle: a.bundle.clone(),
    })?;
    for p in &info.problems {
        tell!("warning: {p}");
    }
    if a.json {
        println!("{}", json_text!(&info));
    } else {
        say_text!(info.text());
    }
    Ok(ExitCode::SUCCESS)
}
