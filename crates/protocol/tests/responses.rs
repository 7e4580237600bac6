//! Specification of the OpenAI Responses wire layer: the stream decoder on a Codex-shaped
//! stream (reasoning, text, a split `exec_command` call, an `apply_patch` custom call), the
//! encoder on events from every decoder (Responses, Anthropic, Chat upstreams) and on a stream a
//! policy rewrote, the validator's rules, and the request and response conversions with the
//! real Codex body shape.

// Helpers outside `#[test]` functions are test code too; clippy's test allowance does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_protocol::anthropic::stream as anthropic;
use luthien_protocol::convert::responses_request::{
    responses_to_anthropic, responses_to_chat, HostedTools, ResponsesToAnthropicOptions,
    ResponsesToChatOptions,
};
use luthien_protocol::convert::responses_response::{
    anthropic_to_responses_response, chat_to_responses_response, responses_to_anthropic_response,
    responses_to_chat_response,
};
use luthien_protocol::convert::responses_tools::{
    unwrap_custom_input, ToolCallRestorer, ToolKind, ToolMapping,
};
use luthien_protocol::errors::ErrorKind;
use luthien_protocol::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamError, StreamEvent, Usage,
};
use luthien_protocol::openai::chat_stream;
use luthien_protocol::openai::responses_request::{
    self, ContentPart, InputItem, ResponsesRequest, Role, Tool,
};
use luthien_protocol::openai::responses_response;
use luthien_protocol::openai::responses_stream::{Decoder, Encoder, EncoderOptions};
use luthien_protocol::sse::SseDecoder;
use luthien_protocol::validate::{
    validate_anthropic_sse, validate_chat_sse, validate_responses_sse, ValidatedStream,
    ValidatedToolCall, Violation,
};
use luthien_protocol::ProtocolError;
use serde_json::{json, Value};

// =============================================================================================
// Fixtures
// =============================================================================================

/// A Codex turn as the OpenAI API streams it (the docs' event shapes, `obfuscation` included):
/// a reasoning item with a summary and encrypted content, a message, an `exec_command`
/// function call whose arguments are split across three deltas, and an `apply_patch` custom
/// tool call whose input is split across two.
const CODEX: &str = include_str!("fixtures/responses_codex.sse");

const CODEX_PATCH: &str =
    "*** Begin Patch\n*** Update File: README.md\n@@\n-Helo, world\n+Hello, world\n*** End Patch";
const CODEX_SUMMARY: &str = "**Inspecting the repository**\n\nI'll list the files first and then fix the typo in the README.";
const CODEX_ENCRYPTED: &str = "gAAAAABoofDEx9Zr2PqT1uYwXhN3bV8kLm4cR7sJ0aQeFgHiKlMnOpQrStUvWxYz";

/// An Anthropic answer with thinking, text and a tool call split across deltas.
const ANTHROPIC: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I should list the files."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Listing the files."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"exec_command","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"cmd\": \"ls"}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" -la\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A Chat Completions stream with reasoning, text, a tool call and a usage chunk.
fn chat_fixture() -> String {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen3",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut s = String::new();
    s += &chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    s += &chunk(json!({"reasoning_content": "Need the files."}), Value::Null);
    s += &chunk(json!({"content": "Listing."}), Value::Null);
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
            "function": {"name": "exec_command", "arguments": "{\"cmd\":"}}]}),
        Value::Null,
    );
    s += &chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"ls\"}"}}]}),
        Value::Null,
    );
    s += &chunk(json!({}), json!("tool_calls"));
    s += &format!(
        "data: {}\n\n",
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "qwen3",
            "choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 5}}})
    );
    s += "data: [DONE]\n\n";
    s
}

/// A Codex request body as Codex CLI sends it on its follow-up turn (agent-clients §2): two
/// developer messages, two user messages, the earlier reasoning item, assistant message,
/// `exec_command` call and its output; tools `exec_command`, `apply_patch` (custom, Lark
/// grammar), `tool_search` and `web_search`.
fn codex_request() -> Value {
    json!({
        "model": "gpt-5.5",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>"}]},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix the typo in README.md"}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Look first."}], "encrypted_content": CODEX_ENCRYPTED},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
            {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"cat README.md\"}", "call_id": "call_1"},
            {"type": "function_call_output", "call_id": "call_1", "output": "Chunk ID: 1a2b\nWall time: 0.01 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\nHelo, world\n"}
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command in a PTY.", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
            {"type": "custom", "name": "apply_patch", "description": "Use the `apply_patch` tool to edit files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+ end_patch\nbegin_patch: \"*** Begin Patch\" LF"}},
            {"type": "tool_search", "execution": "client", "description": "Search deferred tools.", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
            {"type": "web_search", "external_web_access": false}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "medium"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a4b2c-5d6e-7f80-9a1b-2c3d4e5f6a7b",
        "text": {"verbosity": "low"},
        "client_metadata": {"x-codex-installation-id": "abc"}
    })
}

// =============================================================================================
// Helpers
// =============================================================================================

fn decode(wire: &str) -> Vec<StreamEvent> {
    try_decode(wire).unwrap()
}

fn try_decode(wire: &str) -> Result<Vec<StreamEvent>, ProtocolError> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for f in SseDecoder::new().push(wire.as_bytes()) {
        out.extend(d.push(&f)?);
    }
    out.extend(d.finish()?);
    Ok(out)
}

fn anthropic_events(wire: &str) -> Vec<StreamEvent> {
    SseDecoder::new()
        .push(wire.as_bytes())
        .iter()
        .filter_map(|f| anthropic::decode(f).unwrap())
        .collect()
}

fn chat_events(wire: &str) -> Vec<StreamEvent> {
    let mut d = chat_stream::Decoder::new();
    let mut out = Vec::new();
    for f in SseDecoder::new().push(wire.as_bytes()) {
        out.extend(d.push(&f).unwrap());
    }
    out.extend(d.finish().unwrap());
    out
}

fn opts() -> EncoderOptions {
    EncoderOptions {
        id: Some("resp_luthien1".into()),
        model: Some("gpt-5.5".into()),
        created_at: 1_755_443_394,
        echo: Default::default(),
    }
}

