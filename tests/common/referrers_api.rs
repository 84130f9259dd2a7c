//! A referrers API served by the test proxy from the registry's own fallback tags.

use super::http_proxy::{forward, Handler, Req, Resp};

/// A referrers API (`GET /v2/<name>/referrers/<digest>`) built from the upstream registry's own
/// fallback tags, `page` descriptors per page with `Link` to the next, honouring
/// `artifactType` with `OCI-Filters-Applied`.
pub fn referrers_api(page: usize) -> Handler {
    Box::new(move |req, upstream| {
        if req.method != "GET" || !req.path().contains("/referrers/") {
            return None;
        }
        let (name, digest) = req
            .path()
            .trim_start_matches("/v2/")
            .split_once("/referrers/")?;
        let (name, digest) = (name.to_string(), digest.to_string());
        let tag = Req {
            method: "GET".into(),
            target: format!("/v2/{name}/manifests/{}", digest.replace(':', "-")),
            headers: vec![
                ("Host".into(), upstream.into()),
                ("Accept".into(), super::fixtures::OCI_INDEX.into()),
            ],
            body: Vec::new(),
        };
        let fr = forward(upstream, &tag).ok()?;
        let mut list: Vec<serde_json::Value> = if fr.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&fr.body).unwrap_or_default();
            v["manifests"].as_array().cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let filter = req.query("artifactType");
        if let Some(t) = &filter {
            list.retain(|d| d["artifactType"].as_str() == Some(t.as_str()));
        }
        let start = match req.query("last") {
            Some(last) => list
                .iter()
                .position(|d| d["digest"].as_str() == Some(last.as_str()))
                .map_or(list.len(), |i| i + 1),
            None => 0,
        };
        let end = (start + page).min(list.len());
        let body = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": super::fixtures::OCI_INDEX, "manifests": &list[start..end]})).unwrap();
        let mut headers = vec![(
            "Content-Type".to_string(),
            super::fixtures::OCI_INDEX.to_string(),
        )];
        if filter.is_some() {
            headers.push(("OCI-Filters-Applied".into(), "artifactType".into()));
        }
        if end < list.len() {
            let last = list[end - 1]["digest"].as_str().unwrap_or("").to_string();
            let mut next = format!("/v2/{name}/referrers/{digest}?last={last}");
            if let Some(t) = &filter {
                next.push_str(&format!("&artifactType={t}"));
            }
            headers.push(("Link".into(), format!("<{next}>; rel=\"next\"")));
        }
        Some(Resp {
            status: 200,
            headers,
            body,
        })
    })
}
