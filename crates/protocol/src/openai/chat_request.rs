//! Up-front validation of an OpenAI Chat Completions request body.
//!
//! Checks what the OpenAI API rejects before it looks at the content: `model`, a non-empty
//! `messages` array whose entries have a valid role and the content that role allows, and the
//! types of `stream`, `n`, `max_tokens` and `max_completion_tokens`. Unknown fields and unknown
//! content-part types pass: OpenAI-compatible servers accept extensions, and the upstream is the
//! authority on them. OpenAI accepts `null` for every optional field, so `null` counts as absent.

use serde_json::{Map, Value};

use crate::ProtocolError;

/// The roles Chat Completions accepts (`function` is the legacy form of `tool`).
const ROLES: [&str; 6] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// Checks that `body` is a Chat Completions request OpenAI would accept in shape; the error names the field.
pub fn validate(body: &Value) -> Result<(), ProtocolError> {
    let Some(obj) = body.as_object() else {
        return Err(ProtocolError::field("body", "must be a JSON object"));
    };

    match obj.get("model") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::String(_)) => return Err(ProtocolError::field("model", "must not be empty")),
        Some(_) => return Err(ProtocolError::field("model", "must be a string")),
        None => return Err(ProtocolError::field("model", "is required")),
    }

    match obj.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => {
            for (i, message) in messages.iter().enumerate() {
                validate_message(message, i)?;
            }
        }
        Some(Value::Array(_)) => {
            return Err(ProtocolError::field(
                "messages",
                "must contain at least one message",
            ))
        }
        Some(_) => return Err(ProtocolError::field("messages", "must be an array")),
        None => return Err(ProtocolError::field("messages", "is required")),
    }

    if let Some(v) = present(obj.get("stream")) {
        if !v.is_boolean() {
            return Err(ProtocolError::field("stream", "must be a boolean"));
        }
    }
    for key in ["n", "max_tokens", "max_completion_tokens"] {
        if let Some(v) = present(obj.get(key)) {
            if !(v.is_u64() || v.is_i64()) {
                return Err(ProtocolError::field(key, "must be an integer"));
            }
        }
    }
    Ok(())
}

/// The number of entries of the request's `messages` array (0 when it is missing or not an array).
pub fn message_count(body: &Value) -> usize {
    body.get("messages")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Checks one entry of `messages`: a known role and the content that role allows.
fn validate_message(message: &Value, i: usize) -> Result<(), ProtocolError> {
    let Some(obj) = message.as_object() else {
        return Err(ProtocolError::field(
            format!("messages.{i}"),
            "must be an object",
        ));
    };
    let role = match obj.get("role") {
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => r.as_str(),
        Some(_) => {
            return Err(ProtocolError::field(
                format!("messages.{i}.role"),
                "must be one of system, developer, user, assistant, tool, function",
            ))
        }
        None => {
            return Err(ProtocolError::field(
                format!("messages.{i}.role"),
                "is required",
            ))
        }
    };
    let content = present(obj.get("content"));
    match role {
        "assistant" => {
            // An assistant turn that only calls tools (or refused) carries no content.
            let carries_something = ["tool_calls", "function_call", "refusal", "audio"]
                .iter()
                .any(|k| present(obj.get(*k)).is_some());
            match content {
                Some(c) => check_content(c, i)?,
                None if carries_something => {}
                None => {
                    return Err(ProtocolError::field(
                        format!("messages.{i}.content"),
                        "is required unless the message has tool_calls or function_call",
                    ))
                }
            }
            if let Some(calls) = present(obj.get("tool_calls")) {
                if !calls.is_array() {
                    return Err(ProtocolError::field(
                        format!("messages.{i}.tool_calls"),
                        "must be an array",
                    ));
                }
            }
        }
        "tool" => {
            require_string(obj, "tool_call_id", i)?;
            required_content(content, i)?;
        }
        "function" => {
            require_string(obj, "name", i)?;
            if let Some(c) = content {
                if !c.is_string() {
                    return Err(ProtocolError::field(
                        format!("messages.{i}.content"),
                        "must be a string or null",
                    ));
                }
            }
        }
        // system, developer, user
        _ => required_content(content, i)?,
    }
    Ok(())
}

/// Checks content that the role requires.
fn required_content(content: Option<&Value>, i: usize) -> Result<(), ProtocolError> {
    match content {
        Some(c) => check_content(c, i),
        None => Err(ProtocolError::field(
            format!("messages.{i}.content"),
            "is required",
        )),
    }
}

/// Checks that content is a string or an array of typed parts.
fn check_content(content: &Value, i: usize) -> Result<(), ProtocolError> {
    match content {
        Value::String(_) => Ok(()),
        Value::Array(parts) => {
            for (j, part) in parts.iter().enumerate() {
                if !part.get("type").is_some_and(Value::is_string) {
                    return Err(ProtocolError::field(
                        format!("messages.{i}.content.{j}"),
                        "must be an object with a string `type`",
                    ));
                }
            }
            Ok(())
        }
        _ => Err(ProtocolError::field(
            format!("messages.{i}.content"),
            "must be a string or an array of content parts",
        )),
    }
}

/// Checks that message `i` has the string field `key`.
fn require_string(obj: &Map<String, Value>, key: &str, i: usize) -> Result<(), ProtocolError> {
    match obj.get(key) {
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(ProtocolError::field(
            format!("messages.{i}.{key}"),
            "must be a string",
        )),
        None => Err(ProtocolError::field(
            format!("messages.{i}.{key}"),
            "is required",
        )),
    }
}

/// The value of an optional field, with an explicit `null` read as absent.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}
