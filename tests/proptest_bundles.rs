//! Property test: a small good bundle (built once, in memory, no registry), one random
//! mutation (flip a bit anywhere, truncate anywhere, duplicate or drop a member, rewrite a
//! header field), then `ferry verify` of it as a tar and as a `.tar.gz`, and `ferry import
//! --dry-run` of the tar. ferry must never panic or die of a signal (exit 0 or 1 only), must
//! finish each run within 5 s, must not pass `verify` when a blob's bytes changed (or went
//! missing), and must pass both commands when the mutation changed nothing that matters.
//!
//! 64 cases by default (about 10 s); `PROPTEST_CASES=N` for a longer run.

use crate::bad_bundle;
use crate::common;

use std::sync::LazyLock;
use std::time::Duration;

use bad_bundle::bounded::{run_bounded, Bounded};
use bad_bundle::*;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(5);

/// The good bundle: members, their tar, where each member's header and data start.
struct Good {
    members: Vec<Member>,
    tar: Vec<u8>,
    offsets: Vec<usize>,
}

static GOOD: LazyLock<Good> = LazyLock::new(|| {
    let img = Image::from_layers(
        Kind::Oci,
        "linux/amd64",
        vec![
            layer_with(OCI_LAYER_GZIP, 61, 1500),
            layer_with(OCI_LAYER_GZIP, 62, 300),
        ],
    );
    let name = "example.com/prop/app:v1";
    let mut entry = img.manifest.descriptor();
    entry["annotations"] = json!({
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name,
    });
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]});
    let mut members = vec![
        Member::file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        Member::file("index.json", serde_json::to_vec(&index).unwrap()),
    ];
    for b in [&img.manifest, &img.config]
        .into_iter()
        .chain(img.layers.iter().map(|l| &l.blob))
    {
        members.push(Member::file(&blob_name(&b.digest), b.bytes.clone()));
    }
    let (tar, offsets) = write_tar(&members);
    Good {
        members,
        tar,
        offsets: offsets.into_iter().map(|o| o as usize).collect(),
    }
});

#[derive(Debug, Clone)]
enum Field {
    Name(String),
    /// `./` before the name: the same member.
    DotSlash,
    Mode(u64),
    Mtime(u64),
    Size(u64),
    Type(u8),
    Checksum(u64),
}

#[derive(Debug, Clone)]
enum Mutation {
    /// The good bundle itself (the control).
    Nothing,
    Flip {
        at: Index,
        bit: u8,
    },
    Truncate {
        at: Index,
    },
    /// A copy of a member at the end of the tar, its first byte flipped when `altered`.
    Duplicate {
        member: Index,
        altered: bool,
    },
    Drop {
        member: Index,
    },
    Header {
        member: Index,
        field: Field,
    },
    /// A bit of the `.tar.gz` itself (verified as `.tar.gz` only).
    GzFlip {
        at: Index,
        bit: u8,
    },
}

fn field() -> impl Strategy<Value = Field> {
    let types = vec![
        0, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'g', b'x', b'L', b'K', b'S', b'V',
    ];
    prop_oneof![
        "[a-z0-9./]{0,40}".prop_map(Field::Name),
        Just(Field::DotSlash),
        (0u64..0o7777).prop_map(Field::Mode),
        (0u64..0o77777777777).prop_map(Field::Mtime),
        (0u64..=0o77777777777).prop_map(Field::Size),
        prop::sample::select(types).prop_map(Field::Type),
        (0u64..0o777777).prop_map(Field::Checksum),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        2 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<Index>(), any::<bool>())
            .prop_map(|(member, altered)| Mutation::Duplicate { member, altered }),
        1 => any::<Index>().prop_map(|member| Mutation::Drop { member }),
        3 => (any::<Index>(), field()).prop_map(|(member, field)| Mutation::Header { member, field }),
        1 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::GzFlip { at, bit }),
    ]
}

/// What ferry must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A blob changed or went missing, or the tar cannot be read: `verify` exits 1.
    Fail,
    /// Nothing that matters changed: `verify` and `import --dry-run` exit 0.
    Pass,
    /// Either, cleanly.
    Any,
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}\0", w = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

