//! The UI's static files (one stylesheet, the page scripts), embedded in the binary and served
//! at `/assets/{name}`. Links carry a hash of the file's content (`?v=`), so browsers may cache
//! an asset for a day and still fetch the new one as soon as a release changes it.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    version: u64,
}

const fn asset(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        name,
        content_type,
        body,
        version: fnv1a(body.as_bytes()),
    }
}

/// FNV-1a: a const-evaluable content hash, enough to tell two versions of a file apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: [Asset; 4] = [
    asset(
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    asset("activity.js", JS, include_str!("../../assets/activity.js")),
    asset("session.js", JS, include_str!("../../assets/session.js")),
    asset("policies.js", JS, include_str!("../../assets/policies.js")),
];

/// The URL of an embedded asset, versioned by its content.
pub fn href(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => format!("/assets/{}?v={:016x}", a.name, a.version),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            a.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            "no such asset",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_link_names_its_content_version() {
        for a in &ASSETS {
            assert!(href(a.name).starts_with(&format!("/assets/{}?v=", a.name)));
        }
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
