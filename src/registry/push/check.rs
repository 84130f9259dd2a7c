//! Checking what a push target says it has (DESIGN §4.3): a blob "exists" only with the
//! descriptor's size, and after a push every manifest and tag is read back, so a registry that
//! answers yes but stores nothing cannot make an import report success.

use ureq::http::Response;
use ureq::Body;

use super::super::ops::{read_limited, status_error};
use super::{header, location, status_err, Client, Item, Payload, RegistryError, Target};
use crate::digest::Digest;
use crate::manifest::{ACCEPT, MAX_MANIFEST_SIZE};

/// Redirects followed by a blob HEAD (object storage answers HEAD with a 307 too).
const MAX_REDIRECTS: usize = 5;

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// A 200 for exactly this blob: the descriptor's size, and its digest when one is named.
fn has_blob(resp: &Response<Body>, d: &Digest, size: u64) -> bool {
    let length = header(resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let digest_ok = header(resp, "docker-content-digest")
        .is_none_or(|h| Digest::parse(h.trim()).is_ok_and(|served| &served == d));
    resp.status().as_u16() == 200 && length == Some(size) && digest_ok
}

/// The path (with query) of `url` when it is on `host` with `scheme`: the registry itself.
fn path_on(url: &str, scheme: &str, host: &str) -> Option<String> {
    let (s, h) = location::origin(url);
    (h == host && s == scheme).then(|| location::path_and_query(url))
}

impl Client {
    /// Does the target repository have this blob? Only a 200 whose `Content-Length` is the
    /// descriptor's `size` counts; any other answer means absent, and the blob is uploaded
    /// (a wrong "yes" would leave a manifest without its blob). Redirects are followed, to
    /// another host without the registry's credentials.
    pub fn blob_exists(&self, t: &Target, d: &Digest, size: u64) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/blobs/{d}", t.repository);
        let mut resp = self.send_retrying(t, "HEAD", &path, &[], &[])?;
        let mut url = format!("{}://{}{path}", self.scheme(t.host), t.host);
        for _ in 0..MAX_REDIRECTS {
            if !is_redirect(resp.status().as_u16()) {
                break;
            }
            let Some(loc) = header(&resp, "location") else {
                return Ok(false);
            };
            // A redirect ferry would not follow (a downgrade to http, another scheme) leaves
            // the blob counted as absent: it is uploaded.
            url = match location::follow(&url, &loc) {
                Ok(u) => u,
                Err(_) => return Ok(false),
            };
            resp = match path_on(&url, self.scheme(t.host), t.host) {
                Some(p) => self.send_retrying(t, "HEAD", &p, &[], &[])?,
                // Another server's answer (storage) is a fact about the blob or nothing.
                None => match self.raw("HEAD", &url, &[], &mut Payload::Empty) {
                    Ok(r) => return Ok(has_blob(&r, d, size)),
                    Err(_) => return Ok(false),
                },
            };
        }
        match resp.status().as_u16() {
            200 => Ok(has_blob(&resp, d, size)),
            s if s == 404 || is_redirect(s) => Ok(false),
            s => Err(status_err(t, "HEAD", &path, s, &[])),
        }
    }

    /// The digest the registry serves under `reference` (a tag or digest), None when it
    /// serves nothing there: `Docker-Content-Digest` of a HEAD, else the hash of a GET (in
    /// `expected`'s algorithm).
    pub fn served_digest(
        &self,
        t: &Target,
        reference: &str,
        media_type: &str,
        expected: &Digest,
    ) -> Result<Option<Digest>, RegistryError> {
        let path = format!("/v2/{}/manifests/{reference}", t.repository);
        let accept = [("Accept", format!("{media_type}, {ACCEPT}"))];
        let resp = self.send_retrying(t, "HEAD", &path, &accept, &[])?;
        match resp.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            s => return Err(status_error(t.registry, "HEAD", path, s, &[])),
        }
        let served =
            header(&resp, "docker-content-digest").and_then(|h| Digest::parse(h.trim()).ok());
        if served.is_some() {
            return Ok(served);
        }
        let mut resp = self.send_retrying(t, "GET", &path, &accept, &[])?;
        let what = Item::Manifest {
            repository: t.repository.into(),
            reference: reference.into(),
        };
        match resp.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            s => {
                let body =
                    read_limited(&mut resp, 64 * 1024, t.registry, &what).unwrap_or_default();
                return Err(status_error(t.registry, "GET", path, s, &body));
            }
        }
        let bytes = read_limited(&mut resp, MAX_MANIFEST_SIZE, t.registry, &what)?;
        Ok(Some(expected.of_same_kind(&bytes)))
    }
}
