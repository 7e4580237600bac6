//! Up-front request validation: what each API rejects, with the field named, and what it must let through.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_protocol::anthropic::request as anthropic;
use luthien_protocol::openai::chat_request as chat;
use luthien_protocol::ProtocolError;
use serde_json::{json, Value};

/// Asserts an `InvalidField` error naming `field`.
fn assert_invalid(result: Result<(), ProtocolError>, field: &str) {
    match result {
        Err(ProtocolError::InvalidField { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected InvalidField({field}), got {other:?}"),
    }
}

fn anthropic_req() -> Value {
    json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

// ------------------------------------------------------------------------------------------
// Anthropic Messages
// ------------------------------------------------------------------------------------------

#[test]
fn anthropic_minimal_request_is_valid() {
    anthropic::validate(&anthropic_req()).unwrap();
}

#[test]
fn anthropic_body_must_be_an_object() {
    assert_invalid(anthropic::validate(&json!([1, 2])), "body");
}

#[test]
fn anthropic_model_is_required_non_empty_string() {
    assert_invalid(
        anthropic::validate(&without(anthropic_req(), "model")),
        "model",
    );
    assert_invalid(
        anthropic::validate(&with(anthropic_req(), "model", json!(""))),
        "model",
    );
    assert_invalid(
        anthropic::validate(&with(anthropic_req(), "model", json!(7))),
        "model",
    );
}

#[test]
fn anthropic_messages_is_required_non_empty_array() {
    assert_invalid(
        anthropic::validate(&without(anthropic_req(), "messages")),
        "messages",
    );
    assert_invalid(
        anthropic::validate(&with(anthropic_req(), "messages", json!({"role": "user"}))),
        "messages",
    );
    assert_invalid(
        anthropic::validate(&with(anthropic_req(), "messages", json!([]))),
        "messages",
    );
}

#[test]
fn anthropic_message_must_be_an_object() {
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": "a"}, "b"]),
    );
    assert_invalid(anthropic::validate(&req), "messages.1");
}

#[test]
fn anthropic_message_role_must_be_user_or_assistant() {
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]),
    );
    assert_invalid(anthropic::validate(&req), "messages.1.role");
    let req = with(anthropic_req(), "messages", json!([{"content": "a"}]));
    assert_invalid(anthropic::validate(&req), "messages.0.role");
}

#[test]
fn anthropic_message_content_must_be_string_or_block_array() {
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": 5}]),
    );
    assert_invalid(anthropic::validate(&req), "messages.0.content");
    let req = with(anthropic_req(), "messages", json!([{"role": "user"}]));
    assert_invalid(anthropic::validate(&req), "messages.0.content");
}

#[test]
fn anthropic_content_block_needs_a_string_type() {
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"text": "b"}]}]),
    );
    assert_invalid(anthropic::validate(&req), "messages.0.content.1");
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": ["plain string"]}]),
    );
    assert_invalid(anthropic::validate(&req), "messages.0.content.0");
}

#[test]
fn anthropic_max_tokens_is_required_positive_integer() {
    assert_invalid(
        anthropic::validate(&without(anthropic_req(), "max_tokens")),
        "max_tokens",
    );
    for bad in [json!(0), json!(-5), json!(10.5), json!("100"), json!(null)] {
        assert_invalid(
            anthropic::validate(&with(anthropic_req(), "max_tokens", bad)),
            "max_tokens",
        );
    }
}

#[test]
fn anthropic_optional_fields_are_type_checked() {
    let cases = [
        ("stream", json!("yes")),
        ("system", json!(42)),
        ("tools", json!({"name": "x"})),
        ("temperature", json!("0.5")),
        ("top_p", json!(true)),
        ("stop_sequences", json!("END")),
    ];
    for (key, bad) in cases {
        assert_invalid(anthropic::validate(&with(anthropic_req(), key, bad)), key);
    }
}

#[test]
fn anthropic_stop_sequences_entries_must_be_strings() {
    let req = with(anthropic_req(), "stop_sequences", json!(["END", 3]));
    assert_invalid(anthropic::validate(&req), "stop_sequences.1");
}

#[test]
fn anthropic_null_optional_fields_count_as_absent() {
    let mut req = anthropic_req();
    for key in [
        "stream",
        "system",
        "tools",
        "temperature",
        "top_p",
        "stop_sequences",
    ] {
        req[key] = Value::Null;
    }
    anthropic::validate(&req).unwrap();
}

#[test]
fn anthropic_unknown_fields_and_block_types_pass() {
    let req = json!({
        "model": "claude-opus-5-5",
        "max_tokens": 128000,
        "stream": true,
        "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}},
                {"type": "some_future_block", "payload": {"x": 1}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            ]},
            {"role": "user", "content": "go on"},
        ],
        "tools": [{"name": "Deferred", "input_schema": {"type": "object"}, "defer_loading": true}],
        "thinking": {"type": "adaptive", "display": "updates"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"device_id\":\"abc\"}"},
        "top_k": 5,
        "service_tier": "auto",
        "some_new_top_level_field": {"anything": true},
    });
    anthropic::validate(&req).unwrap();
}

