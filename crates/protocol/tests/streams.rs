//! Specification of the stream codecs and the wire-invariant validator: Anthropic decode/encode
//! round trips, the OpenAI chunk decoder on every upstream shape it must accept (reference §2.3),
//! conversions in both directions checked by the validator, and one failing stream per invariant.

// Helpers outside `#[test]` functions are test code too; clippy's test allowance does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_protocol::anthropic::stream as anthropic;
use luthien_protocol::errors::ErrorKind;
use luthien_protocol::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamError, StreamEvent, Usage,
};
use luthien_protocol::openai::chat_stream::{Decoder, Encoder, EncoderOptions};
use luthien_protocol::sse::{SseDecoder, SseFrame};
use luthien_protocol::validate::{
    validate_anthropic_sse, validate_chat_sse, ValidatedStream, ValidatedToolCall, Violation,
};
use luthien_protocol::ProtocolError;
use serde_json::{json, Value};

// =============================================================================================
// Fixtures
// =============================================================================================

/// A realistic Anthropic stream: thinking with signature, text, a tool call whose input is split
/// across deltas (the first one empty, as Anthropic sends it), a ping, and cache usage.
const ANTHROPIC_FULL: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants the weather in Paris."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" I should call get_weather."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"I'll check the weather"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" in Paris for you."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"Par"}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is, France\", \"unit\": \"celsius\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A plain text answer with the newer full usage in `message_delta`.
const ANTHROPIC_TEXT: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! How can I help?"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// Two tool calls after a short text, one of them without arguments.
const ANTHROPIC_TWO_TOOLS: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01AbCdEfGhIjKlMnOpQrStUv","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":830,"output_tokens":3}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Listing files."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A","name":"Bash","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"ls -la\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01B","name":"TodoRead","input":{}}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":61}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A stream that fails mid-way with Anthropic's overloaded error.
const ANTHROPIC_ERROR: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Err","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Partial"}}

event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

"#;

/// A text-only OpenAI stream exactly as api.openai.com sends it with `include_usage`.
const CHAT_TEXT_LITERAL: &str = r#"data: {"id":"chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH","object":"chat.completion.chunk","created":1746722345,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH","object":"chat.completion.chunk","created":1746722345,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH","object":"chat.completion.chunk","created":1746722345,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{"content":", world!"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH","object":"chat.completion.chunk","created":1746722345,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH","object":"chat.completion.chunk","created":1746722345,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b38e740b47","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":4,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

"#;

const CHAT_ID: &str = "chatcmpl-BTz3dL5m0Qk8w1xYvR7aN2pE9sUcH";
const CHAT_MODEL: &str = "gpt-4.1-2025-04-14";

/// One OpenAI chunk frame with the full field set api.openai.com sends.
fn chunk(delta: Value, finish_reason: Value) -> String {
    let c = json!({
        "id": CHAT_ID,
        "object": "chat.completion.chunk",
        "created": 1746722345,
        "model": CHAT_MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_b38e740b47",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        "usage": null,
    });
    format!("data: {c}\n\n")
}

/// The role chunk OpenAI opens every stream with.
fn role_chunk() -> String {
    chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )
}

fn content(text: &str) -> String {
    chunk(json!({"content": text}), Value::Null)
}

fn finish(reason: &str) -> String {
    chunk(json!({}), json!(reason))
}

/// The usage chunk sent after the finish when `stream_options.include_usage` is set.
fn usage_chunk(prompt: u64, completion: u64, cached: u64) -> String {
    let c = json!({
        "id": CHAT_ID,
        "object": "chat.completion.chunk",
        "created": 1746722345,
        "model": CHAT_MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_b38e740b47",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
    });
    format!("data: {c}\n\n")
}

/// The first chunk of tool call `index`: id, type, name and empty arguments.
fn tool_start_chunk(index: u64, id: &str, name: &str) -> String {
    chunk(
        json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
        Value::Null,
    )
}

/// A later chunk of tool call `index`: only an argument fragment.
fn tool_args_chunk(index: u64, args: &str) -> String {
    chunk(
        json!({"tool_calls": [{"index": index, "function": {"arguments": args}}]}),
        Value::Null,
    )
}

const DONE: &str = "data: [DONE]\n\n";

fn join(parts: &[String]) -> String {
    parts.concat()
}

/// An upstream OpenAI stream and what a client must end up with after conversion.
struct ChatFixture {
    name: &'static str,
    wire: String,
    text: &'static str,
    tools: Vec<(&'static str, &'static str, Value)>,
    /// The Anthropic stop reason the converted stream must carry (`None`: ends in an error).
    stop_reason: Option<&'static str>,
}

fn chat_text_only() -> String {
    CHAT_TEXT_LITERAL.to_owned()
}

fn chat_text_and_finish_in_one_chunk() -> String {
    join(&[
        role_chunk(),
        content("All "),
        chunk(json!({"content": "done."}), json!("stop")),
        DONE.into(),
    ])
}

fn chat_three_split_tool_calls() -> String {
    join(&[
        chunk(
            json!({"role": "assistant", "content": null, "refusal": null}),
            Value::Null,
        ),
        tool_start_chunk(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
        tool_args_chunk(0, "{\"lo"),
        tool_args_chunk(0, "cation\": \"Par"),
        tool_args_chunk(0, "is\"}"),
        tool_start_chunk(1, "call_ABCDEFGHIJKLMNOPQRSTUVWX", "get_weather"),
        tool_args_chunk(1, "{\"location\""),
        tool_args_chunk(1, ": \"Tokyo\"}"),
        tool_start_chunk(2, "call_3rdCallOfThisResponse00", "get_time"),
        tool_args_chunk(2, "{\"tz\": \"Asia/"),
        tool_args_chunk(2, "Tokyo\"}"),
        finish("tool_calls"),
        usage_chunk(82, 64, 0),
        DONE.into(),
    ])
}

/// Gemini's and some vLLM builds' shape: every call complete, all in one chunk's array.
fn chat_several_tools_in_one_chunk() -> String {
    join(&[
        role_chunk(),
        chunk(
            json!({"tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"a.rs\"}"}},
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"b.rs\"}"}}
            ]}),
            Value::Null,
        ),
        finish("tool_calls"),
        DONE.into(),
    ])
}

fn chat_complete_tool_in_one_entry() -> String {
    join(&[
        role_chunk(),
        content("Let me check."),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_full", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}),
            Value::Null,
        ),
        finish("tool_calls"),
        DONE.into(),
    ])
}

/// Some OpenAI-compatible servers omit the id of a tool call.
fn chat_tool_without_id() -> String {
    join(&[
        role_chunk(),
        chunk(
            json!({"tool_calls": [{"index": 0, "type": "function", "function": {"name": "list_dir", "arguments": ""}}]}),
            Value::Null,
        ),
        tool_args_chunk(0, "{\"path\": \".\"}"),
        finish("tool_calls"),
        DONE.into(),
    ])
}

