//! `ferry map`: the binary's side (names, or `--emit` configuration, out); kept apart from
//! `main.rs` so that file stays one screenful per command.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::cli::MapArgs;
use ferry::reference::Reference;

/// `ferry map`: relocated names, or (`--emit`) configuration that uses them.
pub fn run(a: MapArgs) -> Result<ExitCode> {
    use ferry::mapping::{Mapper, MappingChoice};
    if a.from_mapping.is_some() {
        return emit(&a, None, &[]);
    }
    let to = a.to.as_deref().context("--to PREFIX is required")?;
    let mapper = Mapper::from_choice(to, &MappingChoice::from_arg(&a.mapping))?;
    let refs = a
        .images
        .iter()
        .map(|i| Reference::parse(i))
        .collect::<Result<Vec<_>, _>>()?;
    if a.emit.is_some() {
        return emit(&a, Some(&mapper), &refs);
    }
    mapper.check_all(refs.iter())?;
    let mut out = serde_json::Map::new();
    for (input, r) in a.images.iter().zip(&refs) {
        let relocated = mapper.relocate(r)?;
        if a.json {
            out.insert(input.clone(), relocated.into());
        } else {
            say!("{relocated}");
        }
    }
    if a.json {
        println!("{}", json_text!(&out));
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry map --emit policy-json`: a signature policy for relocated repositories (DESIGN §6).
fn emit(
    a: &MapArgs,
    mapper: Option<&ferry::mapping::Mapper>,
    refs: &[Reference],
) -> Result<ExitCode> {
    use ferry::policy::{EmitKind, Relocations};
    if a.emit.as_deref() != Some("policy-json") {
        return emit_mirror(a, mapper, refs);
    }
    if a.insecure_target {
        bail!("--insecure-target applies to --emit registries-conf only");
    }
    let kind: EmitKind = a.emit.as_deref().unwrap_or_default().parse()?;
    match kind {
        EmitKind::PolicyJson => {}
    }
    let key = a.key.as_deref().context(
        "--emit policy-json needs --key cosign.pub: the public key signatures must verify with",
    )?;
    let key = ferry::policy::key_path(key)?;
    let relocations = match (&a.from_mapping, mapper) {
        (Some(f), _) => Relocations::from_mapping_file(f)?,
        (None, Some(m)) => Relocations::from_mapper(m, refs)?,
        (None, None) => bail!("give --from-mapping FILE, or --to PREFIX and images"),
    };
    let policy = ferry::policy::policy(&relocations, &key)?;
    match &a.output {
        Some(dir) => {
            for p in policy.write_to(dir)? {
                tell!("wrote {}", p.display());
            }
        }
        None => {
            print!("{}", ferry::text::json_safe(&policy.policy_json));
            tell!(
                "# registries.d fragment (e.g. /etc/containers/registries.d/{}):\n{}",
                ferry::policy::REGISTRIES_D_FILE,
                policy.registries_d
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry map --emit kustomize|helm-values|registries-conf`: use the relocated images.
fn emit_mirror(
    a: &MapArgs,
    mapper: Option<&ferry::mapping::Mapper>,
    refs: &[Reference],
) -> Result<ExitCode> {
    use ferry::mirror::{MirrorKind, Options, Pairs};
    let kind: MirrorKind = a.emit.as_deref().unwrap_or_default().parse()?;
    if a.key.is_some() {
        bail!("--key applies to --emit policy-json only");
    }
    if a.insecure_target && kind != MirrorKind::RegistriesConf {
        bail!("--insecure-target applies to --emit registries-conf only");
    }
    let pairs = match (&a.from_mapping, mapper) {
        (Some(f), _) => Pairs::from_mapping_file(f)?,
        (None, Some(m)) => Pairs::from_mapper(m, refs)?,
        (None, None) => bail!("give --from-mapping FILE, or --to PREFIX and images"),
    };
    let opts = Options {
        insecure_target: a.insecure_target,
    };
    let text = ferry::mirror::render(kind, &pairs, opts)?;
    match &a.output {
        Some(dir) => tell!(
            "wrote {}",
            ferry::mirror::write_to(kind, &text, dir)?.display()
        ),
        None => say_text!(text),
    }
    Ok(ExitCode::SUCCESS)
}