#[test]
fn anthropic_message_count_counts_messages() {
    let req = with(
        anthropic_req(),
        "messages",
        json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]),
    );
    assert_eq!(anthropic::message_count(&req), 2);
    assert_eq!(anthropic::message_count(&json!({})), 0);
    assert_eq!(anthropic::message_count(&json!({"messages": "x"})), 0);
}

// ------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ------------------------------------------------------------------------------------------

fn chat_req() -> Value {
    json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]})
}

#[test]
fn chat_minimal_request_is_valid() {
    chat::validate(&chat_req()).unwrap();
}

#[test]
fn chat_body_must_be_an_object() {
    assert_invalid(chat::validate(&json!("hello")), "body");
}

#[test]
fn chat_model_is_required_non_empty_string() {
    assert_invalid(chat::validate(&without(chat_req(), "model")), "model");
    assert_invalid(
        chat::validate(&with(chat_req(), "model", json!(""))),
        "model",
    );
    assert_invalid(
        chat::validate(&with(chat_req(), "model", json!(["gpt"]))),
        "model",
    );
}

#[test]
fn chat_messages_is_required_non_empty_array() {
    assert_invalid(chat::validate(&without(chat_req(), "messages")), "messages");
    assert_invalid(
        chat::validate(&with(chat_req(), "messages", json!([]))),
        "messages",
    );
    assert_invalid(
        chat::validate(&with(chat_req(), "messages", json!("hi"))),
        "messages",
    );
}

#[test]
fn chat_message_role_must_be_known() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "robot", "content": "x"}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.role");
    let req = with(chat_req(), "messages", json!([{"content": "x"}]));
    assert_invalid(chat::validate(&req), "messages.0.role");
    let req = with(chat_req(), "messages", json!([7]));
    assert_invalid(chat::validate(&req), "messages.0");
}

#[test]
fn chat_every_role_is_accepted_with_its_content() {
    let req = with(
        chat_req(),
        "messages",
        json!([
            {"role": "system", "content": "s"},
            {"role": "developer", "content": [{"type": "text", "text": "d"}]},
            {"role": "user", "content": [{"type": "text", "text": "u"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
            {"role": "assistant", "content": null, "function_call": {"name": "g", "arguments": "{}"}},
            {"role": "function", "name": "g", "content": null},
            {"role": "assistant", "content": "done"},
        ]),
    );
    chat::validate(&req).unwrap();
}

#[test]
fn chat_assistant_without_content_needs_tool_calls() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "assistant", "content": null}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.content");
    let req = with(chat_req(), "messages", json!([{"role": "assistant"}]));
    assert_invalid(chat::validate(&req), "messages.0.content");
}

#[test]
fn chat_assistant_tool_calls_must_be_an_array() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "assistant", "content": "x", "tool_calls": {"id": "c"}}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.tool_calls");
}

#[test]
fn chat_tool_message_needs_tool_call_id_and_content() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "tool", "content": "ok"}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.tool_call_id");
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "tool", "tool_call_id": "c"}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.content");
}

#[test]
fn chat_function_message_needs_a_name() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "function", "content": "r"}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.name");
}

#[test]
fn chat_user_and_system_need_string_or_part_content() {
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "user", "content": null}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.content");
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "system", "content": 3}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.content");
    let req = with(
        chat_req(),
        "messages",
        json!([{"role": "user", "content": [{"text": "no type"}]}]),
    );
    assert_invalid(chat::validate(&req), "messages.0.content.0");
}

#[test]
fn chat_optional_fields_are_type_checked() {
    let cases = [
        ("stream", json!(1)),
        ("n", json!(1.5)),
        ("max_tokens", json!("100")),
        ("max_completion_tokens", json!(10.5)),
    ];
    for (key, bad) in cases {
        assert_invalid(chat::validate(&with(chat_req(), key, bad)), key);
    }
}

#[test]
fn chat_null_optional_fields_and_unknown_fields_pass() {
    let mut req = chat_req();
    for key in [
        "stream",
        "n",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
    ] {
        req[key] = Value::Null;
    }
    req["seed"] = json!(7);
    req["store"] = json!(false);
    req["prompt_cache_key"] = json!("k");
    req["reasoning_effort"] = json!("high");
    req["some_vendor_extension"] = json!({"a": 1});
    chat::validate(&req).unwrap();
}

#[test]
fn chat_message_count_counts_messages() {
    assert_eq!(chat::message_count(&chat_req()), 1);
    assert_eq!(chat::message_count(&json!(null)), 0);
}