/// Anthropic through LiteLLM: `content: ""` on every tool chunk, the tool index is the
/// Anthropic block index (1, not 0), and a trailing tool entry with no id and no arguments.
fn chat_litellm_anthropic() -> String {
    let litellm = |delta: Value, finish_reason: Value| {
        let c = json!({
            "id": "chatcmpl-5b1c9e2a-6f0d-4a53-9d0a-8e1f3c2b4a77",
            "created": 1746722399,
            "model": "claude-sonnet-4-5-20250929",
            "object": "chat.completion.chunk",
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "provider_specific_fields": null,
        });
        format!("data: {c}\n\n")
    };
    join(&[
        litellm(
            json!({"content": "I'll run it.", "role": "assistant"}),
            Value::Null,
        ),
        litellm(
            json!({"content": "", "role": "assistant", "tool_calls": [{"id": "toolu_01LiteLLM", "function": {"arguments": "", "name": "Bash"}, "type": "function", "index": 1}]}),
            Value::Null,
        ),
        litellm(
            json!({"content": "", "role": "assistant", "tool_calls": [{"function": {"arguments": "{\"command\": "}, "type": "function", "index": 1}]}),
            Value::Null,
        ),
        litellm(
            json!({"content": "", "role": "assistant", "tool_calls": [{"function": {"arguments": "\"pwd\"}"}, "type": "function", "index": 1}]}),
            Value::Null,
        ),
        litellm(
            json!({"content": "", "role": "assistant", "tool_calls": [{"id": null, "function": {"arguments": ""}, "type": "function", "index": 1}]}),
            Value::Null,
        ),
        litellm(json!({"content": ""}), json!("tool_calls")),
        DONE.into(),
    ])
}

/// DeepSeek's reasoner: `reasoning_content` first, then the answer.
fn chat_reasoning_content() -> String {
    join(&[
        chunk(
            json!({"role": "assistant", "content": null, "reasoning_content": ""}),
            Value::Null,
        ),
        chunk(
            json!({"content": null, "reasoning_content": "Two plus two"}),
            Value::Null,
        ),
        chunk(
            json!({"content": null, "reasoning_content": " is four."}),
            Value::Null,
        ),
        chunk(
            json!({"content": "4", "reasoning_content": null}),
            Value::Null,
        ),
        finish("stop"),
        DONE.into(),
    ])
}

fn chat_usage_after_finish() -> String {
    join(&[
        role_chunk(),
        content("Cached answer."),
        finish("stop"),
        usage_chunk(1200, 5, 1024),
        DONE.into(),
    ])
}

fn chat_trailing_empty_chunk() -> String {
    join(&[
        role_chunk(),
        content("Hi."),
        finish("stop"),
        chunk(json!({}), Value::Null),
        DONE.into(),
    ])
}

fn chat_error_mid_stream() -> String {
    join(&[
        role_chunk(),
        content("Partial"),
        "data: {\"error\":{\"message\":\"The server had an error while processing your request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n".into(),
        DONE.into(),
    ])
}

fn chat_empty_with_only_finish() -> String {
    join(&[role_chunk(), finish("stop"), DONE.into()])
}

fn chat_content_filter() -> String {
    join(&[
        role_chunk(),
        content("I can"),
        finish("content_filter"),
        DONE.into(),
    ])
}

fn chat_refusal() -> String {
    join(&[
        role_chunk(),
        chunk(
            json!({"refusal": "I'm sorry, I can't help with that."}),
            Value::Null,
        ),
        finish("stop"),
        DONE.into(),
    ])
}

fn chat_fixtures() -> Vec<ChatFixture> {
    vec![
        ChatFixture {
            name: "text only",
            wire: chat_text_only(),
            text: "Hello, world!",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "text and finish in one chunk",
            wire: chat_text_and_finish_in_one_chunk(),
            text: "All done.",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "three tool calls split across chunks",
            wire: chat_three_split_tool_calls(),
            text: "",
            tools: vec![
                (
                    "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                    "get_weather",
                    json!({"location": "Paris"}),
                ),
                (
                    "call_ABCDEFGHIJKLMNOPQRSTUVWX",
                    "get_weather",
                    json!({"location": "Tokyo"}),
                ),
                (
                    "call_3rdCallOfThisResponse00",
                    "get_time",
                    json!({"tz": "Asia/Tokyo"}),
                ),
            ],
            stop_reason: Some("tool_use"),
        },
        ChatFixture {
            name: "several tool calls in one chunk",
            wire: chat_several_tools_in_one_chunk(),
            text: "",
            tools: vec![
                ("call_a", "read_file", json!({"path": "a.rs"})),
                ("call_b", "read_file", json!({"path": "b.rs"})),
            ],
            stop_reason: Some("tool_use"),
        },
        ChatFixture {
            name: "complete tool call in one entry",
            wire: chat_complete_tool_in_one_entry(),
            text: "Let me check.",
            tools: vec![("call_full", "get_weather", json!({"city": "Paris"}))],
            stop_reason: Some("tool_use"),
        },
        ChatFixture {
            name: "tool call without id",
            wire: chat_tool_without_id(),
            text: "",
            tools: vec![("call_0", "list_dir", json!({"path": "."}))],
            stop_reason: Some("tool_use"),
        },
        ChatFixture {
            name: "Anthropic via LiteLLM",
            wire: chat_litellm_anthropic(),
            text: "I'll run it.",
            tools: vec![("toolu_01LiteLLM", "Bash", json!({"command": "pwd"}))],
            stop_reason: Some("tool_use"),
        },
        ChatFixture {
            name: "reasoning_content",
            wire: chat_reasoning_content(),
            text: "4",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "usage after finish",
            wire: chat_usage_after_finish(),
            text: "Cached answer.",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "trailing empty chunk after finish",
            wire: chat_trailing_empty_chunk(),
            text: "Hi.",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "error chunk",
            wire: chat_error_mid_stream(),
            text: "Partial",
            tools: vec![],
            stop_reason: None,
        },
        ChatFixture {
            name: "empty stream with only finish",
            wire: chat_empty_with_only_finish(),
            text: "",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
        ChatFixture {
            name: "content_filter",
            wire: chat_content_filter(),
            text: "I can",
            tools: vec![],
            stop_reason: Some("refusal"),
        },
        ChatFixture {
            name: "refusal",
            wire: chat_refusal(),
            text: "I'm sorry, I can't help with that.",
            tools: vec![],
            stop_reason: Some("end_turn"),
        },
    ]
}

// =============================================================================================
// Helpers
// =============================================================================================

fn frames(wire: &str) -> Vec<SseFrame> {
    let mut d = SseDecoder::new();
    let frames = d.push(wire.as_bytes());
    assert!(d.pending().is_empty(), "fixture has an incomplete frame");
    frames
}

/// Runs the chat decoder over a whole stream, `finish()` included.
fn try_chat_events(wire: &str) -> Result<Vec<StreamEvent>, ProtocolError> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for f in frames(wire) {
        out.extend(d.push(&f)?);
    }
    out.extend(d.finish()?);
    Ok(out)
}

fn chat_events(wire: &str) -> Vec<StreamEvent> {
    try_chat_events(wire).unwrap()
}

fn anthropic_events(wire: &str) -> Vec<StreamEvent> {
    frames(wire)
        .iter()
        .filter_map(|f| anthropic::decode(f).unwrap())
        .collect()
}

fn to_anthropic_bytes(events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = anthropic::Encoder::new();
    events.iter().flat_map(|e| enc.encode(e).to_vec()).collect()
}

fn opts(include_usage: bool) -> EncoderOptions {
    EncoderOptions {
        id: "chatcmpl-luthien-1".into(),
        model: "gpt-4.1".into(),
        created: 1_746_722_400,
        include_usage,
    }
}

