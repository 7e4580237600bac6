//! The Anthropic Messages stream: decoding its SSE frames into canonical events and encoding
//! canonical events back into its exact wire form.
//!
//! Anthropic's stream is already block-structured, so decoding is one frame → at most one event
//! and needs no state. The encoder writes fields in the order Anthropic sends them, so a stream
//! that is decoded and re-encoded without changes is byte-identical to the original (for the
//! fields the canonical model names).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::error::ProtocolError;
use crate::errors::ErrorKind;
use crate::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamError, StreamEvent, Usage,
};
use crate::sse::{self, SseFrame};

/// Anthropic's ping data, spaces included: it is the one event Anthropic does not send compact.
const PING_DATA: &str = r#"{"type": "ping"}"#;

/// Decodes one Anthropic SSE frame into a canonical event; comment frames yield `None`.
pub fn decode(frame: &SseFrame) -> Result<Option<StreamEvent>, ProtocolError> {
    if frame.is_comment() {
        return Ok(None);
    }
    // An event with no data (`event: ping` alone) is still an event; give it an empty body.
    let data: Value = if frame.data.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(&frame.data).map_err(|source| ProtocolError::InvalidJson {
            context: "Anthropic stream event",
            source,
        })?
    };
    // The JSON `type` is authoritative; the SSE event name is only a fallback for bodies
    // that omit it.
    let kind = data
        .get("type")
        .and_then(Value::as_str)
        .or(frame.event.as_deref())
        .unwrap_or("message")
        .to_owned();
    let event = match kind.as_str() {
        "message_start" => StreamEvent::MessageStart(decode_message_start(&data)),
        "content_block_start" => {
            let block = data
                .get("content_block")
                .ok_or_else(|| ProtocolError::field("content_block", "missing"))?;
            StreamEvent::BlockStart {
                index: index_of(&data)?,
                block: decode_block_start(block),
            }
        }
        "content_block_delta" => {
            let delta = data
                .get("delta")
                .ok_or_else(|| ProtocolError::field("delta", "missing"))?;
            StreamEvent::BlockDelta {
                index: index_of(&data)?,
                delta: decode_block_delta(delta),
            }
        }
        "content_block_stop" => StreamEvent::BlockStop {
            index: index_of(&data)?,
        },
        "message_delta" => StreamEvent::MessageDelta(decode_message_delta(&data)),
        "message_stop" => StreamEvent::MessageStop,
        "ping" => StreamEvent::Ping,
        "error" => StreamEvent::Error(decode_error(&data)),
        _ => StreamEvent::Unknown {
            event: frame.event.clone().unwrap_or(kind),
            data,
        },
    };
    Ok(Some(event))
}

fn index_of(data: &Value) -> Result<usize, ProtocolError> {
    data.get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| ProtocolError::field("index", "missing or not a non-negative integer"))
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn decode_message_start(data: &Value) -> MessageStart {
    let message = data.get("message").unwrap_or(&Value::Null);
    MessageStart {
        id: str_of(message, "id"),
        model: str_of(message, "model"),
        usage: message
            .get("usage")
            .map(usage_from_json)
            .unwrap_or_default(),
    }
}

fn decode_block_start(block: &Value) -> BlockStart {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => BlockStart::Text,
        Some("thinking") => BlockStart::Thinking,
        Some("redacted_thinking") => BlockStart::RedactedThinking {
            data: str_of(block, "data"),
        },
        Some("tool_use") => BlockStart::ToolUse {
            id: str_of(block, "id"),
            name: str_of(block, "name"),
        },
        _ => BlockStart::Other(block.clone()),
    }
}

fn decode_block_delta(delta: &Value) -> BlockDelta {
    let field = |key: &str| delta.get(key).and_then(Value::as_str).map(str::to_owned);
    let known = match delta.get("type").and_then(Value::as_str) {
        Some("text_delta") => field("text").map(BlockDelta::Text),
        Some("thinking_delta") => field("thinking").map(BlockDelta::Thinking),
        Some("signature_delta") => field("signature").map(BlockDelta::Signature),
        Some("input_json_delta") => field("partial_json").map(BlockDelta::InputJson),
        _ => None,
    };
    // A known type missing its payload is kept whole rather than turned into an empty fragment.
    known.unwrap_or_else(|| BlockDelta::Other(delta.clone()))
}

fn decode_message_delta(data: &Value) -> MessageDelta {
    let delta = data.get("delta").unwrap_or(&Value::Null);
    MessageDelta {
        stop_reason: delta
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(StopReason::from_anthropic),
        stop_sequence: delta
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: data.get("usage").map(usage_from_json).unwrap_or_default(),
    }
}

fn decode_error(data: &Value) -> StreamError {
    let error = data.get("error").unwrap_or(&Value::Null);
    StreamError {
        kind: ErrorKind::from_anthropic_type(
            error.get("type").and_then(Value::as_str).unwrap_or(""),
        ),
        message: str_of(error, "message"),
    }
}

