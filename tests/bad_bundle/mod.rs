//! Hostile and broken bundles for the `import_bad*` tests: a good bundle from `ferry export`,
//! read into members, altered, and written back as a tar by hand (raw 512-byte ustar headers,
//! so names and types the `tar` crate refuses to write are possible).
#![allow(dead_code)]

pub mod bounded;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::*;

pub const REGULAR: u8 = b'0';
pub const HARDLINK: u8 = b'1';
pub const SYMLINK: u8 = b'2';

/// One tar member.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: Vec<u8>,
    pub kind: u8,
    pub link: Vec<u8>,
    pub data: Vec<u8>,
    /// ustar `prefix` field: the path is `prefix/name`.
    pub prefix: Vec<u8>,
}

impl Member {
    pub fn file(name: &str, data: Vec<u8>) -> Member {
        Member {
            name: name.as_bytes().to_vec(),
            kind: REGULAR,
            link: Vec::new(),
            data,
            prefix: Vec::new(),
        }
    }

    /// A PAX extended header (`x`) setting `key=value` for the next member.
    pub fn pax(key: &str, value: &str) -> Member {
        let body = format!(" {key}={value}\n");
        let mut n = body.len() + 1;
        while format!("{n}{body}").len() != n {
            n += 1;
        }
        Member {
            kind: b'x',
            ..Member::file("PaxHeaders/next", format!("{n}{body}").into_bytes())
        }
    }

    /// A GNU long-name header (`L`) naming the next member.
    pub fn gnu_long_name(name: &str) -> Member {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        Member {
            kind: b'L',
            ..Member::file("././@LongLink", data)
        }
    }

    pub fn link(name: &str, kind: u8, target: &str) -> Member {
        Member {
            name: name.as_bytes().to_vec(),
            kind,
            link: target.as_bytes().to_vec(),
            data: Vec::new(),
            prefix: Vec::new(),
        }
    }

    pub fn is(&self, name: &str) -> bool {
        self.name == name.as_bytes()
    }
}

/// `blobs/sha256/<hex>` of `sha256:<hex>`.
pub fn blob_name(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

/// The members of a tar, in order.
pub fn read_members(path: &Path) -> Vec<Member> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.push(Member {
            name: e.path_bytes().to_vec(),
            kind: e.header().entry_type().as_byte(),
            link: Vec::new(),
            data,
            prefix: Vec::new(),
        });
    }
    out
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}\0", w = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

