//! Admin authentication: the admin key, browser sessions with CSRF protection, rate-limited
//! login, and the guards in front of the admin, history and activity APIs and the web UI.
//!
//! An admin request is authenticated by, in order: the admin key (`Authorization: Bearer` or
//! `x-api-key`, for API clients; no CSRF token needed, since browsers never attach it by
//! themselves); a browser session cookie (state changes must also carry the session's CSRF token
//! in `x-csrf-token` and come from this origin); or, only when `ADMIN_LOCALHOST_BYPASS` is on, a
//! loopback peer address.

mod key;
pub mod login;
pub mod session;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::Credential;

pub use key::AdminKey;
pub use session::Sessions;

/// The authenticated operator of an admin request; the guard puts it in the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Operator {
    /// The CSRF token of the operator's browser session; `None` when the request carried the
    /// admin key itself (API clients need no CSRF token). Pages embed it for their forms.
    pub csrf_token: Option<String>,
    /// How the operator proved it.
    pub authenticated_by: AuthenticatedBy,
}

/// How an admin request was authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatedBy {
    /// The admin key in a header.
    #[default]
    Key,
    /// A browser session cookie.
    Session,
    /// A loopback peer, with `ADMIN_LOCALHOST_BYPASS` on.
    LocalhostBypass,
}

/// Everything the admin guards and the login routes need; cheap to clone.
#[derive(Clone)]
pub struct AdminAuth {
    inner: Arc<Inner>,
}

