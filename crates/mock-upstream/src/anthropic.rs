//! The Anthropic Messages API as the real one speaks it: request validation and auth errors,
//! SSE streams (`event:` + `data:` frames), non-streaming messages, `count_tokens`, the model
//! list, error bodies and the `request-id` / `anthropic-ratelimit-*` headers.
//!
//! Anthropic has no custom (free-form) tools: a `mock:custom NAME TEXT` call goes out as a
//! `tool_use` of NAME with input `{"input": TEXT}`.

use std::borrow::Cow;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::ids;
use crate::scenario::LastTurn;
use crate::script::{self, Block, End, Script, StopReason};
use crate::stream::Chunk;
use crate::wire::{
    self, bearer, content_text, estimate_tokens, json_string, set_header, set_static, ApiError,
    Call, Wire, EVENT_STREAM, INVALID_KEY, JSON,
};

/// The Anthropic wire format.
pub(crate) struct Anthropic;

/// Top-level request keys whose text counts as prompt tokens.
const PROMPT_KEYS: &[&str] = &["system", "messages", "tools"];

const PING: &[u8] = b"event: ping\ndata: {\"type\": \"ping\"}\n\n";
const MESSAGE_STOP: &[u8] = b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
const OVERLOADED: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

impl Wire for Anthropic {
    fn validate(headers: &HeaderMap, body: &[u8]) -> Result<Call, ApiError> {
        let request = check_request(headers, body)?;
        let model = match request.get("model").and_then(Value::as_str) {
            Some(model) => model.to_owned(),
            None => return Err(invalid("model: Field required")),
        };
        let Some(messages) = request.get("messages").and_then(Value::as_array) else {
            return Err(invalid("messages: Field required"));
        };
        match request.get("max_tokens") {
            None => return Err(invalid("max_tokens: Field required")),
            Some(v) if !v.is_u64() => {
                return Err(invalid("max_tokens: Input should be a valid integer"))
            }
            Some(_) => {}
        }
        Ok(Call {
            model,
            stream: request.get("stream").and_then(Value::as_bool) == Some(true),
            include_usage: false,
            input_tokens: estimate_tokens(&request, PROMPT_KEYS),
            last_turn: last_turn(messages),
            ..Call::default()
        })
    }

