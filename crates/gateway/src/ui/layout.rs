//! What every page shares: the chrome (navigation, sign-out form, CSRF meta tag, stylesheet),
//! rendering a template into a response, and the error page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;

use crate::admin::Operator;

/// The frame around a page's content, as the base template reads it.
pub struct Chrome {
    /// The operator's CSRF token for `<meta name="csrf-token">` and the sign-out form; empty
    /// when the request carried the admin key itself.
    pub csrf_token: String,
    /// Which navigation entry is the current page (`home`, `activity`, `history`, `policies`).
    pub active: &'static str,
    /// Whether to show the navigation and the sign-out button (not on the login page).
    pub signed_in: bool,
    /// The stylesheet's versioned URL.
    pub css: String,
    /// The gateway's version, for the footer.
    pub version: &'static str,
}

impl Chrome {
    /// The chrome of a page behind sign-in.
    pub fn page(operator: Option<Extension<Operator>>, active: &'static str) -> Self {
        Self {
            csrf_token: operator
                .and_then(|Extension(op)| op.csrf_token)
                .unwrap_or_default(),
            active,
            signed_in: true,
            css: super::assets::href("app.css"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// The chrome of a public page: no navigation, no token.
    pub fn public() -> Self {
        Self {
            csrf_token: String::new(),
            active: "",
            signed_in: false,
            css: super::assets::href("app.css"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Renders `template` as an HTML response with `status`; a template that fails to render (a
/// bug, not a data problem) becomes a plain 500.
pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a UI template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered; the gateway log has the details",
            )
                .into_response()
        }
    }
}

/// Renders `template` as a 200 HTML response.
pub fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The page frame.
    pub chrome: Chrome,
    /// The HTTP status shown in the heading.
    pub status: u16,
    /// A short title.
    pub title: String,
    /// What went wrong, for a reader.
    pub message: String,
}

/// An error page with `status`.
pub fn failure(chrome: Chrome, status: StatusCode, title: &str, message: String) -> Response {
    render_with(
        status,
        &ErrorPage {
            chrome,
            status: status.as_u16(),
            title: title.to_owned(),
            message,
        },
    )
}

/// The page for a store that failed: 503 when retrying later may work (the database is
/// unreachable or busy), 500 when the data itself is the problem.
pub fn store_failure(chrome: Chrome, e: &store::StoreError) -> Response {
    tracing::warn!(error = %e, "a UI page could not read the store");
    let status = if e.is_transient() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    failure(
        chrome,
        status,
        "The history store is unavailable",
        format!("The page could not read the database: {e}"),
    )
}

/// Formats milliseconds for a reader: `12.3 ms` or `1.25 s`.
pub fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// Pretty-printed JSON (the compact form if pretty printing fails, which it cannot for a Value).
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// At most `max` bytes of `s`, cut at a character boundary, and whether it was cut.
pub fn clip(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// A query string from pairs, percent-encoded (`a=1&b=x%20y`), without the `?`.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// A path segment percent-encoded, so an id with `/`, `?` or `#` stays one segment.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_never_splits_a_character() {
        assert_eq!(clip("héllo", 2), ("h", true));
        assert_eq!(clip("abc", 5), ("abc", false));
    }

    #[test]
    fn ids_become_single_path_segments() {
        assert_eq!(segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(segment("0192-ab_c.d~"), "0192-ab_c.d~");
    }
}
