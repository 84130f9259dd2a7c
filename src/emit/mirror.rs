//! `ferry map --emit kustomize|helm-values|registries-conf`: after `ferry import`, point
//! workloads at the relocated images. Relocation renames repositories, so each output maps an
//! *original repository* to its *relocated repository*:
//!
//! * `kustomize`: a kustomize Component (`kind: Component`) whose `images:` list has, per
//!   original repository, `name` → `newName`. kustomize compares `name` with the image in
//!   manifests literally, so Docker Hub repositories get an entry for every usual spelling
//!   (`docker.io/library/alpine`, `docker.io/alpine`, `library/alpine`, `alpine`). As kustomize
//!   applies `newTag`/`digest` to every use of a name, they are set only when unambiguous:
//!   `digest` when all entries of the repository pin one digest, `newTag` when the mapping
//!   changes the tag of its only entry. Else manifests keep their own tag or digest.
//! * `helm-values`: `ferry.images."<original reference>"` = `{image, registry, repository,
//!   tag, digest}` of the relocated image, for templates (charts have no standard schema).
//! * `registries-conf`: containers `registries.conf` v2 with one `[[registry]]` per original
//!   repository, `prefix` = original, `location` = relocated (a rename, which mirrors cannot
//!   express). With `insecure_target`, `insecure = true` on each of them (containers/image
//!   applies a matched entry's `insecure` to its location) and on one more `[[registry]]`
//!   per target registry host (for pulls and pushes that name the relocated repository).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::EmitError;
use crate::mapping::relocations::read_relocations;
use crate::mapping::Mapper;
use crate::reference::{Reference, DOCKER_HUB};

/// Which of these configurations to render (`map::EmitKind` is the one kind `--emit` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorKind {
    /// kustomize Component with an `images:` list.
    Kustomize,
    /// Helm values fragment `ferry.images`.
    HelmValues,
    /// containers `registries.conf` (v2).
    RegistriesConf,
}

impl MirrorKind {
    /// Where `-o DIR` puts the file, relative to DIR.
    pub fn file_name(self) -> &'static str {
        match self {
            MirrorKind::Kustomize => "kustomization.yaml",
            MirrorKind::HelmValues => "ferry-values.yaml",
            MirrorKind::RegistriesConf => "registries.conf.d/ferry.conf",
        }
    }
}

/// A relocated repository and the (original, relocated) references mapped to it.
type Group<'a> = (String, Vec<(&'a Reference, &'a Reference)>);

/// Original reference → relocated reference, sorted by original, one to one by repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(BTreeMap<Reference, Reference>);

impl Pairs {
    /// Adds a pair; a repository may go to one target only, and a target come from one source.
    pub fn add(&mut self, original: Reference, relocated: Reference) -> Result<(), EmitError> {
        let (source, target) = (original.name(), relocated.name());
        for (o, r) in &self.0 {
            if o.name() == source && r.name() != target {
                return Err(EmitError::Split {
                    original: source,
                    first: r.name(),
                    second: target,
                });
            }
            if r.name() == target && o.name() != source {
                return Err(EmitError::Conflict {
                    first: o.name(),
                    second: source,
                    target,
                    why: "the mapping must be one to one",
                });
            }
        }
        self.0.insert(original, relocated);
        Ok(())
    }

    /// Reads a `relocation-mapping.json` (original reference → relocated reference).
    pub fn from_mapping_file(path: &Path) -> Result<Pairs, EmitError> {
        let mut out = Pairs::default();
        for (o, r) in read_relocations(path)? {
            out.add(o, r)?;
        }
        Ok(out)
    }

    /// Maps `images` with `mapper` (what `ferry map --to PREFIX IMAGE...` prints).
    pub fn from_mapper(mapper: &Mapper, images: &[Reference]) -> Result<Pairs, EmitError> {
        mapper.check_all(images.iter())?;
        let mut out = Pairs::default();
        for r in images {
            out.add(r.clone(), Reference::parse(&mapper.relocate(r)?)?)?;
        }
        Ok(out)
    }

    /// Original repository → (relocated repository, the pairs of that repository).
    fn repositories(&self) -> BTreeMap<String, Group<'_>> {
        let mut out: BTreeMap<String, Group<'_>> = BTreeMap::new();
        for (o, r) in &self.0 {
            out.entry(o.name())
                .or_insert_with(|| (r.name(), Vec::new()))
                .1
                .push((o, r));
        }
        out
    }
}

