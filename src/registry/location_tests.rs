use super::*;

/// RFC 3986 §5.4, normal and abnormal examples, base `http://a/b/c/d;p?q`.
#[test]
fn rfc3986_examples() {
    let base = "http://a/b/c/d;p?q";
    for (r, want) in [
        ("g:h", "g:h"),
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../", "http://a/"),
        ("../../g", "http://a/g"),
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("g?y/../x", "http://a/b/c/g?y/../x"),
        ("g#s/./x", "http://a/b/c/g#s/./x"),
        ("g#s/../x", "http://a/b/c/g#s/../x"),
        ("http:g", "http:g"),
    ] {
        assert_eq!(resolve(base, r), want, "{r:?}");
    }
}

#[test]
fn upload_locations_resolve_against_the_request() {
    let post = "http://127.0.0.1:5000/v2/x/blobs/uploads/";
    for (loc, want) in [
        ("u1", "http://127.0.0.1:5000/v2/x/blobs/uploads/u1"),
        (
            "u1?_state=s",
            "http://127.0.0.1:5000/v2/x/blobs/uploads/u1?_state=s",
        ),
        (
            "/v2/x/blobs/uploads/u2",
            "http://127.0.0.1:5000/v2/x/blobs/uploads/u2",
        ),
        ("//store:9/p?sig=1", "http://store:9/p?sig=1"),
        ("https://store/p", "https://store/p"),
        (" HTTPS://Store/p ", "https://Store/p"),
    ] {
        assert_eq!(follow(post, loc).as_deref(), Ok(want), "{loc:?}");
    }
    // A PATCH answered with a relative Location: relative to the PATCH's URL.
    let patch = "http://h/v2/x/blobs/uploads/u1?_state=a";
    assert_eq!(
        follow(patch, "u2?_state=b").as_deref(),
        Ok("http://h/v2/x/blobs/uploads/u2?_state=b")
    );
}

#[test]
fn refuses_downgrades_and_other_schemes() {
    let https = "https://reg/v2/x/blobs/sha256:ab";
    assert_eq!(
        follow(https, "http://s3/b?X-Amz-Signature=1"),
        Err(Refusal::Downgrade)
    );
    assert_eq!(follow(https, "HTTP://reg/x"), Err(Refusal::Downgrade));
    assert_eq!(follow(https, "//other/x").as_deref(), Ok("https://other/x"));
    assert_eq!(
        follow("http://reg/x", "https://reg/y").as_deref(),
        Ok("https://reg/y")
    );
    for bad in [
        "ftp://h/x",
        "file:///etc/passwd",
        "http:g",
        "javascript:x",
        "http:///x",
    ] {
        assert!(
            matches!(follow(https, bad), Err(Refusal::Scheme(_))),
            "{bad}"
        );
    }
    assert_eq!(
        Refusal::Scheme("ftp://h/x".into()).to_string(),
        "only http and https URLs with a host are followed, not \"ftp://h/x\""
    );
    assert_eq!(Refusal::TooMany.to_string(), "more than 10 redirects");
}

#[test]
fn origins_and_paths() {
    assert_eq!(
        origin("HTTPS://reg:5000/v2/?x"),
        ("https".into(), "reg:5000")
    );
    assert_eq!(path_and_query("http://h/v2/x?y=1#f"), "/v2/x?y=1");
    assert_eq!(path_and_query("http://h"), "");
    assert_eq!(without_query("http://h/p?X-Amz-Signature=s"), "http://h/p");
}
