//! `GET /login`: the sign-in form (the admin key) and why the reader is here. The form posts
//! to `POST /login`, which checks the key and opens the cookie session; this page only renders.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;

use super::layout::{render, Chrome};

/// Query of `GET /login`.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in (kept only if it is a path on this site).
    pub next: Option<String>,
    /// Why the reader was sent here (`invalid`, `required`, `rate_limited`, `expired`).
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<&'static str>,
}

/// `GET /login`.
pub async fn page(Query(q): Query<LoginQuery>) -> Response {
    render(&LoginPage {
        chrome: Chrome::public(),
        next: safe_next(q.next.as_deref()),
        error: q.error.as_deref().and_then(error_message),
    })
}

/// The banner for an `?error=` code; unknown codes show nothing rather than echoing input.
fn error_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid" => "That is the wrong key. Check ADMIN_API_KEY and try again.",
        "required" => "Sign in to continue.",
        "rate_limited" => "Too many attempts: wait a minute, then try again.",
        "expired" => "Your session expired. Sign in again.",
        _ => return None,
    })
}

/// `next` if it is a path on this site, else `/`. A leading `//` or `/\` would be read by
/// browsers as another host (an open redirect), and control characters can split headers.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_kept_as_next() {
        assert_eq!(safe_next(Some("/history?q=x")), "/history?q=x");
        assert_eq!(safe_next(Some("//evil.com")), "/");
        assert_eq!(safe_next(Some("/\\evil.com")), "/");
        assert_eq!(safe_next(Some("https://evil.com")), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