fn encode_with(events: &[StreamEvent], opts: EncoderOptions) -> String {
    let mut enc = Encoder::new(opts);
    let mut bytes = Vec::new();
    for e in events {
        for b in enc.encode(e) {
            bytes.extend_from_slice(&b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn encode(events: &[StreamEvent]) -> String {
    encode_with(events, opts())
}

fn valid(wire: &str) -> ValidatedStream {
    match validate_responses_sse(wire.as_bytes()) {
        Ok(v) => v,
        Err(v) => panic!("invalid Responses stream:\n{}\n---\n{wire}", list(&v)),
    }
}

fn list(v: &[Violation]) -> String {
    v.iter().map(|v| format!("  - {v}\n")).collect()
}

/// The data objects of a Responses wire, in order.
fn data_events(wire: &str) -> Vec<Value> {
    SseDecoder::new()
        .push(wire.as_bytes())
        .iter()
        .filter(|f| !f.is_comment())
        .map(|f| serde_json::from_str(&f.data).unwrap())
        .collect()
}

fn final_response(wire: &str) -> Value {
    data_events(wire)
        .into_iter()
        .rev()
        .find(|e| {
            e["type"].as_str().unwrap().starts_with("response.") && e.get("response").is_some()
        })
        .map(|e| e["response"].clone())
        .unwrap()
}

fn types(wire: &str) -> Vec<String> {
    data_events(wire)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn frame(ty: &str, seq: u64, mut fields: Value) -> String {
    let m = fields.as_object_mut().unwrap();
    m.insert("type".into(), ty.into());
    m.insert("sequence_number".into(), seq.into());
    format!("event: {ty}\ndata: {fields}\n\n")
}

fn created(seq: u64) -> String {
    frame(
        "response.created",
        seq,
        json!({"response": {"id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-5.5", "output": []}}),
    )
}

fn completed(seq: u64, output: Value, usage: Value) -> String {
    frame(
        "response.completed",
        seq,
        json!({"response": {"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5.5",
            "output": output, "usage": usage}}),
    )
}

fn usage(input: u64, output: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0}, "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": input + output})
}

fn start(id: &str) -> StreamEvent {
    StreamEvent::MessageStart(MessageStart {
        id: id.into(),
        model: "m".into(),
        usage: Usage::default(),
    })
}

fn block(index: usize, block: BlockStart) -> StreamEvent {
    StreamEvent::BlockStart { index, block }
}

fn delta(index: usize, delta: BlockDelta) -> StreamEvent {
    StreamEvent::BlockDelta { index, delta }
}

fn stop(index: usize) -> StreamEvent {
    StreamEvent::BlockStop { index }
}

fn end(reason: StopReason) -> StreamEvent {
    StreamEvent::MessageDelta(MessageDelta {
        stop_reason: Some(reason),
        stop_sequence: None,
        usage: Usage {
            input_tokens: Some(10),
            output_tokens: Some(5),
            ..Usage::default()
        },
    })
}

fn text_answer(reason: StopReason) -> Vec<StreamEvent> {
    vec![
        start("resp_x"),
        block(0, BlockStart::Text),
        delta(0, BlockDelta::Text("Hi".into())),
        stop(0),
        end(reason),
        StreamEvent::MessageStop,
    ]
}

fn assert_violation(wire: &str, needle: &str) {
    match validate_responses_sse(wire.as_bytes()) {
        Ok(_) => panic!("expected a violation mentioning {needle:?}, the stream passed:\n{wire}"),
        Err(v) => assert!(
            v.iter().any(|v| v.0.contains(needle)),
            "expected a violation mentioning {needle:?}, got:\n{}",
            list(&v)
        ),
    }
}

fn anthropic_opts(hosted: HostedTools) -> ResponsesToAnthropicOptions {
    ResponsesToAnthropicOptions {
        model: "claude-sonnet-4-5".into(),
        default_max_tokens: 32000,
        hosted_tools: hosted,
    }
}

fn chat_opts(hosted: HostedTools) -> ResponsesToChatOptions {
    ResponsesToChatOptions {
        model: "qwen3".into(),
        use_max_completion_tokens: false,
        hosted_tools: hosted,
    }
}

fn unsupported_field(r: Result<Value, ProtocolError>) -> String {
    match r {
        Err(ProtocolError::Unsupported { field, .. }) => field,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

// =============================================================================================
// Decoder
// =============================================================================================

#[test]
fn the_codex_fixture_is_itself_a_valid_responses_stream() {
    let v = valid(CODEX);
    assert_eq!(v.events, 28);
    assert_eq!(v.stop_reason.as_deref(), Some("completed"));
}

#[test]
fn decoder_turns_a_codex_turn_into_thinking_text_tool_and_custom_tool_blocks() {
    let events = decode(CODEX);
    let expected = vec![
        StreamEvent::MessageStart(MessageStart {
            id: "resp_68a1f0c2d4e88190b5e1c7a9f3d2e6b0".into(),
            model: "gpt-5.5-2026-08-07".into(),
            usage: Usage::default(),
        }),
        block(0, BlockStart::Thinking),
        delta(0, BlockDelta::Thinking(CODEX_SUMMARY[..40].into())),
        delta(0, BlockDelta::Thinking(CODEX_SUMMARY[40..].into())),
        delta(0, BlockDelta::Signature(CODEX_ENCRYPTED.into())),
        stop(0),
        block(1, BlockStart::Text),
        delta(1, BlockDelta::Text("I'll look at the files".into())),
        delta(1, BlockDelta::Text(" and fix the typo.".into())),
        stop(1),
        block(
            2,
            BlockStart::ToolUse {
                id: "call_Kd93JfLq2XbN7vRtYp1sWm4Z".into(),
                name: "exec_command".into(),
            },
        ),
        delta(2, BlockDelta::InputJson("{\"cmd\":".into())),
        delta(2, BlockDelta::InputJson("\"ls -la\",\"workdir\"".into())),
        delta(2, BlockDelta::InputJson(":\"/repo\"}".into())),
        stop(2),
        block(
            3,
            BlockStart::CustomToolUse {
                id: "call_P7wQ2eRt5yUi8oAs1dFg4hJk".into(),
                name: "apply_patch".into(),
            },
        ),
        delta(3, BlockDelta::CustomInput(CODEX_PATCH[..43].into())),
        delta(3, BlockDelta::CustomInput(CODEX_PATCH[43..].into())),
        stop(3),
        StreamEvent::MessageDelta(MessageDelta {
            stop_reason: Some(StopReason::ToolUse),
            stop_sequence: None,
            usage: Usage {
                input_tokens: Some(5412 - 4864),
                output_tokens: Some(318),
                cache_creation_input_tokens: Some(0),
                cache_read_input_tokens: Some(4864),
                reasoning_output_tokens: Some(192),
            },
        }),
        StreamEvent::MessageStop,
    ];
    assert_eq!(events, expected);
}

#[test]
fn decode_then_encode_round_trips_every_item_through_the_validator() {
    let wire = encode_with(
        &decode(CODEX),
        EncoderOptions {
            id: None,
            model: None,
            created_at: 1_755_443_394,
            echo: Default::default(),
        },
    );
    let got = valid(&wire);
    let original = valid(CODEX);
    assert_eq!(got.text, original.text);
    assert_eq!(got.thinking, CODEX_SUMMARY);
    assert_eq!(got.tool_calls, original.tool_calls);
    assert_eq!(
        got.tool_calls[1],
        ValidatedToolCall {
            id: "call_P7wQ2eRt5yUi8oAs1dFg4hJk".into(),
            name: "apply_patch".into(),
            input: Value::String(CODEX_PATCH.into()),
        }
    );
    // Same events, in the same order, numbered from 0.
    assert_eq!(types(&wire), types(CODEX));
    let response = final_response(&wire);
    assert_eq!(response["id"], "resp_68a1f0c2d4e88190b5e1c7a9f3d2e6b0");
    assert_eq!(response["model"], "gpt-5.5-2026-08-07");
    assert_eq!(response["output"][0]["encrypted_content"], CODEX_ENCRYPTED);
    assert_eq!(response["output"][3]["type"], "custom_tool_call");
    assert_eq!(response["output"][3]["input"], CODEX_PATCH);
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 5412, "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 4864}, "output_tokens": 318,
            "output_tokens_details": {"reasoning_tokens": 192}, "total_tokens": 5730})
    );
}

#[test]
fn decoder_emits_text_and_arguments_reported_only_in_done_events() {
    let wire = [
        created(0),
        frame("response.output_item.added", 1, json!({"output_index": 0, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}})),
        frame("response.content_part.added", 2, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": ""}})),
        frame("response.output_text.delta", 3, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hel"})),
        frame("response.output_text.done", 4, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "Hello"})),
        frame("response.output_item.added", 5, json!({"output_index": 1, "item": {"id": "fc_1", "type": "function_call", "arguments": "", "call_id": "call_1", "name": "f"}})),
        frame("response.output_item.done", 6, json!({"output_index": 1, "item": {"id": "fc_1", "type": "function_call", "arguments": "{\"a\":1}", "call_id": "call_1", "name": "f"}})),
        completed(7, json!([]), usage(1, 2)),
    ]
    .concat();
    let events = decode(&wire);
    assert!(events.contains(&delta(0, BlockDelta::Text("lo".into()))));
    assert!(events.contains(&delta(1, BlockDelta::InputJson("{\"a\":1}".into()))));
}

