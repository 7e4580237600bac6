//! Conversions between Anthropic Messages and OpenAI Chat Completions: requests both ways and
//! non-streaming responses both ways. Regression tests for the predecessor's conversion defects
//! (reference/gateway-policies.md §2.1, §2.2, §2.7) are marked `regression_`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_protocol::anthropic::request as anthropic_request;
use luthien_protocol::convert::request::{
    anthropic_to_chat, chat_to_anthropic, ToAnthropicOptions, ToChatOptions,
};
use luthien_protocol::convert::response::{anthropic_to_chat_response, chat_to_anthropic_response};
use luthien_protocol::ProtocolError;
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

fn chat_opts() -> ToChatOptions {
    ToChatOptions {
        model: "gpt-5".into(),
        use_max_completion_tokens: true,
    }
}

fn anthropic_opts() -> ToAnthropicOptions {
    ToAnthropicOptions {
        model: "claude-sonnet-4-6".into(),
        default_max_tokens: 4096,
    }
}

/// An Anthropic request with `messages` and `extra` top-level fields.
fn areq(messages: Value, extra: Value) -> Value {
    let mut req = json!({"model": "claude-sonnet-4-6", "max_tokens": 1000, "messages": messages});
    for (k, v) in extra.as_object().unwrap() {
        req[k] = v.clone();
    }
    req
}

/// A Chat request with `messages` and `extra` top-level fields.
fn creq(messages: Value, extra: Value) -> Value {
    let mut req = json!({"model": "gpt-5", "messages": messages});
    for (k, v) in extra.as_object().unwrap() {
        req[k] = v.clone();
    }
    req
}

fn to_chat(req: Value) -> Value {
    anthropic_to_chat(&req, &chat_opts()).unwrap()
}

fn to_anthropic(req: Value) -> Value {
    chat_to_anthropic(&req, &anthropic_opts()).unwrap()
}

fn assert_unsupported<T: std::fmt::Debug>(result: Result<T, ProtocolError>, field: &str) {
    match result {
        Err(ProtocolError::Unsupported { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected Unsupported({field}), got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, ProtocolError>, field: &str) {
    match result {
        Err(ProtocolError::InvalidField { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected InvalidField({field}), got {other:?}"),
    }
}

/// A realistic Claude Code turn-2 request (reference/agent-clients.md §1).
fn claude_code_request() -> Value {
    json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 32000,
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>env</system-reminder>"},
                {"type": "text", "text": "<system-reminder>agents</system-reminder>"},
                {"type": "text", "text": "List the files.", "cache_control": {"type": "ephemeral"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run ls.", "signature": "EqQBCkYIBxgCKkC"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls /"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "is_error": true,
                 "content": "Bash needs approval.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "<system-reminder>token budget</system-reminder>"},
            ]},
        ],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.330.abc; cc_entrypoint=sdk-cli;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be concise.", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command", "input_schema": {
                "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
            {"name": "DeferredToolPlaceholder", "description": "placeholder",
             "input_schema": {"type": "object", "properties": {}}, "defer_loading": true},
        ],
        "metadata": {"user_id": "{\"device_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"account_uuid\":\"\",\"session_id\":\"5c0e6c8e-1111-4222-8333-944455556666\"}"},
        "thinking": {"type": "adaptive", "display": "updates"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": true,
    })
}

// ------------------------------------------------------------------------------------------
// Anthropic request → Chat request
// ------------------------------------------------------------------------------------------

#[test]
fn claude_code_request_validates_and_converts_to_chat() {
    let req = claude_code_request();
    anthropic_request::validate(&req).unwrap();
    assert_eq!(
        to_chat(req),
        json!({
            "model": "gpt-5",
            "messages": [
                {"role": "system", "content": "x-anthropic-billing-header: cc_version=2.1.330.abc; cc_entrypoint=sdk-cli;\n\nYou are Claude Code.\n\nBe concise."},
                {"role": "user", "content": "<system-reminder>env</system-reminder>\n\n<system-reminder>agents</system-reminder>\n\nList the files."},
                {"role": "assistant", "content": "Running ls.", "tool_calls": [
                    {"id": "toolu_01A", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls /\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "toolu_01A", "content": "Error: Bash needs approval."},
                {"role": "user", "content": "<system-reminder>token budget</system-reminder>"},
            ],
            "max_completion_tokens": 32000,
            "tools": [
                {"type": "function", "function": {"name": "Bash", "description": "Run a command", "parameters": {
                    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
                {"type": "function", "function": {"name": "DeferredToolPlaceholder", "description": "placeholder",
                    "parameters": {"type": "object", "properties": {}}}},
            ],
            "reasoning_effort": "medium",
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[test]
fn output_keys_start_with_model_then_messages() {
    let out = to_chat(claude_code_request());
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys[..2], ["model", "messages"]);
}

#[test]
fn invalid_anthropic_request_is_rejected_before_conversion() {
    let req = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    assert_invalid(anthropic_to_chat(&req, &chat_opts()), "max_tokens");
}

#[test]
fn system_string_becomes_leading_system_message() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"system": "Be brief."}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    );
}

#[test]
fn empty_system_is_omitted() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"system": []}),
    ));
    assert_eq!(out["messages"], json!([{"role": "user", "content": "hi"}]));
}

#[test]
fn non_text_system_block_is_invalid() {
    let req = areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"system": [{"type": "text", "text": "a"}, {"type": "image", "source": {}}]}),
    );
    assert_invalid(anthropic_to_chat(&req, &chat_opts()), "system.1");
}

