//! Up-front validation of an Anthropic Messages request body.
//!
//! Checks only what the real Anthropic API rejects before it looks at the content: the shape of
//! the fields every request needs (`model`, `messages`, `max_tokens`) and the types of the common
//! optional ones. Unknown top-level fields, unknown block types and unknown keys inside blocks
//! pass untouched: clients such as Claude Code send beta fields (`context_management`,
//! `output_config`, `thinking.type = "adaptive"`, `defer_loading` on tools) that a stricter
//! check would break. A `null` optional field counts as absent.

use serde_json::Value;

use crate::ProtocolError;

/// Checks that `body` is a Messages request the Anthropic API would accept in shape; the error names the field.
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
        Some(Value::Array(messages)) => {
            if messages.is_empty() {
                return Err(ProtocolError::field(
                    "messages",
                    "must contain at least one message",
                ));
            }
            for (i, message) in messages.iter().enumerate() {
                validate_message(message, i)?;
            }
        }
        Some(_) => return Err(ProtocolError::field("messages", "must be an array")),
        None => return Err(ProtocolError::field("messages", "is required")),
    }

    match obj.get("max_tokens") {
        Some(v) if v.as_u64().is_some_and(|n| n > 0) => {}
        Some(_) => {
            return Err(ProtocolError::field(
                "max_tokens",
                "must be a positive integer",
            ))
        }
        None => return Err(ProtocolError::field("max_tokens", "is required")),
    }

    if let Some(v) = present(obj.get("stream")) {
        if !v.is_boolean() {
            return Err(ProtocolError::field("stream", "must be a boolean"));
        }
    }
    if let Some(v) = present(obj.get("system")) {
        if !(v.is_string() || v.is_array()) {
            return Err(ProtocolError::field(
                "system",
                "must be a string or an array of text blocks",
            ));
        }
    }
    if let Some(v) = present(obj.get("tools")) {
        if !v.is_array() {
            return Err(ProtocolError::field("tools", "must be an array"));
        }
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = present(obj.get(key)) {
            if !v.is_number() {
                return Err(ProtocolError::field(key, "must be a number"));
            }
        }
    }
    if let Some(v) = present(obj.get("stop_sequences")) {
        let Some(items) = v.as_array() else {
            return Err(ProtocolError::field(
                "stop_sequences",
                "must be an array of strings",
            ));
        };
        for (i, item) in items.iter().enumerate() {
            if !item.is_string() {
                return Err(ProtocolError::field(
                    format!("stop_sequences.{i}"),
                    "must be a string",
                ));
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

/// Checks one entry of `messages`: an object with a known role and string or block-list content.
fn validate_message(message: &Value, i: usize) -> Result<(), ProtocolError> {
    let Some(obj) = message.as_object() else {
        return Err(ProtocolError::field(
            format!("messages.{i}"),
            "must be an object",
        ));
    };
    match obj.get("role") {
        Some(Value::String(r)) if r == "user" || r == "assistant" => {}
        Some(_) => {
            return Err(ProtocolError::field(
                format!("messages.{i}.role"),
                "must be \"user\" or \"assistant\"",
            ))
        }
        None => {
            return Err(ProtocolError::field(
                format!("messages.{i}.role"),
                "is required",
            ))
        }
    }
    match obj.get("content") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            for (j, block) in blocks.iter().enumerate() {
                // Only the discriminator is checked: unknown block types belong to the upstream.
                if !block.get("type").is_some_and(Value::is_string) {
                    return Err(ProtocolError::field(
                        format!("messages.{i}.content.{j}"),
                        "must be an object with a string `type`",
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(ProtocolError::field(
            format!("messages.{i}.content"),
            "must be a string or an array of content blocks",
        )),
        None => Err(ProtocolError::field(
            format!("messages.{i}.content"),
            "is required",
        )),
    }
}

/// The value of an optional field, with an explicit `null` read as absent.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}