#[test]
fn decoder_emits_items_a_server_listed_only_in_response_completed() {
    let output = json!([
        {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "All done.", "annotations": []}]},
        {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch", "input": CODEX_PATCH}
    ]);
    let wire = [created(0), completed(1, output, usage(3, 4))].concat();
    let events = decode(&wire);
    let reencoded = encode(&events);
    let v = valid(&reencoded);
    assert_eq!(v.text, "All done.");
    assert_eq!(v.tool_calls[0].input, Value::String(CODEX_PATCH.into()));
    assert_eq!(v.stop_reason.as_deref(), Some("completed"));
}

#[test]
fn decoder_keeps_hosted_tool_items_whole_and_the_encoder_writes_them_back() {
    let added = json!({"id": "ws_1", "type": "web_search_call", "status": "in_progress"});
    let done = json!({"id": "ws_1", "type": "web_search_call", "status": "completed",
        "action": {"type": "search", "query": "rust sse"}});
    let wire = [
        created(0),
        frame(
            "response.output_item.added",
            1,
            json!({"output_index": 0, "item": added}),
        ),
        frame(
            "response.web_search_call.in_progress",
            2,
            json!({"item_id": "ws_1", "output_index": 0}),
        ),
        frame(
            "response.web_search_call.searching",
            3,
            json!({"item_id": "ws_1", "output_index": 0}),
        ),
        frame(
            "response.web_search_call.completed",
            4,
            json!({"item_id": "ws_1", "output_index": 0}),
        ),
        frame(
            "response.output_item.done",
            5,
            json!({"output_index": 0, "item": done}),
        ),
        completed(6, json!([done]), usage(1, 1)),
    ]
    .concat();
    let events = decode(&wire);
    assert_eq!(events[1], block(0, BlockStart::Other(added)));
    assert!(matches!(
        &events[2],
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Other(v) }
            if v["type"] == "response.web_search_call.in_progress" && v.get("sequence_number").is_none()
    ));
    let reencoded = encode(&events);
    valid(&reencoded);
    assert_eq!(
        types(&reencoded),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.web_search_call.in_progress",
            "response.web_search_call.searching",
            "response.web_search_call.completed",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(final_response(&reencoded)["output"][0], done);
}

#[test]
fn decoder_never_drops_an_unknown_event_and_the_encoder_renumbers_it() {
    let annotation = json!({"type": "url_citation", "url": "https://example.com", "title": "Ex", "start_index": 0, "end_index": 2});
    let wire = [
        created(0),
        frame("response.rate_limits.updated", 1, json!({"rate_limits": [{"name": "requests", "remaining": 9}]})),
        frame("response.output_item.added", 2, json!({"output_index": 0, "item": {"id": "msg_1", "type": "message", "content": [], "role": "assistant"}})),
        frame("response.content_part.added", 3, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": ""}})),
        frame("response.output_text.delta", 4, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Ex"})),
        frame("response.output_text.annotation.added", 5, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "annotation_index": 0, "annotation": annotation})),
        frame("response.output_text.done", 6, json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "Ex"})),
        frame("response.output_item.done", 7, json!({"output_index": 0, "item": {"id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": "Ex", "annotations": [annotation]}], "role": "assistant"}})),
        completed(8, json!([]), usage(1, 1)),
    ]
    .concat();
    let events = decode(&wire);
    assert!(events.iter().any(|e| matches!(e,
        StreamEvent::Unknown { event, .. } if event == "response.rate_limits.updated")));
    assert!(events.iter().any(|e| matches!(e,
        StreamEvent::BlockDelta { delta: BlockDelta::Other(v), .. } if v["type"] == "response.output_text.annotation.added")));
    let reencoded = encode(&events);
    valid(&reencoded);
    assert!(types(&reencoded).contains(&"response.rate_limits.updated".to_owned()));
    let output = &final_response(&reencoded)["output"][0];
    assert_eq!(output["content"][0]["annotations"], json!([annotation]));
}