#[test]
fn user_text_blocks_collapse_to_one_string() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": [
            {"type": "text", "text": "one"}, {"type": "text", "text": ""}, {"type": "text", "text": "two"},
        ]}]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": "one\n\ntwo"}])
    );
}

#[test]
fn regression_base64_image_becomes_data_url_part_next_to_text() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}},
        ]}]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
        ]}])
    );
}

#[test]
fn url_image_becomes_url_part() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        ]}]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]}])
    );
}

#[test]
fn file_image_source_is_unsupported() {
    let req = areq(
        json!([{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        ]}]),
        json!({}),
    );
    assert_unsupported(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.0.content.0.source.type",
    );
}

#[test]
fn image_without_source_is_invalid() {
    let req = areq(
        json!([{"role": "user", "content": [{"type": "image"}]}]),
        json!({}),
    );
    assert_invalid(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.0.content.0.source",
    );
}

#[test]
fn document_block_is_unsupported_naming_the_block() {
    let req = areq(
        json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": [
                {"type": "text", "text": "summarise"},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
            ]},
        ]),
        json!({}),
    );
    assert_unsupported(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.2.content.1",
    );
}

#[test]
fn regression_only_unknown_blocks_is_an_error_not_a_placeholder_text() {
    let req = areq(
        json!([{"role": "user", "content": [{"type": "search_result", "source": "s", "title": "t", "content": []}]}]),
        json!({}),
    );
    assert_unsupported(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.0.content.0",
    );
}

#[test]
fn unknown_assistant_block_is_unsupported() {
    let req = areq(
        json!([
            {"role": "user", "content": "search"},
            {"role": "assistant", "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
            ]},
            {"role": "user", "content": "thanks"},
        ]),
        json!({}),
    );
    assert_unsupported(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.1.content.0",
    );
}

#[test]
fn regression_tool_result_and_text_in_one_message_become_tool_then_user_message() {
    let out = to_chat(areq(
        json!([
            {"role": "user", "content": "run it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "I rejected that."},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "denied"},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            ]},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "run it"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "denied"},
            {"role": "user", "content": [
                {"type": "text", "text": "I rejected that."},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ]},
        ])
    );
}

#[test]
fn several_tool_results_become_one_tool_message_each_in_order() {
    let out = to_chat(areq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {"path": "a"}},
                {"type": "tool_use", "id": "toolu_b", "name": "Read", "input": {"path": "b"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": [
                    {"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"},
                ]},
                {"type": "tool_result", "tool_use_id": "toolu_b"},
            ]},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"].as_array().unwrap()[2..],
        [
            json!({"role": "tool", "tool_call_id": "toolu_a", "content": "line 1\n\nline 2"}),
            json!({"role": "tool", "tool_call_id": "toolu_b", "content": ""}),
        ]
    );
}

#[test]
fn error_tool_result_is_prefixed() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": true, "content": [{"type": "text", "text": "boom"}]},
            {"type": "tool_result", "tool_use_id": "t2", "is_error": true},
        ]}]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "tool", "tool_call_id": "t1", "content": "Error: boom"},
            {"role": "tool", "tool_call_id": "t2", "content": "Error"},
        ])
    );
}

#[test]
fn image_inside_tool_result_is_unsupported() {
    let req = areq(
        json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [
                {"type": "text", "text": "screenshot:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
            ]},
        ]}]),
        json!({}),
    );
    assert_unsupported(
        anthropic_to_chat(&req, &chat_opts()),
        "messages.0.content.0.content.1",
    );
}

#[test]
fn assistant_text_and_several_tool_uses_become_one_message() {
    let out = to_chat(areq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Reading "},
                {"type": "text", "text": "both."},
                {"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {"path": "a"}},
                {"type": "tool_use", "id": "toolu_b", "name": "Noop"},
            ]},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"][1],
        json!({"role": "assistant", "content": "Reading both.", "tool_calls": [
            {"id": "toolu_a", "type": "function", "function": {"name": "Read", "arguments": "{\"path\":\"a\"}"}},
            {"id": "toolu_b", "type": "function", "function": {"name": "Noop", "arguments": "{}"}},
        ]})
    );
}

