//! Error kinds shared by both APIs, their HTTP statuses, and error bodies in each client's format.

use serde_json::{json, Value};

/// The kind of an API error, named after Anthropic's error types (the richer vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is malformed or names something that does not exist.
    InvalidRequest,
    /// 401: missing or wrong credentials.
    Authentication,
    /// 403: the credentials may not do this.
    Permission,
    /// 404: no such resource.
    NotFound,
    /// 409: conflicting state.
    Conflict,
    /// 413: the request body is too large.
    RequestTooLarge,
    /// 429: rate limited.
    RateLimit,
    /// 500 and unknown failures.
    Api,
    /// 502: the upstream could not be reached or answered nonsense.
    UpstreamConnection,
    /// 503 and 529: the upstream is overloaded.
    Overloaded,
    /// 504: the upstream did not answer in time.
    Timeout,
}

impl ErrorKind {
    /// The kind an HTTP status denotes.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => Self::Authentication,
            403 => Self::Permission,
            404 => Self::NotFound,
            409 => Self::Conflict,
            413 => Self::RequestTooLarge,
            429 => Self::RateLimit,
            502 => Self::UpstreamConnection,
            503 | 529 => Self::Overloaded,
            504 => Self::Timeout,
            400..=499 => Self::InvalidRequest,
            _ => Self::Api,
        }
    }

    /// The HTTP status this kind is reported with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Authentication => 401,
            Self::Permission => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::RequestTooLarge => 413,
            Self::RateLimit => 429,
            Self::Api => 500,
            Self::UpstreamConnection => 502,
            Self::Overloaded => 529,
            Self::Timeout => 504,
        }
    }

    /// Anthropic's `error.type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::Permission => "permission_error",
            Self::NotFound => "not_found_error",
            Self::Conflict => "conflict_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Api | Self::UpstreamConnection => "api_error",
            Self::Overloaded => "overloaded_error",
            Self::Timeout => "timeout_error",
        }
    }

    /// OpenAI's `error.type`.
    pub fn openai_type(self) -> &'static str {
        match self {
            Self::InvalidRequest | Self::NotFound | Self::Conflict | Self::RequestTooLarge => {
                "invalid_request_error"
            }
            Self::Authentication => "authentication_error",
            Self::Permission => "permission_error",
            Self::RateLimit => "rate_limit_exceeded",
            Self::Api | Self::Overloaded => "server_error",
            Self::UpstreamConnection => "api_connection_error",
            Self::Timeout => "timeout",
        }
    }

    /// Parses Anthropic's `error.type`; unknown types are `Api`.
    pub fn from_anthropic_type(t: &str) -> Self {
        match t {
            "invalid_request_error" => Self::InvalidRequest,
            "authentication_error" => Self::Authentication,
            "permission_error" => Self::Permission,
            "not_found_error" => Self::NotFound,
            "conflict_error" => Self::Conflict,
            "request_too_large" => Self::RequestTooLarge,
            "rate_limit_error" => Self::RateLimit,
            "overloaded_error" => Self::Overloaded,
            "timeout_error" => Self::Timeout,
            _ => Self::Api,
        }
    }
}

/// Which client API a request arrived on; decides the shape of every error and response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFormat {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// OpenAI Responses (`/v1/responses`), what Codex speaks; its errors take OpenAI's shape.
    OpenAiResponses,
}

impl ApiFormat {
    /// True for the two OpenAI APIs, which share the error shape and SSE keep-alive comments.
    pub fn is_openai(self) -> bool {
        matches!(self, Self::OpenAiChat | Self::OpenAiResponses)
    }
}

/// An error body in Anthropic's format.
pub fn anthropic_error_body(kind: ErrorKind, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind.anthropic_type(), "message": message}})
}

/// An error body in OpenAI's format; `param` names the offending field when known.
pub fn openai_error_body(kind: ErrorKind, message: &str, param: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind.openai_type(), "param": param, "code": Value::Null}})
}

/// An error body in `format`.
pub fn error_body(format: ApiFormat, kind: ErrorKind, message: &str, param: Option<&str>) -> Value {
    match format {
        ApiFormat::Anthropic => anthropic_error_body(kind, message),
        ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => {
            openai_error_body(kind, message, param)
        }
    }
}

/// Reads the kind and message out of an error body in either format (for cross-API mapping).
/// Returns `None` when the body is not a recognisable error.
pub fn parse_error_body(body: &Value) -> Option<(Option<ErrorKind>, String)> {
    let err = body.get("error")?;
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind = if body.get("type").and_then(Value::as_str) == Some("error") {
        err.get("type")
            .and_then(Value::as_str)
            .map(ErrorKind::from_anthropic_type)
    } else {
        None
    };
    Some((kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_status() {
        for status in [400, 401, 403, 404, 409, 413, 429, 500, 502, 504, 529] {
            assert_eq!(ErrorKind::from_status(status).status(), status);
        }
        assert_eq!(ErrorKind::from_status(503), ErrorKind::Overloaded);
        assert_eq!(ErrorKind::from_status(422), ErrorKind::InvalidRequest);
    }

    #[test]
    fn anthropic_error_types_round_trip() {
        for status in [400, 401, 403, 404, 409, 413, 429, 500, 504, 529] {
            let k = ErrorKind::from_status(status);
            assert_eq!(ErrorKind::from_anthropic_type(k.anthropic_type()), k);
        }
    }

    #[test]
    fn bodies_have_each_formats_shape() {
        let a = anthropic_error_body(ErrorKind::RateLimit, "slow down");
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "rate_limit_error");
        let o = openai_error_body(ErrorKind::InvalidRequest, "bad", Some("model"));
        assert_eq!(o["error"]["param"], "model");
        assert_eq!(
            parse_error_body(&a).map(|p| p.0),
            Some(Some(ErrorKind::RateLimit))
        );
    }
}