#[test]
fn decoder_maps_every_ending_to_a_stop_reason_or_an_error() {
    let text_item = json!({"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]});
    let call_item = json!({"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
    let ending = |ty: &str, status: &str, reason: Value, output: Value| {
        [
            created(0),
            frame(
                ty,
                1,
                json!({"response": {"id": "resp_1", "object": "response", "status": status,
                "incomplete_details": reason, "output": output, "usage": usage(1, 1)}}),
            ),
        ]
        .concat()
    };
    let stop_of = |wire: &str| {
        decode(wire).into_iter().find_map(|e| match e {
            StreamEvent::MessageDelta(d) => d.stop_reason,
            _ => None,
        })
    };
    let completed_text = ending(
        "response.completed",
        "completed",
        Value::Null,
        json!([text_item]),
    );
    assert_eq!(stop_of(&completed_text), Some(StopReason::EndTurn));
    let completed_call = ending(
        "response.completed",
        "completed",
        Value::Null,
        json!([call_item]),
    );
    assert_eq!(stop_of(&completed_call), Some(StopReason::ToolUse));
    let max = ending(
        "response.incomplete",
        "incomplete",
        json!({"reason": "max_output_tokens"}),
        json!([text_item]),
    );
    assert_eq!(stop_of(&max), Some(StopReason::MaxTokens));
    let filtered = ending(
        "response.incomplete",
        "incomplete",
        json!({"reason": "content_filter"}),
        json!([]),
    );
    assert_eq!(stop_of(&filtered), Some(StopReason::Refusal));

    let failed = [
        created(0),
        frame("response.failed", 1, json!({"response": {"id": "resp_1", "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 2s."}}})),
    ]
    .concat();
    assert_eq!(
        decode(&failed).last(),
        Some(&StreamEvent::Error(StreamError {
            kind: ErrorKind::RateLimit,
            message: "Rate limit reached. Please try again in 2s.".into()
        }))
    );
    let error = [
        created(0),
        frame(
            "error",
            1,
            json!({"code": "server_error", "message": "The server had an error", "param": null}),
        ),
    ]
    .concat();
    assert_eq!(
        decode(&error).last(),
        Some(&StreamEvent::Error(StreamError {
            kind: ErrorKind::Api,
            message: "The server had an error".into()
        }))
    );
}

#[test]
fn decoder_reports_a_stream_cut_before_its_terminal_event() {
    let cut: String = CODEX
        .split("event: response.completed")
        .next()
        .unwrap()
        .to_owned();
    assert!(matches!(try_decode(&cut), Err(ProtocolError::Stream(_))));
}

#[test]
fn decoder_refuses_deltas_for_an_item_that_is_not_open() {
    let wire = [
        created(0),
        frame(
            "response.function_call_arguments.delta",
            1,
            json!({"item_id": "fc_9", "output_index": 4, "delta": "{"}),
        ),
    ]
    .concat();
    assert!(matches!(try_decode(&wire), Err(ProtocolError::Stream(_))));
}

#[test]
fn a_namespaced_call_is_named_namespace_dot_name_and_split_back_by_the_encoder() {
    let item = json!({"id": "fc_1", "type": "function_call", "call_id": "call_1", "namespace": "multi_agent_v1",
        "name": "spawn_agent", "arguments": "{}"});
    let wire = [created(0), completed(1, json!([item]), usage(1, 1))].concat();
    let events = decode(&wire);
    assert_eq!(
        events[1],
        block(
            0,
            BlockStart::ToolUse {
                id: "call_1".into(),
                name: "multi_agent_v1.spawn_agent".into()
            }
        )
    );
    let out = final_response(&encode(&events));
    assert_eq!(out["output"][0]["namespace"], "multi_agent_v1");
    assert_eq!(out["output"][0]["name"], "spawn_agent");
}

// =============================================================================================
// Encoder
// =============================================================================================

#[test]
fn encoder_turns_an_anthropic_upstream_into_a_valid_responses_stream() {
    let wire = encode(&anthropic_events(ANTHROPIC));
    let v = valid(&wire);
    assert_eq!(v.text, "Listing the files.");
    assert_eq!(v.thinking, "I should list the files.");
    assert_eq!(
        v.tool_calls,
        vec![ValidatedToolCall {
            id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
            name: "exec_command".into(),
            input: json!({"cmd": "ls -la"}),
        }]
    );
    let response = final_response(&wire);
    assert_eq!(response["id"], "resp_luthien1");
    assert_eq!(response["status"], "completed");
    // Anthropic's signature is the state the next turn must send back.
    assert_eq!(
        response["output"][0]["encrypted_content"],
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    );
    // Input from message_start, output from message_delta; cache reads count as input.
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 2520, "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 2048}, "output_tokens": 89,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 2609})
    );
}

#[test]
fn encoder_turns_a_chat_upstream_into_a_valid_responses_stream() {
    let wire = encode(&chat_events(&chat_fixture()));
    let v = valid(&wire);
    assert_eq!(v.text, "Listing.");
    assert_eq!(v.thinking, "Need the files.");
    assert_eq!(v.tool_calls[0].input, json!({"cmd": "ls"}));
    assert_eq!(
        final_response(&wire)["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 60}, "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 120})
    );
}

#[test]
fn encoder_renumbers_sequence_and_output_indices_after_a_policy_removed_a_call() {
    // What the executor hands over when a policy blocked exec_command: the tool block is gone
    // and the canonical indices after it moved down.
    let mut events = Vec::new();
    let mut removed = false;
    for ev in decode(CODEX) {
        match &ev {
            StreamEvent::BlockStart { index: 2, .. }
            | StreamEvent::BlockDelta { index: 2, .. }
            | StreamEvent::BlockStop { index: 2 } => removed = true,
            StreamEvent::BlockStart { index, block } if *index > 2 => {
                events.push(StreamEvent::BlockStart {
                    index: index - 1,
                    block: block.clone(),
                })
            }
            StreamEvent::BlockDelta { index, delta } if *index > 2 => {
                events.push(StreamEvent::BlockDelta {
                    index: index - 1,
                    delta: delta.clone(),
                })
            }
            StreamEvent::BlockStop { index } if *index > 2 => {
                events.push(StreamEvent::BlockStop { index: index - 1 })
            }
            _ => events.push(ev),
        }
    }
    assert!(removed);
    let wire = encode(&events);
    let v = valid(&wire);
    assert_eq!(v.tool_calls.len(), 1);
    assert_eq!(v.tool_calls[0].name, "apply_patch");
    let indices: Vec<u64> = data_events(&wire)
        .iter()
        .filter(|e| e["type"] == "response.output_item.added")
        .map(|e| e["output_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 1, 2]);
    let seqs: Vec<u64> = data_events(&wire)
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn encoder_maps_every_stop_reason_to_a_terminal_event() {
    let cases = [
        (StopReason::EndTurn, "response.completed", Value::Null),
        (StopReason::ToolUse, "response.completed", Value::Null),
        (StopReason::StopSequence, "response.completed", Value::Null),
        (StopReason::PauseTurn, "response.completed", Value::Null),
        (
            StopReason::Other("weird".into()),
            "response.completed",
            Value::Null,
        ),
        (
            StopReason::MaxTokens,
            "response.incomplete",
            json!({"reason": "max_output_tokens"}),
        ),
        (
            StopReason::Refusal,
            "response.incomplete",
            json!({"reason": "content_filter"}),
        ),
    ];
    for (reason, event, details) in cases {
        let wire = encode(&text_answer(reason.clone()));
        valid(&wire);
        let last = data_events(&wire).pop().unwrap();
        assert_eq!(last["type"], event, "{reason:?}");
        assert_eq!(
            last["response"]["incomplete_details"], details,
            "{reason:?}"
        );
    }
}

#[test]
fn encoder_ends_an_error_with_response_failed_carrying_the_items_done_so_far() {
    let mut events = text_answer(StopReason::EndTurn);
    events.truncate(4);
    events.push(block(1, BlockStart::Text));
    events.push(StreamEvent::Error(StreamError {
        kind: ErrorKind::Overloaded,
        message: "Overloaded".into(),
    }));
    events.push(StreamEvent::MessageStop);
    let wire = encode(&events);
    let v = valid(&wire);
    assert!(v.ended_with_error);
    let response = final_response(&wire);
    assert_eq!(response["status"], "failed");
    assert_eq!(
        response["error"],
        json!({"code": "server_error", "message": "Overloaded"})
    );
    assert_eq!(response["output"].as_array().unwrap().len(), 1);
}

#[test]
fn encoder_writes_created_and_a_terminal_event_around_a_bare_stream() {
    let wire = encode(&[
        block(0, BlockStart::Text),
        delta(0, BlockDelta::Text("x".into())),
        stop(0),
        StreamEvent::MessageStop,
    ]);
    let v = valid(&wire);
    assert_eq!(v.text, "x");
    // Nothing after the terminal event, whatever comes.
    let mut enc = Encoder::new(opts());
    for e in text_answer(StopReason::EndTurn) {
        enc.encode(&e);
    }
    assert!(enc.encode(&block(1, BlockStart::Text)).is_empty());
}

#[test]
fn encoder_echoes_request_fields_in_the_response_object() {
    let req = codex_request();
    let wire = encode_with(
        &text_answer(StopReason::EndTurn),
        EncoderOptions {
            echo: responses_request::response_echo(&req),
            ..opts()
        },
    );
    let response = final_response(&wire);
    assert_eq!(response["tools"], req["tools"]);
    assert_eq!(response["store"], false);
    assert_eq!(response["reasoning"], json!({"effort": "medium"}));
    assert_eq!(response["status"], "completed");
}

#[test]
fn anthropic_encoder_refuses_a_custom_tool_call_with_an_error_event() {
    let events = [
        start("msg_1"),
        block(
            0,
            BlockStart::CustomToolUse {
                id: "call_1".into(),
                name: "apply_patch".into(),
            },
        ),
        delta(0, BlockDelta::CustomInput(CODEX_PATCH.into())),
        stop(0),
        end(StopReason::ToolUse),
        StreamEvent::MessageStop,
    ];
    let mut enc = anthropic::Encoder::new();
    let bytes: Vec<u8> = events.iter().flat_map(|e| enc.encode(e).to_vec()).collect();
    let v = validate_anthropic_sse(&bytes).unwrap();
    assert!(v.ended_with_error);
    assert!(String::from_utf8(bytes).unwrap().contains("apply_patch"));
}

#[test]
fn chat_streams_a_custom_tool_call_natively_and_decodes_it_back() {
    let events = [
        start("chatcmpl-1"),
        block(
            0,
            BlockStart::CustomToolUse {
                id: "call_1".into(),
                name: "apply_patch".into(),
            },
        ),
        delta(0, BlockDelta::CustomInput(CODEX_PATCH[..10].into())),
        delta(0, BlockDelta::CustomInput(CODEX_PATCH[10..].into())),
        stop(0),
        end(StopReason::ToolUse),
        StreamEvent::MessageStop,
    ];
    let mut enc = chat_stream::Encoder::new(chat_stream::EncoderOptions {
        id: "chatcmpl-1".into(),
        model: "gpt-5".into(),
        created: 1,
        include_usage: false,
    });
    let wire: String = events
        .iter()
        .flat_map(|e| enc.encode(e))
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .collect();
    let v = validate_chat_sse(wire.as_bytes()).unwrap();
    assert_eq!(v.tool_calls[0].input, Value::String(CODEX_PATCH.into()));
    assert_eq!(v.stop_reason.as_deref(), Some("tool_calls"));
    let back = chat_events(&wire);
    assert!(back.contains(&block(
        0,
        BlockStart::CustomToolUse {
            id: "call_1".into(),
            name: "apply_patch".into()
        }
    )));
    assert!(back.contains(&delta(0, BlockDelta::CustomInput(CODEX_PATCH[10..].into()))));
}

// =============================================================================================
// Tool mapping: custom and namespaced tools through an upstream without them
// =============================================================================================

#[test]
fn an_anthropic_call_of_the_wrapped_apply_patch_tool_comes_back_as_a_custom_tool_call() {
    let mapping = ToolMapping::for_request(&codex_request()).unwrap();
    let input = serde_json::to_string(&json!({"input": CODEX_PATCH})).unwrap();
    let (a, b) = input.split_at(20);
    let events = vec![
        start("msg_1"),
        block(0, BlockStart::Text),
        delta(0, BlockDelta::Text("Patching.".into())),
        stop(0),
        block(
            1,
            BlockStart::ToolUse {
                id: "toolu_1".into(),
                name: "apply_patch".into(),
            },
        ),
        delta(1, BlockDelta::InputJson(a.into())),
        delta(1, BlockDelta::InputJson(b.into())),
        stop(1),
        end(StopReason::ToolUse),
        StreamEvent::MessageStop,
    ];
    let mut restorer = ToolCallRestorer::new(mapping);
    let restored: Vec<StreamEvent> = events.into_iter().flat_map(|e| restorer.push(e)).collect();
    assert!(restored.contains(&block(
        1,
        BlockStart::CustomToolUse {
            id: "toolu_1".into(),
            name: "apply_patch".into()
        }
    )));
    let v = valid(&encode(&restored));
    assert_eq!(
        v.tool_calls,
        vec![ValidatedToolCall {
            id: "toolu_1".into(),
            name: "apply_patch".into(),
            input: Value::String(CODEX_PATCH.into()),
        }]
    );
}

#[test]
fn tool_mapping_flattens_namespaces_and_restores_their_calls() {
    let req = json!({"model": "m", "input": "hi", "tools": [
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
            {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}},
            {"type": "custom", "name": "note"}]}]});
    let mapping = ToolMapping::for_request(&req).unwrap();
    let spawn = mapping.by_upstream("multi_agent_v1__spawn_agent").unwrap();
    assert_eq!(spawn.client_name, "multi_agent_v1.spawn_agent");
    assert_eq!(spawn.kind, ToolKind::Function);
    assert_eq!(
        mapping.by_upstream("multi_agent_v1__note").unwrap().kind,
        ToolKind::Custom
    );
    assert!(!mapping.is_identity());

    let body = responses_to_anthropic(&req, &anthropic_opts(HostedTools::Reject)).unwrap();
    assert_eq!(body["tools"][0]["name"], "multi_agent_v1__spawn_agent");
    assert_eq!(body["tools"][0]["description"], "Sub-agents.");
    let mut restorer = ToolCallRestorer::new(mapping);
    let out = restorer.push(block(
        0,
        BlockStart::ToolUse {
            id: "t".into(),
            name: "multi_agent_v1__spawn_agent".into(),
        },
    ));
    assert_eq!(
        out,
        vec![block(
            0,
            BlockStart::ToolUse {
                id: "t".into(),
                name: "multi_agent_v1.spawn_agent".into()
            }
        )]
    );
}

#[test]
fn a_malformed_wrapped_custom_call_keeps_its_raw_text() {
    assert_eq!(unwrap_custom_input("{\"input\":\"abc\"}"), "abc");
    assert_eq!(unwrap_custom_input("{\"input\":\"ab"), "{\"input\":\"ab");
}

// =============================================================================================
// Validator
// =============================================================================================

#[test]
fn validator_rejects_a_gap_in_sequence_number() {
    let wire = CODEX.replacen("\"sequence_number\":5,", "\"sequence_number\":6,", 1);
    assert_violation(&wire, "sequence_number 6 where 5 was expected");
}

#[test]
fn validator_rejects_a_delta_for_an_item_that_was_never_added() {
    let wire = [
        created(0),
        frame(
            "response.output_text.delta",
            1,
            json!({"item_id": "msg_9", "output_index": 0, "content_index": 0, "delta": "x"}),
        ),
        completed(2, json!([]), usage(1, 1)),
    ]
    .concat();
    assert_violation(&wire, "an item that was never added");
}

#[test]
fn validator_rejects_text_after_the_terminal_event() {
    let wire = format!(
        "{CODEX}{}",
        frame(
            "response.output_text.delta",
            28,
            json!({"item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "late"})
        )
    );
    assert_violation(&wire, "after the terminal event");
}

#[test]
fn validator_rejects_a_delta_after_its_item_is_done() {
    let done_marker = "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":16";
    let late = frame(
        "response.output_text.delta",
        16,
        json!({"item_id": "msg_68a1f0c4b2c88190a7e6d5c4b3a29180", "output_index": 1, "content_index": 0, "delta": "late"}),
    );
    let wire = CODEX.replacen(done_marker, &format!("{late}{done_marker}"), 1);
    assert_violation(&wire, "an item that is already done");
}

#[test]
fn validator_rejects_a_completed_output_that_differs_from_the_items_streamed() {
    let wire = CODEX.replacen(
        "\"input\":\"*** Begin Patch\\n*** Update File: README.md\\n@@\\n-Helo, world\\n+Hello, world\\n*** End Patch\",\"name\":\"apply_patch\"}],\"parallel",
        "\"input\":\"something else\",\"name\":\"apply_patch\"}],\"parallel",
        1,
    );
    assert_ne!(wire, CODEX);
    assert_violation(&wire, "differs from the item streamed");
}

#[test]
fn validator_rejects_function_arguments_that_are_not_json() {
    let item = json!({"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":"});
    let wire = [
        created(0),
        frame("response.output_item.added", 1, json!({"output_index": 0, "item": {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}})),
        frame("response.function_call_arguments.delta", 2, json!({"item_id": "fc_1", "output_index": 0, "delta": "{\"a\":"})),
        frame("response.output_item.done", 3, json!({"output_index": 0, "item": item})),
        completed(4, json!([item]), usage(1, 1)),
    ]
    .concat();
    assert_violation(&wire, "do not parse as JSON");
}

#[test]
fn validator_rejects_a_stream_without_a_terminal_event_or_starting_elsewhere() {
    let cut: String = CODEX
        .split("event: response.completed")
        .next()
        .unwrap()
        .to_owned();
    assert_violation(&cut, "ended without response.completed");
    let headless = CODEX.split_once("\n\n").unwrap().1;
    assert_violation(headless, "the first event must be response.created");
}

#[test]
fn validator_rejects_output_indices_that_skip() {
    let wire = CODEX.replacen(
        "\"sequence_number\":9,\"output_index\":1",
        "\"sequence_number\":9,\"output_index\":2",
        1,
    );
    assert_violation(
        &wire,
        "output item added at output_index 2 where 1 was expected",
    );
}

// =============================================================================================
// Request conversion
// =============================================================================================

#[test]
fn the_typed_view_reads_the_codex_request() {
    let req = codex_request();
    let r = ResponsesRequest::parse(&req).unwrap();
    assert_eq!(r.model, "gpt-5.5");
    assert!(r.stream);
    assert_eq!(r.store, Some(false));
    assert_eq!(r.include, ["reasoning.encrypted_content"]);
    assert!(matches!(&r.input[0], InputItem::Message(m) if m.role == Role::Developer));
    assert!(matches!(&r.input[3], InputItem::Message(m)
        if m.content == [ContentPart::InputText("Fix the typo in README.md")]));
    assert!(matches!(&r.input[6], InputItem::FunctionCall(c) if c.call_id == "call_1"));
    assert!(matches!(&r.tools[1], Tool::Custom(c) if c.name == "apply_patch"));
    assert!(matches!(&r.tools[2], Tool::ToolSearch));
    assert!(matches!(&r.tools[3], Tool::Hosted { kind: "web_search" }));
    // Fields the view does not name are still there for passthrough.
    assert!(r.body.contains_key("client_metadata"));
    assert_eq!(
        responses_request::validate(&json!({"input": "hi"}))
            .unwrap_err()
            .field_name(),
        Some("model")
    );
    assert_eq!(
        responses_request::validate(&json!({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}))
            .unwrap_err()
            .field_name(),
        Some("input.0.call_id")
    );
}

#[test]
fn codex_request_to_anthropic_refuses_web_search_unless_hosted_tools_are_dropped() {
    let req = codex_request();
    assert_eq!(
        unsupported_field(responses_to_anthropic(
            &req,
            &anthropic_opts(HostedTools::Reject)
        )),
        "tools.3"
    );
    let body = responses_to_anthropic(&req, &anthropic_opts(HostedTools::Drop)).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(
        body["system"],
        "<permissions instructions>\n\nYou are Codex."
    );
    // medium effort → a 4096-token thinking budget inside the default limit.
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert_eq!(body["max_tokens"], 32000);
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "<environment_context>cwd=/repo</environment_context>"},
                {"type": "text", "text": "Fix the typo in README.md"}]},
            // OpenAI's encrypted reasoning is dropped: Anthropic cannot read it.
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "exec_command", "input": {"cmd": "cat README.md"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "Chunk ID: 1a2b\nWall time: 0.01 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\nHelo, world\n"}]}
        ])
    );
    let tools = body["tools"].as_array().unwrap();
    // tool_search is left out (every tool is sent), web_search dropped on request.
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["name"], "exec_command");
    assert_eq!(tools[0]["input_schema"]["required"], json!(["cmd"]));
    assert_eq!(tools[1]["name"], "apply_patch");
    assert_eq!(tools[1]["input_schema"]["required"], json!(["input"]));
    let described = tools[1]["input_schema"]["properties"]["input"]["description"]
        .as_str()
        .unwrap();
    assert!(described.contains("lark grammar") && described.contains("start: begin_patch"));
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    // Hints and OpenAI bookkeeping are dropped.
    for key in [
        "store",
        "include",
        "prompt_cache_key",
        "text",
        "client_metadata",
        "parallel_tool_calls",
    ] {
        assert!(body.get(key).is_none(), "{key} should be dropped");
    }
}