#[test]
fn regression_thinking_history_is_dropped_and_thinking_only_message_removed() {
    let out = to_chat(areq(
        json!([
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "enc"},
                {"type": "text", "text": "a1"},
            ]},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "only", "signature": "s"}]},
            {"role": "user", "content": "q3"},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
            {"role": "user", "content": "q3"},
        ])
    );
}

#[test]
fn empty_messages_are_never_produced() {
    let out = to_chat(areq(
        json!([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": [{"type": "text", "text": ""}]},
            {"role": "user", "content": "again"},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": "q"}, {"role": "user", "content": "again"}])
    );
}

#[test]
fn all_messages_empty_is_invalid() {
    let req = areq(json!([{"role": "user", "content": ""}]), json!({}));
    assert_invalid(anthropic_to_chat(&req, &chat_opts()), "messages");
}

#[test]
fn tools_become_functions_without_anthropic_only_keys() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [
            {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
             "cache_control": {"type": "ephemeral"}, "defer_loading": true},
            {"type": "custom", "name": "noop", "input_schema": {"type": "object"}},
        ]}),
    ));
    assert_eq!(
        out["tools"],
        json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}},
        ])
    );
}

#[test]
fn server_tool_is_unsupported_naming_its_index() {
    let req = areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [
            {"name": "ok", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        ]}),
    );
    assert_unsupported(anthropic_to_chat(&req, &chat_opts()), "tools.1");
}

#[test]
fn regression_tool_choice_is_carried() {
    let tools = json!([{"name": "f", "input_schema": {"type": "object"}}]);
    let cases = [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "any"}), json!("required")),
        (json!({"type": "none"}), json!("none")),
        (
            json!({"type": "tool", "name": "f"}),
            json!({"type": "function", "function": {"name": "f"}}),
        ),
    ];
    for (choice, expected) in cases {
        let out = to_chat(areq(
            json!([{"role": "user", "content": "hi"}]),
            json!({"tools": tools.clone(), "tool_choice": choice}),
        ));
        assert_eq!(out["tool_choice"], expected);
        assert!(out.get("parallel_tool_calls").is_none());
    }
}

#[test]
fn disable_parallel_tool_use_sets_parallel_tool_calls_false() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [{"name": "f", "input_schema": {"type": "object"}}],
               "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
    ));
    assert_eq!(out["tool_choice"], json!("auto"));
    assert_eq!(out["parallel_tool_calls"], json!(false));
}

#[test]
fn tool_choice_without_tools_is_omitted() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [], "tool_choice": {"type": "any", "disable_parallel_tool_use": true}}),
    ));
    for key in ["tools", "tool_choice", "parallel_tool_calls"] {
        assert!(out.get(key).is_none(), "{key} should be omitted");
    }
}

#[test]
fn regression_stop_sequences_become_stop() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"stop_sequences": ["END", "STOP"]}),
    ));
    assert_eq!(out["stop"], json!(["END", "STOP"]));
}

#[test]
fn max_tokens_name_follows_the_option() {
    let req = areq(json!([{"role": "user", "content": "hi"}]), json!({}));
    let out = to_chat(req.clone());
    assert_eq!(out["max_completion_tokens"], json!(1000));
    assert!(out.get("max_tokens").is_none());
    let compat = ToChatOptions {
        model: "llama3".into(),
        use_max_completion_tokens: false,
    };
    let out = anthropic_to_chat(&req, &compat).unwrap();
    assert_eq!(out["model"], json!("llama3"));
    assert_eq!(out["max_tokens"], json!(1000));
    assert!(out.get("max_completion_tokens").is_none());
}

#[test]
fn temperature_and_top_p_are_kept_and_top_k_dropped() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"temperature": 0.3, "top_p": 0.9, "top_k": 40}),
    ));
    assert_eq!(out["temperature"], json!(0.3));
    assert_eq!(out["top_p"], json!(0.9));
    assert!(out.get("top_k").is_none());
}

#[test]
fn short_user_id_becomes_user_and_long_one_is_dropped() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"metadata": {"user_id": "user-42"}}),
    ));
    assert_eq!(out["user"], json!("user-42"));
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"metadata": {"user_id": "x".repeat(65)}}),
    ));
    assert!(out.get("user").is_none());
    assert!(out.get("metadata").is_none());
}

#[test]
fn streaming_request_asks_for_usage() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"stream": true}),
    ));
    assert_eq!(out["stream"], json!(true));
    assert_eq!(out["stream_options"], json!({"include_usage": true}));
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"stream": false}),
    ));
    assert_eq!(out["stream"], json!(false));
    assert!(out.get("stream_options").is_none());
}

