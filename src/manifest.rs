//! Manifests and indexes as raw bytes with a read-only view beside them. The bytes are what is
//! stored and pushed; the view is parsed only to walk the graph, never re-serialised.
//! It imports only `digest` and `platform`: it never reads a file or the network.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::digest::Digest;
use crate::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Largest manifest or index ferry reads (DESIGN §2): bigger JSON is hostile or broken.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// `Accept` header for manifest requests: every OCI and Docker manifest and index type.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1, \
application/vnd.docker.distribution.manifest.v1+json;q=0.1";

/// Annotation buildkit puts on attestation manifests inside an index.
pub const ANNOT_REF_TYPE: &str = "vnd.docker.reference.type";
/// Annotation naming the manifest an attestation belongs to.
pub const ANNOT_REF_DIGEST: &str = "vnd.docker.reference.digest";

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest {digest} is not valid JSON")]
    Json {
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("manifest {digest} is Docker schema1 ({media_type}), which no current registry accepts and whose digest is not over its bytes; re-push the image with a current client")]
    Schema1 { digest: Digest, media_type: String },
    #[error("manifest {digest} has an invalid descriptor")]
    DescriptorDigest {
        digest: Digest,
        source: crate::digest::DigestError,
    },
    #[error("manifest {digest} has an invalid descriptor: negative size {size} for {child}")]
    NegativeSize {
        digest: Digest,
        child: Digest,
        size: i64,
    },
    #[error("manifest {digest} has an invalid descriptor: child manifest {child} claims {size} bytes, over the 4 MiB limit")]
    ChildTooLarge {
        digest: Digest,
        child: Digest,
        size: u64,
    },
}

/// A content descriptor, read from raw JSON.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub platform: Option<Value>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
}

/// A descriptor whose digest and size were checked to be well formed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub descriptor: Descriptor,
    pub digest: Digest,
    pub size: u64,
}

impl Checked {
    /// The descriptor of a manifest already in hand (a root resolved by tag): what a walk
    /// that starts at it was "reached by".
    pub fn of(m: &RawManifest) -> Checked {
        let size = m.bytes.len() as u64;
        Checked {
            descriptor: Descriptor {
                media_type: m.media_type.clone(),
                digest: m.digest.to_string(),
                size: i64::try_from(size).unwrap_or(i64::MAX),
                urls: Vec::new(),
                platform: None,
                annotations: BTreeMap::new(),
                artifact_type: None,
            },
            digest: m.digest.clone(),
            size,
        }
    }

    /// What an index child is, for messages: `linux/amd64 manifest`, `attestation manifest`,
    /// `child manifest`.
    pub fn what(&self) -> String {
        match (self.attests(), self.platform()) {
            (Some(_), _) => "attestation manifest".to_string(),
            (None, Some(p)) => format!("{p} manifest"),
            (None, None) => "child manifest".to_string(),
        }
    }

    pub fn platform(&self) -> Option<Platform> {
        self.descriptor
            .platform
            .as_ref()
            .and_then(Platform::from_json)
    }

    /// A buildkit attestation manifest; returns the digest of the manifest it attests.
    pub fn attests(&self) -> Option<&str> {
        let a = &self.descriptor.annotations;
        if a.get(ANNOT_REF_TYPE).map(String::as_str) == Some("attestation-manifest") {
            a.get(ANNOT_REF_DIGEST).map(String::as_str)
        } else {
            None
        }
    }

    pub fn is_index(&self) -> bool {
        is_index_type(&self.descriptor.media_type)
    }

    pub fn is_manifest(&self) -> bool {
        is_manifest_type(&self.descriptor.media_type)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct View {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    blobs: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    artifact_type: Option<String>,
}

pub fn is_index_type(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_LIST
}

pub fn is_manifest_type(mt: &str) -> bool {
    mt == OCI_MANIFEST
        || mt == DOCKER_MANIFEST
        || mt == "application/vnd.oci.artifact.manifest.v1+json"
}

fn is_schema1(mt: &str) -> bool {
    mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED
}

/// The structure of a manifest or index, as needed to walk the graph.
// Short-lived and walked once per manifest: boxing the config would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Parsed {
    Index {
        manifests: Vec<Checked>,
    },
    Manifest {
        config: Option<Checked>,
        layers: Vec<Checked>,
    },
}

/// Manifest bytes exactly as served, with their digest and media type.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
}

impl RawManifest {
    /// Wraps bytes whose digest was already checked; `served_type` is the Content-Type (or
    /// the descriptor's media type); the JSON's own `mediaType` wins when present.
    pub fn new(bytes: Vec<u8>, digest: Digest, served_type: &str) -> RawManifest {
        let inner = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            v.get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let served = served_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let media_type = match inner {
            Some(m) if !m.is_empty() => m,
            _ => served,
        };
        RawManifest {
            bytes,
            digest,
            media_type,
        }
    }