#[test]
fn codex_request_to_chat_keeps_calls_in_one_assistant_message_and_wraps_apply_patch() {
    let req = codex_request();
    assert_eq!(
        unsupported_field(responses_to_chat(&req, &chat_opts(HostedTools::Reject))),
        "tools.3"
    );
    let body = responses_to_chat(&req, &chat_opts(HostedTools::Drop)).unwrap();
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "<permissions instructions>"},
            {"role": "system", "content": "You are Codex."},
            {"role": "user", "content": "<environment_context>cwd=/repo</environment_context>"},
            {"role": "user", "content": "Fix the typo in README.md"},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": "{\"cmd\":\"cat README.md\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Chunk ID: 1a2b\nWall time: 0.01 seconds\nProcess exited with code 0\nOriginal token count: 3\nOutput:\nHelo, world\n"}
        ])
    );
    assert_eq!(body["reasoning_effort"], "medium");
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["tools"][1]["function"]["name"], "apply_patch");
    assert_eq!(
        body["tools"][1]["function"]["parameters"]["properties"]["input"]["type"],
        "string"
    );
    assert!(body.get("store").is_none() && body.get("include").is_none());
}

#[test]
fn custom_tool_call_history_is_carried_as_a_wrapped_call_and_its_output() {
    let req = json!({"model": "m", "input": [
        {"role": "user", "content": "patch it"},
        {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": CODEX_PATCH},
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Success. Updated the following files:\nM README.md"}
    ]});
    let a = responses_to_anthropic(&req, &anthropic_opts(HostedTools::Reject)).unwrap();
    assert_eq!(
        a["messages"][1]["content"][0],
        json!({"type": "tool_use", "id": "call_p", "name": "apply_patch", "input": {"input": CODEX_PATCH}})
    );
    assert_eq!(a["messages"][2]["content"][0]["tool_use_id"], "call_p");
    let c = responses_to_chat(&req, &chat_opts(HostedTools::Reject)).unwrap();
    let arguments = c["messages"][1]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert_eq!(unwrap_custom_input(arguments), CODEX_PATCH);
    assert_eq!(c["messages"][2]["role"], "tool");
}

#[test]
fn what_needs_openais_stored_state_is_unsupported() {
    let with = |extra: Value| {
        let mut req = json!({"model": "m", "input": "hi"});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        req
    };
    let a = |req: &Value| responses_to_anthropic(req, &anthropic_opts(HostedTools::Reject));
    let c = |req: &Value| responses_to_chat(req, &chat_opts(HostedTools::Reject));
    let prev = with(json!({"previous_response_id": "resp_123"}));
    assert_eq!(unsupported_field(a(&prev)), "previous_response_id");
    assert_eq!(unsupported_field(c(&prev)), "previous_response_id");
    let conv = with(json!({"conversation": "conv_1"}));
    assert_eq!(unsupported_field(a(&conv)), "conversation");
    let reference = json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]});
    assert_eq!(unsupported_field(a(&reference)), "input.0");
    let compaction =
        json!({"model": "m", "input": [{"type": "compaction", "encrypted_content": "gAAAA"}]});
    assert_eq!(unsupported_field(c(&compaction)), "input.0");
    // store:true is OpenAI bookkeeping: dropped, the answer is the same.
    let stored = with(json!({"store": true, "metadata": {"k": "v"}}));
    assert!(a(&stored).unwrap().get("store").is_none());
    assert!(c(&stored).unwrap().get("store").is_none());
}