#[test]
fn thinking_maps_to_reasoning_effort() {
    let cases = [
        (
            json!({"type": "enabled", "budget_tokens": 1024}),
            Some("low"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 4095}),
            Some("low"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 4096}),
            Some("medium"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 16383}),
            Some("medium"),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 16384}),
            Some("high"),
        ),
        (json!({"type": "adaptive"}), Some("medium")),
        (json!({"type": "disabled"}), None),
    ];
    for (thinking, expected) in cases {
        let out = to_chat(areq(
            json!([{"role": "user", "content": "hi"}]),
            json!({"max_tokens": 32000, "thinking": thinking}),
        ));
        assert_eq!(
            out.get("reasoning_effort").and_then(Value::as_str),
            expected,
            "{thinking}"
        );
    }
}

#[test]
fn anthropic_only_fields_are_dropped() {
    let out = to_chat(areq(
        json!([{"role": "user", "content": "hi"}]),
        json!({
            "context_management": {"edits": []}, "output_config": {"effort": "high"},
            "service_tier": "auto", "container": "c", "mcp_servers": [], "top_k": 3,
        }),
    ));
    assert_eq!(
        out,
        json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 1000})
    );
}

// ------------------------------------------------------------------------------------------
// Chat request → Anthropic request
// ------------------------------------------------------------------------------------------

#[test]
fn simple_chat_request_converts() {
    let out = to_anthropic(creq(
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]),
        json!({"max_tokens": 200, "stream": true}),
    ));
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-6",
            "max_tokens": 200,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
        })
    );
}

#[test]
fn system_and_developer_messages_anywhere_are_gathered_in_order() {
    let out = to_anthropic(creq(
        json!([
            {"role": "system", "content": "one"},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": "three"},
            {"role": "user", "content": "bye"},
        ]),
        json!({}),
    ));
    assert_eq!(out["system"], json!("one\n\ntwo\n\nthree"));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "bye"},
        ])
    );
}

#[test]
fn only_system_messages_is_invalid() {
    let req = creq(json!([{"role": "system", "content": "s"}]), json!({}));
    assert_invalid(chat_to_anthropic(&req, &anthropic_opts()), "messages");
}

#[test]
fn missing_output_limit_uses_the_default_and_max_completion_tokens_wins() {
    let out = to_anthropic(creq(json!([{"role": "user", "content": "hi"}]), json!({})));
    assert_eq!(out["max_tokens"], json!(4096));
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"max_tokens": 100, "max_completion_tokens": 300}),
    ));
    assert_eq!(out["max_tokens"], json!(300));
}

#[test]
fn zero_output_limit_is_invalid() {
    let req = creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"max_tokens": 0}),
    );
    assert_invalid(chat_to_anthropic(&req, &anthropic_opts()), "max_tokens");
}

#[test]
fn user_parts_and_images_convert() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}},
        ]}]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/b.jpg"}},
        ]}])
    );
}

#[test]
fn unusable_image_url_is_unsupported() {
    let req = creq(
        json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]),
        json!({}),
    );
    assert_unsupported(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.0.content.0.image_url.url",
    );
}

#[test]
fn audio_and_file_parts_are_unsupported() {
    let req = creq(
        json!([{"role": "user", "content": [
            {"type": "text", "text": "listen"},
            {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
        ]}]),
        json!({}),
    );
    assert_unsupported(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.0.content.1",
    );
    let req = creq(
        json!([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]),
        json!({}),
    );
    assert_unsupported(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.0.content.0",
    );
}

#[test]
fn several_tool_calls_become_tool_use_blocks_after_the_text() {
    let out = to_anthropic(creq(
        json!([
            {"role": "user", "content": "read a and b"},
            {"role": "assistant", "content": "Reading.", "reasoning_content": "private", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "read", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "A"},
            {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "B"}]},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "read a and b"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "call_a", "name": "read", "input": {"path": "a"}},
                {"type": "tool_use", "id": "call_b", "name": "read", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "A"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": [{"type": "text", "text": "B"}]},
            ]},
        ])
    );
}

#[test]
fn regression_invalid_tool_arguments_name_the_field() {
    let req = creq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": "{\"a\": "}},
            ]},
        ]),
        json!({}),
    );
    assert_invalid(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.1.tool_calls.1.function.arguments",
    );
}

#[test]
fn tool_arguments_that_are_not_an_object_are_invalid() {
    let req = creq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "[1,2]"}},
            ]},
        ]),
        json!({}),
    );
    assert_invalid(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.1.tool_calls.0.function.arguments",
    );
}

#[test]
fn tool_results_and_following_user_message_merge_into_one_user_message() {
    let out = to_anthropic(creq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "done"},
            {"role": "user", "content": "now summarise"},
            {"role": "user", "content": "briefly"},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_a", "content": "done"},
            {"type": "text", "text": "now summarise"},
            {"type": "text", "text": "briefly"},
        ]})
    );
    assert_eq!(out["messages"].as_array().unwrap().len(), 3);
}

