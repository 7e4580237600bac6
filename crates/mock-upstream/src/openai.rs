//! The OpenAI Chat Completions API as the real one speaks it: bearer auth, validation errors,
//! `chat.completion.chunk` streams (`data:` frames ending in `[DONE]`, optional usage chunk),
//! `chat.completion` objects, the model list, error bodies and the `x-request-id` /
//! `x-ratelimit-*` headers. Thinking goes out as `reasoning_content`, as DeepSeek and vLLM do;
//! a custom (free-form) call as a `"type": "custom"` tool call, as OpenAI sends it. The
//! Responses API (`responses.rs`) shares the auth, error bodies and headers defined here.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::ids;
use crate::scenario::LastTurn;
use crate::script::{Block, End, Script, StopReason};
use crate::stream::Chunk;
use crate::wire::{
    self, bearer, content_text, elapsed_ms, estimate_tokens, json_string, set_header, set_static,
    ApiError, Call, Wire, EVENT_STREAM, INVALID_KEY, JSON,
};

/// The OpenAI wire format.
pub(crate) struct OpenAi;

/// Top-level request keys whose text counts as prompt tokens.
const PROMPT_KEYS: &[&str] = &["messages", "tools"];

const DONE: &[u8] = b"data: [DONE]\n\n";
pub(crate) const SERVER_ERROR_MESSAGE: &str =
    "The server had an error while processing your request. Sorry about that!";
const MIDSTREAM_ERROR: &[u8] = b"data: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
const NO_KEY_MESSAGE: &str = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";
pub(crate) const BAD_JSON_MESSAGE: &str = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

