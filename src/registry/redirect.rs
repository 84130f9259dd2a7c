//! Following a blob GET's redirects (to object storage, a CDN, a mirror) by the rules of
//! `location`: bounded, http(s) only, never down to http, and the registry's credentials only
//! for the registry's own origin.

use ureq::http::Response;
use ureq::Body;

use super::location::{self, Refusal, MAX_REDIRECTS};
use super::{header, transport, Client, Item, Payload, RegistryError, Target};

/// Where a request ended after its redirects.
pub(crate) struct Landed {
    pub resp: Response<Body>,
    /// The URL that answered.
    pub url: String,
    /// Its host.
    pub host: String,
}

pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn refused(t: &Target, what: &Item, from: &str, to: &str, why: Refusal) -> RegistryError {
    RegistryError::Location {
        host: t.registry.into(),
        what: Box::new(what.clone()),
        from: location::without_query(from).into(),
        to: location::without_query(to).into(),
        why,
    }
}

impl Client {
    /// Follows the redirects of `resp`, the answer to a GET of `url` for `t`, sending `headers`
    /// (a `Range`) again at every hop.
    pub(crate) fn follow_redirects(
        &self,
        t: &Target,
        what: &Item,
        mut resp: Response<Body>,
        mut url: String,
        headers: &[(&str, String)],
    ) -> Result<Landed, RegistryError> {
        let registry = (self.scheme(t.host).to_string(), t.host);
        let mut hops = 0;
        while is_redirect(resp.status().as_u16()) {
            let Some(loc) = header(&resp, "location") else {
                break;
            };
            let to = location::resolve(&url, loc.trim());
            if hops == MAX_REDIRECTS {
                return Err(refused(t, what, &url, &to, Refusal::TooMany));
            }
            hops += 1;
            let next =
                location::follow(&url, &loc).map_err(|why| refused(t, what, &url, &to, why))?;
            let (scheme, host) = location::origin(&next);
            resp = if (scheme.as_str(), host) == (registry.0.as_str(), registry.1) {
                // Same origin: the registry's own credentials still apply.
                let mut path = location::path_and_query(&next);
                if path.is_empty() {
                    path.push('/');
                }
                self.send_retrying(t, "GET", &path, headers, &[])?
            } else {
                let host = transport::url_host(&next);
                self.raw("GET", &next, headers, &mut Payload::Empty)
                    .map_err(|e| self.net_error(host, "GET", &next, e))?
            };
            url = next;
        }
        let host = transport::url_host(&url).to_string();
        Ok(Landed { resp, url, host })
    }
}