fn checksum(h: &mut [u8]) {
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// `a/./b//c` → `a/b/c`, as ferry reads names.
fn normal(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    parts.join("/")
}

/// The mutated tar, and what ferry must say about it.
fn apply(m: &Mutation) -> (Vec<u8>, Expect) {
    let g = &*GOOD;
    let is_blob = |i: usize| g.members[i].name.starts_with(b"blobs/");
    let blob_range = |i: usize| g.offsets[i]..g.offsets[i] + g.members[i].data.len();
    let pick = |ix: &Index| ix.index(g.members.len());
    let mut tar = g.tar.clone();
    let expect = match m {
        Mutation::Nothing => Expect::Pass,
        Mutation::Flip { at, bit } => {
            let p = at.index(tar.len());
            tar[p] ^= 1 << bit;
            let hit = (0..g.members.len()).any(|i| is_blob(i) && blob_range(i).contains(&p));
            if hit {
                Expect::Fail
            } else {
                Expect::Any
            }
        }
        Mutation::Truncate { at } => {
            let p = at.index(tar.len());
            tar.truncate(p);
            let cut = (0..g.members.len()).any(|i| is_blob(i) && blob_range(i).end > p);
            if cut {
                Expect::Fail
            } else {
                Expect::Any
            }
        }
        Mutation::Duplicate { member, altered } => {
            let i = pick(member);
            let mut members = g.members.clone();
            let mut copy = members[i].clone();
            let altered = *altered && !copy.data.is_empty();
            if altered {
                copy.data[0] ^= 1;
            }
            members.push(copy);
            tar = write_tar(&members).0;
            match (altered, is_blob(i)) {
                (false, _) => Expect::Pass,
                (true, true) => Expect::Fail,
                (true, false) => Expect::Any,
            }
        }
        Mutation::Drop { member } => {
            let i = pick(member);
            let mut members = g.members.clone();
            members.remove(i);
            tar = write_tar(&members).0;
            if is_blob(i) {
                Expect::Fail
            } else {
                Expect::Any
            }
        }
        Mutation::Header { member, field } => {
            let i = pick(member);
            let h = &mut tar[g.offsets[i] - 512..g.offsets[i]];
            let name = String::from_utf8(g.members[i].name.clone()).unwrap();
            let len = g.members[i].data.len() as u64;
            let (expect, sum) = match field {
                Field::Name(n) => {
                    h[..100].fill(0);
                    h[..n.len()].copy_from_slice(n.as_bytes());
                    let e = match (normal(n) == name, is_blob(i)) {
                        (true, _) => Expect::Pass,
                        (false, true) => Expect::Fail,
                        (false, false) => Expect::Any,
                    };
                    (e, true)
                }
                Field::DotSlash => {
                    let n = format!("./{name}");
                    h[..n.len()].copy_from_slice(n.as_bytes());
                    (Expect::Pass, true)
                }
                Field::Mode(v) => {
                    octal(&mut h[100..108], *v);
                    (Expect::Pass, true)
                }
                Field::Mtime(v) => {
                    octal(&mut h[136..148], *v);
                    (Expect::Pass, true)
                }
                Field::Size(v) => {
                    octal(&mut h[124..136], *v);
                    let e = match (*v == len, is_blob(i)) {
                        (true, _) => Expect::Pass,
                        (false, true) => Expect::Fail,
                        (false, false) => Expect::Any,
                    };
                    (e, true)
                }
                Field::Type(t) => {
                    h[156] = *t;
                    let regular = matches!(*t, 0 | b'0' | b'7');
                    let e = match (regular, is_blob(i)) {
                        (true, _) => Expect::Pass,
                        (false, true) => Expect::Fail,
                        (false, false) => Expect::Any,
                    };
                    (e, true)
                }
                Field::Checksum(c) => {
                    let mut fixed = h.to_vec();
                    checksum(&mut fixed);
                    h[148..156].copy_from_slice(format!("{c:06o}\0 ").as_bytes());
                    let e = if h[148..156] == fixed[148..156] {
                        Expect::Pass
                    } else {
                        Expect::Fail
                    };
                    (e, false)
                }
            };
            if sum {
                checksum(h);
            }
            expect
        }
        Mutation::GzFlip { .. } => Expect::Any,
    };
    (tar, expect)
}

fn check_run(what: &str, run: &Bounded, expect: Expect) {
    run.assert_clean_exit(what);
    assert!(run.elapsed < LIMIT, "{what}: took {:?}", run.elapsed);
    let code = run.status.code();
    match expect {
        Expect::Fail => assert_eq!(code, Some(1), "{what}: passed:\n{}", run.stderr),
        Expect::Pass => assert_eq!(code, Some(0), "{what}: refused:\n{}", run.stderr),
        Expect::Any => {}
    }
}

fn check(m: &Mutation) {
    let (tar, expect) = apply(m);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("bundle.tar");
    let gz = dir.path().join("bundle.tar.gz");
    std::fs::write(&plain, &tar).unwrap();
    let mut gz_bytes = gzip(&tar);
    if let Mutation::GzFlip { at, bit } = m {
        let p = at.index(gz_bytes.len());
        gz_bytes[p] ^= 1 << bit;
    }
    std::fs::write(&gz, &gz_bytes).unwrap();
    let verify = |p: &std::path::Path| {
        let mut c = ferry_cmd(&["verify", p.to_str().unwrap()]);
        c.current_dir(dir.path());
        run_bounded(c, LIMIT)
    };
    if !matches!(m, Mutation::GzFlip { .. }) {
        check_run(&format!("verify tar, {m:?}"), &verify(&plain), expect);
        let mut c = ferry_cmd(&["import", plain.to_str().unwrap()]);
        c.args(["--to", "127.0.0.1:9/prop", "--dry-run"])
            .current_dir(dir.path());
        let dry = run_bounded(c, LIMIT);
        let dry_expect = if expect == Expect::Pass {
            Expect::Pass
        } else {
            Expect::Any
        };
        check_run(&format!("import --dry-run, {m:?}"), &dry, dry_expect);
    }
    check_run(&format!("verify tar.gz, {m:?}"), &verify(&gz), expect);
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_good_bundle_passes() {
    check(&Mutation::Nothing);
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn mutated_bundles_are_refused_cleanly_and_fast(m in mutation()) {
        check(&m);
    }
}