    /// Parses the read-only view.
    pub fn parse(&self) -> Result<Parsed, ManifestError> {
        let d = || self.digest.clone();
        if is_schema1(&self.media_type) {
            return Err(ManifestError::Schema1 {
                digest: d(),
                media_type: self.media_type.clone(),
            });
        }
        let v: View =
            serde_json::from_slice(&self.bytes).map_err(|source| ManifestError::Json {
                digest: d(),
                source,
            })?;
        if v.schema_version == Some(1) {
            return Err(ManifestError::Schema1 {
                digest: d(),
                media_type: self.media_type.clone(),
            });
        }
        let check = |desc: Descriptor| check_descriptor(&self.digest, desc);
        if is_index_type(&self.media_type) || (v.manifests.is_some() && v.layers.is_none()) {
            let manifests = v
                .manifests
                .unwrap_or_default()
                .into_iter()
                .map(check)
                .collect::<Result<_, _>>()?;
            return Ok(Parsed::Index { manifests });
        }
        let config = v.config.map(check).transpose()?;
        let layers = v
            .layers
            .or(v.blobs)
            .unwrap_or_default()
            .into_iter()
            .map(check)
            .collect::<Result<_, _>>()?;
        Ok(Parsed::Manifest { config, layers })
    }

    /// The `subject` digest of an OCI 1.1 referrer, if any.
    pub fn subject(&self) -> Option<Digest> {
        let v: View = serde_json::from_slice(&self.bytes).ok()?;
        Digest::parse(&v.subject?.digest).ok()
    }

    /// `artifactType`, or the config media type for artifacts that predate it.
    pub fn artifact_type(&self) -> Option<String> {
        let v: View = serde_json::from_slice(&self.bytes).ok()?;
        v.artifact_type.or(v.config.map(|c| c.media_type))
    }

    pub fn is_index(&self) -> bool {
        is_index_type(&self.media_type)
    }
}

pub fn check_descriptor(parent: &Digest, desc: Descriptor) -> Result<Checked, ManifestError> {
    let digest = Digest::parse(&desc.digest).map_err(|source| ManifestError::DescriptorDigest {
        digest: parent.clone(),
        source,
    })?;
    let size = u64::try_from(desc.size).map_err(|_| ManifestError::NegativeSize {
        digest: parent.clone(),
        child: digest.clone(),
        size: desc.size,
    })?;
    if (is_index_type(&desc.media_type) || is_manifest_type(&desc.media_type))
        && size > MAX_MANIFEST_SIZE
    {
        return Err(ManifestError::ChildTooLarge {
            digest: parent.clone(),
            child: digest,
            size,
        });
    }
    Ok(Checked {
        descriptor: desc,
        digest,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str, mt: &str) -> RawManifest {
        RawManifest::new(
            json.as_bytes().to_vec(),
            Digest::sha256_of(json.as_bytes()),
            mt,
        )
    }

    #[test]
    fn parses_index_and_manifest() {
        let d = Digest::sha256_of(b"x").to_string();
        let idx = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":3,
            "platform":{{"os":"linux","architecture":"arm64"}},"annotations":{{"a":"b"}}}}]}}"#
        );
        let m = raw(&idx, OCI_INDEX);
        match m.parse().unwrap() {
            Parsed::Index { manifests } => {
                assert_eq!(manifests.len(), 1);
                assert_eq!(manifests[0].platform().unwrap().to_string(), "linux/arm64");
            }
            _ => panic!("expected index"),
        }
        let man = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"c","digest":"{d}","size":1}},"layers":[]}}"#
        );
        let m = raw(&man, "text/plain");
        assert_eq!(m.media_type, DOCKER_MANIFEST);
        assert!(matches!(m.parse().unwrap(), Parsed::Manifest { .. }));
    }

    #[test]
    fn refuses_schema1_and_bad_descriptors() {
        let m = raw(r#"{"schemaVersion":1,"name":"x"}"#, DOCKER_SCHEMA1_SIGNED);
        assert!(matches!(m.parse(), Err(ManifestError::Schema1 { .. })));
        let m = raw(
            r#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:../x","size":1},"layers":[]}"#,
            OCI_MANIFEST,
        );
        assert!(matches!(
            m.parse(),
            Err(ManifestError::DescriptorDigest { .. })
        ));
        let d = Digest::sha256_of(b"x");
        let m = raw(
            &format!(
                r#"{{"schemaVersion":2,"config":{{"mediaType":"c","digest":"{d}","size":-1}},"layers":[]}}"#
            ),
            OCI_MANIFEST,
        );
        assert!(m.parse().is_err());
    }
}