    fn status_error(status: u16, message: String) -> ApiError {
        let kind = match status {
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            504 => "timeout_error",
            529 => "overloaded_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        ApiError::new(status, kind, message)
    }

    fn error_response(error: &ApiError) -> Response {
        let body =
            json!({"type": "error", "error": {"type": error.kind, "message": error.message}});
        let mut response = wire::response(error.status, JSON, Body::from(body.to_string()));
        let headers = response.headers_mut();
        if error.status == 429 {
            set_static(headers, "retry-after", "1");
            add_headers(headers, "0");
        } else {
            add_headers(headers, "3999");
        }
        if error.status == 429 || error.status >= 500 {
            set_static(headers, "x-should-retry", "true");
        }
        response
    }

    fn stream_frames(script: &Script, call: &Call) -> Vec<Chunk> {
        let mut out = Vec::with_capacity(script.delta_count() * 2 + script.blocks.len() * 3 + 4);
        let start = json!({
            "type": "message_start",
            "message": {
                "id": ids::anthropic_message(),
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage(call.input_tokens, 1),
            }
        });
        out.push(frame("message_start", &start.to_string()));
        let mut k = 0;
        let last = script.blocks.len().saturating_sub(1);
        for (index, block) in script.blocks.iter().enumerate() {
            let (content_block, delta_type, field, deltas) = match block {
                Block::Text { deltas } => (
                    r#"{"type":"text","text":""}"#.to_owned(),
                    "text_delta",
                    "text",
                    Cow::Borrowed(deltas.as_slice()),
                ),
                Block::Thinking { deltas, .. } => (
                    r#"{"type":"thinking","thinking":"","signature":""}"#.to_owned(),
                    "thinking_delta",
                    "thinking",
                    Cow::Borrowed(deltas.as_slice()),
                ),
                Block::ToolUse {
                    name, fragments, ..
                } => (
                    tool_use_start(name),
                    "input_json_delta",
                    "partial_json",
                    Cow::Borrowed(fragments.as_slice()),
                ),
                Block::CustomToolUse { name, fragments } => (
                    tool_use_start(name),
                    "input_json_delta",
                    "partial_json",
                    Cow::Owned(script::split_json(&custom_input(fragments).to_string())),
                ),
            };
            out.push(frame(
                "content_block_start",
                &format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{content_block}}}"#
                ),
            ));
            if index == 0 {
                // The real API sends its ping right after the first block starts.
                out.push(Chunk::Frame(Bytes::from_static(PING)));
            }
            for delta in deltas.iter() {
                let pause = script.pacing.before_delta(k);
                if !pause.is_zero() {
                    out.push(Chunk::Pause(pause));
                }
                out.push(delta_frame(index, delta_type, field, delta));
                k += 1;
            }
            if let Block::Thinking { signature, .. } = block {
                out.push(delta_frame(
                    index,
                    "signature_delta",
                    "signature",
                    signature,
                ));
            }
            // An unfinished stream leaves its last block open.
            if index < last || matches!(script.end, End::Stop(_)) {
                out.push(frame(
                    "content_block_stop",
                    &format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
                ));
            }
        }
        match &script.end {
            End::Stop(reason) => {
                let stop_reason = stop_name(reason);
                let stop_sequence =
                    stop_sequence(reason).map_or_else(|| "null".to_owned(), json_string);
                out.push(frame(
                    "message_delta",
                    &format!(
                        r#"{{"type":"message_delta","delta":{{"stop_reason":"{stop_reason}","stop_sequence":{stop_sequence}}},"usage":{{"output_tokens":{}}}}}"#,
                        script.output_tokens()
                    ),
                ));
                out.push(Chunk::Frame(Bytes::from_static(MESSAGE_STOP)));
            }
            End::Truncate => {}
            End::MidstreamError { .. } => {
                out.push(Chunk::Frame(Bytes::from_static(OVERLOADED)));
            }
        }
        out
    }

    fn sse_response(body: Body, _started: Instant) -> Response {
        let mut response = wire::response(200, EVENT_STREAM, body);
        let headers = response.headers_mut();
        set_static(headers, "cache-control", "no-cache");
        add_headers(headers, "3999");
        response
    }

    fn message(script: &Script, call: &Call, _started: Instant) -> Response {
        if matches!(script.end, End::MidstreamError { .. }) {
            // Without a stream to break, the real API reports overload as a 529.
            return Self::error_response(&ApiError::new(529, "overloaded_error", "Overloaded"));
        }
        let content: Vec<Value> = script
            .blocks
            .iter()
            .map(|block| match block {
                Block::Text { deltas } => json!({"type": "text", "text": deltas.concat()}),
                Block::Thinking { deltas, signature } => json!({
                    "type": "thinking",
                    "thinking": deltas.concat(),
                    "signature": signature,
                }),
                Block::ToolUse { name, input, .. } => json!({
                    "type": "tool_use",
                    "id": ids::anthropic_tool_use(),
                    "name": name,
                    "input": input,
                }),
                Block::CustomToolUse { name, fragments } => json!({
                    "type": "tool_use",
                    "id": ids::anthropic_tool_use(),
                    "name": name,
                    "input": custom_input(fragments),
                }),
            })
            .collect();
        let (stop_reason, stop_sequence) = match &script.end {
            End::Stop(reason) => (stop_name(reason), Value::from(stop_sequence(reason))),
            // The body is truncated below; these fields are never read.
            _ => ("end_turn", Value::Null),
        };
        let message = json!({
            "id": ids::anthropic_message(),
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": usage(call.input_tokens, script.output_tokens()),
        });
        let mut body = message.to_string().into_bytes();
        if script.end == End::Truncate {
            // The HTTP exchange completes cleanly but the JSON stops half way.
            body.truncate(body.len() / 2);
        }
        json_response(200, Bytes::from(body))
    }
}

