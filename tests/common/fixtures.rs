//! In-memory image pieces: deterministic layers, configs, OCI/Docker manifests and indexes,
//! each as raw bytes plus digest. `images.rs` assembles and pushes them.

use super::digest;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Default size of the random file inside a layer.
pub const LAYER_FILE_SIZE: usize = 4096;

/// Bytes with their media type and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// `sha256:<hex>`
    pub digest: String,
}

impl Blob {
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: digest(&bytes),
            bytes,
        }
    }

    /// From a JSON value, serialized compactly (serde_json sorts object keys).
    pub fn json(media_type: &str, value: &Value) -> Blob {
        Blob::new(media_type, serde_json::to_vec(value).unwrap())
    }

    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// `{mediaType, digest, size}`.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// A compressed layer and the digest of its uncompressed tar (its `diff_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
}

impl Layer {
    pub fn digest(&self) -> &str {
        &self.blob.digest
    }
}

/// A number derived from `seed` and some labels (for per-image, per-platform seeds).
pub fn mix(seed: u64, labels: &[&str]) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    for l in labels {
        h.update((l.len() as u64).to_le_bytes());
        h.update(l.as_bytes());
    }
    u64::from_le_bytes(h.finalize()[..8].try_into().unwrap())
}

/// `size` pseudo-random bytes, the same for the same seed.
pub fn random_bytes(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut v = vec![0u8; size];
    rng.fill_bytes(&mut v);
    v
}

/// A tar holding one file `file-<seed>.bin` of `size` random bytes (mtime 0, root-owned).
pub fn layer_tar(seed: u64, size: usize) -> Vec<u8> {
    one_file_tar(&format!("file-{seed:016x}.bin"), &random_bytes(seed, size))
}

/// A ustar holding one regular file `name` (mode 0644, mtime 0, root-owned): the same bytes
/// every run.
pub fn one_file_tar(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

/// `PREFIX/<flat>-<md5 of the full source name>` (DESIGN §5), computed independently of ferry.
pub fn hashed(prefix: &str, source_name: &str) -> String {
    let path = source_name.split_once('/').unwrap().1;
    format!(
        "{prefix}/{}-{:x}",
        path.replace('/', "-"),
        md5::compute(source_name.as_bytes())
    )
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A gzip-compressed one-file tar layer with `media_type`, deterministic from `seed`.
pub fn layer_with(media_type: &str, seed: u64, size: usize) -> Layer {
    let tar = layer_tar(seed, size);
    Layer {
        diff_id: digest(&tar),
        blob: Blob::new(media_type, gzip(&tar)),
    }
}

/// An OCI gzip layer of [`LAYER_FILE_SIZE`] random bytes.
pub fn layer(seed: u64) -> Layer {
    layer_with(OCI_LAYER_GZIP, seed, LAYER_FILE_SIZE)
}

/// A parsed `os/arch[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `"linux/amd64"`, `"linux/arm64/v8"`, `"linux/arm/v7"`, `"unknown/unknown"`.
    pub fn parse(s: &str) -> Platform {
        let mut p = s.split('/');
        let os = p.next().expect("os").to_string();
        let architecture = p
            .next()
            .unwrap_or_else(|| panic!("no arch in {s:?}"))
            .into();
        Platform {
            os,
            architecture,
            variant: p.next().map(String::from),
        }
    }

    /// The `platform` object of an index entry.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"architecture": self.architecture, "os": self.os});
        if let Some(var) = &self.variant {
            v["variant"] = json!(var);
        }
        v
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image config (`architecture`, `os`, `variant`, `rootfs.diff_ids`, ...).
pub fn config_blob(media_type: &str, platform: &Platform, diff_ids: &[String]) -> Blob {
    let mut v = json!({
        "architecture": platform.architecture,
        "os": platform.os,
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": diff_ids.iter().map(|_| json!({"created": "2024-01-01T00:00:00Z", "created_by": "ferry fixture"})).collect::<Vec<_>>(),
    });
    if let Some(var) = &platform.variant {
        v["variant"] = json!(var);
    }
    Blob::json(media_type, &v)
}

/// An image manifest (`schemaVersion: 2`) of type `media_type` (OCI or Docker schema2).
pub fn manifest_blob(
    media_type: &str,
    config: &Blob,
    layers: &[Blob],
    annotations: Option<Value>,
) -> Blob {
    let mut v = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    });
    if let Some(a) = annotations {
        v["annotations"] = a;
    }
    Blob::json(media_type, &v)
}

/// An index entry: `manifest`'s descriptor with `platform` and `annotations` when given.
pub fn index_entry(
    manifest: &Blob,
    platform: Option<&Platform>,
    annotations: Option<Value>,
) -> Value {
    let mut d = manifest.descriptor();
    if let Some(p) = platform {
        d["platform"] = p.to_json();
    }
    if let Some(a) = annotations {
        d["annotations"] = a;
    }
    d
}

/// An OCI image index or Docker manifest list (`schemaVersion: 2`) over `entries`.
pub fn index_blob(media_type: &str, entries: &[Value]) -> Blob {
    Blob::json(
        media_type,
        &json!({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}),
    )
}