impl Wire for OpenAi {
    fn validate(headers: &HeaderMap, body: &[u8]) -> Result<Call, ApiError> {
        check_auth(headers)?;
        let request = match serde_json::from_slice::<Value>(body) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_request_error",
                    BAD_JSON_MESSAGE,
                ))
            }
        };
        let Some(model) = request.get("model").and_then(Value::as_str) else {
            return Err(ApiError::new(
                400,
                "invalid_request_error",
                "you must provide a model parameter",
            ));
        };
        let Some(messages) = request.get("messages").and_then(Value::as_array) else {
            return Err(ApiError {
                param: Some("messages"),
                ..ApiError::new(
                    400,
                    "invalid_request_error",
                    "Missing required parameter: 'messages'.",
                )
                .with_code("missing_required_parameter")
            });
        };
        let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        Ok(Call {
            model: model.to_owned(),
            stream,
            include_usage: stream && include_usage,
            input_tokens: estimate_tokens(&request, PROMPT_KEYS),
            last_turn: last_turn(messages),
            ..Call::default()
        })
    }

    fn status_error(status: u16, message: String) -> ApiError {
        let (kind, code) = match status {
            401 => ("invalid_request_error", Some("invalid_api_key")),
            403 => (
                "invalid_request_error",
                Some("unsupported_country_region_territory"),
            ),
            404 => ("invalid_request_error", Some("model_not_found")),
            429 => ("requests", Some("rate_limit_exceeded")),
            500..=599 => ("server_error", None),
            _ => ("invalid_request_error", None),
        };
        ApiError {
            code,
            ..ApiError::new(status, kind, message)
        }
    }

    fn error_response(error: &ApiError) -> Response {
        let body = json!({"error": {
            "message": error.message,
            "type": error.kind,
            "param": error.param,
            "code": error.code,
        }});
        let mut response = wire::response(error.status, JSON, Body::from(body.to_string()));
        let headers = response.headers_mut();
        if error.status == 429 {
            set_static(headers, "retry-after", "1");
            add_headers(headers, Instant::now(), "0");
        } else {
            add_headers(headers, Instant::now(), "9999");
        }
        response
    }

    fn stream_frames(script: &Script, call: &Call) -> Vec<Chunk> {
        let chunks = ChunkWriter::new(call);
        let mut out = Vec::with_capacity(script.delta_count() + script.blocks.len() + 4);
        out.push(chunks.delta(r#"{"role":"assistant","content":"","refusal":null}"#, None));
        let mut k = 0;
        let mut tool_index = 0;
        for block in &script.blocks {
            let fragments: Box<dyn Iterator<Item = String> + '_> = match block {
                Block::Thinking { deltas, .. } => Box::new(
                    deltas
                        .iter()
                        .map(|d| format!(r#"{{"reasoning_content":{}}}"#, json_string(d))),
                ),
                Block::Text { deltas } => Box::new(
                    deltas
                        .iter()
                        .map(|d| format!(r#"{{"content":{}}}"#, json_string(d))),
                ),
                Block::ToolUse {
                    name, fragments, ..
                } => {
                    out.push(chunks.delta(
                        &format!(
                            r#"{{"tool_calls":[{{"index":{tool_index},"id":"{}","type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
                            ids::openai_call(),
                            json_string(name)
                        ),
                        None,
                    ));
                    let index = tool_index;
                    tool_index += 1;
                    Box::new(fragments.iter().map(move |f| {
                        format!(
                            r#"{{"tool_calls":[{{"index":{index},"function":{{"arguments":{}}}}}]}}"#,
                            json_string(f)
                        )
                    }))
                }
                Block::CustomToolUse { name, fragments } => {
                    out.push(chunks.delta(
                        &format!(
                            r#"{{"tool_calls":[{{"index":{tool_index},"id":"{}","type":"custom","custom":{{"name":{},"input":""}}}}]}}"#,
                            ids::openai_call(),
                            json_string(name)
                        ),
                        None,
                    ));
                    let index = tool_index;
                    tool_index += 1;
                    Box::new(fragments.iter().map(move |f| {
                        format!(
                            r#"{{"tool_calls":[{{"index":{index},"custom":{{"input":{}}}}}]}}"#,
                            json_string(f)
                        )
                    }))
                }
            };
            for delta in fragments {
                let pause = script.pacing.before_delta(k);
                if !pause.is_zero() {
                    out.push(Chunk::Pause(pause));
                }
                out.push(chunks.delta(&delta, None));
                k += 1;
            }
        }
        match &script.end {
            End::Stop(reason) => {
                out.push(chunks.delta("{}", Some(finish_reason(reason))));
                if call.include_usage {
                    out.push(chunks.usage(&usage(script, call).to_string()));
                }
                out.push(Chunk::Frame(Bytes::from_static(DONE)));
            }
            End::Truncate => {}
            End::MidstreamError { .. } => {
                out.push(Chunk::Frame(Bytes::from_static(MIDSTREAM_ERROR)));
            }
        }
        out
    }

    fn sse_response(body: Body, started: Instant) -> Response {
        let mut response = wire::response(200, EVENT_STREAM, body);
        add_headers(response.headers_mut(), started, "9999");
        response
    }

    fn message(script: &Script, call: &Call, started: Instant) -> Response {
        if matches!(script.end, End::MidstreamError { .. }) {
            // Without a stream to break, the failure is an HTTP 500.
            return Self::error_response(&ApiError::new(500, "server_error", SERVER_ERROR_MESSAGE));
        }
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert("content".into(), Value::from(script.text_content()));
        let thinking: Vec<&str> = script
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Thinking { deltas, .. } => Some(deltas.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect();
        if !thinking.is_empty() {
            message.insert("reasoning_content".into(), thinking.concat().into());
        }
        message.insert("refusal".into(), Value::Null);
        message.insert("annotations".into(), json!([]));
        let tool_calls: Vec<Value> = script
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::ToolUse {
                    name, fragments, ..
                } => Some(json!({
                    "id": ids::openai_call(),
                    "type": "function",
                    "function": {"name": name, "arguments": fragments.concat()},
                })),
                Block::CustomToolUse { name, fragments } => Some(json!({
                    "id": ids::openai_call(),
                    "type": "custom",
                    "custom": {"name": name, "input": fragments.concat()},
                })),
                _ => None,
            })
            .collect();
        if !tool_calls.is_empty() {
            message.insert("tool_calls".into(), tool_calls.into());
        }
        let finish = match &script.end {
            End::Stop(reason) => finish_reason(reason),
            // The body is truncated below; this field is never read.
            _ => "stop",
        };
        let completion = json!({
            "id": ids::openai_completion(),
            "object": "chat.completion",
            "created": unix_now(),
            "model": call.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish,
            }],
            "usage": usage(script, call),
            "service_tier": "default",
            "system_fingerprint": ids::FINGERPRINT.as_str(),
        });
        let mut body = completion.to_string().into_bytes();
        if script.end == End::Truncate {
            // The HTTP exchange completes cleanly but the JSON stops half way.
            body.truncate(body.len() / 2);
        }
        json_response(200, Bytes::from(body), started)
    }
}

/// Writes the `data:` frames of one completion; everything before `choices` is the same in
/// every chunk, so it is formatted once.
struct ChunkWriter {
    prefix: String,
    usage_null: &'static str,
}

impl ChunkWriter {
    fn new(call: &Call) -> Self {
        Self {
            prefix: format!(
                r#"data: {{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},"service_tier":"default","system_fingerprint":"{}","choices":["#,
                ids::openai_completion(),
                unix_now(),
                json_string(&call.model),
                ids::FINGERPRINT.as_str()
            ),
            // With include_usage, every chunk but the last carries `"usage":null`.
            usage_null: if call.include_usage {
                r#","usage":null"#
            } else {
                ""
            },
        }
    }

    fn delta(&self, delta: &str, finish_reason: Option<&str>) -> Chunk {
        let finish = finish_reason.map_or_else(|| "null".to_owned(), json_string);
        Chunk::Frame(Bytes::from(
            format!(
                r#"{}{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]{}}}"#,
                self.prefix, self.usage_null
            ) + "\n\n",
        ))
    }

    fn usage(&self, usage: &str) -> Chunk {
        Chunk::Frame(Bytes::from(format!(
            "{}],\"usage\":{usage}}}\n\n",
            self.prefix
        )))
    }
}

/// `GET /v1/models` for a client that did not send `anthropic-version`.
pub(crate) fn models(headers: &HeaderMap, started: Instant) -> Response {
    if let Err(error) = check_auth(headers) {
        return OpenAi::error_response(&error);
    }
    json_response(200, Bytes::from_static(MODELS.as_bytes()), started)
}

/// `404` for a path the mock does not serve, worded as OpenAI words it.
pub(crate) fn not_found(method: &str, path: &str) -> Response {
    OpenAi::error_response(&ApiError::new(
        404,
        "invalid_request_error",
        format!("Invalid URL ({method} {path})"),
    ))
}

/// `413` for a body above the mock's limit.
pub(crate) fn too_large() -> Response {
    OpenAi::error_response(&ApiError::new(
        413,
        "invalid_request_error",
        "Request too large: the body exceeds the maximum allowed size.",
    ))
}

const MODELS: &str = concat!(
    r#"{"object":"list","data":["#,
    r#"{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},"#,
    r#"{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"},"#,
    r#"{"id":"gpt-4.1","object":"model","created":1744316542,"owned_by":"system"},"#,
    r#"{"id":"o3","object":"model","created":1744225308,"owned_by":"system"}"#,
    r#"]}"#
);

/// Bearer auth as OpenAI checks it: missing or [`INVALID_KEY`] is a 401 `invalid_api_key`.
pub(crate) fn check_auth(headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        None => Err(ApiError::new(401, "invalid_request_error", NO_KEY_MESSAGE)
            .with_code("invalid_api_key")),
        Some(INVALID_KEY) => Err(ApiError::new(
            401,
            "invalid_request_error",
            "Incorrect API key provided: mock-inv*****-key. You can find your API key at https://platform.openai.com/account/api-keys.",
        )
        .with_code("invalid_api_key")),
        Some(_) => Ok(()),
    }
}