fn to_chat_bytes(events: &[StreamEvent], include_usage: bool) -> Vec<u8> {
    let mut enc = Encoder::new(opts(include_usage));
    events
        .iter()
        .flat_map(|e| enc.encode(e))
        .flat_map(|b| b.to_vec())
        .collect()
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn valid_anthropic(bytes: &[u8]) -> ValidatedStream {
    validate_anthropic_sse(bytes).unwrap_or_else(|v| {
        panic!(
            "expected a valid Anthropic stream, got violations:\n{}\n--- stream ---\n{}",
            list(&v),
            text_of(bytes)
        )
    })
}

fn valid_chat(bytes: &[u8]) -> ValidatedStream {
    validate_chat_sse(bytes).unwrap_or_else(|v| {
        panic!(
            "expected a valid chat stream, got violations:\n{}\n--- stream ---\n{}",
            list(&v),
            text_of(bytes)
        )
    })
}

fn list(v: &[Violation]) -> String {
    v.iter().map(|v| format!("  - {v}\n")).collect()
}

fn tool_calls(expected: &[(&str, &str, Value)]) -> Vec<ValidatedToolCall> {
    expected
        .iter()
        .map(|(id, name, input)| ValidatedToolCall {
            id: (*id).into(),
            name: (*name).into(),
            input: input.clone(),
        })
        .collect()
}

fn start(id: &str, model: &str) -> StreamEvent {
    StreamEvent::MessageStart(MessageStart {
        id: id.into(),
        model: model.into(),
        usage: Usage::default(),
    })
}

fn block_start(index: usize, block: BlockStart) -> StreamEvent {
    StreamEvent::BlockStart { index, block }
}

fn text_start(index: usize) -> StreamEvent {
    block_start(index, BlockStart::Text)
}

fn tool_start(index: usize, id: &str, name: &str) -> StreamEvent {
    block_start(
        index,
        BlockStart::ToolUse {
            id: id.into(),
            name: name.into(),
        },
    )
}

fn delta(index: usize, delta: BlockDelta) -> StreamEvent {
    StreamEvent::BlockDelta { index, delta }
}

fn text(index: usize, t: &str) -> StreamEvent {
    delta(index, BlockDelta::Text(t.into()))
}

fn json_frag(index: usize, j: &str) -> StreamEvent {
    delta(index, BlockDelta::InputJson(j.into()))
}

fn stop(index: usize) -> StreamEvent {
    StreamEvent::BlockStop { index }
}

fn end(reason: StopReason, usage: Usage) -> StreamEvent {
    StreamEvent::MessageDelta(MessageDelta {
        stop_reason: Some(reason),
        stop_sequence: None,
        usage,
    })
}

// =============================================================================================
// Anthropic decode / encode
// =============================================================================================

#[test]
fn anthropic_decode_then_encode_reproduces_a_full_stream_byte_for_byte() {
    for fixture in [
        ANTHROPIC_FULL,
        ANTHROPIC_TEXT,
        ANTHROPIC_TWO_TOOLS,
        ANTHROPIC_ERROR,
    ] {
        let mut enc = anthropic::Encoder::new();
        for f in frames(fixture) {
            let ev = anthropic::decode(&f).unwrap().unwrap();
            let out = enc.encode(&ev);
            // The error fixture uses Anthropic's spaced JSON, which the encoder writes compact.
            if !matches!(ev, StreamEvent::Error(_)) {
                assert_eq!(text_of(&out), text_of(&f.raw), "event {ev:?}");
            }
        }
    }
}

#[test]
fn anthropic_decode_reads_every_field_of_a_full_stream() {
    let events = anthropic_events(ANTHROPIC_FULL);
    assert_eq!(
        events[0],
        StreamEvent::MessageStart(MessageStart {
            id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
            model: "claude-sonnet-4-5-20250929".into(),
            usage: Usage {
                input_tokens: Some(472),
                output_tokens: Some(2),
                cache_creation_input_tokens: Some(0),
                cache_read_input_tokens: Some(2048),
                ..Default::default()
            },
        })
    );
    assert_eq!(events[1], block_start(0, BlockStart::Thinking));
    assert_eq!(events[2], StreamEvent::Ping);
    assert_eq!(
        events[5],
        delta(
            0,
            BlockDelta::Signature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into())
        )
    );
    assert_eq!(
        events[11],
        tool_start(2, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    );
    assert_eq!(
        events[events.len() - 2],
        end(
            StopReason::ToolUse,
            Usage {
                output_tokens: Some(89),
                ..Usage::default()
            }
        )
    );
    assert_eq!(events[events.len() - 1], StreamEvent::MessageStop);
}

#[test]
fn anthropic_decode_keeps_redacted_thinking_data() {
    let wire = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3pzix\"}}\n\n";
    let events = anthropic_events(wire);
    assert_eq!(
        events,
        vec![block_start(
            0,
            BlockStart::RedactedThinking {
                data: "EmwKAhgBEgy3va3pzix".into()
            }
        )]
    );
    assert_eq!(text_of(&to_anthropic_bytes(&events)), wire);
}

#[test]
fn anthropic_fixtures_satisfy_the_validator() {
    let full = valid_anthropic(ANTHROPIC_FULL.as_bytes());
    assert_eq!(full.text, "I'll check the weather in Paris for you.");
    assert_eq!(
        full.thinking,
        "The user wants the weather in Paris. I should call get_weather."
    );
    assert_eq!(
        full.tool_calls,
        tool_calls(&[(
            "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "get_weather",
            json!({"location": "Paris, France", "unit": "celsius"})
        )])
    );
    assert_eq!(full.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(full.events, 18);
    valid_anthropic(ANTHROPIC_TEXT.as_bytes());
    let two = valid_anthropic(ANTHROPIC_TWO_TOOLS.as_bytes());
    assert_eq!(two.tool_calls[1].input, json!({}));
    let err = valid_anthropic(ANTHROPIC_ERROR.as_bytes());
    assert!(err.ended_with_error);
    assert_eq!(err.text, "Partial");
}

// =============================================================================================
// OpenAI chat decoder
// =============================================================================================

#[test]
fn chat_decoder_turns_a_text_stream_into_one_text_block() {
    let events = chat_events(CHAT_TEXT_LITERAL);
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            text_start(0),
            text(0, "Hello"),
            text(0, ", world!"),
            stop(0),
            end(
                StopReason::EndTurn,
                Usage {
                    input_tokens: Some(19),
                    output_tokens: Some(4),
                    cache_creation_input_tokens: None,
                    cache_read_input_tokens: Some(0),
                    reasoning_output_tokens: Some(0),
                }
            ),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_emits_content_and_registers_the_finish_when_both_share_a_chunk() {
    let events = chat_events(&chat_text_and_finish_in_one_chunk());
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            text_start(0),
            text(0, "All "),
            text(0, "done."),
            stop(0),
            end(StopReason::EndTurn, Usage::default()),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_gives_each_of_three_split_tool_calls_its_own_block() {
    let events = chat_events(&chat_three_split_tool_calls());
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            tool_start(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
            json_frag(0, "{\"lo"),
            json_frag(0, "cation\": \"Par"),
            json_frag(0, "is\"}"),
            stop(0),
            tool_start(1, "call_ABCDEFGHIJKLMNOPQRSTUVWX", "get_weather"),
            json_frag(1, "{\"location\""),
            json_frag(1, ": \"Tokyo\"}"),
            stop(1),
            tool_start(2, "call_3rdCallOfThisResponse00", "get_time"),
            json_frag(2, "{\"tz\": \"Asia/"),
            json_frag(2, "Tokyo\"}"),
            stop(2),
            end(
                StopReason::ToolUse,
                Usage {
                    input_tokens: Some(82),
                    output_tokens: Some(64),
                    cache_creation_input_tokens: None,
                    cache_read_input_tokens: Some(0),
                    reasoning_output_tokens: Some(0),
                }
            ),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_handles_every_entry_of_a_tool_calls_array() {
    let events = chat_events(&chat_several_tools_in_one_chunk());
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            tool_start(0, "call_a", "read_file"),
            json_frag(0, "{\"path\": \"a.rs\"}"),
            stop(0),
            tool_start(1, "call_b", "read_file"),
            json_frag(1, "{\"path\": \"b.rs\"}"),
            stop(1),
            end(StopReason::ToolUse, Usage::default()),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_turns_a_complete_tool_entry_into_start_and_delta_after_closing_the_text() {
    let events = chat_events(&chat_complete_tool_in_one_entry());
    assert_eq!(
        events[1..6],
        [
            text_start(0),
            text(0, "Let me check."),
            stop(0),
            tool_start(1, "call_full", "get_weather"),
            json_frag(1, "{\"city\": \"Paris\"}"),
        ]
    );
}

#[test]
fn chat_decoder_synthesizes_an_id_for_a_tool_call_without_one() {
    let events = chat_events(&chat_tool_without_id());
    assert_eq!(events[1], tool_start(0, "call_0", "list_dir"));
    assert_eq!(events[2], json_frag(0, "{\"path\": \".\"}"));
}

#[test]
fn chat_decoder_never_opens_a_block_for_litellms_empty_content_and_empty_tool_entries() {
    let events = chat_events(&chat_litellm_anthropic());
    assert_eq!(
        events[1..],
        [
            text_start(0),
            text(0, "I'll run it."),
            stop(0),
            tool_start(1, "toolu_01LiteLLM", "Bash"),
            json_frag(1, "{\"command\": "),
            json_frag(1, "\"pwd\"}"),
            stop(1),
            end(StopReason::ToolUse, Usage::default()),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_turns_reasoning_content_into_a_thinking_block_before_the_text() {
    let events = chat_events(&chat_reasoning_content());
    assert_eq!(
        events[1..7],
        [
            block_start(0, BlockStart::Thinking),
            delta(0, BlockDelta::Thinking("Two plus two".into())),
            delta(0, BlockDelta::Thinking(" is four.".into())),
            stop(0),
            text_start(1),
            text(1, "4"),
        ]
    );
}

#[test]
fn chat_decoder_reads_the_reasoning_field_of_ollama_and_openrouter() {
    let wire = join(&[
        role_chunk(),
        chunk(json!({"content": "", "reasoning": "Hmm."}), Value::Null),
        content("Yes."),
        finish("stop"),
        DONE.into(),
    ]);
    let events = chat_events(&wire);
    assert_eq!(events[2], delta(0, BlockDelta::Thinking("Hmm.".into())));
    assert_eq!(events[5], text(1, "Yes."));
}

#[test]
fn chat_decoder_takes_usage_from_the_chunk_after_the_finish_and_splits_out_cached_tokens() {
    let events = chat_events(&chat_usage_after_finish());
    assert_eq!(
        events[events.len() - 2],
        end(
            StopReason::EndTurn,
            Usage {
                input_tokens: Some(176),
                output_tokens: Some(5),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(1024),
                reasoning_output_tokens: Some(0),
            }
        )
    );
}

#[test]
fn chat_decoder_waits_for_done_before_closing_because_usage_may_follow_the_finish() {
    let mut d = Decoder::new();
    let wire = join(&[role_chunk(), content("x"), finish("stop")]);
    let events: Vec<_> = frames(&wire)
        .iter()
        .flat_map(|f| d.push(f).unwrap())
        .collect();
    assert!(!events.iter().any(|e| matches!(
        e,
        StreamEvent::MessageDelta(_) | StreamEvent::BlockStop { .. }
    )));
    assert!(!d.is_done());
    let closing = d.push(&frames(DONE)[0]).unwrap();
    assert!(d.is_done());
    assert_eq!(
        closing,
        vec![
            stop(0),
            end(StopReason::EndTurn, Usage::default()),
            StreamEvent::MessageStop
        ]
    );
    assert_eq!(d.finish().unwrap(), vec![]);
}

#[test]
fn chat_decoder_finish_closes_a_complete_stream_that_lacks_done() {
    let wire = join(&[role_chunk(), content("x"), finish("length")]);
    let events = chat_events(&wire);
    assert_eq!(
        events[events.len() - 3..],
        [
            stop(0),
            end(StopReason::MaxTokens, Usage::default()),
            StreamEvent::MessageStop
        ]
    );
}

#[test]
fn chat_decoder_ignores_a_trailing_empty_chunk_after_the_finish() {
    let events = chat_events(&chat_trailing_empty_chunk());
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            text_start(0),
            text(0, "Hi."),
            stop(0),
            end(StopReason::EndTurn, Usage::default()),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_turns_an_error_chunk_into_an_error_event_and_nothing_after() {
    let events = chat_events(&chat_error_mid_stream());
    assert_eq!(
        events,
        vec![
            start(CHAT_ID, CHAT_MODEL),
            text_start(0),
            text(0, "Partial"),
            StreamEvent::Error(StreamError {
                kind: ErrorKind::Api,
                message: "The server had an error while processing your request. Sorry about that!"
                    .into()
            }),
        ]
    );
}

#[test]
fn chat_decoder_maps_rate_limit_errors_to_their_kind() {
    let wire = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n";
    assert!(matches!(
        chat_events(wire)[..],
        [StreamEvent::Error(StreamError {
            kind: ErrorKind::RateLimit,
            ..
        })]
    ));
}

#[test]
fn chat_decoder_reports_a_truncated_stream_as_an_error_from_finish() {
    let wire = join(&[role_chunk(), content("Half an ans")]);
    let err = try_chat_events(&wire).unwrap_err();
    assert!(
        matches!(&err, ProtocolError::Stream(m) if m.contains("ended before finish_reason")),
        "{err}"
    );
}

#[test]
fn chat_decoder_reports_done_without_a_finish_reason_as_incomplete() {
    let wire = join(&[role_chunk(), content("Half"), DONE.into()]);
    assert!(matches!(
        try_chat_events(&wire),
        Err(ProtocolError::Stream(_))
    ));
}

#[test]
fn chat_decoder_reports_an_empty_input_as_incomplete() {
    assert!(matches!(
        Decoder::new().finish(),
        Err(ProtocolError::Stream(_))
    ));
}

#[test]
fn chat_decoder_produces_a_message_without_blocks_when_the_model_said_nothing() {
    assert_eq!(
        chat_events(&chat_empty_with_only_finish()),
        vec![
            start(CHAT_ID, CHAT_MODEL),
            end(StopReason::EndTurn, Usage::default()),
            StreamEvent::MessageStop,
        ]
    );
}

#[test]
fn chat_decoder_maps_content_filter_to_refusal() {
    let events = chat_events(&chat_content_filter());
    assert_eq!(
        events[events.len() - 2],
        end(StopReason::Refusal, Usage::default())
    );
}

#[test]
fn chat_decoder_turns_a_refusal_into_text() {
    let events = chat_events(&chat_refusal());
    assert_eq!(events[2], text(0, "I'm sorry, I can't help with that."));
}

#[test]
fn chat_decoder_says_end_turn_for_a_tool_calls_finish_without_any_tool_call() {
    let wire = join(&[
        role_chunk(),
        content("No tools."),
        finish("tool_calls"),
        DONE.into(),
    ]);
    let events = chat_events(&wire);
    assert_eq!(
        events[events.len() - 2],
        end(StopReason::EndTurn, Usage::default())
    );
}

#[test]
fn chat_decoder_says_tool_use_when_a_server_finishes_tool_calls_with_stop() {
    let wire = join(&[
        role_chunk(),
        tool_start_chunk(0, "call_x", "ls"),
        tool_args_chunk(0, "{}"),
        finish("stop"),
        DONE.into(),
    ]);
    let events = chat_events(&wire);
    assert_eq!(
        events[events.len() - 2],
        end(StopReason::ToolUse, Usage::default())
    );
}

#[test]
fn chat_decoder_tells_calls_apart_by_id_when_a_server_reuses_index_zero() {
    let wire = join(&[
        role_chunk(),
        tool_start_chunk(0, "call_one", "a"),
        tool_args_chunk(0, "{}"),
        tool_start_chunk(0, "call_two", "b"),
        tool_args_chunk(0, "{\"x\":1}"),
        finish("tool_calls"),
        DONE.into(),
    ]);
    let events = chat_events(&wire);
    assert_eq!(events[4], tool_start(1, "call_two", "b"));
    assert_eq!(events[5], json_frag(1, "{\"x\":1}"));
}

#[test]
fn chat_decoder_rejects_arguments_for_a_tool_call_that_was_already_closed() {
    let wire = join(&[
        role_chunk(),
        tool_start_chunk(0, "call_one", "a"),
        tool_start_chunk(1, "call_two", "b"),
        tool_args_chunk(0, "{}"),
    ]);
    assert!(matches!(
        try_chat_events(&wire),
        Err(ProtocolError::Stream(m)) if m.contains("interleaved")
    ));
}

#[test]
fn chat_decoder_rejects_invalid_json() {
    let mut d = Decoder::new();
    let f = &frames("data: {\"id\":\n\n")[0];
    assert!(matches!(d.push(f), Err(ProtocolError::InvalidJson { .. })));
}

#[test]
fn chat_decoder_ignores_comments_and_frames_after_done() {
    let wire = join(&[
        ": OPENROUTER PROCESSING\n\n".into(),
        role_chunk(),
        content("a"),
        finish("stop"),
        DONE.into(),
        content("late"),
    ]);
    let events = chat_events(&wire);
    assert_eq!(events[2], text(0, "a"));
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop));
}

// =============================================================================================
// Conversions, checked by the validator
// =============================================================================================

#[test]
fn every_chat_fixture_becomes_a_valid_anthropic_stream_with_the_same_content() {
    for fx in chat_fixtures() {
        let bytes = to_anthropic_bytes(&chat_events(&fx.wire));
        let got = validate_anthropic_sse(&bytes).unwrap_or_else(|v| {
            panic!(
                "{}: invalid Anthropic stream:\n{}\n{}",
                fx.name,
                list(&v),
                text_of(&bytes)
            )
        });
        assert_eq!(got.text, fx.text, "{}", fx.name);
        assert_eq!(got.tool_calls, tool_calls(&fx.tools), "{}", fx.name);
        assert_eq!(got.stop_reason.as_deref(), fx.stop_reason, "{}", fx.name);
        assert_eq!(
            got.ended_with_error,
            fx.stop_reason.is_none(),
            "{}",
            fx.name
        );
    }
}

#[test]
fn every_chat_fixture_survives_a_round_trip_through_both_encoders() {
    for fx in chat_fixtures() {
        let events = chat_events(&fx.wire);
        for include_usage in [false, true] {
            let bytes = to_chat_bytes(&events, include_usage);
            let got = validate_chat_sse(&bytes).unwrap_or_else(|v| {
                panic!(
                    "{}: invalid chat stream:\n{}\n{}",
                    fx.name,
                    list(&v),
                    text_of(&bytes)
                )
            });
            assert_eq!(got.text, fx.text, "{}", fx.name);
            assert_eq!(got.tool_calls, tool_calls(&fx.tools), "{}", fx.name);
        }
    }
}

#[test]
fn every_anthropic_fixture_becomes_a_valid_chat_stream_with_the_same_content() {
    for fixture in [
        ANTHROPIC_FULL,
        ANTHROPIC_TEXT,
        ANTHROPIC_TWO_TOOLS,
        ANTHROPIC_ERROR,
    ] {
        let expected = valid_anthropic(fixture.as_bytes());
        for include_usage in [false, true] {
            let bytes = to_chat_bytes(&anthropic_events(fixture), include_usage);
            let got = valid_chat(&bytes);
            assert_eq!(got.text, expected.text);
            assert_eq!(got.thinking, expected.thinking);
            assert_eq!(got.tool_calls, expected.tool_calls);
            assert_eq!(got.ended_with_error, expected.ended_with_error);
            let expected_finish = expected
                .stop_reason
                .as_deref()
                .map(|r| StopReason::from_anthropic(r).as_openai().to_owned());
            assert_eq!(got.stop_reason, expected_finish);
        }
    }
}

#[test]
fn anthropic_through_the_chat_decoder_and_back_keeps_text_and_tool_calls() {
    for fixture in [ANTHROPIC_FULL, ANTHROPIC_TEXT, ANTHROPIC_TWO_TOOLS] {
        let expected = valid_anthropic(fixture.as_bytes());
        let chat = text_of(&to_chat_bytes(&anthropic_events(fixture), true));
        let back = valid_anthropic(&to_anthropic_bytes(&chat_events(&chat)));
        assert_eq!(back.text, expected.text);
        assert_eq!(back.tool_calls, expected.tool_calls);
        assert_eq!(back.stop_reason, expected.stop_reason);
    }
}

// =============================================================================================
// OpenAI chat encoder
// =============================================================================================

#[test]
fn chat_encoder_writes_openais_exact_chunk_shapes() {
    let events = vec![
        start("msg_1", "claude"),
        text_start(0),
        text(0, "Hi"),
        stop(0),
        tool_start(1, "toolu_1", "ls"),
        json_frag(1, "{}"),
        stop(1),
        end(
            StopReason::ToolUse,
            Usage {
                input_tokens: None,
                output_tokens: Some(7),
                ..Usage::default()
            },
        ),
        StreamEvent::MessageStop,
    ];
    let head = r#"{"id":"chatcmpl-luthien-1","object":"chat.completion.chunk","created":1746722400,"model":"gpt-4.1","#;
    let expected = [
        format!(r#"data: {head}"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},"logprobs":null,"finish_reason":null}}]}}"#),
        format!(r#"data: {head}"choices":[{{"index":0,"delta":{{"content":"Hi"}},"logprobs":null,"finish_reason":null}}]}}"#),
        format!(r#"data: {head}"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"toolu_1","type":"function","function":{{"name":"ls","arguments":""}}}}]}},"logprobs":null,"finish_reason":null}}]}}"#),
        format!(r#"data: {head}"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"function":{{"arguments":"{{}}"}}}}]}},"logprobs":null,"finish_reason":null}}]}}"#),
        format!(r#"data: {head}"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"tool_calls"}}]}}"#),
        "data: [DONE]".to_owned(),
    ]
    .iter()
    .map(|f| format!("{f}\n\n"))
    .collect::<String>();
    assert_eq!(text_of(&to_chat_bytes(&events, false)), expected);
}

#[test]
fn chat_encoder_with_include_usage_adds_usage_null_and_a_usage_chunk_merging_start_usage() {
    let events = vec![
        StreamEvent::MessageStart(MessageStart {
            id: "msg_1".into(),
            model: "claude".into(),
            usage: Usage {
                input_tokens: Some(100),
                output_tokens: Some(1),
                cache_creation_input_tokens: Some(20),
                cache_read_input_tokens: Some(300),
                ..Default::default()
            },
        }),
        end(
            StopReason::EndTurn,
            Usage {
                output_tokens: Some(9),
                ..Usage::default()
            },
        ),
        StreamEvent::MessageStop,
    ];
    let out = text_of(&to_chat_bytes(&events, true));
    let chunks: Vec<Value> = frames(&out)
        .iter()
        .filter(|f| f.data != "[DONE]")
        .map(|f| serde_json::from_str(&f.data).unwrap())
        .collect();
    assert_eq!(chunks.len(), 3);
    assert!(chunks[..2].iter().all(|c| c["usage"].is_null()));
    assert_eq!(chunks[2]["choices"], json!([]));
    assert_eq!(
        chunks[2]["usage"],
        json!({"prompt_tokens": 420, "completion_tokens": 9, "total_tokens": 429, "prompt_tokens_details": {"cached_tokens": 300}})
    );
}

#[test]
fn chat_encoder_writes_exactly_one_finish_reason_even_when_given_two_message_deltas() {
    let events = vec![
        start("m", "x"),
        text_start(0),
        text(0, "a"),
        stop(0),
        end(StopReason::EndTurn, Usage::default()),
        end(StopReason::MaxTokens, Usage::default()),
        StreamEvent::MessageStop,
    ];
    let bytes = to_chat_bytes(&events, true);
    let got = valid_chat(&bytes);
    assert_eq!(got.stop_reason.as_deref(), Some("stop"));
    assert_eq!(text_of(&bytes).matches("\"finish_reason\":\"").count(), 1);
}

#[test]
fn chat_encoder_drops_content_given_after_the_message_delta() {
    let events = vec![
        start("m", "x"),
        end(StopReason::EndTurn, Usage::default()),
        text_start(0),
        text(0, "too late"),
        StreamEvent::MessageStop,
    ];
    let got = valid_chat(&to_chat_bytes(&events, false));
    assert_eq!(got.text, "");
}

#[test]
fn chat_encoder_writes_a_finish_chunk_when_the_stream_stops_without_a_message_delta() {
    let events = vec![
        start("m", "x"),
        text_start(0),
        text(0, "a"),
        stop(0),
        StreamEvent::MessageStop,
    ];
    let got = valid_chat(&to_chat_bytes(&events, false));
    assert_eq!(got.stop_reason.as_deref(), Some("stop"));
}

#[test]
fn chat_encoder_says_stop_for_a_tool_use_stop_reason_when_no_tool_call_was_written() {
    let events = vec![
        start("m", "x"),
        text_start(0),
        text(0, "a"),
        stop(0),
        end(StopReason::ToolUse, Usage::default()),
        StreamEvent::MessageStop,
    ];
    let got = valid_chat(&to_chat_bytes(&events, false));
    assert_eq!(got.stop_reason.as_deref(), Some("stop"));
}

#[test]
fn chat_encoder_writes_an_error_chunk_then_done() {
    let events = vec![
        start("m", "x"),
        StreamEvent::Error(StreamError {
            kind: ErrorKind::Overloaded,
            message: "Overloaded".into(),
        }),
        text(0, "ignored"),
    ];
    let out = text_of(&to_chat_bytes(&events, false));
    assert!(out.ends_with(
        "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\ndata: [DONE]\n\n"
    ));
    assert!(valid_chat(out.as_bytes()).ended_with_error);
}

#[test]
fn chat_encoder_turns_pings_into_comments_and_drops_what_chat_cannot_carry() {
    let mut enc = Encoder::new(opts(false));
    assert_eq!(enc.encode(&StreamEvent::Ping), vec![": ping\n\n"]);
    for ev in [
        delta(0, BlockDelta::Signature("sig".into())),
        block_start(0, BlockStart::RedactedThinking { data: "x".into() }),
        block_start(0, BlockStart::Other(json!({"type": "server_tool_use"}))),
        delta(0, BlockDelta::Other(json!({"type": "citations_delta"}))),
        StreamEvent::Unknown {
            event: "future".into(),
            data: json!({}),
        },
    ] {
        assert!(enc.encode(&ev).is_empty(), "{ev:?}");
    }
}

#[test]
fn chat_encoder_turns_thinking_into_reasoning_content() {
    let mut enc = Encoder::new(opts(false));
    enc.encode(&start("m", "x"));
    let out = enc.encode(&delta(0, BlockDelta::Thinking("hmm".into())));
    assert!(text_of(&out[0]).contains("\"delta\":{\"reasoning_content\":\"hmm\"}"));
}

// =============================================================================================
// Validator: Anthropic rules, one violating stream each
// =============================================================================================

fn ev(data: Value) -> String {
    let t = data["type"].as_str().unwrap().to_owned();
    format!("event: {t}\ndata: {data}\n\n")
}

fn a_start() -> String {
    ev(
        json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
    )
}

fn a_text_start(i: usize) -> String {
    ev(
        json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
    )
}

fn a_thinking_start(i: usize) -> String {
    ev(
        json!({"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    )
}

fn a_tool_start(i: usize, id: &str, name: &str) -> String {
    ev(
        json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    )
}

fn a_delta(i: usize, delta: Value) -> String {
    ev(json!({"type": "content_block_delta", "index": i, "delta": delta}))
}

fn a_text(i: usize, t: &str) -> String {
    a_delta(i, json!({"type": "text_delta", "text": t}))
}

fn a_json(i: usize, j: &str) -> String {
    a_delta(i, json!({"type": "input_json_delta", "partial_json": j}))
}

fn a_stop(i: usize) -> String {
    ev(json!({"type": "content_block_stop", "index": i}))
}

fn a_msg_delta(reason: &str) -> String {
    ev(
        json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
    )
}

fn a_msg_stop() -> String {
    ev(json!({"type": "message_stop"}))
}

fn a_ping() -> String {
    "event: ping\ndata: {\"type\": \"ping\"}\n\n".into()
}

fn a_error() -> String {
    ev(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
}

/// A valid text answer, for rules about what may come around it.
fn a_text_message(t: &str) -> Vec<String> {
    vec![
        a_start(),
        a_text_start(0),
        a_text(0, t),
        a_stop(0),
        a_msg_delta("end_turn"),
        a_msg_stop(),
    ]
}

fn assert_anthropic_violation(parts: &[String], needle: &str) {
    let wire = join(parts);
    match validate_anthropic_sse(wire.as_bytes()) {
        Ok(_) => panic!("expected a violation mentioning {needle:?}, the stream passed:\n{wire}"),
        Err(v) => assert!(
            v.iter().any(|v| v.0.contains(needle)),
            "expected a violation mentioning {needle:?}, got:\n{}",
            list(&v)
        ),
    }
}

#[test]
fn validator_accepts_a_message_without_blocks_and_pings_anywhere_after_message_start() {
    let got = valid_anthropic(
        join(&[
            a_start(),
            a_ping(),
            a_text_start(0),
            a_ping(),
            a_text(0, "x"),
            a_stop(0),
            a_ping(),
            a_msg_delta("end_turn"),
            a_ping(),
            a_msg_stop(),
        ])
        .as_bytes(),
    );
    assert_eq!(got.text, "x");
    valid_anthropic(join(&[a_start(), a_msg_delta("end_turn"), a_msg_stop()]).as_bytes());
}

#[test]
fn validator_rejects_a_stream_not_starting_with_message_start() {
    assert_anthropic_violation(
        &[a_ping(), a_start(), a_msg_delta("end_turn"), a_msg_stop()],
        "first event must be message_start",
    );
}

#[test]
fn validator_rejects_a_second_message_start() {
    let mut parts = vec![a_start()];
    parts.extend(a_text_message("x"));
    assert_anthropic_violation(&parts, "second message_start");
}

#[test]
fn validator_rejects_block_indices_not_starting_at_zero() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(1),
            a_text(1, "x"),
            a_stop(1),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "block index 1 where 0 was expected",
    );
}

#[test]
fn validator_rejects_a_gap_in_block_indices() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_tool_start(2, "toolu_1", "ls"),
            a_stop(2),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "block index 2 where 1 was expected",
    );
}

#[test]
fn validator_rejects_a_block_started_twice() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_text_start(0),
            a_text(0, "y"),
            a_stop(0),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "block index 0 where 1 was expected",
    );
}

#[test]
fn validator_rejects_interleaved_blocks() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_thinking_start(0),
            a_text_start(1),
            a_text(1, "x"),
            a_stop(0),
            a_stop(1),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "must not interleave",
    );
}

#[test]
fn validator_rejects_a_block_stopped_twice() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_stop(0),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "content_block_stop for block 0, which is not open",
    );
}

#[test]
fn validator_rejects_a_delta_to_a_block_that_is_not_open() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_text(0, "late"),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "content_block_delta to block 0, which is not open",
    );
}

#[test]
fn validator_rejects_an_input_json_delta_into_a_text_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_json(0, "{}"),
            a_stop(0),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "input_json_delta sent to block 0, a text block",
    );
}

#[test]
fn validator_rejects_a_text_delta_into_a_tool_use_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_tool_start(0, "toolu_1", "ls"),
            a_text(0, "x"),
            a_stop(0),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "text_delta sent to block 0, a tool_use block",
    );
}

#[test]
fn validator_rejects_a_signature_delta_outside_a_thinking_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_delta(0, json!({"type": "signature_delta", "signature": "abc"})),
            a_stop(0),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "signature_delta sent to block 0, a text block",
    );
}

