//! Streamed OpenAI Responses (`POST /v1/responses`, what Codex speaks): every scenario passes the
//! protocol crate's wire validator and says what the scenario promises, in items and events as
//! OpenAI sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use protocol::validate::{validate_responses_sse, ValidatedStream};
use serde_json::{json, Value};

/// Streams `text` and validates the stream, panicking with every violation.
async fn valid(mock: &luthien_mock_upstream::MockHandle, text: &str) -> (ValidatedStream, String) {
    let body = responses_sse(mock, text).await;
    match validate_responses_sse(body.as_bytes()) {
        Ok(summary) => (summary, body),
        Err(violations) => panic!("{text}: invalid stream: {violations:?}\n{body}"),
    }
}

/// The event types of a stream, a run of one delta type written once as `type*`.
fn shape(frames: &[Frame]) -> Vec<String> {
    let mut shape: Vec<String> = Vec::new();
    for frame in frames {
        let ty = frame
            .event
            .clone()
            .expect("every Responses frame names its event");
        let name = if ty.ends_with(".delta") {
            format!("{ty}*")
        } else {
            ty
        };
        if name.ends_with('*') && shape.last() == Some(&name) {
            continue;
        }
        shape.push(name);
    }
    shape
}

/// The data of the frames of one event type.
fn events_of(frames: &[Frame], ty: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f.event.as_deref() == Some(ty))
        .map(Frame::json)
        .collect()
}

/// The terminal event's `response`.
fn terminal(frames: &[Frame]) -> Value {
    frames.last().unwrap().json()["response"].clone()
}

