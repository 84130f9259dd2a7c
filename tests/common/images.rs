//! Whole images and indexes built from `fixtures.rs` pieces and pushed with `upload.rs`.

use super::fixtures::*;
use super::upload::{Client, Target};
use serde_json::json;

/// Seed of the layer shared by every image built with `shared_layer` and the default seed.
pub const SHARED_SEED: u64 = 0x5eed;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// OCI media types (index, manifest, config, tar+gzip layers).
    Oci,
    /// Docker schema2 media types (manifest list, manifest, container config, rootfs diff).
    Docker,
}

impl Kind {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Kind::Oci => OCI_MANIFEST,
            Kind::Docker => DOCKER_MANIFEST,
        }
    }
    pub fn index_type(self) -> &'static str {
        match self {
            Kind::Oci => OCI_INDEX,
            Kind::Docker => DOCKER_LIST,
        }
    }
    pub fn config_type(self) -> &'static str {
        match self {
            Kind::Oci => OCI_CONFIG,
            Kind::Docker => DOCKER_CONFIG,
        }
    }
    pub fn layer_type(self) -> &'static str {
        match self {
            Kind::Oci => OCI_LAYER_GZIP,
            Kind::Docker => DOCKER_LAYER_GZIP,
        }
    }
}

/// One image: manifest, config and layers (all in memory).
#[derive(Clone, Debug)]
pub struct Image {
    /// `os/arch[/variant]` (`unknown/unknown` for attestation manifests).
    pub platform: String,
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<Layer>,
}

impl Image {
    /// An image of `kind` for `platform` with one layer per seed.
    pub fn new(kind: Kind, platform: &str, layer_seeds: &[u64]) -> Image {
        let layers: Vec<Layer> = layer_seeds
            .iter()
            .map(|s| layer_with(kind.layer_type(), *s, LAYER_FILE_SIZE))
            .collect();
        Image::from_layers(kind, platform, layers)
    }

    /// An image of `kind` for `platform` over ready-made layers.
    pub fn from_layers(kind: Kind, platform: &str, layers: Vec<Layer>) -> Image {
        let p = Platform::parse(platform);
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        let config = config_blob(kind.config_type(), &p, &diff_ids);
        let blobs: Vec<Blob> = layers.iter().map(|l| l.blob.clone()).collect();
        let manifest = manifest_blob(kind.manifest_type(), &config, &blobs, None);
        Image {
            platform: platform.to_string(),
            manifest,
            config,
            layers,
        }
    }

    /// A buildkit-style attestation manifest (OCI, one in-toto layer) for `subject`.
    pub fn attestation_for(subject: &Image) -> Image {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": "ferry-fixture", "digest": {"sha256": subject.digest().trim_start_matches("sha256:")}}],
            "predicate": {"builder": {"id": "ferry-test"}},
        });
        let blob = Blob::json(IN_TOTO, &statement);
        let layer = Layer {
            diff_id: blob.digest.clone(),
            blob,
        };
        let p = Platform::parse("unknown/unknown");
        let config = config_blob(OCI_CONFIG, &p, std::slice::from_ref(&layer.diff_id));
        let mut desc = layer.blob.descriptor();
        desc["annotations"] =
            json!({"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"});
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": [desc],
        });
        Image {
            platform: "unknown/unknown".into(),
            manifest: Blob::json(OCI_MANIFEST, &m),
            config,
            layers: vec![layer],
        }
    }

    /// The manifest digest.
    pub fn digest(&self) -> &str {
        &self.manifest.digest
    }

    /// Config then layer digests.
    pub fn blob_digests(&self) -> Vec<String> {
        let mut v = vec![self.config.digest.clone()];
        v.extend(self.layers.iter().map(|l| l.blob.digest.clone()));
        v
    }

    pub fn layer_digests(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.blob.digest.clone()).collect()
    }

    /// Pushes config and layers, then the manifest under `reference` (a tag, or its digest
    /// when None).
    pub fn push(&self, c: &Client, repo: &str, reference: Option<&str>) {
        c.push_blob(repo, &self.config.bytes);
        for l in &self.layers {
            c.push_blob(repo, &l.blob.bytes);
        }
        let reference = reference.unwrap_or(&self.manifest.digest);
        c.push_manifest(
            repo,
            reference,
            &self.manifest.media_type,
            &self.manifest.bytes,
        );
    }
}

/// An index (or manifest list) with its platform images and attestation manifests.
#[derive(Clone, Debug)]
pub struct ImageIndex {
    pub index: Blob,
    /// In index order, attestations excluded.
    pub images: Vec<Image>,
    /// One per platform image, same order (empty without attestations).
    pub attestations: Vec<Image>,
}

impl ImageIndex {
    /// An index of `kind` over `images`, each followed by its attestation when given.
    pub fn new(kind: Kind, images: Vec<Image>, attestations: Vec<Image>) -> ImageIndex {
        let mut entries = Vec::new();
        for (i, img) in images.iter().enumerate() {
            let p = Platform::parse(&img.platform);
            entries.push(index_entry(&img.manifest, Some(&p), None));
            if let Some(att) = attestations.get(i) {
                let annotations = json!({
                    "vnd.docker.reference.digest": img.digest(),
                    "vnd.docker.reference.type": "attestation-manifest",
                });
                let p = Platform::parse("unknown/unknown");
                entries.push(index_entry(&att.manifest, Some(&p), Some(annotations)));
            }
        }
        ImageIndex {
            index: index_blob(kind.index_type(), &entries),
            images,
            attestations,
        }
    }

    pub fn digest(&self) -> &str {
        &self.index.digest
    }