#[test]
fn validator_rejects_a_tool_use_without_id_or_name() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_tool_start(0, "", "ls"),
            a_stop(0),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "non-empty id and name",
    );
    assert_anthropic_violation(
        &[
            a_start(),
            a_tool_start(0, "toolu_1", ""),
            a_stop(0),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "non-empty id and name",
    );
}

#[test]
fn validator_rejects_tool_input_that_does_not_parse_as_a_json_object() {
    let with_input = |frags: &[&str]| {
        let mut parts = vec![a_start(), a_tool_start(0, "toolu_1", "ls")];
        parts.extend(frags.iter().map(|f| a_json(0, f)));
        parts.extend([a_stop(0), a_msg_delta("tool_use"), a_msg_stop()]);
        parts
    };
    assert_anthropic_violation(&with_input(&["{\"a\":", "1"]), "does not parse");
    assert_anthropic_violation(&with_input(&["[1, 2]"]), "not a JSON object");
    let got = valid_anthropic(join(&with_input(&[])).as_bytes());
    assert_eq!(got.tool_calls[0].input, json!({}));
}

#[test]
fn validator_rejects_a_text_block_after_a_tool_use_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_tool_start(0, "toolu_1", "ls"),
            a_json(0, "{}"),
            a_stop(0),
            a_text_start(1),
            a_text(1, "Warning: judge unavailable"),
            a_stop(1),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "text block 1 after a tool_use block",
    );
}

