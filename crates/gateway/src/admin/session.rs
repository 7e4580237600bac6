//! Browser sessions of the admin UI: issued at login, kept server-side (the store holds a hash of
//! the cookie's token and the session's CSRF token), expiring, and revoked at logout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie that carries a browser session's token.
pub const COOKIE: &str = "luthien_session";

/// A session the store knows and that is still valid.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// Hash of the token (the store's key).
    pub token_hash: String,
    /// The CSRF token the session's state changes must echo.
    pub csrf_token: String,
}

/// Why a session lookup did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The cookie names no live session (unknown, expired or revoked).
    #[error("the session has expired or was signed out")]
    Expired,
    /// The store could not be asked.
    #[error("sessions are unavailable because the database is down: {0}")]
    Store(#[from] store::StoreError),
}

/// Issues, finds and revokes browser sessions.
#[derive(Clone)]
pub struct Sessions {
    store: store::Store,
    ttl: Duration,
}

impl Sessions {
    /// Sessions kept in `store`, each valid for `ttl`.
    pub fn new(store: store::Store, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// How long a new session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session; returns the token for the cookie (never stored) and the session.
    pub async fn issue(&self) -> Result<(String, LiveSession), store::StoreError> {
        let token = random_token();
        let now = now_ms();
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let row = store::AdminSession {
            token_hash: hash(&token),
            csrf_token: random_token(),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(ttl_ms),
        };
        self.store.create_admin_session(&row).await?;
        Ok((
            token,
            LiveSession {
                token_hash: row.token_hash,
                csrf_token: row.csrf_token,
            },
        ))
    }

    /// The live session whose token is `token`.
    pub async fn find(&self, token: &str) -> Result<LiveSession, SessionError> {
        let row = self
            .store
            .admin_session(&hash(token), now_ms())
            .await?
            .ok_or(SessionError::Expired)?;
        Ok(LiveSession {
            token_hash: row.token_hash,
            csrf_token: row.csrf_token,
        })
    }

    /// Ends a session: its cookie is worthless from now on, on every instance.
    pub async fn revoke(&self, session: &LiveSession) -> Result<(), store::StoreError> {
        self.store
            .revoke_admin_session(&session.token_hash, now_ms())
            .await
            .map(|_| ())
    }
}

/// True when `presented` is the session's CSRF token (constant-time).
pub fn csrf_matches(session: &LiveSession, presented: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(session.csrf_token.as_bytes()))
}

/// The session token from the request's cookies, if any.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that stores `token` in the browser for `ttl`. `Secure` when the
/// request reached us through TLS (a terminating proxy says so in `X-Forwarded-Proto`): a
/// plain-HTTP localhost gateway could not use a Secure cookie at all.
pub fn set_cookie(token: &str, ttl: Duration, request: &HeaderMap) -> Option<HeaderValue> {
    let secure = if behind_tls(request) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl.as_secs()
    ))
    .ok()
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(request: &HeaderMap) -> HeaderValue {
    let secure = if behind_tls(request) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("luthien_session=; Path=/; Max-Age=0"))
}

/// Whether the client's connection was TLS, as reported by a terminating proxy.
fn behind_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// 244 random bits from the OS's CSPRNG (two v4 UUIDs), as 64 hex digits.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Hex SHA-256 of a token: what the store keeps instead of the token.
fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("a=1; luthien_session=abc ; b=2"),
        );
        assert_eq!(token_from(&h).as_deref(), Some("abc"));
        h.insert("cookie", HeaderValue::from_static("luthien_session_x=zz"));
        assert_eq!(token_from(&h), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_only_behind_tls() {
        let plain = set_cookie("t", Duration::from_secs(60), &HeaderMap::new())
            .map(|v| v.to_str().map(str::to_owned))
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(
            plain,
            "luthien_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let mut tls = HeaderMap::new();
        tls.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let secure = set_cookie("t", Duration::from_secs(60), &tls)
            .map(|v| v.to_str().map(str::to_owned))
            .and_then(Result::ok)
            .unwrap_or_default();
        assert!(secure.ends_with("; Secure"), "{secure}");
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
