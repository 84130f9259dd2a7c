//! `ferry map --emit policy-json` (DESIGN §6): relocation changes repository names, and cosign
//! signatures name the original repository (`critical.identity.docker-reference`). This writes a
//! containers `policy.json` that, per relocated repository, requires a sigstore signature by
//! the given key whose identity is the *original* repository (`exactRepository`), plus the
//! `registries.d` fragment that makes podman, CRI-O and skopeo look for cosign attachments on
//! the target registries. Everything else keeps the default `insecureAcceptAnything`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::EmitError;
use crate::mapping::relocations::read_relocations;
use crate::mapping::Mapper;
use crate::reference::Reference;

/// File name of the registries.d fragment inside `registries.d/`.
pub const REGISTRIES_D_FILE: &str = "ferry.yaml";

/// Original repository → relocated repository (names only, no tags or digests), one to one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relocations(BTreeMap<String, String>);

impl Relocations {
    /// Adds a pair; the same pair twice is fine, two originals for one target are not.
    pub fn add(&mut self, original: &Reference, relocated: &Reference) -> Result<(), EmitError> {
        let (target, source) = (relocated.name(), original.name());
        match self.0.get(&target) {
            Some(prev) if *prev != source => Err(EmitError::Conflict {
                first: prev.clone(),
                second: source,
                target,
                why: "a signature policy needs one original repository per relocated one",
            }),
            _ => {
                self.0.insert(target, source);
                Ok(())
            }
        }
    }

    /// Reads a `relocation-mapping.json` (original reference → relocated reference).
    pub fn from_mapping_file(path: &Path) -> Result<Relocations, EmitError> {
        let mut out = Relocations::default();
        for (o, r) in read_relocations(path)? {
            out.add(&o, &r)?;
        }
        Ok(out)
    }

    /// Maps `images` with `mapper` (what `ferry map --to PREFIX IMAGE...` prints).
    pub fn from_mapper(mapper: &Mapper, images: &[Reference]) -> Result<Relocations, EmitError> {
        let targets = mapper.check_all(images.iter())?;
        let mut out = Relocations::default();
        for r in images {
            if let Some(t) = targets.get(&r.name()) {
                out.add(r, &Reference::parse(t)?)?;
            }
        }
        Ok(out)
    }

    /// Relocated repository → original repository, sorted.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(t, s)| (t.as_str(), s.as_str()))
    }
}

/// The absolute path of a PEM public key, checked to be one.
pub fn key_path(key: &Path) -> Result<PathBuf, EmitError> {
    let err = |source| EmitError::KeyRead {
        path: key.to_path_buf(),
        source,
    };
    let abs = std::fs::canonicalize(key).map_err(err)?;
    let text = std::fs::read_to_string(&abs).map_err(err)?;
    if !text.contains("-----BEGIN PUBLIC KEY-----") {
        return Err(EmitError::NotAKey {
            path: key.to_path_buf(),
        });
    }
    Ok(abs)
}

/// A containers signature policy and the registries.d fragment that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `policy.json`, pretty-printed, ending in a newline.
    pub policy_json: String,
    /// `registries.d/ferry.yaml`.
    pub registries_d: String,
}

/// Builds the policy for `relocations`, signatures checked with the key at `key` (absolute).
pub fn policy(relocations: &Relocations, key: &Path) -> Result<Policy, EmitError> {
    if relocations.0.is_empty() {
        return Err(EmitError::Empty);
    }
    let mut scopes = serde_json::Map::new();
    let mut registries = std::collections::BTreeSet::new();
    for (relocated, original) in relocations.pairs() {
        scopes.insert(
            relocated.to_string(),
            json!([{
                "type": "sigstoreSigned",
                "keyPath": key.display().to_string(),
                "signedIdentity": {
                    "type": "exactRepository",
                    "dockerRepository": original,
                },
            }]),
        );
        registries.insert(relocated.split('/').next().unwrap_or_default().to_string());
    }
    let v = json!({
        "default": [{"type": "insecureAcceptAnything"}],
        "transports": {"docker": Value::Object(scopes)},
    });
    let mut policy_json = serde_json::to_string_pretty(&v).unwrap_or_default();
    policy_json.push('\n');
    let mut registries_d = String::from(
        "# Written by ferry map --emit policy-json: look for cosign signatures\n\
         # (sigstore attachments) on the registries images were relocated to.\n\
         docker:\n",
    );
    for r in registries {
        registries_d.push_str(&format!("  \"{r}\":\n    use-sigstore-attachments: true\n"));
    }
    Ok(Policy {
        policy_json,
        registries_d,
    })
}

impl Policy {
    /// Writes `DIR/policy.json` and `DIR/registries.d/ferry.yaml`; returns their paths.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, EmitError> {
        let d = dir.join("registries.d");
        let err = |path: &Path, source| EmitError::Write {
            path: path.to_path_buf(),
            source,
        };
        crate::layout::output::check_dir_option(dir)?;
        std::fs::create_dir_all(&d).map_err(|e| err(&d, e))?;
        let p = dir.join("policy.json");
        let y = d.join(REGISTRIES_D_FILE);
        std::fs::write(&p, &self.policy_json).map_err(|e| err(&p, e))?;
        std::fs::write(&y, &self.registries_d).map_err(|e| err(&y, e))?;
        Ok(vec![p, y])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn one_scope_per_relocated_repository_with_the_original_identity() {
        let mut rel = Relocations::default();
        rel.add(
            &r("alpine:3.19"),
            &r("reg.local/team/library-alpine-x:3.19"),
        )
        .unwrap();
        rel.add(&r("alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            &r("reg.local/team/library-alpine-x@sha256:0000000000000000000000000000000000000000000000000000000000000000"))
            .unwrap();
        assert!(rel
            .add(&r("busybox"), &r("reg.local/team/library-alpine-x"))
            .is_err());
        let p = policy(&rel, Path::new("/keys/cosign.pub")).unwrap();
        let v: Value = serde_json::from_str(&p.policy_json).unwrap();
        let scope = &v["transports"]["docker"]["reg.local/team/library-alpine-x"][0];
        assert_eq!(scope["type"], "sigstoreSigned");
        assert_eq!(scope["keyPath"], "/keys/cosign.pub");
        assert_eq!(
            scope["signedIdentity"]["dockerRepository"],
            "docker.io/library/alpine"
        );
        assert_eq!(v["default"][0]["type"], "insecureAcceptAnything");
        assert!(p
            .registries_d
            .contains("\"reg.local\":\n    use-sigstore-attachments: true"));
        assert!(policy(&Relocations::default(), Path::new("/k")).is_err());
    }
}
