//! Non-streaming response conversion between Chat Completions and Anthropic Messages.
//!
//! Both converters are total: any JSON yields either a response or an `InvalidField` error
//! naming the offending path, never a panic. Missing optional parts (usage, ids of tool calls)
//! get neutral defaults; parts of the wrong type are errors.

use serde_json::{json, Map, Value};

use crate::events::StopReason;
use crate::ProtocolError;

/// Converts a Chat Completions response (`chat.completion`) into an Anthropic `message` reporting `model`.
pub fn chat_to_anthropic_response(resp: &Value, model: &str) -> Result<Value, ProtocolError> {
    let Some(obj) = resp.as_object() else {
        return Err(ProtocolError::field("body", "must be a JSON object"));
    };
    let id = optional_string(obj.get("id"), "id")?.unwrap_or_else(|| "msg_unknown".to_owned());
    let Some(choices) = obj.get("choices").and_then(Value::as_array) else {
        return Err(ProtocolError::field("choices", "must be an array"));
    };
    // Only one choice is ever requested (n > 1 is refused when converting the request).
    let Some(choice) = choices.first() else {
        return Err(ProtocolError::field(
            "choices",
            "must contain at least one choice",
        ));
    };
    let Some(message) = choice.get("message").filter(|m| m.is_object()) else {
        return Err(ProtocolError::field(
            "choices.0.message",
            "must be an object",
        ));
    };

    let mut content: Vec<Value> = Vec::new();
    // Thinking comes first, as in Anthropic responses. OpenAI-compatible servers name it
    // `reasoning_content` (DeepSeek, vLLM) or `reasoning` (newer vLLM, OpenRouter). There is no
    // signature: the block can be shown but not replayed to Anthropic.
    for key in ["reasoning_content", "reasoning"] {
        if let Some(thinking) =
            optional_string(message.get(key), &format!("choices.0.message.{key}"))?
        {
            if !thinking.is_empty() {
                content.push(json!({"type": "thinking", "thinking": thinking, "signature": ""}));
                break;
            }
        }
    }

    let text = message_text(message.get("content"))?;
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    if let Some(refusal) = optional_string(message.get("refusal"), "choices.0.message.refusal")? {
        if !refusal.is_empty() {
            content.push(json!({"type": "text", "text": refusal}));
        }
    }

    let mut has_tool_use = false;
    match message.get("tool_calls") {
        None | Some(Value::Null) => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                let path = format!("choices.0.message.tool_calls.{j}");
                if !call.is_object() {
                    return Err(ProtocolError::field(path, "must be an object"));
                }
                let id = optional_string(call.get("id"), &format!("{path}.id"))?
                    .unwrap_or_else(|| format!("call_{j}"));
                if call.get("type").and_then(Value::as_str) == Some("custom") {
                    return Err(ProtocolError::Unsupported {
                        field: path,
                        reason: "a custom (free-form) tool call has no Anthropic form".into(),
                    });
                }
                let Some(function) = call.get("function").filter(|f| f.is_object()) else {
                    return Err(ProtocolError::field(
                        format!("{path}.function"),
                        "must be an object",
                    ));
                };
                content.push(tool_use_block(id, function, &format!("{path}.function"))?);
                has_tool_use = true;
            }
        }
        Some(_) => {
            return Err(ProtocolError::field(
                "choices.0.message.tool_calls",
                "must be an array",
            ))
        }
    }
    if let Some(function) = message.get("function_call").filter(|f| !f.is_null()) {
        if !function.is_object() {
            return Err(ProtocolError::field(
                "choices.0.message.function_call",
                "must be an object",
            ));
        }
        content.push(tool_use_block(
            "call_function".to_owned(),
            function,
            "choices.0.message.function_call",
        )?);
        has_tool_use = true;
    }

    let reason = match choice.get("finish_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(StopReason::from_openai(s)),
        Some(_) => {
            return Err(ProtocolError::field(
                "choices.0.finish_reason",
                "must be a string or null",
            ))
        }
    };
    // Clients run tools exactly when stop_reason is tool_use, so it must agree with the content
    // (some servers say "stop" next to tool calls; a null reason means nothing more to say).
    let reason = match reason {
        Some(StopReason::ToolUse) | None if !has_tool_use => StopReason::EndTurn,
        Some(StopReason::EndTurn | StopReason::Other(_)) | None if has_tool_use => {
            StopReason::ToolUse
        }
        Some(r) => r,
        None => StopReason::EndTurn,
    };

    let usage = chat_usage_to_anthropic(obj.get("usage"))?;

    Ok(json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason.as_anthropic(),
        "stop_sequence": null,
        "usage": usage,
    }))
}

