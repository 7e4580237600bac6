//! The contract between the server and each wire format: validate a completion request into a
//! [`Call`], render a [`Script`] as a stream or a message, and shape errors. The server runs the
//! same flow for Anthropic Messages, OpenAI Chat Completions and OpenAI Responses through this
//! trait.

use std::time::Instant;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::scenario::LastTurn;
use crate::script::Script;
use crate::stream::Chunk;

/// A validated completion request: what the reply depends on.
#[derive(Debug, Default)]
pub(crate) struct Call {
    /// The requested model, echoed in the reply.
    pub model: String,
    /// `"stream": true`.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub include_usage: bool,
    /// Estimated prompt tokens.
    pub input_tokens: u64,
    /// The last user turn, for the scenario choice.
    pub last_turn: LastTurn,
    /// Responses: the request parameters the response object echoes (`instructions`, `tools`,
    /// `reasoning`, …), in the order the response lists them.
    pub echo: Map<String, Value>,
    /// Responses: delta events carry an `obfuscation` field (the API's default;
    /// `stream_options.include_obfuscation: false` turns it off).
    pub obfuscate: bool,
}

/// An error as a provider reports it: status, error type and code, message.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The error `type` field.
    pub kind: &'static str,
    /// OpenAI `param`.
    pub param: Option<&'static str>,
    /// OpenAI `code`.
    pub code: Option<&'static str>,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error without OpenAI's `param` and `code`.
    pub(crate) fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            param: None,
            code: None,
            message: message.into(),
        }
    }

    /// Sets OpenAI's `code`.
    pub(crate) fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

/// One provider wire format.
pub(crate) trait Wire {
    /// Checks auth, headers and body as the real API does.
    fn validate(headers: &HeaderMap, body: &[u8]) -> Result<Call, ApiError>;
    /// The provider's error type for an HTTP status (the `mock:error` scenario).
    fn status_error(status: u16, message: String) -> ApiError;
    /// The provider's error response, with its headers.
    fn error_response(error: &ApiError) -> Response;
    /// The SSE frames (and pauses) of a streamed reply.
    fn stream_frames(script: &Script, call: &Call) -> Vec<Chunk>;
    /// Wraps an SSE body with the provider's streaming response headers.
    fn sse_response(body: Body, started: Instant) -> Response;
    /// The complete non-streaming reply.
    fn message(script: &Script, call: &Call, started: Instant) -> Response;
}

/// Prompt tokens: the length of every string under the given top-level keys, four bytes per
/// token, at least 1. Deterministic, so `count_tokens` agrees with the usage of a reply.
pub(crate) fn estimate_tokens(body: &Value, keys: &[&str]) -> u64 {
    fn string_bytes(value: &Value) -> usize {
        match value {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(string_bytes).sum(),
            Value::Object(map) => map.values().map(string_bytes).sum(),
            _ => 0,
        }
    }
    let bytes: usize = keys
        .iter()
        .filter_map(|k| body.get(*k))
        .map(string_bytes)
        .sum();
    (bytes as u64 / 4).max(1)
}

/// The text of a content value: a string, or the `text` of its `"type": "text"` parts joined
/// with newlines.
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The milliseconds since `started`, for `openai-processing-ms`-style headers.
pub(crate) fn elapsed_ms(started: Instant) -> u128 {
    started.elapsed().as_millis()
}

/// A JSON string literal of `s` (quotes and escapes included).
pub(crate) fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail; the default is unreachable.
    serde_json::to_string(s).unwrap_or_default()
}

/// The API key this mock rejects with 401 on both providers.
pub const INVALID_KEY: &str = "mock-invalid-key";

/// The token of an `Authorization: Bearer <token>` header, if non-empty.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A response with a status, a content type and a body; the caller adds provider headers.
pub(crate) fn response(status: u16, content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Sets a header whose value is computed (ids, timestamps: always valid ASCII).
pub(crate) fn set_header(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Sets a header with a constant value.
pub(crate) fn set_static(headers: &mut HeaderMap, name: &'static str, value: &'static str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    );
}

/// JSON content type of non-streaming replies and errors.
pub(crate) const JSON: &str = "application/json";
/// Content type of SSE replies, as both providers send it.
pub(crate) const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";
