//! A non-streamed Responses response object as a sequence of canonical events and back, so a
//! non-streaming response goes through the same policy executor as a stream.
//!
//! Both directions reuse the stream codec: the events are those a stream of the same response
//! would have decoded to, and the rebuilt object is the one the encoder would have sent in
//! `response.completed`, so streamed and non-streamed answers cannot drift apart.

use serde_json::{Map, Value};

use crate::events::StreamEvent;
use crate::openai::responses_stream::{Decoder, Encoder, EncoderOptions};
use crate::ProtocolError;

/// The events a stream of `response` would have carried.
pub fn to_events(response: &Value) -> Result<Vec<StreamEvent>, ProtocolError> {
    let Some(obj) = response.as_object() else {
        return Err(ProtocolError::field("body", "must be a JSON object"));
    };
    match obj.get("output") {
        None | Some(Value::Null | Value::Array(_)) => {}
        Some(_) => return Err(ProtocolError::field("output", "must be an array")),
    }
    Decoder::decode_response(response)
}

/// The response object `events` describe, built as the encoder builds `response.completed`.
pub fn build(events: &[StreamEvent], opts: EncoderOptions) -> Value {
    let mut encoder = Encoder::new(opts);
    for ev in events {
        encoder.encode(ev);
    }
    // Events that never end (no `MessageStop`) still describe a response.
    if encoder.response().is_none() {
        encoder.encode(&StreamEvent::MessageStop);
    }
    encoder.response().cloned().unwrap_or(Value::Null)
}

/// Reassembles `events` into a response, keeping `original`'s other fields (id, model,
/// echoed request parameters, extras) and replacing what the events decide: `output`,
/// `status`, `incomplete_details`, `error` and `usage`. Items get the encoder's ids.
pub fn from_events(original: &Value, events: &[StreamEvent]) -> Value {
    let str_of = |k: &str| original.get(k).and_then(Value::as_str).map(str::to_owned);
    let opts = EncoderOptions {
        id: str_of("id"),
        model: str_of("model"),
        created_at: original
            .get("created_at")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        echo: Map::new(),
    };
    let rebuilt = build(events, opts);
    let mut out: Map<String, Value> = original.as_object().cloned().unwrap_or_default();
    for key in ["status", "error", "incomplete_details", "output", "usage"] {
        if let Some(v) = rebuilt.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}