/// Converts an Anthropic `message` response into a Chat Completions response created at `created` (Unix seconds).
pub fn anthropic_to_chat_response(resp: &Value, created: u64) -> Result<Value, ProtocolError> {
    let Some(obj) = resp.as_object() else {
        return Err(ProtocolError::field("body", "must be a JSON object"));
    };
    if let Some(kind) = optional_string(obj.get("type"), "type")? {
        if kind != "message" {
            return Err(ProtocolError::field("type", "must be \"message\""));
        }
    }
    let id = optional_string(obj.get("id"), "id")?.unwrap_or_default();
    let model = optional_string(obj.get("model"), "model")?.unwrap_or_default();

    let blocks: &[Value] = match obj.get("content") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(blocks)) => blocks,
        Some(_) => return Err(ProtocolError::field("content", "must be an array")),
    };
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls: Vec<Value> = Vec::new();
    for (j, block) in blocks.iter().enumerate() {
        let path = format!("content.{j}");
        let Some(kind) = block.get("type").and_then(Value::as_str) else {
            return Err(ProtocolError::field(
                path,
                "must be an object with a string `type`",
            ));
        };
        match kind {
            // Text split into several blocks (by citations or around tools) is one output.
            "text" => text.push_str(&required_string(block, "text", &path)?),
            "thinking" => reasoning.push_str(&required_string(block, "thinking", &path)?),
            "tool_use" => {
                let id = required_string(block, "id", &path)?;
                let name = required_string(block, "name", &path)?;
                let arguments = match block.get("input") {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(input) => serde_json::to_string(input).map_err(|e| {
                        ProtocolError::field(format!("{path}.input"), e.to_string())
                    })?,
                };
                tool_calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }));
            }
            // redacted_thinking is encrypted; server tool blocks (server_tool_use,
            // web_search_tool_result, …) were executed by Anthropic and have no Chat form.
            _ => {}
        }
    }

    let finish = match obj.get("stop_reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(StopReason::from_anthropic(s).as_openai().to_owned()),
        Some(_) => {
            return Err(ProtocolError::field(
                "stop_reason",
                "must be a string or null",
            ))
        }
    };
    // OpenAI clients run tools exactly when finish_reason is tool_calls.
    let finish = match finish.as_deref() {
        Some("tool_calls") | None if tool_calls.is_empty() => "stop".to_owned(),
        Some("stop") | None if !tool_calls.is_empty() => "tool_calls".to_owned(),
        Some(other) => other.to_owned(),
        None => "stop".to_owned(),
    };

    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        },
    );
    message.insert("refusal".into(), Value::Null);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }

    let usage = anthropic_usage_to_chat(obj.get("usage"))?;

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
        "usage": usage,
    }))
}

/// The text of a Chat message's `content`: a string, text parts concatenated, or empty for null.
fn message_text(content: Option<&Value>) -> Result<String, ProtocolError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (k, part) in parts.iter().enumerate() {
                let path = format!("choices.0.message.content.{k}");
                if part.get("type").and_then(Value::as_str) == Some("text") {
                    text.push_str(&required_string(part, "text", &path)?);
                }
            }
            Ok(text)
        }
        Some(_) => Err(ProtocolError::field(
            "choices.0.message.content",
            "must be a string, an array of parts or null",
        )),
    }
}

