//! Shared by the differential-bundle tests (DESIGN §12): a source registry with three images
//! over one base layer, bundle A of them exported and imported into a target registry, then
//! new versions pushed (each keeps its layers and adds one; a fourth repository appears).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use super::common::*;

/// Images of the first export.
pub const FIRST: usize = 3;
/// Images of later exports: the first three and a new repository.
pub const LATER: usize = 4;

pub fn base() -> Layer {
    layer(1)
}

/// The layer image `i` gains in version `v` (v1 has 100 + i, v2 adds 200 + i, …).
pub fn own(v: u64, i: usize) -> Layer {
    layer(v * 100 + i as u64)
}

/// Image `i` at version `v`: the base, then one layer per version up to `v`. The fourth
/// repository starts at v2.
pub fn image(v: u64, i: usize) -> Image {
    let first = if i < FIRST { 1 } else { 2 };
    let mut layers = vec![base()];
    layers.extend((first..=v).map(|x| own(x, i)));
    Image::from_layers(Kind::Oci, "linux/amd64", layers)
}

/// The layers of image `i` at version 2 that bundle A (every v1 image) already carried: what
/// a bundle of v2 since A leaves out for that image.
pub fn left_out(i: usize) -> Vec<Layer> {
    let in_a: std::collections::BTreeSet<String> = (0..FIRST)
        .flat_map(|j| image(1, j).layer_digests())
        .collect();
    image(2, i)
        .layers
        .into_iter()
        .filter(|l| in_a.contains(l.digest()))
        .collect()
}

/// Every layer a bundle of v2 since A leaves out, once each.
pub fn all_left_out() -> std::collections::BTreeSet<String> {
    (0..LATER)
        .flat_map(left_out)
        .map(|l| l.digest().to_string())
        .collect()
}

pub struct World {
    pub src: Registry,
    pub target: Registry,
    pub dir: TempDir,
    /// `TARGET/team`
    pub prefix: String,
    /// Bundle A: the v1 images, already imported into the target.
    pub a: PathBuf,
}

impl World {
    /// Pushes v1 and v2, exports A (v1) and imports it into the target.
    pub fn start() -> World {
        let src = Registry::start();
        let target = Registry::start();
        let dir = tempfile::tempdir().unwrap();
        for v in 1..=2 {
            let n = if v == 1 { FIRST } else { LATER };
            for i in 0..n {
                image(v, i).push(
                    &src.client(),
                    &format!("diff/app{i}"),
                    Some(&format!("v{v}")),
                );
            }
        }
        let prefix = format!("{}/team", target.host);
        let a = dir.path().join("a.tar");
        let w = World {
            src,
            target,
            dir,
            prefix,
            a,
        };
        assert_success(&w.export(&w.a, 1, &[]));
        assert_success(&w.import(&w.a, &w.prefix, &[]));
        w
    }

    /// Pushes version `v` of every later image.
    pub fn push(&self, v: u64) {
        for i in 0..LATER {
            let tag = format!("v{v}");
            image(v, i).push(&self.src.client(), &format!("diff/app{i}"), Some(&tag));
        }
    }

    /// `SOURCE/diff/appI` for image `i`.
    pub fn source_repo(&self, i: usize) -> String {
        format!("{}/diff/app{i}", self.src.host)
    }

    /// The target repository of image `i` under `prefix` (with the host).
    pub fn target_repo(&self, prefix: &str, i: usize) -> String {
        hashed(prefix, &self.source_repo(i))
    }

    /// The references of version `v` (v1: three images, later: four).
    pub fn refs(&self, v: u64) -> Vec<String> {
        let n = if v == 1 { FIRST } else { LATER };
        (0..n)
            .map(|i| format!("{}:v{v}", self.source_repo(i)))
            .collect()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ferry export` of version `v` to `out`, with `extra` arguments.
    pub fn export(&self, out: &Path, v: u64, extra: &[&str]) -> Output {
        let refs = self.refs(v);
        let mut args: Vec<&str> = vec!["export"];
        args.extend(refs.iter().map(String::as_str));
        args.extend(["-o", out.to_str().unwrap()]);
        args.extend(extra);
        ferry(&args)
    }

    /// `ferry import BUNDLE --to PREFIX --json`, the mapping file in the temp dir.
    pub fn import(&self, bundle: &Path, prefix: &str, extra: &[&str]) -> Output {
        let m = self.path("relocation-mapping.json");
        let mut args = vec![
            "import",
            bundle.to_str().unwrap(),
            "--to",
            prefix,
            "--mapping-out",
            m.to_str().unwrap(),
            "--json",
        ];
        args.extend(extra);
        ferry(&args)
    }
}

/// Every member of a tar bundle: name → size.
pub fn members(bundle: &Path) -> BTreeMap<String, u64> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().to_string_lossy().to_string(), e.size())
        })
        .collect()
}

/// Bytes of one member of a tar bundle.
pub fn member(bundle: &Path, name: &str) -> Vec<u8> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            return v;
        }
    }
    panic!("{} has no member {name}", bundle.display())
}

/// `blobs/sha256/<hex>` of `sha256:<hex>`.
pub fn blob_path(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

/// The digest `index.json` names in `io.ferry.omitted`.
pub fn record_digest(bundle: &Path) -> String {
    let index: Value = serde_json::from_slice(&member(bundle, "index.json")).unwrap();
    index["annotations"]["io.ferry.omitted"]
        .as_str()
        .expect("a differential bundle names its record")
        .to_string()
}

/// The omitted record of a bundle, checked against its digest.
pub fn record(bundle: &Path) -> Value {
    let d = record_digest(bundle);
    let bytes = member(bundle, &blob_path(&d));
    assert_eq!(digest(&bytes), d);
    serde_json::from_slice(&bytes).unwrap()
}

/// The record's blobs: digest → (size, repositories, earlier repositories, targets).
pub type Omitted = BTreeMap<String, (u64, Vec<String>, Vec<String>, Vec<String>)>;

pub fn omitted(record: &Value) -> Omitted {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    record["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["digest"].as_str().unwrap().to_string(),
                (
                    b["size"].as_u64().unwrap(),
                    list(&b["repositories"]),
                    list(&b["earlierRepositories"]),
                    list(&b["targetRepositories"]),
                ),
            )
        })
        .collect()
}

/// Size of a ustar file holding `members` (512-byte headers, padded data, two end blocks).
pub fn tar_size(members: &BTreeMap<String, u64>) -> u64 {
    members
        .values()
        .map(|s| 512 + s.div_ceil(512) * 512)
        .sum::<u64>()
        + 1024
}

/// Requests that change a registry.
pub fn writes(reg: &Registry) -> Vec<Access> {
    reg.requests()
        .into_iter()
        .filter(|a| ["PUT", "POST", "PATCH", "DELETE"].contains(&a.method.as_str()))
        .collect()
}

/// Unpacks a tar bundle into a layout directory.
pub fn unpack(bundle: &Path, dir: &Path) {
    tar::Archive::new(std::fs::File::open(bundle).unwrap())
        .unpack(dir)
        .unwrap();
}