/// The last turn: a trailing run of `tool` messages is a tool result (the first of the run);
/// otherwise the last `user` message's text.
fn last_turn(messages: &[Value]) -> LastTurn {
    let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_owned);
    if messages.last().and_then(role).as_deref() == Some("tool") {
        let first_tool = messages
            .iter()
            .rev()
            .take_while(|m| role(m).as_deref() == Some("tool"))
            .last();
        return LastTurn {
            text: String::new(),
            tool_result: first_tool.map(|m| content_text(m.get("content"))),
        };
    }
    messages
        .iter()
        .rev()
        .find(|m| role(m).as_deref() == Some("user"))
        .map(|m| LastTurn {
            text: content_text(m.get("content")),
            tool_result: None,
        })
        .unwrap_or_default()
}

fn finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn | StopReason::StopSequence(_) => "stop",
        StopReason::ToolUse => "tool_calls",
        StopReason::MaxTokens => "length",
    }
}

fn usage(script: &Script, call: &Call) -> Value {
    let completion = script.output_tokens();
    json!({
        "prompt_tokens": call.input_tokens,
        "completion_tokens": completion,
        "total_tokens": call.input_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": script.reasoning_tokens(),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    })
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A JSON reply with OpenAI's headers.
pub(crate) fn json_response(status: u16, body: Bytes, started: Instant) -> Response {
    let mut response = wire::response(status, JSON, Body::from(body));
    add_headers(response.headers_mut(), started, "9999");
    response
}

/// `x-request-id`, processing time and the rate-limit headers every OpenAI response carries.
fn add_headers(headers: &mut HeaderMap, started: Instant, requests_remaining: &'static str) {
    set_header(headers, "x-request-id", ids::openai_request());
    set_static(headers, "openai-organization", "luthien-mock");
    set_static(headers, "openai-version", "2020-10-01");
    set_header(
        headers,
        "openai-processing-ms",
        elapsed_ms(started).to_string(),
    );
    set_static(headers, "x-ratelimit-limit-requests", "10000");
    set_static(
        headers,
        "x-ratelimit-remaining-requests",
        requests_remaining,
    );
    set_static(headers, "x-ratelimit-reset-requests", "6ms");
    set_static(headers, "x-ratelimit-limit-tokens", "30000000");
    set_static(headers, "x-ratelimit-remaining-tokens", "29999000");
    set_static(headers, "x-ratelimit-reset-tokens", "2ms");
}