#[test]
fn structured_output_is_unsupported_for_anthropic_and_carried_to_chat() {
    let req = json!({"model": "m", "input": "hi", "text": {"format": {"type": "json_schema", "name": "r",
        "schema": {"type": "object"}, "strict": true}}});
    assert_eq!(
        unsupported_field(responses_to_anthropic(
            &req,
            &anthropic_opts(HostedTools::Reject)
        )),
        "text.format"
    );
    let c = responses_to_chat(&req, &chat_opts(HostedTools::Reject)).unwrap();
    assert_eq!(
        c["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": true}})
    );
}

#[test]
fn sampling_limits_and_choices_map_to_each_upstream() {
    let req = json!({"model": "m", "input": "hi", "instructions": "Be brief.", "max_output_tokens": 1000,
        "temperature": 1.6, "top_p": 0.9, "reasoning": {"effort": "high", "summary": "auto"},
        "parallel_tool_calls": false, "tool_choice": {"type": "function", "name": "f"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
        "user": "u-1"});
    let a = responses_to_anthropic(&req, &anthropic_opts(HostedTools::Reject)).unwrap();
    assert_eq!(a["system"], "Be brief.");
    assert_eq!(a["temperature"], 1.0);
    // high effort (16384) does not fit in 1000: the budget is added on top.
    assert_eq!(a["max_tokens"], 17384);
    assert_eq!(
        a["tool_choice"],
        json!({"type": "tool", "name": "f", "disable_parallel_tool_use": true})
    );
    assert_eq!(a["metadata"], json!({"user_id": "u-1"}));
    let c = responses_to_chat(
        &req,
        &ResponsesToChatOptions {
            use_max_completion_tokens: true,
            ..chat_opts(HostedTools::Reject)
        },
    )
    .unwrap();
    assert_eq!(c["max_completion_tokens"], 1000);
    assert_eq!(c["temperature"], 1.6);
    assert_eq!(c["parallel_tool_calls"], false);
    assert_eq!(
        c["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    assert_eq!(
        c["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(c["user"], "u-1");
}

#[test]
fn anthropic_thinking_survives_the_round_trip_through_a_codex_turn() {
    // Anthropic → Responses: the thinking signature becomes the reasoning item's encrypted state.
    let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "thinking", "thinking": "Plan: list files.", "signature": "EqQBsig"},
                    {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {"cmd": "ls"}}],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 6}});
    let mapping = ToolMapping::for_request(&codex_request()).unwrap();
    let resp = anthropic_to_responses_response(&msg, opts(), &mapping).unwrap();
    let reasoning = resp["output"][0].clone();
    assert_eq!(reasoning["encrypted_content"], "EqQBsig");
    // Codex replays it: Responses → Anthropic gives the same thinking block back first.
    let follow_up = json!({"model": "m", "input": [
        {"role": "user", "content": "list"},
        reasoning,
        {"type": "function_call", "call_id": "toolu_1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "a\nb"}
    ]});
    let body = responses_to_anthropic(&follow_up, &anthropic_opts(HostedTools::Reject)).unwrap();
    assert_eq!(
        body["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "Plan: list files.", "signature": "EqQBsig"})
    );
    assert_eq!(body["messages"][1]["content"][1]["type"], "tool_use");
}

// =============================================================================================
// Non-streaming response conversion
// =============================================================================================

/// `events` with consecutive deltas of one block joined.
fn coalesce(events: &[StreamEvent]) -> Vec<StreamEvent> {
    let mut out: Vec<StreamEvent> = Vec::new();
    for ev in events {
        if let (
            Some(StreamEvent::BlockDelta {
                index: i,
                delta: last,
            }),
            StreamEvent::BlockDelta {
                index: j,
                delta: next,
            },
        ) = (out.last_mut(), ev)
        {
            let joined = match (&*last, next) {
                (BlockDelta::Text(a), BlockDelta::Text(b)) => {
                    Some(BlockDelta::Text(format!("{a}{b}")))
                }
                (BlockDelta::Thinking(a), BlockDelta::Thinking(b)) => {
                    Some(BlockDelta::Thinking(format!("{a}{b}")))
                }
                (BlockDelta::InputJson(a), BlockDelta::InputJson(b)) => {
                    Some(BlockDelta::InputJson(format!("{a}{b}")))
                }
                (BlockDelta::CustomInput(a), BlockDelta::CustomInput(b)) => {
                    Some(BlockDelta::CustomInput(format!("{a}{b}")))
                }
                _ => None,
            };
            if let (Some(joined), true) = (joined, i == j) {
                *last = joined;
                continue;
            }
        }
        out.push(ev.clone());
    }
    out
}

fn codex_response() -> Value {
    final_response(CODEX)
}

#[test]
fn a_responses_object_round_trips_through_canonical_events() {
    let resp = codex_response();
    let events = responses_response::to_events(&resp).unwrap();
    // The events the stream decoded to, apart from how the deltas were split.
    assert_eq!(coalesce(&events), coalesce(&decode(CODEX)));
    let rebuilt = responses_response::from_events(&resp, &events);
    assert_eq!(rebuilt["id"], resp["id"]);
    assert_eq!(rebuilt["prompt_cache_key"], resp["prompt_cache_key"]);
    assert_eq!(rebuilt["usage"], resp["usage"]);
    for (a, b) in rebuilt["output"]
        .as_array()
        .unwrap()
        .iter()
        .zip(resp["output"].as_array().unwrap())
    {
        for key in [
            "type",
            "call_id",
            "name",
            "arguments",
            "input",
            "summary",
            "encrypted_content",
        ] {
            assert_eq!(a.get(key), b.get(key), "{key}");
        }
    }
}

#[test]
fn responses_to_anthropic_response_maps_items_usage_and_refuses_custom_calls() {
    let resp = codex_response();
    assert_eq!(
        unsupported_field(responses_to_anthropic_response(&resp, "gpt-5.5")),
        "output.3"
    );
    let mut without_custom = resp.clone();
    without_custom["output"].as_array_mut().unwrap().pop();
    let m = responses_to_anthropic_response(&without_custom, "gpt-5.5").unwrap();
    assert_eq!(m["content"][0]["type"], "thinking");
    assert_eq!(
        m["content"][1],
        json!({"type": "text", "text": "I'll look at the files and fix the typo."})
    );
    assert_eq!(
        m["content"][2],
        json!({"type": "tool_use", "id": "call_Kd93JfLq2XbN7vRtYp1sWm4Z", "name": "exec_command",
            "input": {"cmd": "ls -la", "workdir": "/repo"}})
    );
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(
        m["usage"],
        json!({"input_tokens": 548, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4864, "output_tokens": 318})
    );
    let mut cut = without_custom.clone();
    cut["status"] = json!("incomplete");
    cut["incomplete_details"] = json!({"reason": "max_output_tokens"});
    assert_eq!(
        responses_to_anthropic_response(&cut, "m").unwrap()["stop_reason"],
        "max_tokens"
    );
    cut["incomplete_details"] = json!({"reason": "content_filter"});
    assert_eq!(
        responses_to_anthropic_response(&cut, "m").unwrap()["stop_reason"],
        "refusal"
    );
}

#[test]
fn responses_to_chat_response_carries_custom_calls_natively() {
    let c = responses_to_chat_response(&codex_response(), 7).unwrap();
    let message = &c["choices"][0]["message"];
    assert_eq!(
        message["content"],
        "I'll look at the files and fix the typo."
    );
    assert_eq!(message["reasoning_content"], CODEX_SUMMARY);
    assert_eq!(message["tool_calls"][0]["function"]["name"], "exec_command");
    assert_eq!(
        message["tool_calls"][1],
        json!({"id": "call_P7wQ2eRt5yUi8oAs1dFg4hJk", "type": "custom",
            "custom": {"name": "apply_patch", "input": CODEX_PATCH}})
    );
    assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        c["usage"],
        json!({"prompt_tokens": 5412, "completion_tokens": 318, "total_tokens": 5730,
            "prompt_tokens_details": {"cached_tokens": 4864}, "completion_tokens_details": {"reasoning_tokens": 192}})
    );
}

