//! The gateway's error type. Every error knows its HTTP status and renders as a JSON body in
//! the client's own API format; it is logged once, here, when it becomes a response.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use protocol::errors::{error_body, ApiFormat, ErrorKind};

/// Why a proxied request failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The body is not JSON.
    #[error("invalid JSON in request body: {0}")]
    InvalidJson(String),
    /// A field is missing, ill-typed, or cannot be carried to the upstream's API.
    #[error("{message}")]
    InvalidRequest {
        /// The offending field's JSON path, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// No provider serves the requested model.
    #[error("{0}")]
    UnknownModel(String),
    /// Missing or wrong credential.
    #[error("{0}")]
    Unauthorized(String),
    /// The body exceeds the configured limit.
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request names an endpoint the gateway does not serve.
    #[error("{0}")]
    NotFound(String),
    /// The upstream answered with an error status; on a same-API route its body passes through.
    #[error("upstream returned HTTP {status}")]
    Upstream {
        /// The upstream's status, preserved exactly.
        status: StatusCode,
        /// Headers to return (retry-after, rate limits, request id); boxed to keep the error small.
        headers: Box<HeaderMap>,
        /// The upstream's body, already in the client's format.
        body: Bytes,
    },
    /// The upstream could not be reached.
    #[error("upstream {provider} is unreachable: {detail}")]
    UpstreamUnreachable {
        /// Provider name.
        provider: String,
        /// The connection error.
        detail: String,
    },
    /// The upstream did not answer in time.
    #[error("upstream {provider} did not answer within {what}")]
    UpstreamTimeout {
        /// Provider name.
        provider: String,
        /// Which timeout fired, with its value.
        what: String,
    },
    /// The upstream answered something the gateway cannot read.
    #[error("upstream {provider} sent an unreadable response: {detail}")]
    UpstreamProtocol {
        /// Provider name.
        provider: String,
        /// What was wrong.
        detail: String,
    },
    /// The active policy refused the request.
    #[error("Luthien policy {policy} rejected this request: {message}")]
    PolicyRejected {
        /// The policy's name.
        policy: String,
        /// Its reason.
        message: String,
    },
    /// The gateway lacks configuration needed for this request.
    #[error("{0}")]
    Misconfigured(String),
}

impl GatewayError {
    /// The error's kind, which decides its status and `error.type`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } | Self::UnknownModel(_) => {
                ErrorKind::InvalidRequest
            }
            Self::Unauthorized(_) => ErrorKind::Authentication,
            Self::PayloadTooLarge { .. } => ErrorKind::RequestTooLarge,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Upstream { status, .. } => ErrorKind::from_status(status.as_u16()),
            Self::UpstreamUnreachable { .. } | Self::UpstreamProtocol { .. } => {
                ErrorKind::UpstreamConnection
            }
            Self::UpstreamTimeout { .. } => ErrorKind::Timeout,
            Self::PolicyRejected { .. } => ErrorKind::Permission,
            Self::Misconfigured(_) => ErrorKind::Api,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Upstream { status, .. } => *status,
            other => StatusCode::from_u16(other.kind().status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { field, .. } => field.as_deref(),
            Self::UnknownModel(_) => Some("model"),
            _ => None,
        }
    }

    /// Renders the error as a response in `format`, logging it once.
    pub fn into_response_for(self, format: ApiFormat) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "request rejected");
        }
        match self {
            Self::Upstream {
                status,
                headers,
                body,
            } => {
                let mut resp = (status, body).into_response();
                resp.headers_mut().extend(*headers);
                resp.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                resp
            }
            other => {
                let mut body = error_body(format, other.kind(), &other.to_string(), other.param());
                if let (true, Self::UnknownModel(_)) = (format.is_openai(), &other) {
                    body["error"]["code"] = "model_not_found".into();
                }
                (status, axum::Json(body)).into_response()
            }
        }
    }
}

impl From<protocol::ProtocolError> for GatewayError {
    fn from(e: protocol::ProtocolError) -> Self {
        match e {
            protocol::ProtocolError::InvalidJson { source, .. } => {
                Self::InvalidJson(source.to_string())
            }
            other => Self::InvalidRequest {
                field: other.field_name().map(str::to_owned),
                message: other.to_string(),
            },
        }
    }
}
