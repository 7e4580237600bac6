//! Non-streaming response conversion between the OpenAI Responses API and Anthropic Messages
//! or Chat Completions.
//!
//! From Responses the converters read the `output` items directly. Towards Responses they go
//! through the canonical events and the Responses encoder, restoring custom and namespaced tool
//! calls on the way, so a non-streamed answer has exactly the items a streamed one would.

use serde_json::{json, Map, Value};

use super::response::{
    chat_to_anthropic_response, optional_count, optional_string, required_string, tool_use_block,
};
use super::responses_tools::{restore_tool_calls, MappedTool, ToolKind, ToolMapping};
use crate::anthropic::message as anthropic_message;
use crate::openai::responses_response;
use crate::openai::responses_stream::reasoning_text;
use crate::openai::responses_stream::EncoderOptions;
use crate::ProtocolError;

/// Converts a Responses response object into an Anthropic `message` reporting `model`.
pub fn responses_to_anthropic_response(resp: &Value, model: &str) -> Result<Value, ProtocolError> {
    let output = read_output(resp)?;
    let id = optional_string(resp.get("id"), "id")?.unwrap_or_else(|| "msg_unknown".to_owned());
    let mut content: Vec<Value> = Vec::new();
    let mut has_tool_use = false;
    for (i, item) in output.iter().enumerate() {
        let path = format!("output.{i}");
        match item_type(item, &path)? {
            "message" => {
                for (text, _) in message_texts(item, &path)? {
                    if !text.is_empty() {
                        content.push(json!({"type": "text", "text": text}));
                    }
                }
            }
            // No Anthropic signature: shown, but Anthropic would not accept it back.
            "reasoning" => {
                let thinking = reasoning_text(item);
                if !thinking.is_empty() {
                    content
                        .push(json!({"type": "thinking", "thinking": thinking, "signature": ""}));
                }
            }
            "function_call" => {
                let id = required_string(item, "call_id", &path)?;
                content.push(tool_use_block(id, item, &path)?);
                has_tool_use = true;
            }
            "custom_tool_call" => {
                return Err(ProtocolError::Unsupported {
                    field: path,
                    reason: "a custom (free-form) tool call has no Anthropic form".into(),
                })
            }
            // Hosted tool calls (web_search_call, …) were run by OpenAI: their effect is in the
            // text, and Anthropic has no block for them.
            _ => {}
        }
    }
    let stop_reason = match status(resp)? {
        Status::Incomplete(Some("max_output_tokens")) => "max_tokens",
        Status::Incomplete(Some("content_filter")) => "refusal",
        Status::Incomplete(_) => "end_turn",
        Status::Completed if has_tool_use => "tool_use",
        Status::Completed => "end_turn",
    };
    let usage = read_usage(resp)?;
    let mut u = Map::new();
    let uncached = usage
        .input
        .saturating_sub(usage.cached.unwrap_or(0))
        .saturating_sub(usage.written.unwrap_or(0));
    u.insert("input_tokens".into(), uncached.into());
    if let Some(written) = usage.written {
        u.insert("cache_creation_input_tokens".into(), written.into());
    }
    if let Some(cached) = usage.cached {
        u.insert("cache_read_input_tokens".into(), cached.into());
    }
    u.insert("output_tokens".into(), usage.output.into());
    Ok(json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": Value::Object(u),
    }))
}