/// A double-quoted scalar, valid in YAML and as a TOML basic string (references are ASCII).
fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The ways manifests commonly spell a repository: Docker Hub ones also without `docker.io/`,
/// and official images also without `library/`.
pub fn spellings(original: &Reference) -> Vec<String> {
    let full = original.name();
    if original.registry != DOCKER_HUB {
        return vec![full];
    }
    let path = original.repository.as_str();
    match path.strip_prefix("library/").filter(|s| !s.contains('/')) {
        Some(short) => vec![
            full,
            format!("{DOCKER_HUB}/{short}"),
            path.to_string(),
            short.to_string(),
        ],
        None => vec![full, path.to_string()],
    }
}

/// Options that only some kinds use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// registries-conf: mark each target registry `insecure = true` (http, unverified TLS).
    pub insecure_target: bool,
}

/// Renders `kind` for `pairs`.
pub fn render(kind: MirrorKind, pairs: &Pairs, opts: Options) -> Result<String, EmitError> {
    if pairs.0.is_empty() {
        return Err(EmitError::Empty);
    }
    match kind {
        MirrorKind::Kustomize => kustomize(pairs),
        MirrorKind::HelmValues => Ok(helm_values(pairs)),
        MirrorKind::RegistriesConf => Ok(registries_conf(pairs, opts.insecure_target)),
    }
}

fn kustomize(pairs: &Pairs) -> Result<String, EmitError> {
    let mut out = String::from(
        "# Written by ferry map --emit kustomize: use the relocated images. Include this\n\
         # directory from a kustomization with `components: [DIR]`, or copy its images: list.\n\
         apiVersion: kustomize.config.k8s.io/v1alpha1\n\
         kind: Component\n\
         images:\n",
    );
    for (repository, (target, group)) in pairs.repositories() {
        let digests: BTreeSet<_> = group.iter().map(|(_, r)| r.digest.as_ref()).collect();
        let digest = match digests.into_iter().collect::<Vec<_>>()[..] {
            [Some(d)] => Some(d.to_string()),
            _ => None,
        };
        let retagged: Vec<_> = group
            .iter()
            .filter(|(o, r)| r.tag.is_some() && r.tag != o.tag)
            .collect();
        let new_tag = match (&retagged[..], group.len()) {
            ([], _) => None,
            ([(_, r)], 1) => r.tag.clone(),
            _ => return Err(EmitError::Tags { repository }),
        };
        for name in spellings(group[0].0) {
            out.push_str(&format!(
                "- name: {}\n  newName: {}\n",
                q(&name),
                q(&target)
            ));
            if let Some(t) = &new_tag {
                out.push_str(&format!("  newTag: {}\n", q(t)));
            }
            if let Some(d) = &digest {
                out.push_str(&format!("  digest: {}\n", q(d)));
            }
        }
    }
    Ok(out)
}

fn helm_values(pairs: &Pairs) -> String {
    let mut out = String::from(
        "# Written by ferry map --emit helm-values: where each original image now lives.\n\
         # Charts have no standard image schema; a template reads, for example,\n\
         #   {{ (index .Values.ferry.images \"docker.io/library/alpine:3.19\").image }}\n\
         ferry:\n  images:\n",
    );
    for (o, r) in &pairs.0 {
        out.push_str(&format!("    {}:\n", q(&o.to_string())));
        out.push_str(&format!("      image: {}\n", q(&r.to_string())));
        out.push_str(&format!("      registry: {}\n", q(&r.registry)));
        out.push_str(&format!("      repository: {}\n", q(&r.repository)));
        if let Some(t) = &r.tag {
            out.push_str(&format!("      tag: {}\n", q(t)));
        }
        if let Some(d) = &r.digest {
            out.push_str(&format!("      digest: {}\n", q(&d.to_string())));
        }
    }
    out
}

