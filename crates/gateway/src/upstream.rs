//! Calls to upstream providers: one pooled HTTP client (HTTP/1.1, HTTP/2 where the server
//! offers it through ALPN), the endpoint URLs, and the timeouts of every phase.

use std::time::Duration;

use axum::http::{HeaderMap, Method};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::time::Instant;

use crate::config::routing::Provider;
use crate::config::settings::Timeouts;
use crate::config::ProviderKind;
use crate::error::GatewayError;

/// The largest upstream response body the gateway reads whole (non-streaming and error bodies).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// An upstream endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens`.
    CountTokens,
    /// OpenAI `POST /chat/completions`.
    ChatCompletions,
    /// OpenAI `POST /responses`.
    Responses,
}

/// The pooled client and the timeouts.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    /// The configured timeouts.
    pub timeouts: Timeouts,
}

impl UpstreamClient {
    /// Builds the pooled client.
    pub fn new(timeouts: Timeouts) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                GatewayError::Misconfigured(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self { http, timeouts })
    }

    /// The URL of `endpoint` at `provider`, with the client's query string on same-API routes.
    pub fn url(provider: &Provider, endpoint: Endpoint, query: Option<&str>) -> String {
        let path = match (endpoint, provider.kind) {
            (Endpoint::Messages, _) => "/v1/messages",
            (Endpoint::CountTokens, _) => "/v1/messages/count_tokens",
            (Endpoint::ChatCompletions, _) => "/chat/completions",
            (Endpoint::Responses, _) => "/responses",
        };
        let mut url = format!("{}{}", provider.base_url, path);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    /// Sends a request and waits for the response headers within the first-byte timeout.
    pub async fn send(
        &self,
        provider: &Provider,
        url: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<reqwest::Response, GatewayError> {
        let request = self
            .http
            .request(Method::POST, url)
            .headers(headers)
            .body(body);
        let limit = self.timeouts.first_byte.min(self.timeouts.total);
        match tokio::time::timeout(limit, request.send()).await {
            Err(_) => Err(GatewayError::UpstreamTimeout {
                provider: provider.name.clone(),
                what: format!("the first-byte timeout ({} ms)", limit.as_millis()),
            }),
            Ok(Err(e)) => Err(classify(provider, &e)),
            Ok(Ok(resp)) => Ok(resp),
        }
    }

    /// Reads a whole body, bounded by the idle and total timeouts and a size cap.
    pub async fn read_body(
        &self,
        provider: &Provider,
        resp: reqwest::Response,
        deadline: Instant,
    ) -> Result<Bytes, GatewayError> {
        let mut stream = resp.bytes_stream();
        let mut buf = BytesMut::new();
        loop {
            let wait = Instant::now() + self.timeouts.idle;
            match tokio::time::timeout_at(wait.min(deadline), stream.next()).await {
                Err(_) => {
                    return Err(GatewayError::UpstreamTimeout {
                        provider: provider.name.clone(),
                        what: self.timeout_name(wait, deadline),
                    })
                }
                Ok(None) => return Ok(buf.freeze()),
                Ok(Some(Err(e))) => return Err(classify(provider, &e)),
                Ok(Some(Ok(chunk))) => {
                    if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(GatewayError::UpstreamProtocol {
                            provider: provider.name.clone(),
                            detail: format!("response body over {MAX_RESPONSE_BYTES} bytes"),
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// Names the timeout that fires first of an idle wait ending at `idle_end` and the total deadline.
    pub fn timeout_name(&self, idle_end: Instant, deadline: Instant) -> String {
        if deadline <= idle_end {
            format!("the total timeout ({} ms)", self.timeouts.total.as_millis())
        } else {
            format!("the idle timeout ({} ms)", self.timeouts.idle.as_millis())
        }
    }
}

/// The API family of a provider.
pub fn speaks_anthropic(provider: &Provider) -> bool {
    provider.kind == ProviderKind::Anthropic
}

fn classify(provider: &Provider, e: &reqwest::Error) -> GatewayError {
    let detail = error_chain(e);
    if e.is_timeout() {
        GatewayError::UpstreamTimeout {
            provider: provider.name.clone(),
            what: format!("the connect timeout ({detail})"),
        }
    } else {
        GatewayError::UpstreamUnreachable {
            provider: provider.name.clone(),
            detail,
        }
    }
}

/// An error with its causes, because reqwest's top-level message alone ("error sending request") says little.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}