#[tokio::test]
async fn a_text_stream_is_framed_numbered_and_ends_with_completed_and_full_usage() {
    let mock = mock().await;
    let response = responses(&mock, &responses_body("hi there", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert!(headers["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    assert!(headers.contains_key("x-ratelimit-remaining-requests"));
    let body = response.text().await.unwrap();
    let summary = validate_responses_sse(body.as_bytes()).unwrap();
    assert_eq!(
        summary.text,
        "Hello from the Luthien mock upstream. You said: hi there"
    );
    assert_eq!(summary.stop_reason.as_deref(), Some("completed"));
    assert!(!summary.ended_with_error);

    let frames = frames(&body);
    assert_eq!(
        shape(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta*",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (n, frame) in frames.iter().enumerate() {
        let data = frame.json();
        let keys: Vec<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys[..2], ["type", "sequence_number"], "{data}");
        assert_eq!(data["sequence_number"], n);
        assert_eq!(Some(data["type"].as_str().unwrap()), frame.event.as_deref());
    }
    let created = &frames[0].json()["response"];
    assert!(created["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(created["object"], "response");
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["model"], "gpt-5");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["usage"], Value::Null);
    let done = terminal(&frames);
    assert_eq!(done["id"], created["id"]);
    assert_eq!(done["created_at"], created["created_at"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["incomplete_details"], Value::Null);

    let usage = &done["usage"];
    let keys: Vec<&str> = usage
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "output_tokens_details",
            "total_tokens"
        ]
    );
    assert_eq!(usage["input_tokens_details"], json!({"cached_tokens": 0}));
    assert_eq!(
        usage["output_tokens_details"],
        json!({"reasoning_tokens": 0})
    );
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
    );

    let item = &events_of(&frames, "response.output_item.added")[0]["item"];
    assert!(item["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        *item,
        json!({"id": item["id"], "type": "message", "status": "in_progress", "content": [], "role": "assistant"})
    );
    for delta in events_of(&frames, "response.output_text.delta") {
        assert_eq!(delta["item_id"], item["id"]);
        assert_eq!(delta["output_index"], 0);
        assert_eq!(delta["content_index"], 0);
        assert_eq!(delta["logprobs"], json!([]));
        assert!(!delta["obfuscation"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn text_deltas_and_long_directives_stream_their_text() {
    let mock = mock().await;
    let (summary, _) = valid(&mock, "mock:text Exactly this, please.").await;
    assert_eq!(summary.text, "Exactly this, please.");

    let (summary, body) = valid(&mock, "mock:deltas 20").await;
    let deltas: Vec<String> = events_of(&frames(&body), "response.output_text.delta")
        .iter()
        .map(|d| d["delta"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("w{i} ")).collect();
    assert_eq!(deltas, expected);
    assert_eq!(summary.text, expected.concat());

    let (summary, _) = valid(&mock, "mock:deltas 0").await;
    assert_eq!(summary.text, "");

    let (summary, _) = valid(&mock, "mock:long").await;
    let words = summary.text.split_whitespace().count();
    assert!((1_900..=2_100).contains(&words), "{words}");
}

#[tokio::test]
async fn tool_directive_streams_a_message_then_a_function_call_in_at_least_three_deltas() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, r#"mock:tool exec_command {"cmd":"touch /tmp/x"}"#).await;
    assert_eq!(summary.text, "I'll use exec_command.");
    assert_eq!(summary.stop_reason.as_deref(), Some("completed"));
    assert_eq!(summary.tool_calls.len(), 1);
    let call = &summary.tool_calls[0];
    assert_eq!(call.name, "exec_command");
    assert_eq!(call.input, json!({"cmd": "touch /tmp/x"}));
    assert!(call.id.starts_with("call_"), "{}", call.id);

    let frames = frames(&body);
    let added = events_of(&frames, "response.output_item.added");
    let item = &added[1]["item"];
    assert!(item["id"].as_str().unwrap().starts_with("fc_"));
    assert_eq!(
        *item,
        json!({"id": item["id"], "type": "function_call", "status": "in_progress", "arguments": "", "call_id": call.id, "name": "exec_command"})
    );
    let deltas = events_of(&frames, "response.function_call_arguments.delta");
    assert!(deltas.len() >= 3, "{} deltas", deltas.len());
    assert!(deltas.iter().all(|d| d["output_index"] == 1
        && d["item_id"] == item["id"]
        && d.get("obfuscation").is_some()));
    let done = &events_of(&frames, "response.function_call_arguments.done")[0];
    assert_eq!(done["arguments"], r#"{"cmd":"touch /tmp/x"}"#);
    let output = &terminal(&frames)["output"];
    assert_eq!(output[1]["status"], "completed");
    assert_eq!(output[1]["arguments"], r#"{"cmd":"touch /tmp/x"}"#);
}

#[tokio::test]
async fn tools_directive_streams_n_function_calls() {
    let mock = mock().await;
    let (summary, _) = valid(&mock, "mock:tools 3").await;
    assert_eq!(summary.text, "I'll check the weather in each city.");
    let calls: Vec<(&str, &Value)> = summary
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), &c.input))
        .collect();
    assert_eq!(
        calls,
        [
            ("get_weather", &json!({"city": "City0", "unit": "celsius"})),
            ("get_weather", &json!({"city": "City1", "unit": "celsius"})),
            ("get_weather", &json!({"city": "City2", "unit": "celsius"})),
        ]
    );
    let ids: std::collections::HashSet<&str> =
        summary.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "call ids are unique");
}

#[tokio::test]
async fn custom_directive_streams_a_custom_tool_call_with_the_rest_of_the_text() {
    let mock = mock().await;
    let patch = "*** Begin Patch\n*** Update File: README.md\n@@\n-Helo, world\n+Hello, world\n*** End Patch";
    let (summary, body) = valid(
        &mock,
        &format!("Fix the typo.\nmock:custom apply_patch {patch}\n"),
    )
    .await;
    assert_eq!(summary.text, "");
    assert_eq!(summary.stop_reason.as_deref(), Some("completed"));
    assert_eq!(summary.tool_calls.len(), 1);
    let call = &summary.tool_calls[0];
    assert_eq!(call.name, "apply_patch");
    assert_eq!(call.input, Value::String(patch.into()));
    assert!(call.id.starts_with("call_"));

    let frames = frames(&body);
    assert_eq!(
        shape(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.custom_tool_call_input.delta*",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let item = &events_of(&frames, "response.output_item.added")[0]["item"];
    assert!(item["id"].as_str().unwrap().starts_with("ctc_"));
    assert_eq!(
        *item,
        json!({"id": item["id"], "type": "custom_tool_call", "status": "in_progress", "call_id": call.id, "input": "", "name": "apply_patch"})
    );
    let deltas = events_of(&frames, "response.custom_tool_call_input.delta");
    assert!(deltas.len() >= 2, "{} deltas", deltas.len());
    let done = &events_of(&frames, "response.output_item.done")[0]["item"];
    assert_eq!(done["input"], patch);
    assert_eq!(done["status"], "completed");
}

#[tokio::test]
async fn thinking_streams_a_reasoning_item_with_summary_and_encrypted_content_then_text() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, "mock:thinking").await;
    assert!(summary
        .thinking
        .starts_with("The user wants me to think first."));
    assert_eq!(
        summary.text,
        "Having thought it through, here is my answer."
    );
    let frames = frames(&body);
    assert_eq!(
        shape(&frames)[2..9],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta*",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
        ]
    );
    let reasoning = &terminal(&frames)["output"][0];
    assert!(reasoning["id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(reasoning["type"], "reasoning");
    assert!(reasoning["encrypted_content"]
        .as_str()
        .unwrap()
        .starts_with("gAAAAAB"));
    assert_eq!(
        reasoning["summary"],
        json!([{"type": "summary_text", "text": summary.thinking}])
    );
    let usage = &terminal(&frames)["usage"];
    assert!(usage["output_tokens_details"]["reasoning_tokens"].as_u64() > Some(0));
    assert!(
        usage["output_tokens"].as_u64()
            > usage["output_tokens_details"]["reasoning_tokens"].as_u64()
    );
}

#[tokio::test]
async fn max_tokens_ends_with_response_incomplete_for_max_output_tokens() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, "mock:max_tokens").await;
    assert_eq!(summary.stop_reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(summary.text, "This reply stops early because it ran out of");
    let frames = frames(&body);
    assert_eq!(
        frames.last().unwrap().event.as_deref(),
        Some("response.incomplete")
    );
    let response = terminal(&frames);
    assert_eq!(response["status"], "incomplete");
    assert_eq!(
        response["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(response["output"][0]["status"], "incomplete");
    assert!(response["usage"]["output_tokens"].as_u64() > Some(0));
}

#[tokio::test]
async fn stop_sequence_and_judge_complete_with_their_text() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, "mock:stop_sequence END").await;
    assert_eq!(summary.text, "This reply ends at a stop sequence.");
    assert_eq!(summary.stop_reason.as_deref(), Some("completed"));
    assert!(
        !body.contains("stop_sequence"),
        "Responses has no stop sequence to report"
    );

    let (summary, _) = valid(&mock, "mock:judge 0.9").await;
    assert_eq!(
        summary.text,
        r#"{"probability": 0.9, "explanation": "mock judge verdict"}"#
    );
    let (summary, _) = valid(&mock, "mock:judge fenced 0.2").await;
    assert!(summary.text.contains("```json\n{\"probability\": 0.2"));
}

#[tokio::test]
async fn truncate_fails_validation_for_the_missing_terminal_event() {
    let mock = mock().await;
    let body = responses_sse(&mock, "mock:truncate").await;
    let violations = validate_responses_sse(body.as_bytes()).unwrap_err();
    assert!(
        violations
            .iter()
            .any(|v| v.0.contains("ended without response.completed")),
        "{violations:?}"
    );
    assert_eq!(
        violations.len(),
        1,
        "only the ending is wrong: {violations:?}"
    );
    let frames = frames(&body);
    let last = frames.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("response.output_text.delta"));
    assert!(events_of(&frames, "response.output_text.delta").len() >= 2);
}

#[tokio::test]
async fn midstream_error_sends_some_text_then_response_failed() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, "mock:midstream_error").await;
    assert!(summary.ended_with_error);
    assert_eq!(summary.stop_reason.as_deref(), Some("failed"));
    let frames = frames(&body);
    assert!(!events_of(&frames, "response.output_text.delta").is_empty());
    assert_eq!(
        frames.last().unwrap().event.as_deref(),
        Some("response.failed")
    );
    let response = terminal(&frames);
    assert_eq!(response["status"], "failed");
    assert_eq!(response["error"]["code"], "server_error");
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("error"));
}

#[tokio::test]
async fn midstream_error_event_sends_some_text_then_a_bare_error_event() {
    let mock = mock().await;
    let (summary, body) = valid(&mock, "mock:midstream_error event").await;
    assert!(summary.ended_with_error);
    let frames = frames(&body);
    let last = frames.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    let data = last.json();
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["type", "sequence_number", "code", "message", "param"]
    );
    assert_eq!(data["code"], "server_error");
}