#[test]
fn validator_rejects_an_empty_text_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, ""),
            a_stop(0),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "text block 0 is empty",
    );
}

#[test]
fn validator_rejects_a_message_delta_while_a_block_is_open() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_msg_delta("end_turn"),
            a_stop(0),
            a_msg_stop(),
        ],
        "message_delta while block 0 is still open",
    );
}

#[test]
fn validator_rejects_content_after_the_message_delta() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_msg_delta("end_turn"),
            a_text_start(0),
            a_text(0, "injected warning"),
            a_stop(0),
            a_msg_stop(),
        ],
        "content_block_start after message_delta",
    );
}

#[test]
fn validator_rejects_two_message_deltas() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_msg_delta("end_turn"),
            a_msg_delta("end_turn"),
            a_msg_stop(),
        ],
        "second message_delta",
    );
}

#[test]
fn validator_rejects_message_stop_without_message_delta() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_msg_stop(),
        ],
        "message_stop without a preceding message_delta",
    );
}

#[test]
fn validator_rejects_stop_reason_tool_use_without_a_tool_use_block() {
    assert_anthropic_violation(
        &[
            a_start(),
            a_text_start(0),
            a_text(0, "x"),
            a_stop(0),
            a_msg_delta("tool_use"),
            a_msg_stop(),
        ],
        "stop_reason is tool_use but the message has no tool_use block",
    );
}

