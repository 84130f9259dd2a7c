//! The OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`, `Link` pages), bounded: a
//! subject may have at most [`MAX_REFERRERS`] referrers, listed on at most
//! [`MAX_REFERRER_PAGES`] pages of at most [`MAX_REFERRERS_PAGE_SIZE`] bytes each and
//! [`MAX_REFERRERS_BYTES`] in all. Pages are parsed one descriptor at a time and dropped once
//! read, descriptors are de-duplicated by digest in a hash set, so time is linear and memory
//! flat whatever a registry lists.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;

use super::ops::{read_limited, status_error, target};
use super::{header, Client, Item, Overflow, RegistryError};
use crate::digest::Digest;
use crate::manifest::Descriptor;
use crate::reference::Reference;

/// Most referrers ferry carries for one subject (after de-duplication and type filtering).
pub const MAX_REFERRERS: usize = 10_000;
/// Most `Link` pages read for one subject and artifact type.
pub const MAX_REFERRER_PAGES: usize = 1_000;
/// Largest referrers page read (a page may be bigger than a manifest: 24 000 descriptors).
pub const MAX_REFERRERS_PAGE_SIZE: u64 = 16 << 20;
/// Most bytes of referrers pages read for one subject and artifact type.
pub const MAX_REFERRERS_BYTES: u64 = 64 << 20;

/// Referrer descriptors by digest, in first-seen order: each digest once, in linear time.
#[derive(Debug, Default)]
pub struct UniqueReferrers {
    seen: HashSet<String>,
    list: Vec<Descriptor>,
}

/// Adding a descriptor would pass [`MAX_REFERRERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl UniqueReferrers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `d` unless its digest is already there; refuses a new one past the cap.
    pub fn insert(&mut self, d: Descriptor) -> Result<(), Full> {
        if self.seen.contains(&d.digest) {
            return Ok(());
        }
        if self.list.len() >= MAX_REFERRERS {
            return Err(Full);
        }
        self.seen.insert(d.digest.clone());
        self.list.push(d);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn into_vec(self) -> Vec<Descriptor> {
        self.list
    }
}

/// The error for a subject with more referrers than ferry carries.
pub fn too_many(r: &Reference, subject: &Digest, why: Overflow) -> RegistryError {
    RegistryError::TooManyReferrers {
        host: r.registry.clone(),
        repository: r.repository.clone(),
        subject: subject.clone(),
        why,
        limit: MAX_REFERRERS,
    }
}

/// How one page's `manifests` are taken in: each descriptor kept when `keep` says so, added
/// to `into`; the page's JSON is never turned into a tree.
struct PageSeed<'a> {
    into: &'a mut UniqueReferrers,
    keep: &'a dyn Fn(&Descriptor) -> bool,
    /// Set when `into` was full.
    full: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OCI image index")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_manifests = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "manifests" && !seen_manifests {
                seen_manifests = true;
                map.next_value_seed(ListSeed {
                    into: &mut *self.into,
                    keep: self.keep,
                    full: &mut *self.full,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ListSeed<'a> {
    into: &'a mut UniqueReferrers,
    keep: &'a dyn Fn(&Descriptor) -> bool,
    full: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of descriptors")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while !*self.full {
            let Some(d) = seq.next_element::<Descriptor>()? else {
                return Ok(());
            };
            if (self.keep)(&d) && self.into.insert(d).is_err() {
                *self.full = true;
            }
        }
        // Over the cap: the rest of the page is skipped, not kept.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Adds the descriptors of one referrers page (an OCI index) that `keep` accepts to `into`;
/// `Ok(false)` when `into` filled up (the caller refuses the subject).
pub fn add_page(
    body: &[u8],
    into: &mut UniqueReferrers,
    keep: &dyn Fn(&Descriptor) -> bool,
) -> Result<bool, serde_json::Error> {
    let mut full = false;
    let mut de = serde_json::Deserializer::from_slice(body);
    PageSeed {
        into,
        keep,
        full: &mut full,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(!full)
}

/// The `next` target of a `Link` header (`<url>; rel="next"`).
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// Where a paged listing goes next (the `Link` header of one page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// No `rel="next"` link: this was the last page.
    Last,
    /// The path and query of the next request to the same registry.
    Path(String),
    /// A next page on another origin: not followed, the credentials stay with the registry.
    Elsewhere(String),
}

/// One rule for every paged listing (referrers, tags): the `rel="next"` target of the page
/// requested at `current` (a path) from `host`, resolved as RFC 3986 says (as `Location` is,
/// [`location::resolve`](super::location::resolve)): `/v2/…`, `?last=x`, `list?…` and an
/// absolute URL on the same host all become a path on `host`.
pub fn next_page_of(link: Option<&str>, host: &str, current: &str) -> NextPage {
    let Some(next) = link.and_then(next_link) else {
        return NextPage::Last;
    };
    let origin = format!("http://{host}");
    let resolved = super::location::resolve(&format!("{origin}{current}"), &next);
    let same = ["http://", "https://"].iter().find_map(|scheme| {
        resolved
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix(host))
            .filter(|p| p.starts_with('/'))
    });
    match same {
        Some(path) => NextPage::Path(path.to_string()),
        None => NextPage::Elsewhere(resolved),
    }
}