#[test]
fn tool_results_go_first_in_a_merged_user_message() {
    let out = to_anthropic(creq(
        json!([
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            ]},
            {"role": "user", "content": "note"},
            {"role": "tool", "tool_call_id": "call_a", "content": ""},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"][1],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_a"},
            {"type": "text", "text": "note"},
        ]})
    );
}

#[test]
fn consecutive_assistant_messages_merge() {
    let out = to_anthropic(creq(
        json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "one"},
            {"role": "assistant", "content": "two"},
        ]),
        json!({}),
    ));
    assert_eq!(
        out["messages"][1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]})
    );
}

#[test]
fn legacy_function_call_and_function_message_convert() {
    let out = to_anthropic(creq(
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "function_call": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}},
            {"role": "function", "name": "weather", "content": "rain"},
        ]),
        json!({"functions": [{"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
               "function_call": {"name": "weather"}}),
    ));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_function_1", "name": "weather", "input": {"city": "Oslo"}},
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_function_1", "content": "rain"}]},
        ])
    );
    assert_eq!(
        out["tools"],
        json!([{"name": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    );
    assert_eq!(
        out["tool_choice"],
        json!({"type": "tool", "name": "weather"})
    );
}

#[test]
fn function_message_without_function_call_is_invalid() {
    let req = creq(
        json!([{"role": "user", "content": "x"}, {"role": "function", "name": "f", "content": "r"}]),
        json!({}),
    );
    assert_invalid(chat_to_anthropic(&req, &anthropic_opts()), "messages.1");
}

#[test]
fn tool_ids_are_made_acceptable_to_anthropic_on_both_sides() {
    let out = to_anthropic(creq(
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [
                {"id": "call:1.x", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "call:1.x", "content": "ok"},
        ]),
        json!({}),
    ));
    assert_eq!(out["messages"][1]["content"][0]["id"], json!("call_1_x"));
    assert_eq!(
        out["messages"][2]["content"][0]["tool_use_id"],
        json!("call_1_x")
    );
}

#[test]
fn stop_string_or_array_becomes_stop_sequences() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"stop": "END"}),
    ));
    assert_eq!(out["stop_sequences"], json!(["END"]));
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"stop": ["A", "", "B"]}),
    ));
    assert_eq!(out["stop_sequences"], json!(["A", "B"]));
}

#[test]
fn temperature_is_clamped_to_anthropic_range() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"temperature": 1.7, "top_p": 0.5}),
    ));
    assert_eq!(out["temperature"], json!(1.0));
    assert_eq!(out["top_p"], json!(0.5));
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"temperature": 0.2}),
    ));
    assert_eq!(out["temperature"], json!(0.2));
}

#[test]
fn function_tools_become_anthropic_tools() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [
            {"type": "function", "function": {"name": "a", "description": "A", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}, "strict": true}},
            {"type": "function", "function": {"name": "b"}},
            {"type": "function", "function": {"name": "c", "parameters": {}}},
        ]}),
    ));
    assert_eq!(
        out["tools"],
        json!([
            {"name": "a", "description": "A", "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}}},
            {"name": "b", "input_schema": {"type": "object", "properties": {}}},
            {"name": "c", "input_schema": {"type": "object", "properties": {}}},
        ])
    );
}

#[test]
fn custom_tool_is_unsupported_naming_its_index() {
    let req = creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": [
            {"type": "function", "function": {"name": "a"}},
            {"type": "custom", "custom": {"name": "grammar_tool"}},
        ]}),
    );
    assert_unsupported(chat_to_anthropic(&req, &anthropic_opts()), "tools.1");
}

#[test]
fn chat_tool_choice_maps_to_anthropic() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let cases = [
        (json!("auto"), json!({"type": "auto"})),
        (json!("required"), json!({"type": "any"})),
        (json!("none"), json!({"type": "none"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"type": "tool", "name": "f"}),
        ),
    ];
    for (choice, expected) in cases {
        let out = to_anthropic(creq(
            json!([{"role": "user", "content": "hi"}]),
            json!({"tools": tools.clone(), "tool_choice": choice}),
        ));
        assert_eq!(out["tool_choice"], expected);
    }
}

#[test]
fn parallel_tool_calls_false_disables_parallel_tool_use() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": tools.clone(), "parallel_tool_calls": false}),
    ));
    assert_eq!(
        out["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"tools": tools, "tool_choice": "required", "parallel_tool_calls": false}),
    ));
    assert_eq!(
        out["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
}

#[test]
fn user_becomes_metadata_user_id() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"user": "u-1"}),
    ));
    assert_eq!(out["metadata"], json!({"user_id": "u-1"}));
}

#[test]
fn reasoning_effort_becomes_thinking_budget() {
    let cases = [("low", 1024), ("medium", 4096), ("high", 16384)];
    for (effort, budget) in cases {
        let out = to_anthropic(creq(
            json!([{"role": "user", "content": "hi"}]),
            json!({"reasoning_effort": effort, "max_completion_tokens": 64000}),
        ));
        assert_eq!(
            out["thinking"],
            json!({"type": "enabled", "budget_tokens": budget})
        );
        assert_eq!(out["max_tokens"], json!(64000));
    }
}