#[test]
fn validator_rejects_a_tool_use_block_with_stop_reason_end_turn_but_accepts_max_tokens() {
    let parts = |reason: &str| {
        vec![
            a_start(),
            a_tool_start(0, "toolu_1", "ls"),
            a_json(0, "{}"),
            a_stop(0),
            a_msg_delta(reason),
            a_msg_stop(),
        ]
    };
    assert_anthropic_violation(&parts("end_turn"), "but stop_reason is Some(\"end_turn\")");
    valid_anthropic(join(&parts("max_tokens")).as_bytes());
}

#[test]
fn validator_rejects_a_truncated_stream() {
    let mut parts = a_text_message("x");
    parts.truncate(3);
    assert_anthropic_violation(&parts, "ended without message_stop");
    assert_anthropic_violation(&parts, "block 0 was never stopped");
    let mut parts = a_text_message("x");
    parts.pop();
    assert_anthropic_violation(&parts, "ended without message_stop");
}

#[test]
fn validator_rejects_a_stream_cut_inside_a_frame() {
    let mut wire = join(&a_text_message("x"));
    wire.push_str("event: ping\ndata: {\"ty");
    assert_anthropic_violation(&[wire], "incomplete frame");
}

#[test]
fn validator_rejects_an_empty_stream() {
    assert_anthropic_violation(&[], "empty stream");
}