/// A ustar tar of `members`, and the offset of each member's data.
pub fn write_tar(members: &[Member]) -> (Vec<u8>, Vec<u64>) {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for m in members {
        assert!(m.name.len() <= 100 && m.link.len() <= 100 && m.prefix.len() <= 155);
        let mut h = [0u8; 512];
        h[..m.name.len()].copy_from_slice(&m.name);
        h[345..345 + m.prefix.len()].copy_from_slice(&m.prefix);
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], m.data.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = m.kind;
        h[157..157 + m.link.len()].copy_from_slice(&m.link);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        offsets.push(out.len() as u64);
        out.extend_from_slice(&m.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    (out, offsets)
}

/// The index.json of `members`, parsed.
pub fn index_of(members: &[Member]) -> Value {
    let m = members.iter().find(|m| m.is("index.json")).unwrap();
    serde_json::from_slice(&m.data).unwrap()
}

pub fn set_index(members: &mut [Member], v: &Value) {
    let m = members.iter_mut().find(|m| m.is("index.json")).unwrap();
    m.data = serde_json::to_vec(v).unwrap();
}

/// Replaces blob `old` by `bytes` and every descriptor of it (in `index.json` and in the
/// manifests, which change digest in turn, up to `index.json`); the new digest.
pub fn swap_blob(members: &mut [Member], old: &str, bytes: Vec<u8>) -> String {
    fn retarget(v: &mut Value, old: &str, new: &str, size: usize) -> bool {
        match v {
            Value::Object(o) if o.get("digest").and_then(Value::as_str) == Some(old) => {
                o.insert("digest".into(), new.into());
                o.insert("size".into(), size.into());
                true
            }
            Value::Object(o) => o
                .values_mut()
                .fold(false, |a, x| retarget(x, old, new, size) | a),
            Value::Array(a) => a
                .iter_mut()
                .fold(false, |a, x| retarget(x, old, new, size) | a),
            _ => false,
        }
    }
    let new = digest(&bytes);
    let size = bytes.len();
    let i = members
        .iter()
        .position(|m| m.is(&blob_name(old)))
        .unwrap_or_else(|| panic!("no member for {old}"));
    members[i] = Member::file(&blob_name(&new), bytes);
    let mut parents = Vec::new();
    for m in members.iter() {
        if let Ok(mut v) = serde_json::from_slice::<Value>(&m.data) {
            if retarget(&mut v, old, &new, size) {
                parents.push((m.name.clone(), serde_json::to_vec(&v).unwrap()));
            }
        }
    }
    for (name, bytes) in parents {
        if name == b"index.json" {
            members.iter_mut().find(|m| m.name == name).unwrap().data = bytes;
        } else {
            let hex = String::from_utf8(name).unwrap();
            let d = format!("sha256:{}", hex.trim_start_matches("blobs/sha256/"));
            swap_blob(members, &d, bytes);
        }
    }
    new
}

/// Every file under `dir` (relative paths), to see what a run left behind.
pub fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.insert(p.strip_prefix(base).unwrap().to_path_buf());
            if p.is_dir() && !p.is_symlink() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// A source image exported into a good bundle, and a target registry to import into.
pub struct Setup {
    pub src: Registry,
    pub dst: Registry,
    pub dir: tempfile::TempDir,
    /// The good bundle's members.
    pub good: Vec<Member>,
    /// Source references as exported (`HOST/src/app:v1`).
    pub refs: Vec<String>,
    pub images: Vec<Image>,
}

/// Exports `images` (pushed to a fresh source registry as `src/<name>:v1`) into a bundle.
pub fn setup(images: Vec<(&str, Image)>) -> Setup {
    let src = Registry::start();
    let mut refs = Vec::new();
    let mut imgs = Vec::new();
    for (name, img) in images {
        img.push(&src.client(), &format!("src/{name}"), Some("v1"));
        refs.push(format!("{}/src/{name}:v1", src.host));
        imgs.push(img);
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("good.tar");
    let mut args = vec!["export"];
    args.extend(refs.iter().map(String::as_str));
    args.extend(["-o", bundle.to_str().unwrap()]);
    assert_success(&ferry(&args));
    let good = read_members(&bundle);
    std::fs::remove_file(&bundle).unwrap();
    Setup {
        src,
        dst: Registry::start(),
        dir,
        good,
        refs,
        images: imgs,
    }
}

/// An image with one layer of `size` random bytes made from `seed` (gzip of a one-file tar).
pub fn image(seed: u64, size: usize) -> Image {
    Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![layer_with(OCI_LAYER_GZIP, seed, size)],
    )
}

/// What one import of a bundle did.
pub struct Run {
    pub out: Output,
    /// Requests the target registry saw during the run.
    pub requests: Vec<Access>,
    /// Target repositories of the setup's images under this case's prefix.
    pub repos: Vec<String>,
}

impl Setup {
    /// Writes `bytes` as `<case>/<file>` and imports it under the prefix `HOST/<case>`, from a
    /// working directory of its own; checks that no file appeared anywhere in the temp dir.
    pub fn import(&self, case: &str, file: &str, bytes: &[u8]) -> Run {
        self.import_with(case, file, bytes, &[])
    }

    /// [`Setup::import`] with more arguments for ferry.
    pub fn import_with(&self, case: &str, file: &str, bytes: &[u8], extra: &[&str]) -> Run {
        let base = self.dir.path().join(case);
        let work = base.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let bundle = base.join(file);
        std::fs::write(&bundle, bytes).unwrap();
        let before = files_under(self.dir.path());
        let seen = self.dst.requests().len();
        let prefix = format!("{}/{case}", self.dst.host);
        let mapping = work.join("mapping.json");
        let mut cmd = ferry_cmd(&[
            "import",
            bundle.to_str().unwrap(),
            "--to",
            &prefix,
            "--mapping-out",
            mapping.to_str().unwrap(),
        ]);
        cmd.args(extra).current_dir(&work);
        let out = ferry_run(cmd, None);
        let requests = self.dst.requests()[seen..].to_vec();
        let after = files_under(self.dir.path());
        if !out.status.success() {
            let new: Vec<_> = after.difference(&before).collect();
            assert!(new.is_empty(), "{case}: the failed import left {new:?}");
        }
        Run {
            out,
            requests,
            repos: self.repos(case),
        }
    }

    /// Target repositories of the setup's images under the prefix `HOST/<case>`.
    pub fn repos(&self, case: &str) -> Vec<String> {
        self.refs
            .iter()
            .map(|r| {
                let name = r.rsplit_once(':').unwrap().0;
                let path = name.split_once('/').unwrap().1;
                format!(
                    "{case}/{}-{:x}",
                    path.replace('/', "-"),
                    md5::compute(name.as_bytes())
                )
            })
            .collect()
    }

    /// Imports a tar of `members` (see [`Setup::import`]).
    pub fn import_members(&self, case: &str, members: &[Member]) -> Run {
        self.import(case, "bundle.tar", &write_tar(members).0)
    }

    /// Control: the good bundle, written by [`write_tar`], imports and gets its tags (so a
    /// refusal is the alteration's doing, and the tag checks below can see a tag).
    pub fn assert_good(&self) {
        let run = self.import_members("good", &self.good);
        assert_success(&run.out);
        let c = self.dst.client();
        for repo in &run.repos {
            assert_eq!(c.head_manifest(repo, "v1"), 200, "{repo}:v1");
        }
    }

    /// Asserts the run failed cleanly (exit 1, stderr naming `needles`), and that no image of
    /// the setup got a tag under the case's prefix.
    pub fn assert_refused(&self, run: &Run, needles: &[&str]) {
        assert_failure(&run.out, needles);
        self.assert_untagged(&run.repos);
    }

    /// No image of the setup has a tag in `repos` (their target repositories under a prefix).
    pub fn assert_untagged(&self, repos: &[String]) {
        let c = self.dst.client();
        for repo in repos {
            assert_eq!(c.head_manifest(repo, "v1"), 404, "{repo}:v1 was created");
            let r = c.request("GET", &format!("/v2/{repo}/tags/list"), &[], b"");
            let tags: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let none = tags["tags"].as_array().is_none_or(|t| t.is_empty());
            assert!(
                r.status == 404 || (r.status == 200 && none),
                "{repo} has tags: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
    }

    /// [`Setup::assert_refused`], and the run sent nothing that writes to the target.
    pub fn assert_refused_up_front(&self, run: &Run, needles: &[&str]) {
        self.assert_refused(run, needles);
        let writes: Vec<&Access> = run
            .requests
            .iter()
            .filter(|a| a.method != "GET" && a.method != "HEAD")
            .collect();
        assert!(writes.is_empty(), "wrote to the target: {writes:?}");
    }
}