/// [`next_page_of`] for an answer.
pub fn next_page(resp: &ureq::http::Response<ureq::Body>, host: &str, current: &str) -> NextPage {
    next_page_of(header(resp, "link").as_deref(), host, current)
}

impl Client {
    /// `GET /v2/<name>/referrers/<digest>`, every `Link` page: the referrers (of
    /// `artifact_type` when given, filtered here unless the registry says it did with
    /// `OCI-Filters-Applied`), each digest once, in the order listed. None when the registry
    /// has no referrers API (404 on the first page), so the caller reads the fallback tag.
    pub fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        let t = target(r);
        let what = Item::Referrers {
            repository: r.repository.clone(),
            subject: subject.to_string(),
        };
        let mut path = format!("/v2/{}/referrers/{subject}", r.repository);
        if let Some(a) = artifact_type {
            path.push_str(&format!("?artifactType={}", super::percent_encode(a)));
        }
        let mut found = UniqueReferrers::new();
        let mut bytes = 0u64;
        for page in 0.. {
            if page >= MAX_REFERRER_PAGES {
                return Err(RegistryError::TooManyPages {
                    host: r.registry.clone(),
                    what,
                    limit: MAX_REFERRER_PAGES,
                });
            }
            let mut resp = self.send_retrying(
                &t,
                "GET",
                &path,
                &[("Accept", crate::manifest::OCI_INDEX.to_string())],
                &[],
            )?;
            let status = resp.status().as_u16();
            if status == 404 && page == 0 {
                return Ok(None);
            }
            if status != 200 {
                let body = read_limited(&mut resp, 64 * 1024, t.host, &what).unwrap_or_default();
                return Err(status_error(t.host, "GET", path, status, &body));
            }
            let body = read_limited(&mut resp, MAX_REFERRERS_PAGE_SIZE, t.host, &what)?;
            bytes = bytes.saturating_add(u64::try_from(body.len()).unwrap_or(u64::MAX));
            if bytes > MAX_REFERRERS_BYTES {
                return Err(RegistryError::TooManyReferrerBytes {
                    host: r.registry.clone(),
                    what,
                    limit: MAX_REFERRERS_BYTES,
                });
            }
            let filtered = artifact_type.is_none()
                || header(&resp, "oci-filters-applied").is_some_and(|v| v.contains("artifactType"));
            let keep = |d: &Descriptor| filtered || d.artifact_type.as_deref() == artifact_type;
            let before = found.len();
            let room =
                add_page(&body, &mut found, &keep).map_err(|source| RegistryError::NotAnIndex {
                    host: r.registry.clone(),
                    what: what.clone(),
                    source,
                })?;
            if !room {
                return Err(too_many(
                    r,
                    subject,
                    if page == 0 {
                        Overflow::FirstPage
                    } else {
                        Overflow::Page {
                            page: page + 1,
                            before,
                        }
                    },
                ));
            }
            drop(body);
            match next_page(&resp, t.host, &path) {
                NextPage::Path(next) => path = next,
                NextPage::Last => break,
                NextPage::Elsewhere(url) => {
                    return Err(RegistryError::PageElsewhere {
                        host: r.registry.clone(),
                        what,
                        url,
                    })
                }
            }
        }
        Ok(Some(found.into_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_resolves_like_a_location() {
        let cur = "/v2/r/tags/list?n=2";
        let next = |l: &str| next_page_of(Some(l), "reg:5000", cur);
        let path = |p: &str| NextPage::Path(p.to_string());
        for (link, want) in [
            ("</v2/r/tags/list?n=2&last=b>", "/v2/r/tags/list?n=2&last=b"),
            ("<?n=2&last=b>", "/v2/r/tags/list?n=2&last=b"),
            ("<list?last=b>", "/v2/r/tags/list?last=b"),
            (
                "<https://reg:5000/v2/r/tags/list?last=b>",
                "/v2/r/tags/list?last=b",
            ),
        ] {
            assert_eq!(
                next(&format!(r#"{link}; rel="next""#)),
                path(want),
                "{link}"
            );
        }
        assert_eq!(
            next(r#"<https://other:5000/v2/r/tags/list?last=b>; rel="next""#),
            NextPage::Elsewhere("https://other:5000/v2/r/tags/list?last=b".into())
        );
        // A host that merely starts like this one is another host.
        assert!(matches!(
            next(r#"<http://reg:50001/v2/x>; rel="next""#),
            NextPage::Elsewhere(_)
        ));
        assert_eq!(next(r#"</x>; rel="prev""#), NextPage::Last);
        assert_eq!(next_page_of(None, "reg:5000", cur), NextPage::Last);
    }

    fn desc(i: usize, artifact_type: Option<&str>) -> String {
        let at = artifact_type
            .map(|t| format!(r#","artifactType":"{t}""#))
            .unwrap_or_default();
        format!(r#"{{"mediaType":"m","digest":"sha256:{i:064x}","size":1{at}}}"#)
    }

    fn page(items: &[String]) -> Vec<u8> {
        format!(
            r#"{{"schemaVersion":2,"manifests":[{}],"annotations":{{"a":"b"}}}}"#,
            items.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn duplicates_are_kept_once_in_first_seen_order() {
        let mut u = UniqueReferrers::new();
        let all = |_: &Descriptor| true;
        let p1 = page(&[desc(3, None), desc(1, None), desc(3, None)]);
        let p2 = page(&[desc(2, None), desc(1, None)]);
        assert!(add_page(&p1, &mut u, &all).unwrap());
        assert!(add_page(&p2, &mut u, &all).unwrap());
        let order: Vec<String> = u.into_vec().into_iter().map(|d| d.digest).collect();
        let want: Vec<String> = [3, 1, 2]
            .iter()
            .map(|i| format!("sha256:{i:064x}"))
            .collect();
        assert_eq!(order, want);
    }

    #[test]
    fn the_cap_counts_distinct_kept_descriptors_and_skips_the_rest() {
        let mut u = UniqueReferrers::new();
        let sbom = |d: &Descriptor| d.artifact_type.as_deref() == Some("sbom");
        // Many of another type, and duplicates, do not count.
        let mut items: Vec<String> = (0..MAX_REFERRERS + 50).map(|i| desc(i, None)).collect();
        items.extend((0..MAX_REFERRERS).map(|_| desc(7, Some("sbom"))));
        assert!(add_page(&page(&items), &mut u, &sbom).unwrap());
        assert_eq!(u.len(), 1);
        let all = |_: &Descriptor| true;
        let items: Vec<String> = (0..MAX_REFERRERS * 3).map(|i| desc(i, None)).collect();
        assert!(!add_page(&page(&items), &mut u, &all).unwrap());
        assert_eq!(u.len(), MAX_REFERRERS);
        assert_eq!(
            u.insert(serde_json::from_str(&desc(7, None)).unwrap()),
            Ok(())
        );
        assert_eq!(
            u.insert(serde_json::from_str(&desc(MAX_REFERRERS * 5, None)).unwrap()),
            Err(Full)
        );
    }

    #[test]
    fn a_broken_page_is_an_error() {
        let mut u = UniqueReferrers::new();
        let all = |_: &Descriptor| true;
        assert!(add_page(b"{\"manifests\":[{\"digest\":1}]}", &mut u, &all).is_err());
        assert!(add_page(b"{\"manifests\":[]} trailing", &mut u, &all).is_err());
        assert!(add_page(b"[]", &mut u, &all).is_err());
        assert!(add_page(b"{}", &mut u, &all).unwrap());
    }

    #[test]
    fn next_links() {
        assert_eq!(
            next_link(r#"</v2/a/referrers/x?last=y>; rel="next""#).as_deref(),
            Some("/v2/a/referrers/x?last=y")
        );
        assert_eq!(next_link(r#"<https://h/p>; rel="prev""#), None);
    }
}