#[test]
fn max_tokens_is_raised_above_the_thinking_budget() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"reasoning_effort": "high", "max_tokens": 1000}),
    ));
    assert_eq!(out["max_tokens"], json!(17384));
    assert_eq!(out["thinking"]["budget_tokens"], json!(16384));
}

#[test]
fn unknown_reasoning_effort_is_invalid() {
    let req = creq(
        json!([{"role": "user", "content": "hi"}]),
        json!({"reasoning_effort": "extreme"}),
    );
    assert_invalid(
        chat_to_anthropic(&req, &anthropic_opts()),
        "reasoning_effort",
    );
}

#[test]
fn features_anthropic_cannot_serve_are_unsupported() {
    let cases = [
        (json!({"n": 2}), "n"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"top_logprobs": 3}), "top_logprobs"),
        (
            json!({"response_format": {"type": "json_object"}}),
            "response_format",
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}),
            "response_format",
        ),
        (json!({"modalities": ["text", "audio"]}), "modalities"),
    ];
    for (extra, field) in cases {
        let req = creq(json!([{"role": "user", "content": "hi"}]), extra);
        assert_unsupported(chat_to_anthropic(&req, &anthropic_opts()), field);
    }
}

#[test]
fn harmless_openai_hints_are_dropped() {
    let out = to_anthropic(creq(
        json!([{"role": "user", "content": "hi", "name": "alice"}]),
        json!({
            "n": 1, "logprobs": false, "seed": 7, "store": true, "service_tier": "default",
            "prompt_cache_key": "k", "frequency_penalty": 0.5, "presence_penalty": 0.1,
            "logit_bias": {"42": 10}, "modalities": ["text"], "metadata": {"a": "b"},
            "stream_options": {"include_usage": true}, "response_format": {"type": "text"},
            "verbosity": "low",
        }),
    ));
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-6",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "hi"}],
        })
    );
}

#[test]
fn invalid_chat_request_is_rejected_before_conversion() {
    let req = json!({"model": "gpt-5", "messages": [{"role": "tool", "content": "x"}]});
    assert_invalid(
        chat_to_anthropic(&req, &anthropic_opts()),
        "messages.0.tool_call_id",
    );
}

// ------------------------------------------------------------------------------------------
// Chat response → Anthropic message
// ------------------------------------------------------------------------------------------

fn chat_response(message: Value, finish_reason: Value) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-5-2025",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                  "prompt_tokens_details": {"cached_tokens": 60}},
    })
}

#[test]
fn chat_text_response_becomes_anthropic_message() {
    let resp = chat_response(
        json!({"role": "assistant", "content": "Hello."}),
        json!("stop"),
    );
    assert_eq!(
        chat_to_anthropic_response(&resp, "claude-sonnet-4-6").unwrap(),
        json!({
            "id": "chatcmpl-1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "Hello."}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 40, "output_tokens": 20, "cache_read_input_tokens": 60},
        })
    );
}

#[test]
fn regression_several_tool_calls_become_tool_use_blocks() {
    let resp = chat_response(
        json!({"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{\"x\":1}"}},
            {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": ""}},
        ]}),
        json!("tool_calls"),
    );
    let out = chat_to_anthropic_response(&resp, "m").unwrap();
    assert_eq!(
        out["content"],
        json!([
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "a", "input": {"x": 1}},
            {"type": "tool_use", "id": "call_2", "name": "b", "input": {}},
        ])
    );
    assert_eq!(out["stop_reason"], json!("tool_use"));
}

#[test]
fn unparseable_tool_arguments_are_kept_raw() {
    let resp = chat_response(
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{\"x\": 1"}},
        ]}),
        json!("length"),
    );
    let out = chat_to_anthropic_response(&resp, "m").unwrap();
    assert_eq!(
        out["content"],
        json!([{"type": "tool_use", "id": "call_1", "name": "a", "input": {"_raw_arguments": "{\"x\": 1"}}])
    );
    assert_eq!(out["stop_reason"], json!("max_tokens"));
}

#[test]
fn regression_null_finish_reason_becomes_end_turn() {
    let resp = chat_response(json!({"role": "assistant", "content": "hi"}), Value::Null);
    assert_eq!(
        chat_to_anthropic_response(&resp, "m").unwrap()["stop_reason"],
        json!("end_turn")
    );
}

#[test]
fn regression_content_filter_becomes_refusal() {
    let resp = chat_response(
        json!({"role": "assistant", "content": null}),
        json!("content_filter"),
    );
    let out = chat_to_anthropic_response(&resp, "m").unwrap();
    assert_eq!(out["stop_reason"], json!("refusal"));
    assert_eq!(out["content"], json!([]));
}

