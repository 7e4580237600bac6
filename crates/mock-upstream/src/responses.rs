//! The OpenAI Responses API (`POST /v1/responses`, what the Codex CLI speaks) as the real one
//! speaks it: the same bearer auth, error bodies and `x-request-id` / `x-ratelimit-*` headers as
//! Chat Completions, SSE streams of typed events (`event: <type>` + `data:` with `type` and a
//! `sequence_number` from 0), and non-streaming `response` objects.
//!
//! A script becomes output items, one per block and in order: thinking → `reasoning` (summary
//! text, then `encrypted_content` in the done item), text → `message` (one `output_text` part),
//! a tool call → `function_call` (`fc_…`, `call_id` `call_…`), a custom call →
//! `custom_tool_call` (`ctc_…`). A stream is `response.created`, `response.in_progress`, each
//! item's added / delta / done events, then `response.completed` (or `response.incomplete` with
//! `max_output_tokens` for `max_tokens`). Responses has no stop sequences, so a
//! `stop_sequence` script simply completes. The response object echoes the request's parameters
//! (`instructions`, `tools`, `reasoning`, `store`, …) over the API's defaults.

use std::time::Instant;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::ids;
use crate::openai::{self, OpenAi};
use crate::scenario::LastTurn;
use crate::script::{Block, End, Script, StopReason};
use crate::stream::Chunk;
use crate::wire::{estimate_tokens, json_string, ApiError, Call, Wire};

/// The OpenAI Responses wire format.
pub(crate) struct Responses;

/// Top-level request keys whose text counts as prompt tokens.
const PROMPT_KEYS: &[&str] = &["instructions", "input", "tools"];

/// The fields of a response object, in the order OpenAI writes them.
const FIELDS: &[&str] = &[
    "id",
    "object",
    "created_at",
    "status",
    "background",
    "error",
    "incomplete_details",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "model",
    "output",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "usage",
    "user",
    "metadata",
];

/// The value of an echoed request parameter the request did not set.
fn default_of(key: &str) -> Value {
    match key {
        "background" => false.into(),
        "parallel_tool_calls" => true.into(),
        "reasoning" => json!({"effort": null, "summary": null}),
        "service_tier" => "auto".into(),
        "store" => true.into(),
        "temperature" | "top_p" => 1.0.into(),
        "text" => json!({"format": {"type": "text"}, "verbosity": "medium"}),
        "tool_choice" => "auto".into(),
        "tools" => json!([]),
        "top_logprobs" => 0.into(),
        "truncation" => "disabled".into(),
        "metadata" => json!({}),
        _ => Value::Null,
    }
}

/// The fields the mock computes rather than echoes.
fn is_own(key: &str) -> bool {
    matches!(
        key,
        "id" | "object"
            | "created_at"
            | "status"
            | "error"
            | "incomplete_details"
            | "model"
            | "output"
            | "usage"
    )
}

