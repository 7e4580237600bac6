//! A non-streaming Anthropic message as a sequence of stream events and back, so a
//! non-streaming response goes through the same policy executor as a stream.

use serde_json::{json, Map, Value};

use crate::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamEvent, Usage,
};
use crate::ProtocolError;

fn usage_of(v: &Value) -> Usage {
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        cache_creation_input_tokens: n("cache_creation_input_tokens"),
        cache_read_input_tokens: n("cache_read_input_tokens"),
        reasoning_output_tokens: None,
    }
}

/// The events a stream of `message` would have carried.
pub fn to_events(message: &Value) -> Result<Vec<StreamEvent>, ProtocolError> {
    let content = message
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProtocolError::field("content", "a message needs a content array"))?;
    let usage = message.get("usage").map(usage_of).unwrap_or_default();
    let mut events = vec![StreamEvent::MessageStart(MessageStart {
        id: message
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        model: message
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        usage: Usage {
            output_tokens: None,
            ..usage.clone()
        },
    })];
    for (index, block) in content.iter().enumerate() {
        let s = |k: &str| {
            block
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (start, deltas) = match block.get("type").and_then(Value::as_str) {
            Some("text") => (BlockStart::Text, vec![BlockDelta::Text(s("text"))]),
            Some("thinking") => (
                BlockStart::Thinking,
                vec![
                    BlockDelta::Thinking(s("thinking")),
                    BlockDelta::Signature(s("signature")),
                ],
            ),
            Some("redacted_thinking") => (BlockStart::RedactedThinking { data: s("data") }, vec![]),
            // Not an Anthropic block: how `from_events` records a custom (free-form) tool
            // call, read back so the round trip holds.
            Some("custom_tool_call") => (
                BlockStart::CustomToolUse {
                    id: s("id"),
                    name: s("name"),
                },
                vec![BlockDelta::CustomInput(s("input"))],
            ),
            Some("tool_use") => (
                BlockStart::ToolUse {
                    id: s("id"),
                    name: s("name"),
                },
                vec![BlockDelta::InputJson(
                    block
                        .get("input")
                        .cloned()
                        .unwrap_or_else(|| json!({}))
                        .to_string(),
                )],
            ),
            _ => (BlockStart::Other(block.clone()), vec![]),
        };
        events.push(StreamEvent::BlockStart {
            index,
            block: start,
        });
        for delta in deltas {
            events.push(StreamEvent::BlockDelta { index, delta });
        }
        events.push(StreamEvent::BlockStop { index });
    }
    events.push(StreamEvent::MessageDelta(MessageDelta {
        stop_reason: message
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(StopReason::from_anthropic),
        stop_sequence: message
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage,
    }));
    events.push(StreamEvent::MessageStop);
    Ok(events)
}

/// Reassembles `events` into a message, keeping `original`'s other fields (id, model, extras).
pub fn from_events(original: &Value, events: &[StreamEvent]) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    let mut tool_json: Vec<String> = Vec::new();
    let mut delta: Option<&MessageDelta> = None;
    for ev in events {
        match ev {
            StreamEvent::BlockStart { block, .. } => {
                tool_json.push(String::new());
                blocks.push(match block {
                    BlockStart::Text => json!({"type": "text", "text": ""}),
                    BlockStart::Thinking => {
                        json!({"type": "thinking", "thinking": "", "signature": ""})
                    }
                    BlockStart::RedactedThinking { data } => {
                        json!({"type": "redacted_thinking", "data": data})
                    }
                    BlockStart::ToolUse { id, name } => {
                        json!({"type": "tool_use", "id": id, "name": name, "input": {}})
                    }
                    // Anthropic has no free-form tool call; the record keeps it under the
                    // OpenAI item name so it is neither lost nor mistaken for a tool_use.
                    BlockStart::CustomToolUse { id, name } => {
                        json!({"type": "custom_tool_call", "id": id, "name": name, "input": ""})
                    }
                    BlockStart::Other(v) => v.clone(),
                });
            }
            StreamEvent::BlockDelta { delta: d, .. } => {
                let (Some(b), Some(j)) = (blocks.last_mut(), tool_json.last_mut()) else {
                    continue;
                };
                let append = |b: &mut Value, k: &str, t: &str| {
                    let cur = b
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    b[k] = Value::String(cur + t);
                };
                match d {
                    BlockDelta::Text(t) => append(b, "text", t),
                    BlockDelta::Thinking(t) => append(b, "thinking", t),
                    BlockDelta::Signature(t) => append(b, "signature", t),
                    BlockDelta::InputJson(t) => j.push_str(t),
                    BlockDelta::CustomInput(t) => append(b, "input", t),
                    BlockDelta::Other(_) => {}
                }
            }
            StreamEvent::BlockStop { .. } => {
                if let (Some(b), Some(j)) = (blocks.last_mut(), tool_json.last()) {
                    if b.get("type").and_then(Value::as_str) == Some("tool_use")
                        && !j.trim().is_empty()
                    {
                        b["input"] =
                            serde_json::from_str(j).unwrap_or_else(|_| Value::String(j.clone()));
                    }
                }
            }
            StreamEvent::MessageDelta(d) => delta = Some(d),
            _ => {}
        }
    }
    let mut out: Map<String, Value> = original.as_object().cloned().unwrap_or_default();
    out.insert("content".into(), Value::Array(blocks));
    if let Some(d) = delta {
        out.insert(
            "stop_reason".into(),
            d.stop_reason
                .as_ref()
                .map(|r| Value::String(r.as_anthropic().to_owned()))
                .unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_round_trip_through_events() {
        let m = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "thinking", "thinking": "hm", "signature": "sig"}, {"type": "text", "text": "hi"},
                        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 4}, "extra": 1});
        let events = to_events(&m).unwrap();
        assert_eq!(from_events(&m, &events), m);
    }
}
