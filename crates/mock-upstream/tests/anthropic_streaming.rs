//! Streamed Anthropic replies: the exact event sequence of every scenario, as the real API
//! frames it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

fn shape(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn no_directive_echoes_the_user_text_in_deltas_of_three_words() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "hi there, how are you today?").await;
    assert_eq!(
        anthropic_shape(&frames),
        shape(&[
            "message_start",
            "content_block_start",
            "ping",
            "text_delta*",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ])
    );
    let deltas = anthropic_deltas(&frames, "text_delta", "text");
    assert_eq!(
        deltas.concat(),
        "Hello from the Luthien mock upstream. You said: hi there, how are you today?"
    );
    assert!(deltas.len() >= 4);
    assert!(deltas.iter().all(|d| d.split_whitespace().count() <= 3));
}

#[tokio::test]
async fn frames_are_written_exactly_as_the_real_api_writes_them() {
    let mock = mock().await;
    let body = ok_text(anthropic(&mock, &anthropic_body("mock:text one", true))).await;
    let frames = frames(&body);
    let start = &frames[0];
    assert_eq!(start.event.as_deref(), Some("message_start"));
    let id = start.json()["message"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("msg_01") && id.len() == 28, "{id}");
    let expected = [
        format!(
            "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{{\"input_tokens\":4,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}}}}\n\n"
        ),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_owned(),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n".to_owned(),
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"one\"}}\n\n".to_owned(),
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".to_owned(),
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}\n\n".to_owned(),
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(body, expected);
}

#[tokio::test]
async fn text_directive_streams_exactly_the_text_to_the_end_of_its_line() {
    let mock = mock().await;
    let frames = anthropic_stream(
        &mock,
        "Please answer.\nmock:text The quick brown fox jumps over the lazy dog.\nignored line",
    )
    .await;
    let deltas = anthropic_deltas(&frames, "text_delta", "text");
    assert_eq!(
        deltas.concat(),
        "The quick brown fox jumps over the lazy dog."
    );
    assert_eq!(deltas[0], "The quick brown ");
}

#[tokio::test]
async fn deltas_directive_streams_exactly_n_numbered_deltas() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:deltas 20").await;
    let deltas = anthropic_deltas(&frames, "text_delta", "text");
    let expected: Vec<String> = (0..20).map(|i| format!("w{i} ")).collect();
    assert_eq!(deltas, expected);
    assert_eq!(frames.len(), 20 + 6);
}

#[tokio::test]
async fn long_directive_streams_about_two_thousand_words() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:long").await;
    let text = anthropic_deltas(&frames, "text_delta", "text").concat();
    let words = text.split_whitespace().count();
    assert!((1_900..=2_100).contains(&words), "{words} words");
}

#[tokio::test]
async fn tool_directive_streams_a_text_block_then_the_tool_call_in_fragments() {
    let mock = mock().await;
    let frames =
        anthropic_stream(&mock, r#"Do it. mock:tool Bash {"command":"touch /tmp/x"}"#).await;
    assert_eq!(
        anthropic_shape(&frames),
        shape(&[
            "message_start",
            "content_block_start",
            "ping",
            "text_delta*",
            "content_block_stop",
            "content_block_start",
            "input_json_delta*",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ])
    );
    assert_eq!(
        anthropic_deltas(&frames, "text_delta", "text").concat(),
        "I'll use Bash."
    );
    let block = frames[5].json();
    assert_eq!(block["index"], 1);
    assert_eq!(block["content_block"]["type"], "tool_use");
    assert_eq!(block["content_block"]["name"], "Bash");
    assert_eq!(block["content_block"]["input"], json!({}));
    assert!(block["content_block"]["id"]
        .as_str()
        .unwrap()
        .starts_with("toolu_01"));
    let fragments = anthropic_deltas(&frames, "input_json_delta", "partial_json");
    assert!(fragments.len() >= 3, "{fragments:?}");
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(input, json!({"command": "touch /tmp/x"}));
    let end = frames[frames.len() - 2].json();
    assert_eq!(end["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn tools_directive_streams_n_weather_calls_with_indices_in_order() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:tools 3").await;
    let starts: Vec<Value> = frames
        .iter()
        .filter(|f| f.event.as_deref() == Some("content_block_start"))
        .map(Frame::json)
        .collect();
    assert_eq!(starts.len(), 4);
    for (i, start) in starts.iter().enumerate() {
        assert_eq!(start["index"], i);
    }
    let inputs: Vec<Value> = (1..=3)
        .map(|index| {
            let json: String = frames
                .iter()
                .filter(|f| f.event.as_deref() == Some("content_block_delta"))
                .map(Frame::json)
                .filter(|j| j["index"] == index)
                .map(|j| j["delta"]["partial_json"].as_str().unwrap().to_owned())
                .collect();
            serde_json::from_str(&json).unwrap()
        })
        .collect();
    assert_eq!(
        inputs,
        vec![
            json!({"city": "City0", "unit": "celsius"}),
            json!({"city": "City1", "unit": "celsius"}),
            json!({"city": "City2", "unit": "celsius"}),
        ]
    );
    let ids: std::collections::HashSet<&str> = starts[1..]
        .iter()
        .map(|s| s["content_block"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "tool ids are unique");
}

#[tokio::test]
async fn thinking_directive_streams_thinking_then_a_signature_then_text() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:thinking").await;
    assert_eq!(
        anthropic_shape(&frames),
        shape(&[
            "message_start",
            "content_block_start",
            "ping",
            "thinking_delta*",
            "signature_delta",
            "content_block_stop",
            "content_block_start",
            "text_delta*",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ])
    );
    assert_eq!(
        frames[1].json()["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    let signature = &anthropic_deltas(&frames, "signature_delta", "signature")[0];
    assert!(signature.len() > 200);
    assert!(signature
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)));
    assert!(!anthropic_deltas(&frames, "thinking_delta", "thinking")
        .concat()
        .is_empty());
}

#[tokio::test]
async fn max_tokens_directive_ends_with_stop_reason_max_tokens() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:max_tokens").await;
    let delta = frames[frames.len() - 2].json();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "max_tokens", "stop_sequence": null})
    );
}