/// Reads Anthropic's `usage` object; absent or null counters stay `None`.
fn usage_from_json(u: &Value) -> Usage {
    let n = |key: &str| u.get(key).and_then(Value::as_u64);
    Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        cache_creation_input_tokens: n("cache_creation_input_tokens"),
        cache_read_input_tokens: n("cache_read_input_tokens"),
        reasoning_output_tokens: None,
    }
}

/// Which counters a `usage` object must carry even when unknown: Anthropic's SDKs read
/// `input_tokens` and `output_tokens` from `message_start` and `output_tokens` from
/// `message_delta` without checking for their presence.
#[derive(Clone, Copy)]
enum UsageShape {
    MessageStart,
    MessageDelta,
}

/// Writes `usage` in Anthropic's field order: only the counters that are known, plus the
/// ones `shape` makes mandatory (as 0).
fn usage_to_json(u: &Usage, shape: UsageShape) -> Value {
    let mut m = Map::new();
    match (u.input_tokens, shape) {
        (Some(n), _) => {
            m.insert("input_tokens".into(), n.into());
        }
        (None, UsageShape::MessageStart) => {
            m.insert("input_tokens".into(), 0.into());
        }
        (None, UsageShape::MessageDelta) => {}
    }
    if let Some(n) = u.cache_creation_input_tokens {
        m.insert("cache_creation_input_tokens".into(), n.into());
    }
    if let Some(n) = u.cache_read_input_tokens {
        m.insert("cache_read_input_tokens".into(), n.into());
    }
    m.insert("output_tokens".into(), u.output_tokens.unwrap_or(0).into());
    Value::Object(m)
}

/// Encodes canonical events as Anthropic Messages SSE frames.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    /// The stream was ended with an `error` event because it carried something Anthropic
    /// cannot express; every later event encodes to nothing.
    failed: bool,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The exact Anthropic wire form of `ev`: `event: <type>\ndata: <json>\n\n`.
    ///
    /// A custom (free-form) tool call has no Anthropic form: rather than drop the call, the
    /// encoder ends the stream with an `error` event naming it, and encodes nothing after it.
    pub fn encode(&mut self, ev: &StreamEvent) -> Bytes {
        if self.failed {
            return Bytes::new();
        }
        let custom_call = match ev {
            StreamEvent::BlockStart {
                block: BlockStart::CustomToolUse { name, .. },
                ..
            } => Some(name.as_str()),
            StreamEvent::BlockDelta {
                delta: BlockDelta::CustomInput(_),
                ..
            } => Some(""),
            _ => None,
        };
        if let Some(name) = custom_call {
            self.failed = true;
            let message = format!(
                "the model called the custom (free-form) tool `{name}`, which the Anthropic \
                 Messages API cannot express; the response was stopped rather than lose the call"
            );
            let data = json!({
                "type": "error",
                "error": {"type": ErrorKind::Api.anthropic_type(), "message": message},
            });
            return sse::encode(Some("error"), &data.to_string());
        }
        let (event, data) = match ev {
            StreamEvent::MessageStart(m) => (
                "message_start",
                json!({
                    "type": "message_start",
                    "message": {
                        "id": m.id,
                        "type": "message",
                        "role": "assistant",
                        "model": m.model,
                        "content": [],
                        "stop_reason": null,
                        "stop_sequence": null,
                        "usage": usage_to_json(&m.usage, UsageShape::MessageStart),
                    }
                }),
            ),
            StreamEvent::BlockStart { index, block } => (
                "content_block_start",
                json!({
                    "type": "content_block_start",
                    "index": index,
                    "content_block": block_start_json(block),
                }),
            ),
            StreamEvent::BlockDelta { index, delta } => (
                "content_block_delta",
                json!({
                    "type": "content_block_delta",
                    "index": index,
                    "delta": block_delta_json(delta),
                }),
            ),
            StreamEvent::BlockStop { index } => (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            ),
            StreamEvent::MessageDelta(d) => (
                "message_delta",
                json!({
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": d.stop_reason.as_ref().map(StopReason::as_anthropic),
                        "stop_sequence": d.stop_sequence,
                    },
                    "usage": usage_to_json(&d.usage, UsageShape::MessageDelta),
                }),
            ),
            StreamEvent::MessageStop => ("message_stop", json!({"type": "message_stop"})),
            StreamEvent::Ping => return sse::encode(Some("ping"), PING_DATA),
            StreamEvent::Error(e) => (
                "error",
                json!({
                    "type": "error",
                    "error": {"type": e.kind.anthropic_type(), "message": e.message},
                }),
            ),
            StreamEvent::Unknown { event, data } => {
                let name = (!event.is_empty()).then_some(event.as_str());
                return sse::encode(name, &data.to_string());
            }
        };
        sse::encode(Some(event), &data.to_string())
    }
}