#[test]
fn finish_reason_agrees_with_tool_use_content() {
    let no_tools = chat_response(
        json!({"role": "assistant", "content": "x"}),
        json!("tool_calls"),
    );
    assert_eq!(
        chat_to_anthropic_response(&no_tools, "m").unwrap()["stop_reason"],
        json!("end_turn")
    );
    let tools_but_stop = chat_response(
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        ]}),
        json!("stop"),
    );
    assert_eq!(
        chat_to_anthropic_response(&tools_but_stop, "m").unwrap()["stop_reason"],
        json!("tool_use")
    );
}

#[test]
fn reasoning_content_becomes_leading_thinking_block() {
    let resp = chat_response(
        json!({"role": "assistant", "reasoning_content": "Let me think.", "content": "42"}),
        json!("stop"),
    );
    assert_eq!(
        chat_to_anthropic_response(&resp, "m").unwrap()["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think.", "signature": ""},
            {"type": "text", "text": "42"},
        ])
    );
}

#[test]
fn refusal_becomes_text_and_empty_content_adds_no_block() {
    let resp = chat_response(
        json!({"role": "assistant", "content": "", "refusal": "I can't help with that."}),
        json!("stop"),
    );
    assert_eq!(
        chat_to_anthropic_response(&resp, "m").unwrap()["content"],
        json!([{"type": "text", "text": "I can't help with that."}])
    );
}

#[test]
fn usage_without_cache_details_has_no_cache_field() {
    let mut resp = chat_response(json!({"role": "assistant", "content": "x"}), json!("stop"));
    resp["usage"] = json!({"prompt_tokens": 10, "completion_tokens": 2});
    assert_eq!(
        chat_to_anthropic_response(&resp, "m").unwrap()["usage"],
        json!({"input_tokens": 10, "output_tokens": 2})
    );
    resp.as_object_mut().unwrap().remove("usage");
    assert_eq!(
        chat_to_anthropic_response(&resp, "m").unwrap()["usage"],
        json!({"input_tokens": 0, "output_tokens": 0})
    );
}

#[test]
fn wrong_chat_response_shapes_name_the_path() {
    let ok = chat_response(json!({"role": "assistant", "content": "x"}), json!("stop"));
    let mut cases: Vec<(Value, &str)> = vec![(json!([1]), "body")];
    let mut r = ok.clone();
    r.as_object_mut().unwrap().remove("choices");
    cases.push((r, "choices"));
    let mut r = ok.clone();
    r["choices"] = json!([]);
    cases.push((r, "choices"));
    let mut r = ok.clone();
    r["choices"][0]["message"] = json!("text");
    cases.push((r, "choices.0.message"));
    let mut r = ok.clone();
    r["choices"][0]["message"]["tool_calls"] = json!({"id": "x"});
    cases.push((r, "choices.0.message.tool_calls"));
    let mut r = ok.clone();
    r["choices"][0]["message"]["tool_calls"] =
        json!([{"id": "c", "function": {"arguments": "{}"}}]);
    cases.push((r, "choices.0.message.tool_calls.0.function.name"));
    let mut r = ok.clone();
    r["choices"][0]["finish_reason"] = json!(3);
    cases.push((r, "choices.0.finish_reason"));
    let mut r = ok.clone();
    r["usage"]["prompt_tokens"] = json!("many");
    cases.push((r, "usage.prompt_tokens"));
    for (resp, field) in cases {
        assert_invalid(chat_to_anthropic_response(&resp, "m"), field);
    }
}

// ------------------------------------------------------------------------------------------
// Anthropic message → Chat response
// ------------------------------------------------------------------------------------------

fn anthropic_response(content: Value, stop_reason: Value) -> Value {
    json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5,
                  "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20},
    })
}

#[test]
fn anthropic_message_becomes_chat_completion() {
    let resp = anthropic_response(
        json!([
            {"type": "thinking", "thinking": "Plan.", "signature": "sig"},
            {"type": "text", "text": "I'll look."},
            {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "/a b"}},
        ]),
        json!("tool_use"),
    );
    assert_eq!(
        anthropic_to_chat_response(&resp, 1_700_000_000).unwrap(),
        json!({
            "id": "msg_1",
            "object": "chat.completion",
            "created": 1_700_000_000u64,
            "model": "claude-sonnet-4-6",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "I'll look.",
                    "refusal": null,
                    "tool_calls": [{"id": "toolu_1", "type": "function",
                                    "function": {"name": "Read", "arguments": "{\"path\":\"/a b\"}"}}],
                    "reasoning_content": "Plan.",
                },
                "logprobs": null,
                "finish_reason": "tool_calls",
            }],
            "usage": {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                      "prompt_tokens_details": {"cached_tokens": 100}},
        })
    );
}