struct Inner {
    key: AdminKey,
    sessions: Sessions,
    localhost_bypass: bool,
    login_limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl AdminAuth {
    /// The guards' configuration: the key, where sessions live and how long they last, the
    /// login rate (attempts per minute per client address) and the opt-in localhost bypass.
    pub fn new(
        key: AdminKey,
        store: store::Store,
        session_ttl: Duration,
        login_attempts_per_minute: u32,
        localhost_bypass: bool,
    ) -> Self {
        let per_minute = NonZeroU32::new(login_attempts_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: Arc::new(Inner {
                key,
                sessions: Sessions::new(store, session_ttl),
                localhost_bypass,
                login_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            }),
        }
    }

    /// The admin key.
    pub fn key(&self) -> &AdminKey {
        &self.inner.key
    }

    /// The browser sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// Decides who is asking, or why nobody is.
    async fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<Operator, Denied> {
        match Credential::from_headers(headers) {
            Some(Credential::ApiKey(k)) | Some(Credential::Bearer(k)) => {
                // A wrong key is refused even when a cookie is also present: the caller meant
                // the key, and silently falling back would hide the mistake.
                return if self.inner.key.matches(&k) {
                    Ok(Operator::default())
                } else {
                    Err(Denied::WrongKey)
                };
            }
            None => {}
        }
        if let Some(token) = session::token_from(headers) {
            return match self.inner.sessions.find(&token).await {
                Ok(s) => {
                    if is_state_change(method) {
                        let presented = headers
                            .get("x-csrf-token")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        if !same_origin(headers) {
                            return Err(Denied::CrossOrigin);
                        }
                        if !session::csrf_matches(&s, presented) {
                            return Err(Denied::Csrf);
                        }
                    }
                    Ok(Operator {
                        csrf_token: Some(s.csrf_token),
                        authenticated_by: AuthenticatedBy::Session,
                    })
                }
                Err(session::SessionError::Expired) => Err(Denied::Expired),
                Err(e @ session::SessionError::Store(_)) => Err(Denied::Unavailable(e.to_string())),
            };
        }
        if self.inner.localhost_bypass && peer.is_some_and(|ip| ip.is_loopback()) {
            if is_state_change(method) && !same_origin(headers) {
                return Err(Denied::CrossOrigin);
            }
            return Ok(Operator {
                csrf_token: None,
                authenticated_by: AuthenticatedBy::LocalhostBypass,
            });
        }
        Err(Denied::Missing)
    }

    /// Counts a login attempt from `ip`; `Err` carries how long to wait.
    fn login_attempt(&self, ip: IpAddr) -> Result<(), Duration> {
        self.inner.login_limiter.retain_recent();
        self.inner
            .login_limiter
            .check_key(&ip)
            .map_err(|not_until| {
                not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
            })
    }
}

/// Why an admin request was refused.
#[derive(Debug)]
enum Denied {
    Missing,
    WrongKey,
    Expired,
    Csrf,
    CrossOrigin,
    Unavailable(String),
}

impl Denied {
    fn status(&self) -> StatusCode {
        match self {
            Self::Missing | Self::WrongKey | Self::Expired => StatusCode::UNAUTHORIZED,
            Self::Csrf | Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Missing => "this endpoint needs the admin key (ADMIN_API_KEY) as Authorization: Bearer or x-api-key, or a browser session from /login".into(),
            Self::WrongKey => "the admin key presented is not ADMIN_API_KEY".into(),
            Self::Expired => "the browser session has expired or was signed out; sign in again at /login".into(),
            Self::Csrf => "a state change made with a browser session must send the session's CSRF token in x-csrf-token".into(),
            Self::CrossOrigin => "a state change made with a browser session must come from this gateway's own pages".into(),
            Self::Unavailable(e) => format!("{e}; the admin key still works as Authorization: Bearer"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Missing | Self::WrongKey | Self::Expired => "authentication_error",
            Self::Csrf | Self::CrossOrigin => "permission_error",
            Self::Unavailable(_) => "api_error",
        }
    }

    fn into_api_response(self) -> Response {
        (
            self.status(),
            axum::Json(
                serde_json::json!({"error": {"type": self.kind(), "message": self.message()}}),
            ),
        )
            .into_response()
    }
}

/// Guard for the JSON APIs: 401/403/503 with a JSON error naming what to send.
pub async fn require(State(auth): State<AdminAuth>, mut req: Request, next: Next) -> Response {
    let peer = peer(&req);
    match auth.authenticate(req.method(), req.headers(), peer).await {
        Ok(op) => {
            req.extensions_mut().insert(op);
            next.run(req).await
        }
        Err(denied) => denied.into_api_response(),
    }
}

/// Guard for the web UI's pages: an unauthenticated browser is sent to the login page, which
/// brings it back here afterwards.
pub async fn require_page(State(auth): State<AdminAuth>, mut req: Request, next: Next) -> Response {
    let peer = peer(&req);
    match auth.authenticate(req.method(), req.headers(), peer).await {
        Ok(op) => {
            req.extensions_mut().insert(op);
            next.run(req).await
        }
        Err(denied @ (Denied::Missing | Denied::Expired)) => {
            let error = if matches!(denied, Denied::Expired) {
                "expired"
            } else {
                "required"
            };
            let next_path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into());
            let mut resp = Redirect::to(&format!(
                "/login?error={error}&next={}",
                login::encode_component(&next_path)
            ))
            .into_response();
            if matches!(denied, Denied::Expired) {
                resp.headers_mut().insert(
                    axum::http::header::SET_COOKIE,
                    session::clear_cookie(req.headers()),
                );
            }
            resp
        }
        Err(denied) => denied.into_api_response(),
    }
}

/// Whether the method changes state (and so needs CSRF protection).
fn is_state_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The TCP peer's address, when the server recorded it.
fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// False when the browser says the request comes from another site: its `Origin` names another
/// host than the one addressed, or `Sec-Fetch-Site` is not same-origin. Non-browser clients send
/// neither and pass; they still need the CSRF token or the key.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    match (get("origin"), get("host")) {
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_accepts_this_host_and_rejects_others() {
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(
            same_origin(&headers(&[("host", "127.0.0.1:8000")])),
            "curl sends neither"
        );
    }
}