impl Wire for Responses {
    fn validate(headers: &HeaderMap, body: &[u8]) -> Result<Call, ApiError> {
        openai::check_auth(headers)?;
        let request = match serde_json::from_slice::<Value>(body) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_request_error",
                    openai::BAD_JSON_MESSAGE,
                ))
            }
        };
        let Some(model) = request.get("model").and_then(Value::as_str) else {
            return Err(ApiError {
                param: Some("model"),
                ..ApiError::new(
                    400,
                    "invalid_request_error",
                    "Missing required parameter: 'model'.",
                )
                .with_code("missing_required_parameter")
            });
        };
        let input = request.get("input");
        if let Some(other) = input.filter(|i| !(i.is_null() || i.is_string() || i.is_array())) {
            let got = match other {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "an object",
            };
            return Err(ApiError {
                param: Some("input"),
                ..ApiError::new(
                    400,
                    "invalid_request_error",
                    format!(
                        "Invalid type for 'input': expected one of a string or array of input \
                         items, but got {got} instead."
                    ),
                )
                .with_code("invalid_type")
            });
        }
        let echo = FIELDS
            .iter()
            .filter(|k| !is_own(k))
            .map(|&k| {
                let value = match (default_of(k), request.get(k)) {
                    (default, None | Some(Value::Null)) => default,
                    // `reasoning` and `text` are objects the API completes with its defaults.
                    (Value::Object(mut default), Some(Value::Object(set))) => {
                        default.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
                        Value::Object(default)
                    }
                    (_, Some(set)) => set.clone(),
                };
                (k.to_owned(), value)
            })
            .collect();
        Ok(Call {
            model: model.to_owned(),
            stream: request.get("stream").and_then(Value::as_bool) == Some(true),
            include_usage: false,
            input_tokens: estimate_tokens(&request, PROMPT_KEYS),
            last_turn: last_turn(request.get("input")),
            echo,
            obfuscate: request
                .pointer("/stream_options/include_obfuscation")
                .and_then(Value::as_bool)
                != Some(false),
        })
    }

    fn status_error(status: u16, message: String) -> ApiError {
        OpenAi::status_error(status, message)
    }

    fn error_response(error: &ApiError) -> Response {
        OpenAi::error_response(error)
    }

    fn stream_frames(script: &Script, call: &Call) -> Vec<Chunk> {
        let head = Head::new();
        let mut ev = Events {
            seq: 0,
            out: Vec::with_capacity(script.delta_count() + script.blocks.len() * 6 + 4),
            obfuscate: call.obfuscate,
        };
        let created = head.object(call, "in_progress", &[], Value::Null);
        ev.event("response.created", json!({ "response": created }));
        ev.event("response.in_progress", json!({ "response": created }));
        let mut output = Vec::with_capacity(script.blocks.len());
        let mut k = 0;
        let last = script.blocks.len().saturating_sub(1);
        for (oi, block) in script.blocks.iter().enumerate() {
            let (id, call_id) = item_ids(block);
            ev.event(
                "response.output_item.added",
                json!({"output_index": oi, "item": added_item(block, &id, &call_id)}),
            );
            let (delta_type, index_field, fragments) = match block {
                Block::Text { deltas } => {
                    ev.event(
                        "response.content_part.added",
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                            "part": output_text("")}),
                    );
                    ("response.output_text.delta", Some("content_index"), deltas)
                }
                Block::Thinking { deltas, .. } => {
                    ev.event(
                        "response.reasoning_summary_part.added",
                        json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}}),
                    );
                    (
                        "response.reasoning_summary_text.delta",
                        Some("summary_index"),
                        deltas,
                    )
                }
                Block::ToolUse { fragments, .. } => {
                    ("response.function_call_arguments.delta", None, fragments)
                }
                Block::CustomToolUse { fragments, .. } => {
                    ("response.custom_tool_call_input.delta", None, fragments)
                }
            };
            for fragment in fragments {
                let pause = script.pacing.before_delta(k);
                if !pause.is_zero() {
                    ev.out.push(Chunk::Pause(pause));
                }
                ev.delta(delta_type, &id, oi, index_field, fragment);
                k += 1;
            }
            // An unfinished stream leaves its last item open.
            if oi == last && !matches!(script.end, End::Stop(_)) {
                break;
            }
            let whole = fragments.concat();
            match block {
                Block::Text { .. } => {
                    ev.event(
                        "response.output_text.done",
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                            "text": whole, "logprobs": []}),
                    );
                    ev.event(
                        "response.content_part.done",
                        json!({"item_id": id, "output_index": oi, "content_index": 0,
                            "part": output_text(&whole)}),
                    );
                }
                Block::Thinking { .. } => {
                    ev.event(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "text": whole}),
                    );
                    ev.event(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": oi, "summary_index": 0,
                            "part": {"type": "summary_text", "text": whole}}),
                    );
                }
                Block::ToolUse { .. } => ev.event(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": oi, "arguments": whole}),
                ),
                Block::CustomToolUse { .. } => ev.event(
                    "response.custom_tool_call_input.done",
                    json!({"item_id": id, "output_index": oi, "input": whole}),
                ),
            }
            let item = done_item(block, &id, &call_id, item_status(script, oi == last));
            ev.event(
                "response.output_item.done",
                json!({"output_index": oi, "item": item}),
            );
            output.push(item);
        }
        match &script.end {
            End::Stop(reason) => {
                let (event, status) = terminal(reason);
                let response = head.object(call, status, &output, usage(script, call));
                ev.event(event, json!({ "response": response }));
            }
            End::Truncate => {}
            End::MidstreamError { error_event: true } => ev.event(
                "error",
                json!({"code": "server_error", "message": openai::SERVER_ERROR_MESSAGE,
                    "param": null}),
            ),
            End::MidstreamError { error_event: false } => {
                let response = head.object(call, "failed", &output, Value::Null);
                ev.event("response.failed", json!({ "response": response }));
            }
        }
        ev.out
    }

    fn sse_response(body: Body, started: Instant) -> Response {
        OpenAi::sse_response(body, started)
    }

    fn message(script: &Script, call: &Call, started: Instant) -> Response {
        let reason = match &script.end {
            End::MidstreamError { .. } => {
                // Without a stream to break, the failure is an HTTP 500, as on Chat Completions.
                return Self::error_response(&ApiError::new(
                    500,
                    "server_error",
                    openai::SERVER_ERROR_MESSAGE,
                ));
            }
            End::Stop(reason) => reason,
            // The body is truncated below; the status is never read.
            End::Truncate => &StopReason::EndTurn,
        };
        let last = script.blocks.len().saturating_sub(1);
        let output: Vec<Value> = script
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let (id, call_id) = item_ids(block);
                done_item(block, &id, &call_id, item_status(script, i == last))
            })
            .collect();
        let (_, status) = terminal(reason);
        let response = Head::new().object(call, status, &output, usage(script, call));
        let mut body = response.to_string().into_bytes();
        if script.end == End::Truncate {
            // The HTTP exchange completes cleanly but the JSON stops half way.
            body.truncate(body.len() / 2);
        }
        openai::json_response(200, Bytes::from(body), started)
    }
}

