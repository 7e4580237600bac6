//! The headers every UI response carries: a strict Content-Security-Policy (scripts, styles and
//! connections from this origin only, no inline code, no framing) and the usual hardening.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;

/// The UI's Content-Security-Policy. Everything is same-origin; `data:` images only allow the
/// empty favicon. Inline scripts, styles and event handlers are refused, so injected markup
/// cannot run even if an escaping bug let some through.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers; `Cache-Control: no-store` unless the handler chose a cache policy
/// (assets do), because pages show conversations that must not linger in shared caches.
pub async fn headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
    // form posts, and the sign-in and sign-out forms are checked for coming from this origin.
    // Other sites still learn nothing of our URLs (session ids, search terms).
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