#[test]
fn validator_rejects_bytes_after_message_stop() {
    let mut parts = a_text_message("x");
    parts.push(a_ping());
    assert_anthropic_violation(&parts, "bytes after message_stop");
}

#[test]
fn validator_rejects_bytes_after_an_error_event() {
    assert_anthropic_violation(
        &[a_start(), a_error(), a_msg_delta("end_turn"), a_msg_stop()],
        "bytes after error",
    );
}

#[test]
fn validator_accepts_an_error_ending_after_a_valid_prefix_and_says_so() {
    for parts in [
        vec![a_error()],
        vec![a_start(), a_error()],
        vec![a_start(), a_text_start(0), a_text(0, "Par"), a_error()],
    ] {
        let got = valid_anthropic(join(&parts).as_bytes());
        assert!(got.ended_with_error);
        assert_eq!(got.stop_reason, None);
    }
}

#[test]
fn validator_rejects_an_event_line_that_does_not_match_the_data_type() {
    let mut parts = a_text_message("x");
    parts[1] = "event: content_block_delta\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into();
    assert_anthropic_violation(&parts, "does not match data type");
    parts[1] = "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into();
    assert_anthropic_violation(&parts, "does not match data type");
}

#[test]
fn validator_rejects_data_that_is_not_json() {
    let mut parts = a_text_message("x");
    parts.insert(2, "event: ping\ndata: {not json}\n\n".into());
    assert_anthropic_violation(&parts, "data is not JSON");
}

