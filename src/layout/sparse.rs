//! Sparse entries (DESIGN §2): an `index.json` entry annotated `io.ferry.platforms` keeps only
//! some platforms of its index. These rules decide which absent children were left out on
//! purpose; `import` and `verify` both follow them, so they agree on what is an error.

use crate::manifest::Checked;
use crate::platform::{Platform, PlatformError};

/// Parses an `io.ferry.platforms` value: platforms separated by commas (`linux/amd64,linux/arm64/v8`).
pub fn kept_platforms(annotation: &str) -> Result<Vec<Platform>, PlatformError> {
    annotation
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Platform::parse)
        .collect()
}

/// True when `child` names a kept platform.
fn is_kept(kept: &[Platform], child: &Checked) -> bool {
    child
        .platform()
        .is_some_and(|p| kept.iter().any(|k| p.matches(k)))
}

/// Whether `child`, absent from the bundle, was left out on purpose by a sparse export that
/// kept `kept`: it is not a kept platform, or it is a buildkit attestation of a manifest that is
/// not a kept platform. `siblings` are all the children of the same index (the attested
/// manifest is found among them).
pub fn deliberately_absent(kept: &[Platform], child: &Checked, siblings: &[Checked]) -> bool {
    match child.attests() {
        Some(subject) => !siblings
            .iter()
            .any(|s| s.digest.to_string() == subject && s.attests().is_none() && is_kept(kept, s)),
        None => !is_kept(kept, child),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::manifest::{check_descriptor, Descriptor};

    fn child(seed: &[u8], platform: &str, attests: Option<&Digest>) -> Checked {
        let (os, arch) = platform.split_once('/').unwrap();
        let mut desc = serde_json::json!({
            "mediaType": crate::manifest::OCI_MANIFEST,
            "digest": Digest::sha256_of(seed).to_string(),
            "size": 1,
            "platform": {"os": os, "architecture": arch},
        });
        if let Some(d) = attests {
            desc["annotations"] = serde_json::json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": d.to_string(),
            });
        }
        let desc: Descriptor = serde_json::from_value(desc).unwrap();
        check_descriptor(&Digest::sha256_of(b"parent"), desc).unwrap()
    }

    #[test]
    fn absent_children_are_deliberate_only_outside_the_kept_platforms() {
        let kept = kept_platforms("linux/amd64, ").unwrap();
        let amd = child(b"a", "linux/amd64", None);
        let arm = child(b"b", "linux/arm64", None);
        let att_amd = child(b"c", "unknown/unknown", Some(&amd.digest));
        let att_arm = child(b"d", "unknown/unknown", Some(&arm.digest));
        let all = vec![amd.clone(), arm.clone(), att_amd.clone(), att_arm.clone()];
        assert!(!deliberately_absent(&kept, &amd, &all));
        assert!(deliberately_absent(&kept, &arm, &all));
        assert!(!deliberately_absent(&kept, &att_amd, &all));
        assert!(deliberately_absent(&kept, &att_arm, &all));
        assert!(kept_platforms("linux").is_err());
    }
}