fn registries_conf(pairs: &Pairs, insecure: bool) -> String {
    let mut out = String::from(
        "# Written by ferry map --emit registries-conf: pull each original repository from\n\
         # the repository ferry relocated it to (containers-registries.conf(5), version 2).\n\
         # A prefix also matches its sub-repositories (prefix/x is pulled from location/x).\n",
    );
    let mut hosts = BTreeSet::new();
    for (repository, (target, group)) in pairs.repositories() {
        out.push_str(&format!(
            "\n[[registry]]\nprefix = {}\nlocation = {}\n",
            q(&repository),
            q(&target)
        ));
        if insecure {
            out.push_str("insecure = true\n");
        }
        hosts.insert(group[0].1.registry.clone());
    }
    if insecure {
        for h in hosts {
            out.push_str(&format!(
                "\n# --insecure-target: plain http or unverified TLS to {h}, also for\n\
                 # its own names (the entries above cover pulls through their prefix)\n\
                 [[registry]]\nlocation = {}\ninsecure = true\n",
                q(&h)
            ));
        }
    }
    out
}

/// Writes `text` to `DIR/<kind's file name>`, creating directories; returns the path.
pub fn write_to(kind: MirrorKind, text: &str, dir: &Path) -> Result<PathBuf, EmitError> {
    crate::layout::output::check_dir_option(dir)?;
    let path = dir.join(kind.file_name());
    let err = |source| EmitError::Write {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(&path, text).map_err(err)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_pairs(
        kind: MirrorKind,
        list: &[(&str, &str)],
        insecure: bool,
    ) -> Result<String, EmitError> {
        let mut p = Pairs::default();
        for (o, t) in list {
            p.add(Reference::parse(o)?, Reference::parse(t)?)?;
        }
        render(
            kind,
            &p,
            Options {
                insecure_target: insecure,
            },
        )
    }

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn mappings_must_be_one_to_one_and_not_empty() {
        let k = MirrorKind::Kustomize;
        let conflict = render_pairs(
            k,
            &[("a:1", "r.local/t/x:1"), ("b:1", "r.local/t/x:1")],
            false,
        );
        assert!(matches!(conflict, Err(EmitError::Conflict { .. })));
        let split = render_pairs(
            k,
            &[("a:1", "r.local/t/x:1"), ("a:2", "r.local/t/y:2")],
            false,
        );
        assert!(matches!(split, Err(EmitError::Split { .. })));
        assert!(matches!(render_pairs(k, &[], false), Err(EmitError::Empty)));
    }

    #[test]
    fn kustomize_pins_a_digest_or_tag_only_when_unambiguous() {
        let k = |list: &[(&str, &str)]| render_pairs(MirrorKind::Kustomize, list, false);
        let one = k(&[("q.io/a:1", &format!("r.local/t/a:1@{D1}"))]).unwrap();
        assert!(one.ends_with(&format!("newName: \"r.local/t/a\"\n  digest: \"{D1}\"\n")));
        let d2 = format!("r.local/t/a:2@{D2}");
        let two = k(&[
            ("q.io/a:1", &format!("r.local/t/a:1@{D1}")),
            ("q.io/a:2", &d2),
        ])
        .unwrap();
        assert!(two.ends_with("- name: \"q.io/a\"\n  newName: \"r.local/t/a\"\n"));
        let retag = k(&[("q.io/a:1", "r.local/t/a:1-mirrored")]).unwrap();
        assert!(retag.ends_with("newName: \"r.local/t/a\"\n  newTag: \"1-mirrored\"\n"));
        let retag2 = k(&[("q.io/a:1", "r.local/t/a:x"), ("q.io/a:2", "r.local/t/a:y")]);
        assert!(matches!(retag2, Err(EmitError::Tags { .. })));
    }

    #[test]
    fn registries_conf_is_insecure_only_when_asked() {
        let p = [("q.io/a:1", "r.local:5000/t/a:1")];
        let plain = render_pairs(MirrorKind::RegistriesConf, &p, false).unwrap();
        assert!(plain.ends_with("prefix = \"q.io/a\"\nlocation = \"r.local:5000/t/a\"\n"));
        assert!(!plain.contains("insecure"));
        let insecure = render_pairs(MirrorKind::RegistriesConf, &p, true).unwrap();
        assert!(insecure.contains("location = \"r.local:5000/t/a\"\ninsecure = true\n"));
        assert!(insecure.ends_with("location = \"r.local:5000\"\ninsecure = true\n"));
    }
}
