//! Turns clap's arguments into the library's option structs, in one place (as ripgrep's
//! `HiArgs` and uv's settings do): `-o -`, `--referrers all|none`, `--mapping`, `-j`, `-q`,
//! and the registry client with the one command-line login (whose registry `ferry::login`
//! decides). Prints only the warning that `--insecure-skip-tls-verify` is in force; runs no
//! command and prints no results (that is `print`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::inputs::Input;
use super::values::{EmitArg, ReferrersArg, SparseArg};
use super::{ExportArgs, ImagesArgs, ImportArgs, InspectArgs, InventoryArgs, MapArgs, OutputArgs};
use super::{RegistryArgs, VerifyArgs, VerifyBundleArgs};
use ferry::export::since::Since;
use ferry::inventory::{detect, InventoryOptions, Source};
use ferry::map::rewrite::Rewrite;
use ferry::registry::TransportOptions;
use ferry::{Client, ClientOptions, Discovery, Emit, EmitKind, ExportOptions, ImportOptions};
use ferry::{
    InspectOptions, MapOptions, MapSource, Mode, Output, VerifyBundleOptions, VerifyOptions,
};

/// `ferry export`: the client for the images' registries and what to export.
pub fn export(a: &ExportArgs) -> Result<(Client, ExportOptions)> {
    let any = a.inputs.any_image_field;
    let stdin = Input::Source(PathBuf::from("-"));
    if a.registry.password_stdin && a.inputs.inputs.contains(&stdin) {
        bail!("--from - and --password-stdin both read standard input: give one of them a file");
    }
    let mut images = Vec::new();
    for input in &a.inputs.inputs {
        match input {
            Input::Image(i) => images.push(i.clone()),
            Input::List(f) => images.extend(ferry::image_list::read_any(f, any)?),
            Input::Source(s) => images.extend(ferry::sources::unique(&ferry::images(
                &ferry::ImagesOptions {
                    sources: vec![s.clone()],
                    any_image_field: any,
                },
            )?)),
        }
    }
    let platforms = a
        .platform
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, _>>()?;
    let single = ferry::login::registry_of_images(&images)?;
    let client = client(&a.registry, single.as_deref())?;
    let opts = ExportOptions {
        images,
        output: if a.output.as_os_str() == "-" {
            Output::Stdout
        } else {
            Output::File(a.output.clone())
        },
        platforms,
        strict_platforms: a.strict_platforms,
        jobs: a.jobs.max(1),
        progress: progress(&a.out),
        discovery: discovery(a),
        keep_going: a.keep_going,
        split_size: a.split_size,
        since: (a.since.iter().cloned().map(Since::Bundle))
            .chain(a.since_inventory.iter().cloned().map(Since::Inventory))
            .collect(),
        require_signed: a.trust.gate(a.require_signed)?,
    };
    Ok((client, opts))
}

/// `ferry import`: the client for the `--to` registry and what to import.
pub fn import(a: &ImportArgs) -> Result<(Client, ImportOptions)> {
    let registry = ferry::login::registry_of_prefix(&a.to)?;
    let client = client(&a.registry, Some(&registry))?;
    let opts = ImportOptions {
        bundle: a.bundle.clone(),
        to: a.to.clone(),
        mapping: a.mapping.clone(),
        sparse: match a.sparse {
            SparseArg::Keep => ferry::SparsePolicy::Keep,
            SparseArg::Strip => ferry::SparsePolicy::Strip,
        },
        dry_run: a.dry_run,
        mapping_out: a.mapping_out.clone(),
        name: a.name.clone(),
        no_overwrite: a.no_overwrite,
        jobs: a.jobs.max(1),
        chunk_size: a.chunk_size,
        progress: progress(&a.out),
        require_signed: a.trust.gate(a.require_signed)?,
    };
    Ok((client, opts))
}

/// `ferry verify`: no progress under `--json`; `-j` absent is one thread per core.
pub fn verify(a: &VerifyArgs) -> Result<VerifyOptions> {
    Ok(VerifyOptions {
        bundle: a.bundle.clone(),
        deep: a.deep,
        trust: a.trust.options(),
        jobs: a.jobs.unwrap_or(0),
        progress: if a.out.json {
            Mode::Quiet
        } else {
            progress(&a.out)
        },
        strict: a.strict,
    })
}

