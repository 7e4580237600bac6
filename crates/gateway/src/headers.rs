//! Which headers cross the gateway, in each direction.
//!
//! End-to-end headers reach the upstream byte for byte (`anthropic-version`, `anthropic-beta`,
//! `x-stainless-*`, Claude Code's session headers, …). Hop-by-hop headers never cross. The
//! gateway asks the upstream for an uncompressed body because it must read every event; the
//! client's `accept-encoding` is therefore not forwarded.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers the gateway sets itself or must not forward.
const NOT_FORWARDED_UP: &[&str] = &[
    "host",
    "content-length",
    "accept-encoding",
    "authorization",
    "x-api-key",
];

/// Response headers the gateway sets itself.
const NOT_FORWARDED_DOWN: &[&str] = &["content-length", "content-encoding", "date", "server"];

/// Response headers clients act on, returned even when the gateway converted the response.
fn client_actionable(name: &str) -> bool {
    matches!(
        name,
        "retry-after" | "retry-after-ms" | "request-id" | "x-request-id"
    ) || name.starts_with("anthropic-ratelimit-")
        || name.starts_with("x-ratelimit-")
}

/// Header names listed in the `Connection` header are hop-by-hop for this message too.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The headers to send upstream. `same_api` is false when the request was converted, in which
/// case headers of the client's API family (`anthropic-*` to OpenAI, `openai-*` to Anthropic) stay behind.
pub fn upstream_request(client: &HeaderMap, same_api: bool, to_anthropic: bool) -> HeaderMap {
    let listed = connection_listed(client);
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || NOT_FORWARDED_UP.contains(&n)
            || n.starts_with("x-luthien-")
            || listed.iter().any(|l| l == n)
        {
            continue;
        }
        if !same_api
            && ((to_anthropic && n.starts_with("openai-"))
                || (!to_anthropic && n.starts_with("anthropic-")))
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out.insert("content-type", HeaderValue::from_static("application/json"));
    if to_anthropic && !out.contains_key("anthropic-version") {
        out.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
    out
}

/// The upstream response headers to return to the client.
pub fn client_response(upstream: &HeaderMap, same_api: bool) -> HeaderMap {
    let listed = connection_listed(upstream);
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        let n = name.as_str();
        let keep = if same_api {
            !HOP_BY_HOP.contains(&n)
                && !NOT_FORWARDED_DOWN.contains(&n)
                && !listed.iter().any(|l| l == n)
        } else {
            client_actionable(n)
        };
        if keep {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Inserts a header whose value the gateway built; invalid values are skipped, never panicked on.
pub fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn hop_by_hop_and_connection_listed_headers_are_stripped() {
        let h = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("te", "trailers"),
            ("anthropic-beta", "a,b"),
            ("accept-encoding", "gzip"),
        ]);
        let out = upstream_request(&h, true, true);
        assert!(out.get("x-secret-hop").is_none() && out.get("te").is_none());
        assert!(out.get("accept-encoding").is_none());
        assert_eq!(out.get("anthropic-beta").unwrap(), "a,b");
    }

    #[test]
    fn cross_api_requests_leave_the_other_familys_headers_behind_and_get_a_version() {
        let h = map(&[("anthropic-beta", "x"), ("openai-organization", "org")]);
        let to_openai = upstream_request(&h, false, false);
        assert!(to_openai.get("anthropic-beta").is_none());
        let to_anthropic = upstream_request(&h, false, true);
        assert!(to_anthropic.get("openai-organization").is_none());
        assert_eq!(to_anthropic.get("anthropic-version").unwrap(), "2023-06-01");
    }

    #[test]
    fn converted_responses_keep_only_headers_clients_act_on() {
        let h = map(&[
            ("retry-after", "1"),
            ("x-ratelimit-remaining-requests", "0"),
            ("openai-processing-ms", "5"),
        ]);
        let out = client_response(&h, false);
        assert_eq!(out.len(), 2);
        assert!(client_response(&h, true).contains_key("openai-processing-ms"));
    }
}