/// A `tool_use` block from a Chat `{name, arguments}`. Arguments that are not a JSON object are
/// kept as `{"_raw_arguments": "<text>"}`: the model's output is the answer the client paid for,
/// and a truncated call (finish_reason `length`) is still worth showing.
pub(super) fn tool_use_block(
    id: String,
    function: &Value,
    path: &str,
) -> Result<Value, ProtocolError> {
    let name = required_string(function, "name", path)?;
    let input = match function.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => json!({"_raw_arguments": s}),
        },
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return Err(ProtocolError::field(
                format!("{path}.arguments"),
                "must be a string",
            ))
        }
    };
    Ok(json!({"type": "tool_use", "id": id, "name": name, "input": input}))
}

/// Anthropic usage from Chat usage: cached prompt tokens move from input to cache reads.
fn chat_usage_to_anthropic(usage: Option<&Value>) -> Result<Value, ProtocolError> {
    let usage = match usage {
        None | Some(Value::Null) => return Ok(json!({"input_tokens": 0, "output_tokens": 0})),
        Some(u @ Value::Object(_)) => u,
        Some(_) => return Err(ProtocolError::field("usage", "must be an object")),
    };
    let prompt = optional_count(usage.get("prompt_tokens"), "usage.prompt_tokens")?.unwrap_or(0);
    let completion =
        optional_count(usage.get("completion_tokens"), "usage.completion_tokens")?.unwrap_or(0);
    let cached = match usage.get("prompt_tokens_details") {
        None | Some(Value::Null) => None,
        Some(details @ Value::Object(_)) => optional_count(
            details.get("cached_tokens"),
            "usage.prompt_tokens_details.cached_tokens",
        )?,
        Some(_) => {
            return Err(ProtocolError::field(
                "usage.prompt_tokens_details",
                "must be an object",
            ))
        }
    };
    let mut out = Map::new();
    out.insert(
        "input_tokens".into(),
        json!(prompt.saturating_sub(cached.unwrap_or(0))),
    );
    out.insert("output_tokens".into(), json!(completion));
    if let Some(cached) = cached {
        out.insert("cache_read_input_tokens".into(), json!(cached));
    }
    Ok(Value::Object(out))
}

/// Chat usage from Anthropic usage: prompt tokens include the cached and cache-written ones.
fn anthropic_usage_to_chat(usage: Option<&Value>) -> Result<Value, ProtocolError> {
    let usage = match usage {
        None | Some(Value::Null) => &Value::Null,
        Some(u @ Value::Object(_)) => u,
        Some(_) => return Err(ProtocolError::field("usage", "must be an object")),
    };
    let input = optional_count(usage.get("input_tokens"), "usage.input_tokens")?.unwrap_or(0);
    let output = optional_count(usage.get("output_tokens"), "usage.output_tokens")?.unwrap_or(0);
    let read = optional_count(
        usage.get("cache_read_input_tokens"),
        "usage.cache_read_input_tokens",
    )?;
    let creation = optional_count(
        usage.get("cache_creation_input_tokens"),
        "usage.cache_creation_input_tokens",
    )?
    .unwrap_or(0);
    let prompt = input
        .saturating_add(read.unwrap_or(0))
        .saturating_add(creation);
    let mut out = Map::new();
    out.insert("prompt_tokens".into(), json!(prompt));
    out.insert("completion_tokens".into(), json!(output));
    out.insert("total_tokens".into(), json!(prompt.saturating_add(output)));
    if let Some(read) = read {
        out.insert(
            "prompt_tokens_details".into(),
            json!({"cached_tokens": read}),
        );
    }
    Ok(Value::Object(out))
}

/// An optional string field: absent or null is `None`, another type an error naming `path`.
pub(super) fn optional_string(
    v: Option<&Value>,
    path: &str,
) -> Result<Option<String>, ProtocolError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ProtocolError::field(path, "must be a string")),
    }
}

/// The required string field `key` of the object at `path`.
pub(super) fn required_string(v: &Value, key: &str, path: &str) -> Result<String, ProtocolError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ProtocolError::field(
            format!("{path}.{key}"),
            "must be a string",
        )),
        None => Err(ProtocolError::field(format!("{path}.{key}"), "is required")),
    }
}

/// An optional token count: absent or null is `None`, anything but a non-negative integer an error.
pub(super) fn optional_count(v: Option<&Value>, path: &str) -> Result<Option<u64>, ProtocolError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ProtocolError::field(path, "must be a non-negative integer")),
    }
}
