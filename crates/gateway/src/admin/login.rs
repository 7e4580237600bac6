//! `POST /login` and `POST /logout`: the browser side of admin authentication. The login page
//! itself is rendered by the UI; these handlers only check the key, issue or revoke the session
//! and redirect.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use axum::Form;
use serde::Deserialize;

use super::{same_origin, session, AdminAuth};

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The admin API key.
    #[serde(default)]
    key: String,
    /// Where to go after signing in (a path on this gateway).
    #[serde(default)]
    next: String,
}

/// The logout form's fields.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: checks the key (rate-limited per client address), starts a session and sends
/// the browser on to `next`.
pub async fn login(
    State(auth): State<AdminAuth>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // Login CSRF: another site must not be able to sign a browser in to this gateway.
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "sign-in must be submitted from this gateway's own login page",
        )
            .into_response();
    }
    let ip = connect
        .map(|Extension(ConnectInfo(a))| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if let Err(wait) = auth.login_attempt(ip) {
        let secs = wait.as_secs().max(1);
        tracing::warn!(%ip, "admin login rate-limited");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from(secs))],
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            format!(
                "<!doctype html><title>Too many attempts</title><p>Too many sign-in attempts from \
                 this address. Wait {secs} s, then <a href=\"/login\">try again</a>.</p>"
            ),
        )
            .into_response();
    }
    let Ok(Form(form)) = form else {
        return Redirect::to("/login?error=invalid").into_response();
    };
    let next = safe_next(&form.next);
    if form.key.is_empty() || !auth.key().matches(&form.key) {
        tracing::warn!(%ip, "admin login with a wrong key");
        return Redirect::to(&format!(
            "/login?error=invalid&next={}",
            encode_component(&next)
        ))
        .into_response();
    }
    match auth.sessions().issue().await {
        Ok((token, _)) => {
            let mut resp = Redirect::to(&next).into_response();
            if let Some(cookie) = session::set_cookie(&token, auth.sessions().ttl(), &headers) {
                resp.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store an admin session");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot sign in: the session store (database) is unavailable: {e}. The admin key still works as Authorization: Bearer for the API."),
            )
                .into_response()
        }
    }
}

/// `POST /logout`: revokes the session (its cookie stops working everywhere) and clears the
/// cookie. Needs the session's CSRF token, so another site cannot sign the operator out.
pub async fn logout(
    State(auth): State<AdminAuth>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Some(token) = session::token_from(&headers) {
        match auth.sessions().find(&token).await {
            Ok(s) => {
                if !same_origin(&headers) || !session::csrf_matches(&s, &presented) {
                    return (
                        StatusCode::FORBIDDEN,
                        "sign-out must be submitted from this gateway's pages (CSRF token missing or wrong)",
                    )
                        .into_response();
                }
                if let Err(e) = auth.sessions().revoke(&s).await {
                    tracing::error!(error = %e, "cannot revoke an admin session");
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "cannot sign out: the session store (database) is unavailable: {e}"
                        ),
                    )
                        .into_response();
                }
            }
            // Already expired or revoked: clearing the cookie is all that is left to do.
            Err(session::SessionError::Expired) => {}
            Err(e @ session::SessionError::Store(_)) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot sign out: {e}"),
                )
                    .into_response();
            }
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&headers));
    resp
}

/// `GET /api/admin/session`: how this request was authenticated and, for a browser session, the
/// CSRF token its state changes must send in `x-csrf-token`.
pub async fn session_info(Extension(op): Extension<super::Operator>) -> Response {
    axum::Json(serde_json::json!({
        "authenticated_by": op.authenticated_by,
        "csrf_token": op.csrf_token,
    }))
    .into_response()
}

/// `next` if it is a path on this gateway, else `/`: an open redirect would let a link to our
/// login page send the operator anywhere.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    if ok {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
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
    fn next_keeps_local_paths_and_drops_everything_else() {
        assert_eq!(safe_next("/history?q=a"), "/history?q=a");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "",
            "history",
            "/a\r\nb",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("/h?q=a b&x"), "/h%3Fq%3Da%20b%26x");
    }
}