#[test]
fn anthropic_to_responses_response_restores_apply_patch_and_maps_max_tokens() {
    let mapping = ToolMapping::for_request(&codex_request()).unwrap();
    let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Patching."},
                    {"type": "tool_use", "id": "toolu_2", "name": "apply_patch", "input": {"input": CODEX_PATCH}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 20}});
    let r = anthropic_to_responses_response(&msg, opts(), &mapping).unwrap();
    assert_eq!(r["status"], "completed");
    assert_eq!(r["output"][0]["content"][0]["text"], "Patching.");
    assert_eq!(r["output"][1]["type"], "custom_tool_call");
    assert_eq!(r["output"][1]["call_id"], "toolu_2");
    assert_eq!(r["output"][1]["input"], CODEX_PATCH);
    assert_eq!(r["usage"]["input_tokens"], 100);
    assert_eq!(r["usage"]["input_tokens_details"]["cached_tokens"], 90);
    let mut cut = msg.clone();
    cut["stop_reason"] = json!("max_tokens");
    let r = anthropic_to_responses_response(&cut, opts(), &mapping).unwrap();
    assert_eq!(r["status"], "incomplete");
    assert_eq!(
        r["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
}

#[test]
fn chat_to_responses_response_maps_reasoning_text_calls_and_usage() {
    let chat = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "qwen3",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "reasoning_content": "Think.", "content": "Doing it.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}},
                           {"id": "call_2", "type": "custom", "custom": {"name": "apply_patch", "input": CODEX_PATCH}}]}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59,
            "prompt_tokens_details": {"cached_tokens": 10}, "completion_tokens_details": {"reasoning_tokens": 3}}});
    let r = chat_to_responses_response(&chat, opts(), &ToolMapping::default()).unwrap();
    let kinds: Vec<&str> = r["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["reasoning", "message", "function_call", "custom_tool_call"]
    );
    assert_eq!(r["output"][0]["summary"][0]["text"], "Think.");
    assert!(r["output"][0].get("encrypted_content").is_none());
    assert_eq!(r["output"][3]["input"], CODEX_PATCH);
    assert_eq!(
        r["usage"],
        json!({"input_tokens": 50, "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 10}, "output_tokens": 9,
            "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 59})
    );
    assert_eq!(r["model"], "gpt-5.5");
}

#[test]
fn responses_to_chat_response_maps_every_status_to_a_finish_reason() {
    let text = json!([{"id": "msg_1", "type": "message", "role": "assistant",
        "content": [{"type": "output_text", "text": "x", "annotations": []}]}]);
    let cases = [
        ("completed", Value::Null, "stop"),
        (
            "incomplete",
            json!({"reason": "max_output_tokens"}),
            "length",
        ),
        (
            "incomplete",
            json!({"reason": "content_filter"}),
            "content_filter",
        ),
    ];
    for (status, details, finish) in cases {
        let resp = json!({"id": "resp_1", "model": "m", "status": status, "incomplete_details": details,
            "output": text, "usage": usage(1, 1)});
        let c = responses_to_chat_response(&resp, 1).unwrap();
        assert_eq!(
            c["choices"][0]["finish_reason"], finish,
            "{status} {details}"
        );
    }
    let failed = json!({"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []});
    assert_eq!(
        responses_to_chat_response(&failed, 1)
            .unwrap_err()
            .field_name(),
        Some("status")
    );
}

#[test]
fn the_recorded_message_keeps_a_custom_tool_call_and_reads_it_back() {
    use luthien_protocol::anthropic::message;
    let events = vec![
        start("resp_1"),
        block(
            0,
            BlockStart::CustomToolUse {
                id: "call_1".into(),
                name: "apply_patch".into(),
            },
        ),
        delta(0, BlockDelta::CustomInput(CODEX_PATCH[..5].into())),
        delta(0, BlockDelta::CustomInput(CODEX_PATCH[5..].into())),
        stop(0),
        end(StopReason::ToolUse),
        StreamEvent::MessageStop,
    ];
    let shell = json!({"id": "resp_1", "type": "message", "role": "assistant", "model": "m", "content": []});
    let recorded = message::from_events(&shell, &events);
    assert_eq!(
        recorded["content"][0],
        json!({"type": "custom_tool_call", "id": "call_1", "name": "apply_patch", "input": CODEX_PATCH})
    );
    let back = message::to_events(&recorded).unwrap();
    assert!(back.contains(&delta(0, BlockDelta::CustomInput(CODEX_PATCH.into()))));
}
