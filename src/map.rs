//! `ferry map` (no network): relocated names for images under a prefix, or a configuration
//! that uses them (`--emit`): a signature policy (emit/policy.rs) or a kustomize, Helm or
//! registries.conf file (emit/mirror.rs); or copies of manifests and CNAB bundles with the
//! relocated names in them (`--rewrite`, map/rewrite.rs). Owns which relocations an emit
//! reads (images and a mapping, or an import's mapping file), which flags each kind takes,
//! and writing into `-o DIR`; the rendering belongs to `emit/`. Must not import the registry
//! client or the layout reader.

pub mod rewrite;

use std::path::{Path, PathBuf};

use crate::emit::mirror::{MirrorKind, Pairs};
use crate::emit::policy::{Policy, Relocations};
use crate::emit::EmitError;
pub use crate::emit::EmitKind;
use crate::mapping::{Mapper, MappingChoice, MappingError};
use crate::reference::{Reference, ReferenceError};

/// What to map: images named here, or the relocations an import recorded.
#[derive(Debug, Clone)]
pub enum MapSource {
    /// Images relocated under `to` as `mapping` says.
    Images {
        /// Target prefix: `reg.local/team`.
        to: String,
        mapping: MappingChoice,
        images: Vec<String>,
    },
    /// A `relocation-mapping.json` written by `ferry import` (`--from-mapping`).
    MappingFile(PathBuf),
}

/// A configuration to emit instead of names.
#[derive(Debug, Clone)]
pub struct Emit {
    pub kind: EmitKind,
    /// policy-json: the cosign public key (PEM) signatures must verify with.
    pub key: Option<PathBuf>,
    /// registries-conf: mark the target registries `insecure = true`.
    pub insecure_target: bool,
    /// Write into this directory instead of returning the text.
    pub output: Option<PathBuf>,
}

/// What to map and what to make of it.
#[derive(Debug, Clone)]
pub struct MapOptions {
    pub source: MapSource,
    /// None: the relocated names.
    pub emit: Option<Emit>,
    /// Rewrite files with the relocations of a mapping file (instead of `emit`).
    pub rewrite: Option<rewrite::Rewrite>,
}

/// What `map` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOutput {
    /// Each image as given and its relocated reference, in the order given.
    Names(Vec<(String, String)>),
    /// `--emit policy-json` without a directory: the policy and its registries.d fragment.
    Policy(Policy),
    /// `--emit kustomize|helm-values|registries-conf` without a directory: the file's text.
    Config(String),
    /// The files written into the `output` directory.
    Written(Vec<PathBuf>),
    /// `--rewrite`: the copies written and how many images each had replaced.
    Rewritten(rewrite::RewriteSummary),
}

/// Why `map` produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("--insecure-target applies to --emit registries-conf only")]
    InsecureTarget,
    #[error("--key applies to --emit policy-json only")]
    KeyNotPolicy,
    #[error(
        "--emit policy-json needs --key cosign.pub: the public key signatures must verify with"
    )]
    NeedsKey,
    #[error("--from-mapping FILE needs --emit KIND or --rewrite PATH")]
    NothingToEmit,
    #[error("--rewrite needs --from-mapping FILE (the relocation-mapping.json import wrote), and no --emit")]
    RewriteNeedsMappingFile,
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error(transparent)]
    Rewrite(#[from] rewrite::RewriteError),
}

/// Relocates the images, or emits the configuration that uses their relocated names.
pub fn map(opts: &MapOptions) -> Result<MapOutput, MapError> {
    if let Some(r) = &opts.rewrite {
        return match (&opts.source, &opts.emit) {
            (MapSource::MappingFile(f), None) => Ok(MapOutput::Rewritten(rewrite::rewrite(f, r)?)),
            _ => Err(MapError::RewriteNeedsMappingFile),
        };
    }
    let source = match &opts.source {
        MapSource::Images {
            to,
            mapping,
            images,
        } => Source::Mapped {
            mapper: Mapper::from_choice(to, mapping)?,
            refs: images
                .iter()
                .map(|i| Reference::parse(i))
                .collect::<Result<Vec<_>, _>>()?,
            images,
        },
        MapSource::MappingFile(f) => Source::File(f),
    };
    match (&opts.emit, &source) {
        (
            None,
            Source::Mapped {
                images,
                mapper,
                refs,
            },
        ) => names(images, mapper, refs),
        (None, Source::File(_)) => Err(MapError::NothingToEmit),
        (Some(emit), _) => match emit.kind.mirror() {
            None => policy(emit, &source),
            Some(kind) => mirror(emit, kind, &source),
        },
    }
}