/// Converts a Responses response object into a Chat Completions response created at `created`.
pub fn responses_to_chat_response(resp: &Value, created: u64) -> Result<Value, ProtocolError> {
    let output = read_output(resp)?;
    let id = optional_string(resp.get("id"), "id")?.unwrap_or_default();
    let model = optional_string(resp.get("model"), "model")?.unwrap_or_default();
    let mut text = String::new();
    let mut refusal = String::new();
    let mut reasoning = String::new();
    let mut tool_calls: Vec<Value> = Vec::new();
    for (i, item) in output.iter().enumerate() {
        let path = format!("output.{i}");
        match item_type(item, &path)? {
            "message" => {
                for (t, is_refusal) in message_texts(item, &path)? {
                    if is_refusal {
                        refusal.push_str(&t);
                    } else {
                        text.push_str(&t);
                    }
                }
            }
            "reasoning" => reasoning.push_str(&reasoning_text(item)),
            "function_call" => tool_calls.push(json!({
                "id": required_string(item, "call_id", &path)?,
                "type": "function",
                "function": {
                    "name": required_string(item, "name", &path)?,
                    "arguments": required_string(item, "arguments", &path)?,
                },
            })),
            // Chat Completions has custom tool calls of its own.
            "custom_tool_call" => tool_calls.push(json!({
                "id": required_string(item, "call_id", &path)?,
                "type": "custom",
                "custom": {
                    "name": required_string(item, "name", &path)?,
                    "input": required_string(item, "input", &path)?,
                },
            })),
            // Hosted tool calls were run by OpenAI and have no Chat form.
            _ => {}
        }
    }
    let finish = match status(resp)? {
        Status::Incomplete(Some("max_output_tokens")) => "length",
        Status::Incomplete(Some("content_filter")) => "content_filter",
        Status::Incomplete(_) => "stop",
        Status::Completed if !tool_calls.is_empty() => "tool_calls",
        Status::Completed => "stop",
    };
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    message.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            text.into()
        },
    );
    message.insert(
        "refusal".into(),
        if refusal.is_empty() {
            Value::Null
        } else {
            refusal.into()
        },
    );
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), reasoning.into());
    }
    let usage = read_usage(resp)?;
    let mut u = Map::new();
    u.insert("prompt_tokens".into(), usage.input.into());
    u.insert("completion_tokens".into(), usage.output.into());
    u.insert(
        "total_tokens".into(),
        usage.input.saturating_add(usage.output).into(),
    );
    if let Some(cached) = usage.cached {
        u.insert(
            "prompt_tokens_details".into(),
            json!({"cached_tokens": cached}),
        );
    }
    if let Some(reasoning) = usage.reasoning {
        u.insert(
            "completion_tokens_details".into(),
            json!({"reasoning_tokens": reasoning}),
        );
    }
    Ok(json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": Value::Object(message),
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": Value::Object(u),
    }))
}

/// Converts an Anthropic `message` into a Responses response object named by `opts`, turning
/// calls of the request's custom and namespaced tools back into the client's (see `tools`).
pub fn anthropic_to_responses_response(
    msg: &Value,
    opts: EncoderOptions,
    tools: &ToolMapping,
) -> Result<Value, ProtocolError> {
    if let Some(kind) = optional_string(msg.get("type"), "type")? {
        if kind != "message" {
            return Err(ProtocolError::field("type", "must be \"message\""));
        }
    }
    let events = anthropic_message::to_events(msg)?;
    let events = restore_tool_calls(tools, events);
    Ok(responses_response::build(&events, opts))
}

/// Converts a Chat Completions response into a Responses response object named by `opts`.
///
/// It goes through the Anthropic message (the canonical shape) so both converters share one
/// set of rules; Chat's own custom tool calls are carried through as if they were wrapped
/// custom tools, so they come back as `custom_tool_call` items.
pub fn chat_to_responses_response(
    resp: &Value,
    opts: EncoderOptions,
    tools: &ToolMapping,
) -> Result<Value, ProtocolError> {
    let model = match &opts.model {
        Some(m) => m.clone(),
        None => optional_string(resp.get("model"), "model")?.unwrap_or_default(),
    };
    let mut tools = tools.clone();
    let resp = wrap_native_custom_calls(resp, &mut tools);
    let reasoning_tokens = resp
        .get("usage")
        .and_then(|u| u.get("completion_tokens_details"))
        .and_then(|d| d.get("reasoning_tokens"))
        .and_then(Value::as_u64);
    let message = chat_to_anthropic_response(&resp, &model)?;
    let mut out = anthropic_to_responses_response(&message, opts, &tools)?;
    // The Anthropic shape has no reasoning-token count; put Chat's back.
    if let Some(n) = reasoning_tokens {
        if let Some(details) = out
            .get_mut("usage")
            .and_then(|u| u.get_mut("output_tokens_details"))
            .and_then(Value::as_object_mut)
        {
            details.insert("reasoning_tokens".into(), n.into());
        }
    }
    Ok(out)
}