/// What every response object of one reply shares.
struct Head {
    id: String,
    created_at: u64,
}

impl Head {
    fn new() -> Self {
        Self {
            id: ids::responses_id("resp_"),
            created_at: openai::unix_now(),
        }
    }

    /// The response object in `status`, with the request's parameters echoed.
    fn object(&self, call: &Call, status: &str, output: &[Value], usage: Value) -> Value {
        let mut r = Map::with_capacity(FIELDS.len());
        for &key in FIELDS {
            let value = match key {
                "id" => self.id.clone().into(),
                "object" => "response".into(),
                "created_at" => self.created_at.into(),
                "status" => status.into(),
                "error" if status == "failed" => json!({
                    "code": "server_error",
                    "message": openai::SERVER_ERROR_MESSAGE,
                }),
                "incomplete_details" if status == "incomplete" => {
                    json!({"reason": "max_output_tokens"})
                }
                "error" | "incomplete_details" => Value::Null,
                "model" => call.model.clone().into(),
                "output" => Value::Array(output.to_vec()),
                "usage" => usage.clone(),
                _ => call.echo.get(key).cloned().unwrap_or(Value::Null),
            };
            r.insert(key.to_owned(), value);
        }
        Value::Object(r)
    }
}

/// Writes numbered events.
struct Events {
    seq: u64,
    out: Vec<Chunk>,
    obfuscate: bool,
}

impl Events {
    /// One event: `type` and `sequence_number` first, then `fields` (a JSON object).
    fn event(&mut self, ty: &str, fields: Value) {
        let mut m = Map::new();
        m.insert("type".into(), ty.into());
        m.insert("sequence_number".into(), self.seq.into());
        if let Value::Object(fields) = fields {
            m.extend(fields);
        }
        self.seq += 1;
        self.out.push(Chunk::Frame(Bytes::from(format!(
            "event: {ty}\ndata: {}\n\n",
            Value::Object(m)
        ))));
    }