#[tokio::test]
async fn stop_sequence_directive_reports_the_sequence() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:stop_sequence ###").await;
    let delta = frames[frames.len() - 2].json();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "###"})
    );
}

#[tokio::test]
async fn truncate_directive_closes_the_body_before_the_stream_ends() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:truncate").await;
    assert_eq!(
        anthropic_shape(&frames),
        shape(&[
            "message_start",
            "content_block_start",
            "ping",
            "text_delta*"
        ])
    );
    assert!(anthropic_deltas(&frames, "text_delta", "text").len() >= 2);
}

#[tokio::test]
async fn midstream_error_directive_sends_text_then_an_overloaded_error_event() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:midstream_error").await;
    assert_eq!(
        anthropic_shape(&frames),
        shape(&[
            "message_start",
            "content_block_start",
            "ping",
            "text_delta*",
            "error"
        ])
    );
    assert_eq!(
        frames.last().unwrap().data,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
    );
}

#[tokio::test]
async fn a_tool_result_without_directive_is_acknowledged() {
    let mock = mock().await;
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "stream": true,
        "messages": [
            {"role": "user", "content": "mock:tool Bash {\"command\":\"ls\"}"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll use Bash."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "file1\nfile2"}]},
                {"type": "text", "text": "<system-reminder>budget</system-reminder>"}
            ]}
        ]
    });
    let frames = frames(&ok_text(anthropic(&mock, &body)).await);
    assert_eq!(
        anthropic_deltas(&frames, "text_delta", "text").concat(),
        "Tool result received: file1\nfile2"
    );
}

#[tokio::test]
async fn the_scenario_header_overrides_the_message() {
    let mock = mock().await;
    let body = ok_text(
        anthropic(&mock, &anthropic_body("mock:long", true)).header("x-mock-scenario", "deltas 2"),
    )
    .await;
    assert_eq!(
        anthropic_deltas(&frames(&body), "text_delta", "text"),
        vec!["w0 ", "w1 "]
    );
}

#[tokio::test]
async fn an_unknown_directive_is_explained_in_the_reply() {
    let mock = mock().await;
    let frames = anthropic_stream(&mock, "mock:dance").await;
    let text = anthropic_deltas(&frames, "text_delta", "text").concat();
    assert!(
        text.contains("Unknown mock scenario `mock:dance`"),
        "{text}"
    );
}

#[tokio::test]
async fn stream_responses_carry_the_event_stream_type_and_anthropic_headers() {
    let mock = mock().await;
    let response = client()
        .post(format!("{}/v1/messages?beta=true", mock.base_url()))
        .header("authorization", "Bearer sk-ant-oat-test")
        .header("anthropic-version", "2023-06-01")
        .json(&anthropic_body("hello", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(h["content-type"], "text/event-stream; charset=utf-8");
    assert!(h["request-id"].to_str().unwrap().starts_with("req_011C"));
    assert_eq!(h["anthropic-ratelimit-requests-limit"], "4000");
    assert_eq!(h["anthropic-ratelimit-requests-remaining"], "3999");
    assert!(h.contains_key("anthropic-ratelimit-tokens-reset"));
    let frames = frames(&response.text().await.unwrap());
    assert_eq!(
        frames.last().unwrap().event.as_deref(),
        Some("message_stop")
    );
}