#[test]
fn stop_reason_maps_to_finish_reason() {
    let cases = [
        (json!("end_turn"), "stop"),
        (json!("max_tokens"), "length"),
        (json!("stop_sequence"), "stop"),
        (json!("refusal"), "content_filter"),
        (json!("pause_turn"), "stop"),
        (json!("tool_use"), "stop"),
        (json!("something_new"), "stop"),
        (Value::Null, "stop"),
    ];
    for (stop_reason, expected) in cases {
        let resp = anthropic_response(json!([{"type": "text", "text": "x"}]), stop_reason.clone());
        assert_eq!(
            anthropic_to_chat_response(&resp, 0).unwrap()["choices"][0]["finish_reason"],
            json!(expected),
            "{stop_reason}"
        );
    }
}

#[test]
fn unknown_and_server_blocks_are_skipped_and_text_without_blocks_is_null() {
    let resp = anthropic_response(
        json!([
            {"type": "redacted_thinking", "data": "enc"},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        ]),
        json!("end_turn"),
    );
    let out = anthropic_to_chat_response(&resp, 0).unwrap();
    assert_eq!(
        out["choices"][0]["message"],
        json!({"role": "assistant", "content": null, "refusal": null})
    );
    assert_eq!(out["choices"][0]["finish_reason"], json!("stop"));
}

#[test]
fn split_text_blocks_are_concatenated() {
    let resp = anthropic_response(
        json!([{"type": "text", "text": "The answer "}, {"type": "text", "text": "is 42.", "citations": []}]),
        json!("end_turn"),
    );
    assert_eq!(
        anthropic_to_chat_response(&resp, 0).unwrap()["choices"][0]["message"]["content"],
        json!("The answer is 42.")
    );
}

#[test]
fn usage_without_cache_has_no_details() {
    let mut resp = anthropic_response(json!([{"type": "text", "text": "x"}]), json!("end_turn"));
    resp["usage"] = json!({"input_tokens": 7, "output_tokens": 3});
    assert_eq!(
        anthropic_to_chat_response(&resp, 0).unwrap()["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    );
}

#[test]
fn wrong_anthropic_response_shapes_name_the_path() {
    let ok = anthropic_response(json!([{"type": "text", "text": "x"}]), json!("end_turn"));
    let mut cases: Vec<(Value, &str)> = vec![(json!("nope"), "body")];
    cases.push((
        json!({"type": "error", "error": {"type": "api_error", "message": "x"}}),
        "type",
    ));
    let mut r = ok.clone();
    r["content"] = json!("text");
    cases.push((r, "content"));
    let mut r = ok.clone();
    r["content"] = json!([{"type": "text", "text": "a"}, {"text": "b"}]);
    cases.push((r, "content.1"));
    let mut r = ok.clone();
    r["content"] = json!([{"type": "tool_use", "name": "f", "input": {}}]);
    cases.push((r, "content.0.id"));
    let mut r = ok.clone();
    r["stop_reason"] = json!(1);
    cases.push((r, "stop_reason"));
    let mut r = ok.clone();
    r["usage"]["output_tokens"] = json!(-1);
    cases.push((r, "usage.output_tokens"));
    for (resp, field) in cases {
        assert_invalid(anthropic_to_chat_response(&resp, 0), field);
    }
}

#[test]
fn response_converters_are_total_over_odd_json() {
    let odd = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!({}),
        json!({"choices": [null]}),
        json!({"choices": [{"message": {"content": [1, {"type": "text"}], "tool_calls": [null]}}]}),
        json!({"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": 5}}]}}]}),
        json!({"choices": [{"message": {"reasoning_content": 5}}]}),
        json!({"choices": [{"message": {}}], "usage": {"prompt_tokens_details": 3}}),
        json!({"choices": [{"message": {}}], "usage": {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}}),
        json!({"content": [null, 1]}),
        json!({"content": [{"type": "tool_use", "id": "x", "name": "y", "input": [1, {"a": null}]}]}),
        json!({"content": [{"type": "thinking"}], "usage": []}),
        json!({"id": 5}),
        json!({"usage": {"input_tokens": u64::MAX, "cache_read_input_tokens": u64::MAX}}),
    ];
    for v in odd {
        let _ = chat_to_anthropic_response(&v, "m");
        let _ = anthropic_to_chat_response(&v, 0);
    }
}

#[test]
fn request_converters_are_total_over_odd_json() {
    let odd = [
        json!(null),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image", "source": 3}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "assistant", "content": [{"type": "tool_use"}]}]}),
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}], "tools": [1], "tool_choice": 2, "thinking": 3, "metadata": 4}),
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
        json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [1, {"function": 2}]}]}),
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}], "tool_choice": [], "stop": 5, "temperature": "hot"}),
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -4}),
    ];
    for v in odd {
        let _ = anthropic_to_chat(&v, &chat_opts());
        let _ = chat_to_anthropic(&v, &anthropic_opts());
    }
}
