use super::*;

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn hashed(prefix: &str) -> Mapper {
    Mapper::new(prefix, Scheme::Hashed).unwrap()
}

fn mapping_file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn md5_of_full_name() {
    assert_eq!(
        md5_hex("docker.io/istio/proxyv2"),
        "f93a2cacc6cafa0474a2d6990a4dd1a0"
    );
}

#[test]
fn hashed_examples_from_duffle() {
    let m = hashed("example.com/user");
    let reloc = |s: &str| m.relocate(&r(s)).unwrap();
    assert_eq!(
        reloc("istio/proxyv2:1.1"),
        "example.com/user/istio-proxyv2-f93a2cacc6cafa0474a2d6990a4dd1a0:1.1"
    );
    assert_eq!(
        reloc("projectriff/builder:v1"),
        "example.com/user/projectriff-builder-a4a25a99d48adad8310050be267a10ce:v1"
    );
    let d = format!("sha256:{}", "d".repeat(64));
    let x = format!(
        "example.com/user/library-x-{}",
        md5_hex("docker.io/library/x")
    );
    assert_eq!(reloc(&format!("x@{d}")), format!("{x}@{d}"));
    assert_eq!(reloc(&format!("x:t@{d}")), format!("{x}:t@{d}"));
    // Bare stays bare, and Docker Hub's spellings meet in one target.
    let alpine = format!(
        "example.com/user/library-alpine-{}",
        md5_hex("docker.io/library/alpine")
    );
    assert_eq!(reloc("alpine"), alpine);
    assert_eq!(reloc("index.docker.io/library/alpine"), alpine);
    assert_eq!(
        reloc("127.0.0.1:5000/a/b:t"),
        format!("example.com/user/a-b-{}:t", md5_hex("127.0.0.1:5000/a/b"))
    );
}

#[test]
fn matches_image_relocation_vectors() {
    let m = hashed("test.host/testuser");
    let t = |s: &str| m.target_repository(&r(s)).unwrap();
    assert_eq!(
        t("some.registry.com/some-user/some/path:v1"),
        "test.host/testuser/some-user-some-path-3236c106420c1d0898246e1d2b6ba8b6"
    );
    let comps: Vec<String> = ('a'..='t').map(|c| format!("{c}xxxxxxxxx")).collect();
    let src = format!("some.registry.com/some-user/{}", comps.join("/"));
    let want = format!(
        "test.host/testuser/some-user-{}---txxxxxxxxx-b0d16e8b4d43f2ec842cfcc61989a966",
        comps[..16].join("-")
    );
    assert_eq!(t(&src), want);
}

#[test]
fn shortening_candidates_in_order() {
    assert_eq!(
        flat_candidates("a/b/c/d"),
        ["a-b-c-d", "a-b---d", "a---d", "d", "a"]
    );
    assert_eq!(flat_candidates("a/b"), ["a-b", "b", "a"]);
    assert_eq!(flat_candidates("a"), ["a", "a"]);
}

#[test]
fn long_prefix_shortens_step_by_step() {
    let src = r("example.com/aaa/bb/cc/dddddd");
    let hash = md5_hex("example.com/aaa/bb/cc/dddddd");
    // Room for flat = 221 - len(prefix); each candidate is taken at exactly its own length.
    for (room, flat) in [
        (16, Some("aaa-bb-cc-dddddd")),
        (15, Some("aaa-bb---dddddd")),
        (14, Some("aaa---dddddd")),
        (11, Some("dddddd")),
        (5, Some("aaa")),
        (2, None),
    ] {
        let prefix = format!("r.io/{}", "p".repeat(221 - room - 5));
        let got = hashed(&prefix).target_repository(&src).unwrap();
        let want = match flat {
            Some(f) => format!("{prefix}/{f}-{hash}"),
            None => format!("{prefix}/{hash}"),
        };
        assert_eq!(got, want, "room {room}");
        assert!(got.len() <= NAME_MAX);
    }
    let exact = format!("r.io/{}", "p".repeat(221 - 16 - 5));
    let got = hashed(&exact).target_repository(&src).unwrap();
    assert_eq!(got.len(), NAME_MAX);
    // The longest prefix that still fits PREFIX/hash, and one more character.
    assert!(Mapper::new(&format!("r.io/{}", "p".repeat(217)), Scheme::Hashed).is_ok());
    let e = Mapper::new(&format!("r.io/{}", "p".repeat(218)), Scheme::Hashed);
    assert!(matches!(e, Err(MappingError::InvalidPrefix { .. })));
}

#[test]
fn path_mapping_keeps_hosts_readable() {
    let m = Mapper::new("reg.local/team", Scheme::Path).unwrap();
    let t = |s: &str| m.target_repository(&r(s)).unwrap();
    assert_eq!(
        t("127.0.0.1:5000/x/y:t"),
        "reg.local/team/127.0.0.1-5000/x/y"
    );
    assert_eq!(t("[::1]:5000/x/y"), "reg.local/team/1-5000/x/y");
    assert_eq!(t("istio/proxyv2"), "reg.local/team/docker.io/istio/proxyv2");
    assert_eq!(host_component("My_Host.Example:443"), "my_host.example-443");
    assert_eq!(host_component("a._b"), "a-b");
    let long = format!("example.com/{}", "x".repeat(240));
    let e = m.target_repository(&r(&long));
    assert!(matches!(e, Err(MappingError::InvalidTarget { .. })));
}