// =============================================================================================
// Validator: OpenAI chat rules, one violating stream each
// =============================================================================================

fn assert_chat_violation(parts: &[String], needle: &str) {
    let wire = join(parts);
    match validate_chat_sse(wire.as_bytes()) {
        Ok(_) => panic!("expected a violation mentioning {needle:?}, the stream passed:\n{wire}"),
        Err(v) => assert!(
            v.iter().any(|v| v.0.contains(needle)),
            "expected a violation mentioning {needle:?}, got:\n{}",
            list(&v)
        ),
    }
}

#[test]
fn chat_validator_accepts_openais_own_streams_and_summarises_them() {
    let got = valid_chat(CHAT_TEXT_LITERAL.as_bytes());
    assert_eq!(got.text, "Hello, world!");
    assert_eq!(got.stop_reason.as_deref(), Some("stop"));
    assert_eq!(got.events, 5);
    let got = valid_chat(chat_three_split_tool_calls().as_bytes());
    assert_eq!(got.tool_calls.len(), 3);
    assert_eq!(got.tool_calls[2].input, json!({"tz": "Asia/Tokyo"}));
    assert!(valid_chat(chat_error_mid_stream().as_bytes()).ended_with_error);
}

#[test]
fn chat_validator_rejects_data_that_is_not_json() {
    assert_chat_violation(
        &[
            role_chunk(),
            "data: oops\n\n".into(),
            finish("stop"),
            DONE.into(),
        ],
        "not a JSON object",
    );
}

#[test]
fn chat_validator_rejects_a_wrong_object_type() {
    let wrong = role_chunk().replace("chat.completion.chunk", "chat.completion");
    assert_chat_violation(
        &[wrong, finish("stop"), DONE.into()],
        "not \"chat.completion.chunk\"",
    );
}

#[test]
fn chat_validator_rejects_a_first_chunk_without_the_assistant_role() {
    assert_chat_violation(
        &[content("x"), finish("stop"), DONE.into()],
        "role \"assistant\"",
    );
}

#[test]
fn chat_validator_rejects_two_finish_reasons() {
    assert_chat_violation(
        &[
            role_chunk(),
            tool_start_chunk(0, "call_1", "a"),
            chunk(json!({}), json!("tool_calls")),
            tool_start_chunk(1, "call_2", "b"),
            chunk(json!({}), json!("tool_calls")),
            DONE.into(),
        ],
        "after the finish_reason chunk",
    );
    assert_chat_violation(
        &[
            role_chunk(),
            chunk(json!({"content": "x"}), json!("stop")),
            chunk(json!({}), json!("stop")),
            DONE.into(),
        ],
        "after the finish_reason chunk",
    );
}

#[test]
fn chat_validator_rejects_two_finish_reasons_in_one_chunk() {
    let two = format!(
        "data: {}\n\n",
        json!({"id": CHAT_ID, "object": "chat.completion.chunk", "created": 1, "model": CHAT_MODEL,
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"},
                           {"index": 0, "delta": {}, "finish_reason": "stop"}]})
    );
    assert_chat_violation(&[role_chunk(), two, DONE.into()], "second finish_reason");
}

#[test]
fn chat_validator_rejects_content_after_the_finish() {
    assert_chat_violation(
        &[role_chunk(), finish("stop"), content("late"), DONE.into()],
        "after the finish_reason chunk",
    );
}

#[test]
fn chat_validator_accepts_a_usage_chunk_after_the_finish() {
    valid_chat(
        join(&[
            role_chunk(),
            content("x"),
            finish("stop"),
            usage_chunk(1, 1, 0),
            DONE.into(),
        ])
        .as_bytes(),
    );
}

#[test]
fn chat_validator_rejects_a_tool_call_first_appearing_without_id_type_or_name() {
    for entry in [
        json!({"index": 0, "type": "function", "function": {"name": "ls", "arguments": ""}}),
        json!({"index": 0, "id": "call_1", "function": {"name": "ls", "arguments": ""}}),
        json!({"index": 0, "id": "call_1", "type": "function", "function": {"arguments": ""}}),
    ] {
        assert_chat_violation(
            &[
                role_chunk(),
                chunk(json!({"tool_calls": [entry]}), Value::Null),
                finish("tool_calls"),
                DONE.into(),
            ],
            "must first appear with an id, type \"function\" and a name",
        );
    }
}

#[test]
fn chat_validator_rejects_tool_call_indices_that_skip() {
    assert_chat_violation(
        &[
            role_chunk(),
            tool_start_chunk(1, "call_1", "ls"),
            finish("tool_calls"),
            DONE.into(),
        ],
        "tool call index 1 where 0 was expected",
    );
}

#[test]
fn chat_validator_rejects_arguments_that_do_not_parse_as_json() {
    assert_chat_violation(
        &[
            role_chunk(),
            tool_start_chunk(0, "call_1", "ls"),
            tool_args_chunk(0, "{\"path\": "),
            finish("tool_calls"),
            DONE.into(),
        ],
        "tool call 0 arguments do not parse as JSON",
    );
}

#[test]
fn chat_validator_rejects_a_tool_calls_finish_without_tool_calls() {
    assert_chat_violation(
        &[
            role_chunk(),
            content("x"),
            finish("tool_calls"),
            DONE.into(),
        ],
        "finish_reason tool_calls but no tool call",
    );
}

#[test]
fn chat_validator_rejects_a_stream_without_done() {
    assert_chat_violation(
        &[role_chunk(), content("x"), finish("stop")],
        "does not end with data: [DONE]",
    );
}

#[test]
fn chat_validator_rejects_done_before_any_finish() {
    assert_chat_violation(
        &[role_chunk(), content("x"), DONE.into()],
        "[DONE] before any finish_reason",
    );
}

#[test]
fn chat_validator_rejects_bytes_after_done() {
    assert_chat_violation(
        &[role_chunk(), finish("stop"), DONE.into(), DONE.into()],
        "bytes after data: [DONE]",
    );
}

#[test]
fn chat_validator_rejects_event_lines() {
    assert_chat_violation(
        &[
            format!("event: chunk\n{}", role_chunk()),
            finish("stop"),
            DONE.into(),
        ],
        "carry no event names",
    );
}

#[test]
fn chat_validator_rejects_a_chunk_after_an_error_chunk() {
    assert_chat_violation(
        &[
            role_chunk(),
            "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n".into(),
            finish("stop"),
            DONE.into(),
        ],
        "after the error chunk",
    );
}

#[test]
fn chat_validator_rejects_a_stream_cut_inside_a_frame() {
    assert_chat_violation(
        &[role_chunk(), "data: {\"id\":\"chatc".into()],
        "incomplete frame",
    );
}
