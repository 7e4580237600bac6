//! Client authentication and the choice of upstream credential (`AUTH_MODE`).

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::config::routing::Provider;
use crate::config::{AuthMode, ProviderKind};
use crate::error::GatewayError;

/// A credential as the client presented it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `x-api-key: …`
    ApiKey(String),
    /// `Authorization: Bearer …` (an API key or an OAuth token such as Claude Pro/Max's).
    Bearer(String),
}

impl Credential {
    /// Reads the client's credential; `x-api-key` wins when both are sent, as Anthropic's API does.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            if !k.is_empty() {
                return Some(Self::ApiKey(k.to_owned()));
            }
        }
        let auth = headers.get("authorization")?.to_str().ok()?;
        let (scheme, token) = auth.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
            .then(|| Self::Bearer(token.trim().to_owned()))
    }

    fn secret(&self) -> &str {
        match self {
            Self::ApiKey(s) | Self::Bearer(s) => s,
        }
    }
}

/// Which credential the upstream call carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamAuth {
    /// The client's own credential, forwarded.
    Client(Credential),
    /// The server's key for the provider.
    Server,
}

/// Authenticates a request under `mode`; the error says what the client must send.
pub fn authenticate(
    mode: AuthMode,
    client_key: Option<&str>,
    headers: &HeaderMap,
) -> Result<UpstreamAuth, GatewayError> {
    let presented = Credential::from_headers(headers);
    let is_client_key = |c: &Credential| {
        client_key
            .is_some_and(|k| !k.is_empty() && bool::from(c.secret().as_bytes().ct_eq(k.as_bytes())))
    };
    match (mode, presented) {
        (_, None) => Err(GatewayError::Unauthorized(match mode {
            AuthMode::Passthrough => "missing API key: send x-api-key or Authorization: Bearer; \
                this gateway forwards your own credential to the provider (AUTH_MODE=passthrough)"
                .into(),
            _ => "missing API key: send the gateway's client key as x-api-key or Authorization: Bearer"
                .into(),
        })),
        (AuthMode::Passthrough, Some(c)) => Ok(UpstreamAuth::Client(c)),
        (AuthMode::ClientKey, Some(c)) if is_client_key(&c) => Ok(UpstreamAuth::Server),
        (AuthMode::ClientKey, Some(_)) => Err(GatewayError::Unauthorized(
            "invalid API key: this gateway accepts only its client key (AUTH_MODE=client_key)".into(),
        )),
        (AuthMode::Both, Some(c)) if is_client_key(&c) => Ok(UpstreamAuth::Server),
        (AuthMode::Both, Some(c)) => Ok(UpstreamAuth::Client(c)),
    }
}

/// The auth header to send `provider`, or an error when the server has no key for it.
pub fn upstream_header(
    auth: &UpstreamAuth,
    provider: &Provider,
) -> Result<Option<(&'static str, String)>, GatewayError> {
    let anthropic = provider.kind == ProviderKind::Anthropic;
    Ok(match auth {
        UpstreamAuth::Client(Credential::ApiKey(k)) if anthropic => Some(("x-api-key", k.clone())),
        UpstreamAuth::Client(c) => Some(("authorization", format!("Bearer {}", c.secret()))),
        UpstreamAuth::Server => match (&provider.api_key, anthropic) {
            (Some(k), true) => Some(("x-api-key", k.clone())),
            (Some(k), false) => Some(("authorization", format!("Bearer {k}"))),
            // A local OpenAI-compatible server (Ollama, vLLM) often needs no key at all.
            (None, _) if provider.kind == ProviderKind::OpenaiCompatible => None,
            (None, _) => {
                return Err(GatewayError::Misconfigured(format!(
                    "the gateway has no API key for provider {}: set {}",
                    provider.name,
                    provider
                        .api_key_env
                        .as_deref()
                        .unwrap_or("its api_key_env variable")
                )))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn x_api_key_wins_over_bearer_and_bearer_scheme_is_case_insensitive() {
        let h = headers(&[("x-api-key", "a"), ("authorization", "Bearer b")]);
        assert_eq!(
            Credential::from_headers(&h),
            Some(Credential::ApiKey("a".into()))
        );
        let h = headers(&[("authorization", "bearer tok")]);
        assert_eq!(
            Credential::from_headers(&h),
            Some(Credential::Bearer("tok".into()))
        );
        let h = headers(&[("authorization", "Basic Zm9v")]);
        assert_eq!(Credential::from_headers(&h), None);
    }

    #[test]
    fn client_key_mode_accepts_only_the_client_key() {
        let ok = headers(&[("authorization", "Bearer secret")]);
        let bad = headers(&[("x-api-key", "secreT")]);
        assert_eq!(
            authenticate(AuthMode::ClientKey, Some("secret"), &ok).unwrap(),
            UpstreamAuth::Server
        );
        assert!(authenticate(AuthMode::ClientKey, Some("secret"), &bad).is_err());
    }

    #[test]
    fn both_mode_forwards_a_credential_that_is_not_the_client_key() {
        let h = headers(&[("x-api-key", "sk-ant-user")]);
        assert_eq!(
            authenticate(AuthMode::Both, Some("secret"), &h).unwrap(),
            UpstreamAuth::Client(Credential::ApiKey("sk-ant-user".into()))
        );
    }
}