#[test]
fn path_mapping_refuses_collisions() {
    let m = Mapper::new("reg.local", Scheme::Path).unwrap();
    let (a, b, a2) = (r("a.b:1/x:1"), r("a.b-1/x:2"), r("a.b:1/x:3"));
    // The same repository under several tags is fine.
    let ok = m.check_all([&a, &a2]).unwrap();
    assert_eq!(
        ok.get("a.b:1/x").map(String::as_str),
        Some("reg.local/a.b-1/x")
    );
    match m.check_all([&a, &a2, &b]) {
        Err(MappingError::Collision {
            first,
            second,
            target,
            ..
        }) => {
            assert_eq!((first.as_str(), second.as_str()), ("a.b:1/x", "a.b-1/x"));
            assert_eq!(target, "reg.local/a.b-1/x");
        }
        other => panic!("expected a collision, got {other:?}"),
    }
    // Hashed keeps the same two apart.
    assert_eq!(hashed("reg.local").check_all([&a, &b]).unwrap().len(), 2);
}

#[test]
fn validates_prefixes() {
    assert_eq!(hashed("reg.local/team/").prefix(), "reg.local/team");
    assert_eq!(hashed("index.docker.io/user").prefix(), "docker.io/user");
    assert_eq!(hashed("localhost:5000").prefix(), "localhost:5000");
    assert_eq!(hashed("[::1]:5000/x").prefix(), "[::1]:5000/x");
    for bad in [
        "",
        "team",
        "team/sub",
        "https://reg.local/team",
        "reg.local/Team",
        "reg.local/a//b",
        "reg.local/team:1",
        "reg.local/-x",
        "docker.io",
        "reg local/x",
    ] {
        let e = Mapper::new(bad, Scheme::Hashed);
        assert!(
            matches!(e, Err(MappingError::InvalidPrefix { .. })),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn explicit_file_maps_exactly() {
    let f = mapping_file(
        r#"{"alpine": "alp", "docker.io/istio/proxyv2:1.1": "reg.local/other/proxy:1.1",
            "index.docker.io/library/alpine": "reg.local/team/alp"}"#,
    );
    let m = Mapper::from_file("reg.local/team", f.path()).unwrap();
    assert_eq!(m.relocate(&r("alpine:3")).unwrap(), "reg.local/team/alp:3");
    assert_eq!(
        m.relocate(&r("istio/proxyv2:1.2")).unwrap(),
        "reg.local/other/proxy:1.2"
    );
    match m.target_repository(&r("busybox")) {
        Err(MappingError::NotInMapping { repository }) => {
            assert_eq!(repository, "docker.io/library/busybox")
        }
        other => panic!("expected NotInMapping, got {other:?}"),
    }
    let same = Scheme::Explicit([("alpine".to_string(), "reg.local/team/alp".to_string())].into());
    assert!(Mapper::new("reg.local/team", same).is_ok());
}

#[test]
fn explicit_file_refusals() {
    let load = |text: &str| Mapper::from_file("reg.local/team", mapping_file(text).path());
    match load(r#"{"a/x": "t", "b/y": "reg.local/team/t"}"#) {
        Err(MappingError::Collision { first, second, .. }) => {
            assert_eq!(
                (first.as_str(), second.as_str()),
                ("docker.io/a/x", "docker.io/b/y")
            )
        }
        other => panic!("expected a collision, got {other:?}"),
    }
    for bad in [
        r#"{"alpine": "a", "docker.io/library/alpine": "b"}"#,
        r#"{"alpine:3": "a:4"}"#,
        r#"{"alpine": "other.io/a"}"#,
        r#"{"alpine": "Bad"}"#,
        r#"{"not a ref": "a"}"#,
    ] {
        assert!(
            matches!(load(bad), Err(MappingError::InvalidEntry { .. })),
            "{bad} should be refused"
        );
    }
    let long = format!(r#"{{"alpine": "{}"}}"#, "x".repeat(250));
    assert!(matches!(
        load(&long),
        Err(MappingError::InvalidTarget { .. })
    ));
    assert!(matches!(
        load("a:\n  b: c\n"),
        Err(MappingError::FileFormat { .. })
    ));
    let missing = Mapper::from_file("reg.local", Path::new("/nonexistent/ferry-map.json"));
    assert!(matches!(missing, Err(MappingError::Read { .. })));
    // A relocation-mapping.json from an earlier import reads back as a mapping file.
    let d = format!("sha256:{}", "e".repeat(64));
    let earlier = format!(r#"{{"alpine:3.19": "reg.local/team/alp:3.19@{d}"}}"#);
    assert!(load(&earlier).is_ok());
}