    /// The image for `platform` (`"linux/arm64/v8"`); panics when absent.
    pub fn image(&self, platform: &str) -> &Image {
        self.images
            .iter()
            .find(|i| i.platform == platform)
            .unwrap_or_else(|| panic!("no {platform} in index"))
    }

    /// The attestation manifest referring to the `platform` image, if any.
    pub fn attestation(&self, platform: &str) -> Option<&Image> {
        let i = self.images.iter().position(|i| i.platform == platform)?;
        self.attestations.get(i)
    }

    /// Every manifest digest under the index (platform images then attestations).
    pub fn manifest_digests(&self) -> Vec<String> {
        self.images
            .iter()
            .chain(&self.attestations)
            .map(|i| i.manifest.digest.clone())
            .collect()
    }

    /// Every config and layer digest, deduplicated, in first-seen order.
    pub fn blob_digests(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for d in self
            .images
            .iter()
            .chain(&self.attestations)
            .flat_map(Image::blob_digests)
        {
            if !v.contains(&d) {
                v.push(d);
            }
        }
        v
    }

    /// Pushes every image by digest, then the index under `tag`.
    pub fn push(&self, c: &Client, repo: &str, tag: &str) {
        for img in self.images.iter().chain(&self.attestations) {
            img.push(c, repo, None);
        }
        c.push_manifest(repo, tag, &self.index.media_type, &self.index.bytes);
    }
}

/// Builds the images of an index: per platform, the shared layer (seed `seed`) when
/// `shared_layer`, then a layer unique to (repo, tag, platform, seed).
pub fn build_index(
    kind: Kind,
    repo: &str,
    tag: &str,
    platforms: &[&str],
    shared_layer: bool,
    with_attestation: bool,
    seed: u64,
) -> ImageIndex {
    let images: Vec<Image> = platforms
        .iter()
        .map(|p| {
            let mut seeds = Vec::new();
            if shared_layer {
                seeds.push(seed);
            }
            seeds.push(mix(seed, &[repo, tag, p]));
            Image::new(kind, p, &seeds)
        })
        .collect();
    let attestations = if with_attestation {
        images.iter().map(Image::attestation_for).collect()
    } else {
        Vec::new()
    };
    ImageIndex::new(kind, images, attestations)
}

/// Pushes an OCI index `repo:tag` over `platforms` (`"linux/amd64"`, `"linux/arm64/v8"`,
/// `"linux/arm/v7"`). With `shared_layer`, every platform image starts with the layer of
/// [`SHARED_SEED`] (so indexes in other repos share it too). With `with_attestation`, each
/// platform image is followed by a buildkit attestation manifest (`unknown/unknown`,
/// `vnd.docker.reference.type: attestation-manifest`, `vnd.docker.reference.digest`).
pub fn push_oci_index(
    to: &(impl Target + ?Sized),
    repo: &str,
    tag: &str,
    platforms: &[&str],
    shared_layer: bool,
    with_attestation: bool,
) -> ImageIndex {
    push_oci_index_seeded(
        to,
        repo,
        tag,
        platforms,
        shared_layer,
        with_attestation,
        SHARED_SEED,
    )
}

/// [`push_oci_index`] with the shared layer made from `seed` (unique layers mix it in too).
pub fn push_oci_index_seeded(
    to: &(impl Target + ?Sized),
    repo: &str,
    tag: &str,
    platforms: &[&str],
    shared_layer: bool,
    with_attestation: bool,
    seed: u64,
) -> ImageIndex {
    let idx = build_index(
        Kind::Oci,
        repo,
        tag,
        platforms,
        shared_layer,
        with_attestation,
        seed,
    );
    idx.push(&to.client(), repo, tag);
    idx
}

/// Pushes a Docker manifest list `repo:tag` (schema2 manifests, container configs, rootfs
/// diff layers); `shared_layer` as in [`push_oci_index`].
pub fn push_docker_list(
    to: &(impl Target + ?Sized),
    repo: &str,
    tag: &str,
    platforms: &[&str],
    shared_layer: bool,
) -> ImageIndex {
    push_docker_list_seeded(to, repo, tag, platforms, shared_layer, SHARED_SEED)
}

pub fn push_docker_list_seeded(
    to: &(impl Target + ?Sized),
    repo: &str,
    tag: &str,
    platforms: &[&str],
    shared_layer: bool,
    seed: u64,
) -> ImageIndex {
    let idx = build_index(
        Kind::Docker,
        repo,
        tag,
        platforms,
        shared_layer,
        false,
        seed,
    );
    idx.push(&to.client(), repo, tag);
    idx
}

/// Pushes a single-platform (linux/amd64) image `repo:tag` with two layers: one made from
/// `seed` alone (shared by every image pushed with the same seed) and one unique to
/// (repo, tag, seed).
pub fn push_image(
    to: &(impl Target + ?Sized),
    kind: Kind,
    repo: &str,
    tag: &str,
    seed: u64,
) -> Image {
    let img = Image::new(kind, "linux/amd64", &[seed, mix(seed, &[repo, tag])]);
    img.push(&to.client(), repo, Some(tag));
    img
}

/// [`push_image`] with Docker schema2 media types.
pub fn push_docker_manifest(
    to: &(impl Target + ?Sized),
    repo: &str,
    tag: &str,
    seed: u64,
) -> Image {
    push_image(to, Kind::Docker, repo, tag, seed)
}

/// [`push_image`] with OCI media types.
pub fn push_oci_manifest(to: &(impl Target + ?Sized), repo: &str, tag: &str, seed: u64) -> Image {
    push_image(to, Kind::Oci, repo, tag, seed)
}