    /// A delta event, formatted directly (a stream may carry 100,000 of them). Text deltas
    /// carry `logprobs`; every delta but a custom tool's input carries `obfuscation` unless the
    /// request turned it off.
    fn delta(
        &mut self,
        ty: &str,
        item_id: &str,
        output_index: usize,
        index_field: Option<&str>,
        delta: &str,
    ) {
        let mut data = format!(
            r#"{{"type":"{ty}","sequence_number":{},"item_id":"{item_id}","output_index":{output_index}"#,
            self.seq
        );
        if let Some(field) = index_field {
            data.push_str(&format!(r#","{field}":0"#));
        }
        data.push_str(r#","delta":"#);
        data.push_str(&json_string(delta));
        if ty == "response.output_text.delta" {
            data.push_str(r#","logprobs":[]"#);
        }
        if self.obfuscate && ty != "response.custom_tool_call_input.delta" {
            data.push_str(&format!(
                r#","obfuscation":"{}""#,
                ids::obfuscation(delta.len())
            ));
        }
        data.push('}');
        self.seq += 1;
        self.out.push(Chunk::Frame(Bytes::from(format!(
            "event: {ty}\ndata: {data}\n\n"
        ))));
    }
}

/// The item id and (for tool calls) the call id of a block's output item.
fn item_ids(block: &Block) -> (String, String) {
    match block {
        Block::Thinking { .. } => (ids::responses_id("rs_"), String::new()),
        Block::Text { .. } => (ids::responses_id("msg_"), String::new()),
        Block::ToolUse { .. } => (ids::responses_id("fc_"), ids::openai_call()),
        Block::CustomToolUse { .. } => (ids::responses_id("ctc_"), ids::openai_call()),
    }
}

/// The item as `response.output_item.added` announces it: empty and `in_progress`.
fn added_item(block: &Block, id: &str, call_id: &str) -> Value {
    match block {
        Block::Thinking { .. } => json!({"id": id, "type": "reasoning", "summary": []}),
        Block::Text { .. } => json!({"id": id, "type": "message", "status": "in_progress",
            "content": [], "role": "assistant"}),
        Block::ToolUse { name, .. } => json!({"id": id, "type": "function_call",
            "status": "in_progress", "arguments": "", "call_id": call_id, "name": name}),
        Block::CustomToolUse { name, .. } => json!({"id": id, "type": "custom_tool_call",
            "status": "in_progress", "call_id": call_id, "input": "", "name": name}),
    }
}

/// The finished item, as `response.output_item.done` and the response's `output` hold it.
fn done_item(block: &Block, id: &str, call_id: &str, status: &str) -> Value {
    match block {
        Block::Thinking { deltas, .. } => json!({"id": id, "type": "reasoning",
            "encrypted_content": ids::ENCRYPTED_REASONING.as_str(),
            "summary": [{"type": "summary_text", "text": deltas.concat()}]}),
        Block::Text { deltas } => json!({"id": id, "type": "message", "status": status,
            "content": [output_text(&deltas.concat())], "role": "assistant"}),
        Block::ToolUse {
            name, fragments, ..
        } => json!({"id": id, "type": "function_call", "status": status,
            "arguments": fragments.concat(), "call_id": call_id, "name": name}),
        Block::CustomToolUse { name, fragments } => json!({"id": id,
            "type": "custom_tool_call", "status": status, "call_id": call_id,
            "input": fragments.concat(), "name": name}),
    }
}

/// An `output_text` content part.
fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// A finished item's status: the last item of a reply cut by the token limit is `incomplete`.
fn item_status(script: &Script, is_last: bool) -> &'static str {
    if is_last && script.end == End::Stop(StopReason::MaxTokens) {
        "incomplete"
    } else {
        "completed"
    }
}

/// The terminal event and response status of a reply that stopped for `reason`.
fn terminal(reason: &StopReason) -> (&'static str, &'static str) {
    match reason {
        StopReason::MaxTokens => ("response.incomplete", "incomplete"),
        StopReason::EndTurn | StopReason::ToolUse | StopReason::StopSequence(_) => {
            ("response.completed", "completed")
        }
    }
}

/// Usage with every field the API sends.
fn usage(script: &Script, call: &Call) -> Value {
    let output = script.output_tokens();
    json!({
        "input_tokens": call.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": script.reasoning_tokens()},
        "total_tokens": call.input_tokens + output,
    })
}

/// The last turn of `input`: a trailing run of `function_call_output` / `custom_tool_call_output`
/// items is a tool result (the first of the run, as Codex sends after running a tool);
/// otherwise the text of the last user message (a string `input` is one).
fn last_turn(input: Option<&Value>) -> LastTurn {
    let items = match input {
        Some(Value::String(text)) => {
            return LastTurn {
                text: text.clone(),
                tool_result: None,
            }
        }
        Some(Value::Array(items)) => items,
        _ => return LastTurn::default(),
    };
    let is_output = |item: &Value| {
        matches!(
            item.get("type").and_then(Value::as_str),
            Some("function_call_output" | "custom_tool_call_output")
        )
    };
    if items.last().is_some_and(is_output) {
        let first = items.iter().rev().take_while(|i| is_output(i)).last();
        return LastTurn {
            text: String::new(),
            tool_result: first.map(|item| parts_text(item.get("output"))),
        };
    }
    items
        .iter()
        .rev()
        .find(|item| {
            item.get("role").and_then(Value::as_str) == Some("user")
                && matches!(
                    item.get("type").and_then(Value::as_str),
                    None | Some("message")
                )
        })
        .map(|message| LastTurn {
            text: parts_text(message.get("content")),
            tool_result: None,
        })
        .unwrap_or_default()
}

/// The text of a Responses content value: a string, or its `input_text` / `output_text` parts
/// joined with newlines.
fn parts_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| {
                matches!(
                    p.get("type").and_then(Value::as_str),
                    Some("input_text" | "output_text" | "text")
                )
            })
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_turn_is_the_last_user_message_or_a_trailing_tool_output() {
        let input = json!([
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ctx"}, {"type": "input_text", "text": "mock:long"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
        ]);
        assert_eq!(
            last_turn(Some(&input)),
            LastTurn {
                text: "ctx\nmock:long".into(),
                tool_result: None
            }
        );
        let input = json!([
            {"role": "user", "content": "mock:tool exec_command"},
            {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "exit 0"},
        ]);
        assert_eq!(
            last_turn(Some(&input)),
            LastTurn {
                text: String::new(),
                tool_result: Some("exit 0".into())
            }
        );
        assert_eq!(
            last_turn(Some(&json!("hi"))).text,
            "hi",
            "a string input is one user message"
        );
    }
}