/// `POST /v1/messages/count_tokens`.
pub(crate) fn count_tokens(headers: &HeaderMap, body: &[u8]) -> Response {
    let request = match check_request(headers, body) {
        Ok(request) => request,
        Err(error) => return Anthropic::error_response(&error),
    };
    if request.get("model").and_then(Value::as_str).is_none() {
        return Anthropic::error_response(&invalid("model: Field required"));
    }
    if request.get("messages").and_then(Value::as_array).is_none() {
        return Anthropic::error_response(&invalid("messages: Field required"));
    }
    let tokens = estimate_tokens(&request, PROMPT_KEYS);
    json_response(200, Bytes::from(format!(r#"{{"input_tokens":{tokens}}}"#)))
}

/// `GET /v1/models` for a client that sent `anthropic-version`.
pub(crate) fn models(headers: &HeaderMap) -> Response {
    if let Err(error) = check_auth(headers) {
        return Anthropic::error_response(&error);
    }
    json_response(200, Bytes::from_static(MODELS.as_bytes()))
}

/// `404` for a path the mock does not serve.
pub(crate) fn not_found() -> Response {
    Anthropic::error_response(&ApiError::new(404, "not_found_error", "Not Found"))
}

/// `413` for a body above the mock's limit (the real API's limit is 32 MB).
pub(crate) fn too_large() -> Response {
    Anthropic::error_response(&ApiError::new(
        413,
        "request_too_large",
        "Request exceeds the maximum allowed number of bytes.",
    ))
}

const MODELS: &str = concat!(
    r#"{"data":["#,
    r#"{"type":"model","id":"claude-opus-4-1-20250805","display_name":"Claude Opus 4.1","created_at":"2025-08-05T00:00:00Z"},"#,
    r#"{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"},"#,
    r#"{"type":"model","id":"claude-haiku-4-5-20251001","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"}"#,
    r#"],"has_more":false,"first_id":"claude-opus-4-1-20250805","last_id":"claude-haiku-4-5-20251001"}"#
);

/// Auth, `anthropic-version` and a JSON-object body, in the order the real API checks them.
fn check_request(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    check_auth(headers)?;
    if headers.get("anthropic-version").is_none() {
        return Err(invalid("anthropic-version: header is required"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(invalid("Input should be a valid dictionary")),
        Err(err) => Err(invalid(format!(
            "The request body is not valid JSON: {err}"
        ))),
    }
}

fn check_auth(headers: &HeaderMap) -> Result<(), ApiError> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .or_else(|| bearer(headers));
    match key {
        None => Err(ApiError::new(
            401,
            "authentication_error",
            "x-api-key header is required",
        )),
        Some(INVALID_KEY) => Err(ApiError::new(
            401,
            "authentication_error",
            "invalid x-api-key",
        )),
        Some(_) => Ok(()),
    }
}

/// The last user message: its text blocks and its first `tool_result`.
fn last_turn(messages: &[Value]) -> LastTurn {
    let Some(message) = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return LastTurn::default();
    };
    let content = message.get("content");
    let tool_result = content
        .and_then(Value::as_array)
        .and_then(|blocks| {
            blocks
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        })
        .map(|block| content_text(block.get("content")));
    LastTurn {
        text: content_text(content),
        tool_result,
    }
}

/// The `content_block` of a `tool_use` start.
fn tool_use_start(name: &str) -> String {
    format!(
        r#"{{"type":"tool_use","id":"{}","name":{},"input":{{}}}}"#,
        ids::anthropic_tool_use(),
        json_string(name)
    )
}

/// The input a custom (free-form) call gets as an Anthropic tool: `{"input": TEXT}`.
fn custom_input(fragments: &[String]) -> Value {
    json!({ "input": fragments.concat() })
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    })
}

fn stop_name(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn => "end_turn",
        StopReason::ToolUse => "tool_use",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence(_) => "stop_sequence",
    }
}

fn stop_sequence(reason: &StopReason) -> Option<&str> {
    match reason {
        StopReason::StopSequence(seq) => Some(seq),
        _ => None,
    }
}

fn frame(event: &str, data: &str) -> Chunk {
    Chunk::Frame(Bytes::from(format!("event: {event}\ndata: {data}\n\n")))
}

fn delta_frame(index: usize, delta_type: &str, field: &str, value: &str) -> Chunk {
    Chunk::Frame(Bytes::from(format!(
        "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"{delta_type}\",\"{field}\":{}}}}}\n\n",
        json_string(value)
    )))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_request_error", message)
}

fn json_response(status: u16, body: Bytes) -> Response {
    let mut response = wire::response(status, JSON, Body::from(body));
    add_headers(response.headers_mut(), "3999");
    response
}

/// `request-id` and the rate-limit headers every Anthropic response carries.
fn add_headers(headers: &mut HeaderMap, requests_remaining: &'static str) {
    let reset = rfc3339(SystemTime::now() + Duration::from_secs(1));
    set_header(headers, "request-id", ids::anthropic_request());
    set_static(
        headers,
        "anthropic-organization-id",
        "00000000-0000-4000-8000-00000000a11e",
    );
    set_static(headers, "anthropic-ratelimit-requests-limit", "4000");
    set_static(
        headers,
        "anthropic-ratelimit-requests-remaining",
        requests_remaining,
    );
    set_header(headers, "anthropic-ratelimit-requests-reset", reset.clone());
    for [limit_name, remaining_name, reset_name, limit] in TOKEN_LIMITS {
        set_static(headers, limit_name, limit);
        set_static(headers, remaining_name, limit);
        set_header(headers, reset_name, reset.clone());
    }
}

/// Header names and limit of each token rate limit.
const TOKEN_LIMITS: [[&str; 4]; 3] = [
    [
        "anthropic-ratelimit-input-tokens-limit",
        "anthropic-ratelimit-input-tokens-remaining",
        "anthropic-ratelimit-input-tokens-reset",
        "2000000",
    ],
    [
        "anthropic-ratelimit-output-tokens-limit",
        "anthropic-ratelimit-output-tokens-remaining",
        "anthropic-ratelimit-output-tokens-reset",
        "400000",
    ],
    [
        "anthropic-ratelimit-tokens-limit",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-reset",
        "2400000",
    ],
];

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), the format of the `*-reset` headers.
fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199); // 2024-02-29T23:59:59Z
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59Z");
    }
}