/// `ferry images`.
pub fn images(a: &ImagesArgs) -> ferry::ImagesOptions {
    ferry::ImagesOptions {
        sources: a.sources.clone(),
        any_image_field: a.any_image_field,
    }
}

pub fn inspect(a: &InspectArgs) -> InspectOptions {
    InspectOptions {
        bundle: a.bundle.clone(),
    }
}

/// `ferry map`: `--from-mapping FILE`, or `--to PREFIX` and images; `--emit` and its flags,
/// or `--rewrite` and its.
pub fn map(a: &MapArgs) -> Result<MapOptions> {
    let source = match &a.from_mapping {
        Some(f) => MapSource::MappingFile(f.clone()),
        None => MapSource::Images {
            to: a.to.clone().context("--to PREFIX is required")?,
            mapping: a.mapping.clone(),
            images: a.images.clone(),
        },
    };
    let emit = a.emit.map(|kind| Emit {
        kind: match kind {
            EmitArg::PolicyJson => EmitKind::PolicyJson,
            EmitArg::Kustomize => EmitKind::Kustomize,
            EmitArg::HelmValues => EmitKind::HelmValues,
            EmitArg::RegistriesConf => EmitKind::RegistriesConf,
        },
        key: a.key.clone(),
        insecure_target: a.insecure_target,
        output: a.output.clone(),
    });
    let rewrite = match (&a.output, a.rewrite.is_empty()) {
        (Some(output), false) => Some(Rewrite {
            paths: a.rewrite.clone(),
            output: output.clone(),
            allow_unmapped: a.allow_unmapped,
            any_image_field: a.any_image_field,
        }),
        (None, false) => bail!("--rewrite needs -o DIR"),
        _ => None,
    };
    Ok(MapOptions {
        source,
        emit,
        rewrite,
    })
}

/// `ferry inventory`: the client for the `--to` registry, what to take the inventory of, and
/// the file to write it to (None: stdout); an `-o FILE` that cannot be written is refused
/// before any request.
pub fn inventory(a: &InventoryArgs) -> Result<(Client, InventoryOptions, Option<PathBuf>)> {
    let registry = ferry::login::registry_of_prefix(&a.to)?;
    let client = client(&a.registry, Some(&registry))?;
    let source = match (&a.file, &a.input) {
        (Some(f), _) => Source::List(f.clone()),
        (None, Some(p)) if p.as_os_str() == "-" => {
            bail!("ferry inventory reads a bundle or list from a file, not from a pipe")
        }
        (None, Some(p)) => detect(p),
        (None, None) => bail!("give a bundle, or an image list with -f FILE"),
    };
    let opts = InventoryOptions {
        source,
        to: a.to.clone(),
        mapping: a.mapping.clone(),
        name: a.name.clone(),
        jobs: a.jobs.max(1),
    };
    let output = a.output.clone().filter(|p| p.as_os_str() != "-");
    if let Some(p) = &output {
        ferry::layout::output::check(p)?;
    }
    Ok((client, opts, output))
}

fn progress(o: &OutputArgs) -> Mode {
    if o.quiet {
        Mode::Quiet
    } else {
        Mode::Auto
    }
}

/// `--no-signatures` and `--referrers all|none|TYPE...` as a discovery setting.
fn discovery(a: &ExportArgs) -> Discovery {
    if a.no_signatures {
        return Discovery {
            cosign: false,
            referrers: None,
        };
    }
    let types = a.referrers.iter().filter_map(|r| match r {
        ReferrersArg::Type(t) => Some(t.clone()),
        ReferrersArg::All | ReferrersArg::None => None,
    });
    let referrers = if a.referrers.contains(&ReferrersArg::None) {
        None
    } else {
        Some(types.collect())
    };
    Discovery {
        cosign: true,
        referrers,
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

/// `ferry verify-bundle`: clap has made sure of a key or both an identity and an issuer.
pub fn verify_bundle(a: &VerifyBundleArgs) -> VerifyBundleOptions {
    VerifyBundleOptions {
        bundle: a.bundle.clone(),
        artifact: a.artifact.clone(),
        trust: a.trust.options(),
    }
}
