//! `ferry map`: the binary's side (arguments in, names or `--emit` configuration out); kept
//! apart from `main.rs` so that file stays one screenful per command.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::MapArgs;
use ferry::map::{Emit, EmitKind, MapOptions, MapOutput, MapSource};
use ferry::mapping::MappingChoice;

/// `ferry map`: relocated names, or (`--emit`) configuration that uses them.
pub fn run(a: MapArgs) -> Result<ExitCode> {
    let source = match &a.from_mapping {
        Some(f) => MapSource::MappingFile(f.clone()),
        None => MapSource::Images {
            to: a.to.clone().context("--to PREFIX is required")?,
            mapping: MappingChoice::from_arg(&a.mapping),
            images: a.images.clone(),
        },
    };
    let emit = match a.emit.as_deref() {
        None => None,
        Some(kind) => Some(Emit {
            kind: match kind {
                "policy-json" => EmitKind::PolicyJson,
                "kustomize" => EmitKind::Kustomize,
                "helm-values" => EmitKind::HelmValues,
                "registries-conf" => EmitKind::RegistriesConf,
                other => return Err(ferry::mirror::MirrorError::Kind(other.into()).into()),
            },
            key: a.key.clone(),
            insecure_target: a.insecure_target,
            output: a.output.clone(),
        }),
    };
    match ferry::map(&MapOptions { source, emit })? {
        MapOutput::Names(names) if a.json => {
            let out: serde_json::Map<String, serde_json::Value> =
                names.into_iter().map(|(k, v)| (k, v.into())).collect();
            println!("{}", json_text!(&out));
        }
        MapOutput::Names(names) => {
            for (_, relocated) in names {
                say!("{relocated}");
            }
        }
        MapOutput::Policy(policy) => {
            print!("{}", ferry::text::json_safe(&policy.policy_json));
            tell!(
                "# registries.d fragment (e.g. /etc/containers/registries.d/{}):\n{}",
                ferry::policy::REGISTRIES_D_FILE,
                policy.registries_d
            );
        }
        MapOutput::Config(text) => say_text!(text),
        MapOutput::Written(paths) => {
            for p in paths {
                tell!("wrote {}", p.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