#[tokio::test]
async fn slow_stall_and_stall_mid_keep_their_timing_and_stay_valid() {
    let mock = mock().await;
    let started = Instant::now();
    let response = responses(&mock, &responses_body("mock:slow 100 3 50", true))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    let timed = timed_frames(response, started).await;
    let deltas: Vec<Duration> = timed
        .iter()
        .filter(|(_, f)| f.event.as_deref() == Some("response.output_text.delta"))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(deltas.len(), 3);
    assert!(deltas[2] - deltas[0] >= Duration::from_millis(90));

    let started = Instant::now();
    let (summary, _) = valid(&mock, "mock:stall 200").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(summary.text, "Sorry for the wait: I stalled for 200 ms.");

    let started = Instant::now();
    let response = responses(&mock, &responses_body("mock:stall_mid 200", true))
        .send()
        .await
        .unwrap();
    let timed = timed_frames(response, started).await;
    let deltas: Vec<Duration> = timed
        .iter()
        .filter(|(_, f)| f.event.as_deref() == Some("response.output_text.delta"))
        .map(|(at, _)| *at)
        .collect();
    assert!(
        deltas[0] < Duration::from_millis(150),
        "first delta at once"
    );
    assert!(deltas[1] - deltas[0] >= Duration::from_millis(200));
    let (summary, _) = valid(&mock, "mock:stall_mid 10").await;
    assert!(summary.text.starts_with("Starting the reply"));
}