/// The relocations to map or emit: images and their mapper, or an import's mapping file.
enum Source<'a> {
    Mapped {
        images: &'a [String],
        mapper: Mapper,
        refs: Vec<Reference>,
    },
    File(&'a Path),
}

fn names(images: &[String], mapper: &Mapper, refs: &[Reference]) -> Result<MapOutput, MapError> {
    mapper.check_all(refs.iter())?;
    let mut out = Vec::new();
    for (input, r) in images.iter().zip(refs) {
        out.push((input.clone(), mapper.relocate(r)?));
    }
    Ok(MapOutput::Names(out))
}

/// `--emit policy-json`: a signature policy for the relocated repositories (DESIGN §6).
fn policy(emit: &Emit, source: &Source<'_>) -> Result<MapOutput, MapError> {
    if emit.insecure_target {
        return Err(MapError::InsecureTarget);
    }
    let key = emit.key.as_deref().ok_or(MapError::NeedsKey)?;
    let key = crate::emit::policy::key_path(key)?;
    let relocations = match source {
        Source::File(f) => Relocations::from_mapping_file(f)?,
        Source::Mapped { mapper, refs, .. } => Relocations::from_mapper(mapper, refs)?,
    };
    let policy = crate::emit::policy::policy(&relocations, &key)?;
    Ok(match &emit.output {
        Some(dir) => MapOutput::Written(policy.write_to(dir)?),
        None => MapOutput::Policy(policy),
    })
}

/// `--emit kustomize|helm-values|registries-conf`: use the relocated images.
fn mirror(emit: &Emit, kind: MirrorKind, source: &Source<'_>) -> Result<MapOutput, MapError> {
    if emit.key.is_some() {
        return Err(MapError::KeyNotPolicy);
    }
    if emit.insecure_target && kind != MirrorKind::RegistriesConf {
        return Err(MapError::InsecureTarget);
    }
    let pairs = match source {
        Source::File(f) => Pairs::from_mapping_file(f)?,
        Source::Mapped { mapper, refs, .. } => Pairs::from_mapper(mapper, refs)?,
    };
    let opts = crate::emit::mirror::Options {
        insecure_target: emit.insecure_target,
    };
    let text = crate::emit::mirror::render(kind, &pairs, opts)?;
    Ok(match &emit.output {
        Some(dir) => MapOutput::Written(vec![crate::emit::mirror::write_to(kind, &text, dir)?]),
        None => MapOutput::Config(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(to: &str, mapping: MappingChoice, images: &[&str]) -> MapSource {
        MapSource::Images {
            to: to.into(),
            mapping,
            images: images.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn emit(kind: EmitKind) -> Emit {
        Emit {
            kind,
            key: None,
            insecure_target: false,
            output: None,
        }
    }

    #[test]
    fn names_in_the_order_given() {
        let source = images(
            "r.local/t",
            MappingChoice::Path,
            &["quay.io/a/b:1", "alpine"],
        );
        let out = map(&MapOptions {
            source,
            emit: None,
            rewrite: None,
        })
        .unwrap();
        assert_eq!(
            out,
            MapOutput::Names(vec![
                ("quay.io/a/b:1".into(), "r.local/t/quay.io/a/b:1".into()),
                ("alpine".into(), "r.local/t/docker.io/library/alpine".into()),
            ])
        );
    }

    #[test]
    fn each_kind_takes_its_own_flags() {
        let source = images("r.local/t", MappingChoice::Hashed, &["alpine"]);
        let run = |e: Emit| {
            map(&MapOptions {
                source: source.clone(),
                emit: Some(e),
                rewrite: None,
            })
        };
        assert!(matches!(
            run(emit(EmitKind::PolicyJson)),
            Err(MapError::NeedsKey)
        ));
        let keyed = Emit {
            key: Some("cosign.pub".into()),
            ..emit(EmitKind::Kustomize)
        };
        assert!(matches!(run(keyed), Err(MapError::KeyNotPolicy)));
        let insecure = |kind| Emit {
            insecure_target: true,
            ..emit(kind)
        };
        assert!(matches!(
            run(insecure(EmitKind::HelmValues)),
            Err(MapError::InsecureTarget)
        ));
        assert!(matches!(
            run(insecure(EmitKind::PolicyJson)),
            Err(MapError::InsecureTarget)
        ));
        match run(insecure(EmitKind::RegistriesConf)).unwrap() {
            MapOutput::Config(text) => assert!(text.contains("insecure = true"), "{text}"),
            other => panic!("{other:?}"),
        }
        let file = MapSource::MappingFile("relocation-mapping.json".into());
        let names = map(&MapOptions {
            source: file,
            emit: None,
            rewrite: None,
        });
        assert!(matches!(names, Err(MapError::NothingToEmit)));
    }
}