/// Rewrites Chat's `custom` tool calls as function calls taking `{"input": …}` and maps their
/// names as custom tools, so the restorer turns them back.
fn wrap_native_custom_calls(resp: &Value, tools: &mut ToolMapping) -> Value {
    let mut resp = resp.clone();
    let calls = resp
        .get_mut("choices")
        .and_then(|c| c.get_mut(0))
        .and_then(|c| c.get_mut("message"))
        .and_then(|m| m.get_mut("tool_calls"))
        .and_then(Value::as_array_mut);
    let mut custom_names = Vec::new();
    for call in calls.into_iter().flatten() {
        if call.get("type").and_then(Value::as_str) != Some("custom") {
            continue;
        }
        let custom = call.get("custom").cloned().unwrap_or(Value::Null);
        let name = custom
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let input = custom
            .get("input")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        *call = json!({"id": id, "type": "function", "function": {
            "name": name, "arguments": json!({"input": input}).to_string()}});
        custom_names.push(name);
    }
    if !custom_names.is_empty() {
        let mut mapped: Vec<MappedTool> = tools
            .tools()
            .iter()
            .filter(|t| !custom_names.contains(&t.upstream_name))
            .cloned()
            .collect();
        mapped.extend(custom_names.into_iter().map(|name| MappedTool {
            upstream_name: name.clone(),
            client_name: name,
            kind: ToolKind::Custom,
        }));
        *tools = ToolMapping::from_mapped(mapped);
    }
    resp
}

/// How a Responses response ended.
enum Status<'a> {
    Completed,
    /// With `incomplete_details.reason`.
    Incomplete(Option<&'a str>),
}

fn status(resp: &Value) -> Result<Status<'_>, ProtocolError> {
    match resp.get("status").and_then(Value::as_str) {
        Some("incomplete") => Ok(Status::Incomplete(
            resp.get("incomplete_details")
                .and_then(|d| d.get("reason"))
                .and_then(Value::as_str),
        )),
        Some("failed") => {
            let message = resp
                .get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("no error message");
            Err(ProtocolError::field(
                "status",
                format!("the upstream response failed: {message}"),
            ))
        }
        // `completed`, or absent on servers that leave it out.
        _ => Ok(Status::Completed),
    }
}

fn read_output(resp: &Value) -> Result<&[Value], ProtocolError> {
    if !resp.is_object() {
        return Err(ProtocolError::field("body", "must be a JSON object"));
    }
    match resp.get("output") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ProtocolError::field("output", "must be an array")),
    }
}

fn item_type<'a>(item: &'a Value, path: &str) -> Result<&'a str, ProtocolError> {
    item.get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ProtocolError::field(format!("{path}.type"), "must be a string"))
}

/// A message item's texts in order, each flagged when it is a refusal.
fn message_texts(item: &Value, path: &str) -> Result<Vec<(String, bool)>, ProtocolError> {
    let mut out = Vec::new();
    let parts = item.get("content").and_then(Value::as_array);
    for (j, part) in parts.into_iter().flatten().enumerate() {
        let ppath = format!("{path}.content.{j}");
        match part.get("type").and_then(Value::as_str) {
            Some("output_text") => out.push((required_string(part, "text", &ppath)?, false)),
            Some("refusal") => out.push((required_string(part, "refusal", &ppath)?, true)),
            _ => {}
        }
    }
    Ok(out)
}

/// A Responses `usage`, counters absent as 0.
struct ResponsesUsage {
    input: u64,
    output: u64,
    cached: Option<u64>,
    written: Option<u64>,
    reasoning: Option<u64>,
}

fn read_usage(resp: &Value) -> Result<ResponsesUsage, ProtocolError> {
    let usage = match resp.get("usage") {
        None | Some(Value::Null) => &Value::Null,
        Some(u @ Value::Object(_)) => u,
        Some(_) => return Err(ProtocolError::field("usage", "must be an object")),
    };
    let detail = |outer: &str, inner: &str| -> Result<Option<u64>, ProtocolError> {
        match usage.get(outer) {
            None | Some(Value::Null) => Ok(None),
            Some(d) => optional_count(d.get(inner), &format!("usage.{outer}.{inner}")),
        }
    };
    Ok(ResponsesUsage {
        input: optional_count(usage.get("input_tokens"), "usage.input_tokens")?.unwrap_or(0),
        output: optional_count(usage.get("output_tokens"), "usage.output_tokens")?.unwrap_or(0),
        cached: detail("input_tokens_details", "cached_tokens")?,
        written: detail("input_tokens_details", "cache_write_tokens")?,
        reasoning: detail("output_tokens_details", "reasoning_tokens")?,
    })
}