#[tokio::test]
async fn every_directive_streams_a_valid_response() {
    let mock = mock().await;
    for directive in [
        "no directive at all",
        "mock:text hi",
        "mock:deltas 5",
        "mock:long",
        "mock:tool Read",
        "mock:tools 2",
        "mock:custom shell echo hi",
        "mock:thinking",
        "mock:slow 0 4 0",
        "mock:stall 0",
        "mock:stall_mid 0",
        "mock:midstream_error",
        "mock:midstream_error event",
        "mock:max_tokens",
        "mock:stop_sequence STOP",
        "mock:judge garbage",
        "mock:dance",
    ] {
        let (summary, _) = valid(&mock, directive).await;
        assert!(summary.events >= 3, "{directive}");
    }
}

#[tokio::test]
async fn the_scenario_header_and_a_string_input_work_too() {
    let mock = mock().await;
    let body = ok_text(
        responses(
            &mock,
            &json!({"model": "gpt-5", "stream": true, "input": "plain string input"}),
        )
        .header("x-mock-scenario", "text from the header"),
    )
    .await;
    let summary = validate_responses_sse(body.as_bytes()).unwrap();
    assert_eq!(summary.text, "from the header");

    let body = ok_text(responses(
        &mock,
        &json!({"model": "gpt-5", "stream": true, "input": "mock:text from a string"}),
    ))
    .await;
    let summary = validate_responses_sse(body.as_bytes()).unwrap();
    assert_eq!(summary.text, "from a string");
}

#[tokio::test]
async fn obfuscation_can_be_turned_off_and_request_parameters_are_echoed() {
    let mock = mock().await;
    let mut request = responses_body("mock:tool exec_command {\"cmd\":\"ls\"}", true);
    request["stream_options"] = json!({"include_obfuscation": false});
    request["instructions"] = json!("Be brief.");
    request["store"] = json!(false);
    request["reasoning"] = json!({"effort": "medium"});
    request["text"] = json!({"verbosity": "low"});
    request["tools"] =
        json!([{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]);
    request["prompt_cache_key"] = json!("key-1");
    let body = ok_text(responses(&mock, &request)).await;
    validate_responses_sse(body.as_bytes()).unwrap();
    assert!(!body.contains("obfuscation"));
    let frames = frames(&body);
    for response in [frames[0].json()["response"].clone(), terminal(&frames)] {
        assert_eq!(response["instructions"], "Be brief.");
        assert_eq!(response["store"], false);
        assert_eq!(
            response["reasoning"],
            json!({"effort": "medium", "summary": null})
        );
        assert_eq!(
            response["text"],
            json!({"format": {"type": "text"}, "verbosity": "low"})
        );
        assert_eq!(response["tools"], request["tools"]);
        assert_eq!(response["prompt_cache_key"], "key-1");
        assert_eq!(response["tool_choice"], "auto");
        assert_eq!(response["parallel_tool_calls"], true);
    }
}
