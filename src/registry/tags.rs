//! `GET /v2/<name>/tags/list` (`Link` pages), bounded, keeping only the tags with given prefixes.
//! Export lists a repository once to learn which cosign and referrers fallback tags
//! (`sha256-<hex>…`) it has, instead of asking for four tags per manifest, one HEAD each: on a
//! registry of many small images those HEADs were most of an export's requests.

use std::collections::HashSet;

use super::error::Item;
use super::ops::{read_limited, status_error, target};
use super::referrers::{next_page, NextPage};
use super::{Client, RegistryError};
use crate::reference::Reference;

/// Tags asked for per page (`n`); a registry may send fewer, with a `Link` to the rest.
const PAGE: usize = 1000;
/// Largest tag list page read (1000 tags of the longest legal name are 129 KiB).
pub const MAX_TAGS_PAGE_SIZE: u64 = 8 << 20;

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Client {
    /// The tags of `r`'s repository that start with one of `prefixes`, from at most `max_pages`
    /// pages.
    /// None when the registry does not list them to us (401, 403, 404, 405) or has more pages:
    /// the caller then asks tag by tag, as it would have without the list.
    pub fn tags_with_prefix(
        &self,
        r: &Reference,
        prefixes: &[&str],
        max_pages: usize,
    ) -> Result<Option<HashSet<String>>, RegistryError> {
        let t = target(r);
        let what = Item::Request {
            method: "GET".into(),
            path: format!("/v2/{}/tags/list", r.repository),
        };
        let mut path = format!("/v2/{}/tags/list?n={PAGE}", r.repository);
        let mut found = HashSet::new();
        for _ in 0..max_pages {
            let accept = [("Accept", "application/json".to_string())];
            let mut resp = self.send_retrying(&t, "GET", &path, &accept, &[])?;
            let status = resp.status().as_u16();
            if matches!(status, 401 | 403 | 404 | 405) {
                return Ok(None);
            }
            if status != 200 {
                let body = read_limited(&mut resp, 64 * 1024, t.host, &what).unwrap_or_default();
                return Err(status_error(t.host, "GET", path, status, &body));
            }
            let body = read_limited(&mut resp, MAX_TAGS_PAGE_SIZE, t.host, &what)?;
            // A list that is not one is no list: the caller asks tag by tag.
            let Ok(page) = serde_json::from_slice::<Page>(&body) else {
                return Ok(None);
            };
            let tags = page.tags.unwrap_or_default().into_iter();
            found.extend(tags.filter(|tag| prefixes.iter().any(|p| tag.starts_with(p))));
            match next_page(&resp, t.host, &path) {
                NextPage::Path(next) => path = next,
                NextPage::Last => return Ok(Some(found)),
                // Not followed with our credentials: the caller asks tag by tag.
                NextPage::Elsewhere(_) => return Ok(None),
            }
        }
        Ok(None)
    }
}