fn block_start_json(block: &BlockStart) -> Value {
    match block {
        BlockStart::Text => json!({"type": "text", "text": ""}),
        BlockStart::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
        BlockStart::RedactedThinking { data } => json!({"type": "redacted_thinking", "data": data}),
        BlockStart::ToolUse { id, name } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": {}})
        }
        // Unreachable through `Encoder::encode`, which refuses custom calls before this.
        BlockStart::CustomToolUse { id, name } => {
            json!({"type": "custom_tool_call", "id": id, "name": name, "input": ""})
        }
        BlockStart::Other(v) => v.clone(),
    }
}

fn block_delta_json(delta: &BlockDelta) -> Value {
    match delta {
        BlockDelta::Text(t) => json!({"type": "text_delta", "text": t}),
        BlockDelta::Thinking(t) => json!({"type": "thinking_delta", "thinking": t}),
        BlockDelta::Signature(s) => json!({"type": "signature_delta", "signature": s}),
        BlockDelta::InputJson(j) => json!({"type": "input_json_delta", "partial_json": j}),
        // Unreachable through `Encoder::encode`, which refuses custom input before this.
        BlockDelta::CustomInput(t) => json!({"type": "custom_input_delta", "input": t}),
        BlockDelta::Other(v) => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseDecoder;

    fn decode_one(wire: &str) -> StreamEvent {
        let frames = SseDecoder::new().push(wire.as_bytes());
        assert_eq!(frames.len(), 1);
        decode(&frames[0]).unwrap().unwrap()
    }

    #[test]
    fn unknown_block_types_are_kept_whole_and_re_encoded_unchanged() {
        let wire = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n";
        let ev = decode_one(wire);
        assert!(matches!(
            ev,
            StreamEvent::BlockStart {
                index: 1,
                block: BlockStart::Other(_)
            }
        ));
        assert_eq!(Encoder::new().encode(&ev), wire.as_bytes());
    }

    #[test]
    fn unknown_delta_types_are_kept_whole() {
        let wire = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"cited_text\":\"x\"}}}\n\n";
        let ev = decode_one(wire);
        let StreamEvent::BlockDelta {
            delta: BlockDelta::Other(v),
            ..
        } = &ev
        else {
            panic!("expected an Other delta, got {ev:?}");
        };
        assert_eq!(v["citation"]["cited_text"], "x");
        assert_eq!(Encoder::new().encode(&ev), wire.as_bytes());
    }

    #[test]
    fn unknown_event_types_keep_their_name_and_data() {
        let wire = "event: future_event\ndata: {\"type\":\"future_event\",\"x\":1}\n\n";
        let ev = decode_one(wire);
        assert_eq!(
            ev,
            StreamEvent::Unknown {
                event: "future_event".into(),
                data: json!({"type": "future_event", "x": 1})
            }
        );
        assert_eq!(Encoder::new().encode(&ev), wire.as_bytes());
    }

    #[test]
    fn the_json_type_wins_over_the_sse_event_name_and_the_name_is_a_fallback() {
        let ev = decode_one("event: ping\ndata: {\"type\":\"message_stop\"}\n\n");
        assert_eq!(ev, StreamEvent::MessageStop);
        let ev = decode_one("event: message_stop\ndata: {}\n\n");
        assert_eq!(ev, StreamEvent::MessageStop);
    }

    #[test]
    fn error_events_map_their_type_to_an_error_kind() {
        let ev = decode_one("event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n");
        assert_eq!(
            ev,
            StreamEvent::Error(StreamError {
                kind: ErrorKind::Overloaded,
                message: "Overloaded".into()
            })
        );
        assert_eq!(
            Encoder::new().encode(&ev),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".as_bytes()
        );
    }

    #[test]
    fn comment_frames_decode_to_nothing() {
        let frames = SseDecoder::new().push(b": keep-alive\n\n");
        assert_eq!(decode(&frames[0]).unwrap(), None);
    }

    #[test]
    fn invalid_json_and_missing_indices_are_errors() {
        let frames = SseDecoder::new().push(b"event: message_start\ndata: {nope\n\n");
        assert!(matches!(
            decode(&frames[0]),
            Err(ProtocolError::InvalidJson { .. })
        ));
        let frames = SseDecoder::new()
            .push(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\"}\n\n");
        assert_eq!(decode(&frames[0]).unwrap_err().field_name(), Some("index"));
    }

    #[test]
    fn message_start_always_carries_input_and_output_tokens() {
        let bytes = Encoder::new().encode(&StreamEvent::MessageStart(MessageStart {
            id: "msg_1".into(),
            model: "claude-sonnet-4-5".into(),
            usage: Usage::default(),
        }));
        assert_eq!(
            bytes,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n".as_bytes()
        );
    }

    #[test]
    fn message_delta_always_carries_output_tokens_and_maps_unknown_stop_reasons_to_end_turn() {
        let bytes = Encoder::new().encode(&StreamEvent::MessageDelta(MessageDelta {
            stop_reason: Some(StopReason::Other("weird".into())),
            stop_sequence: None,
            usage: Usage::default(),
        }));
        assert_eq!(
            bytes,
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":0}}\n\n".as_bytes()
        );
    }
}
