//! The OpenAI Responses endpoint beyond the stream's shape: non-streaming replies carry the same
//! content as the stream's final `response`, errors and validation speak OpenAI's format, a
//! tool output as the last input item (Codex's follow-up turn) is answered with text, and
//! requests and streams are recorded like on the other endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use luthien_mock_upstream::StreamStats;
use protocol::validate::validate_responses_sse;
use serde_json::{json, Value};

/// `value` without the fields that differ between two replies (ids, timestamps).
fn without_ids(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "call_id" | "created_at"))
                .map(|(k, v)| (k.clone(), without_ids(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_ids).collect()),
        other => other.clone(),
    }
}

/// The `response` of a stream's terminal event.
async fn streamed_response(mock: &luthien_mock_upstream::MockHandle, text: &str) -> Value {
    let body = responses_sse(mock, text).await;
    validate_responses_sse(body.as_bytes()).unwrap();
    frames(&body).last().unwrap().json()["response"].clone()
}

#[tokio::test]
async fn a_non_streaming_reply_is_the_streams_final_response_object() {
    let mock = mock().await;
    for directive in [
        "hello",
        "mock:text Exactly this.",
        "mock:deltas 4",
        r#"mock:tool exec_command {"cmd":"ls -la"}"#,
        "mock:tools 2",
        "mock:custom apply_patch *** Begin Patch\n*** End Patch",
        "mock:thinking",
        "mock:max_tokens",
        "mock:stop_sequence X",
        "mock:judge 0.5",
    ] {
        let object = responses_object(&mock, directive).await;
        let streamed = streamed_response(&mock, directive).await;
        assert_eq!(without_ids(&object), without_ids(&streamed), "{directive}");
        assert!(object["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(object["object"], "response");
    }
}

#[tokio::test]
async fn a_non_streaming_reply_has_the_items_status_and_usage() {
    let mock = mock().await;
    let object = responses_object(&mock, r#"mock:tool exec_command {"cmd":"ls"}"#).await;
    let keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[..4], ["id", "object", "created_at", "status"]);
    assert_eq!(object["status"], "completed");
    let output = object["output"].as_array().unwrap();
    assert_eq!(output.len(), 2);
    assert_eq!(output[0]["type"], "message");
    assert_eq!(output[0]["content"][0]["text"], "I'll use exec_command.");
    assert_eq!(output[1]["type"], "function_call");
    assert_eq!(output[1]["name"], "exec_command");
    assert_eq!(output[1]["arguments"], r#"{"cmd":"ls"}"#);
    assert!(output[1]["call_id"].as_str().unwrap().starts_with("call_"));
    assert!(output[1]["id"].as_str().unwrap().starts_with("fc_"));
    let usage = &object["usage"];
    for key in ["input_tokens", "output_tokens", "total_tokens"] {
        assert!(usage[key].as_u64().unwrap() > 0, "{key}");
    }
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 0);

    let object = responses_object(&mock, "mock:max_tokens").await;
    assert_eq!(object["status"], "incomplete");
    assert_eq!(
        object["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );

    let object = responses_object(&mock, "mock:custom apply_patch *** Begin Patch").await;
    assert_eq!(object["output"][0]["type"], "custom_tool_call");
    assert_eq!(object["output"][0]["input"], "*** Begin Patch");
}

#[tokio::test]
async fn non_streaming_truncate_cuts_the_json_and_midstream_error_is_a_500() {
    let mock = mock().await;
    let body = ok_text(responses(&mock, &responses_body("mock:truncate", false))).await;
    assert!(body.starts_with(r#"{"id":"resp_"#));
    assert!(serde_json::from_str::<Value>(&body).is_err());

    let response = responses(&mock, &responses_body("mock:midstream_error", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
}

#[tokio::test]
async fn error_directives_answer_openai_error_bodies_streaming_or_not() {
    let mock = mock().await;
    for stream in [false, true] {
        for (status, kind, code) in [
            (400, "invalid_request_error", Value::Null),
            (429, "requests", json!("rate_limit_exceeded")),
            (500, "server_error", Value::Null),
            (503, "server_error", Value::Null),
        ] {
            let response = responses(
                &mock,
                &responses_body(&format!("mock:error {status}"), stream),
            )
            .send()
            .await
            .unwrap();
            assert_eq!(response.status().as_u16(), status);
            let headers = response.headers().clone();
            assert_eq!(headers["content-type"], "application/json");
            assert!(headers["x-request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_"));
            if status == 429 {
                assert_eq!(headers["retry-after"], "1");
                assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
                assert!(headers.contains_key("x-ratelimit-reset-requests"));
            } else {
                assert!(!headers.contains_key("retry-after"));
            }
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({"error": {
                    "message": format!("mock: simulated {status}"),
                    "type": kind,
                    "param": null,
                    "code": code,
                }})
            );
        }
    }
}

#[tokio::test]
async fn requests_are_validated_as_openai_validates_them() {
    let mock = mock().await;
    let url = format!("{}/v1/responses", mock.base_url());
    let response = client()
        .post(&url)
        .json(&responses_body("hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");

    let response = responses(&mock, &json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {
            "message": "Missing required parameter: 'model'.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "missing_required_parameter",
        }})
    );

    let response = responses(&mock, &json!({"model": "gpt-5", "input": {"text": "hi"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["param"], "input");
    assert_eq!(body["error"]["code"], "invalid_type");

    let response = client()
        .post(&url)
        .bearer_auth("sk-test")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_trailing_function_call_output_is_answered_with_text_so_the_agent_loop_ends() {
    let mock = mock().await;
    // Codex's follow-up turn: the prompt, its own earlier reply and call, then the tool output.
    let request = json!({
        "model": "gpt-5",
        "stream": true,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": r#"mock:tool exec_command {"cmd":"ls"}"#}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "I'll use exec_command."}]},
            {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": r#"{"cmd":"ls"}"#},
            {"type": "function_call_output", "call_id": "call_1", "output": "Process exited with code 0\nOutput:\nREADME.md\n"},
        ],
    });
    let body = ok_text(responses(&mock, &request)).await;
    let summary = validate_responses_sse(body.as_bytes()).unwrap();
    assert!(summary.tool_calls.is_empty());
    assert_eq!(
        summary.text,
        "Tool result received: Process exited with code 0\nOutput:\nREADME.md\n"
    );

    // A custom tool's output (apply_patch) ends the loop the same way; parts are read as text.
    let request = json!({
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": "mock:custom apply_patch *** Begin Patch"},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "Success."}]},
        ],
    });
    let object: Value = serde_json::from_str(&ok_text(responses(&mock, &request)).await).unwrap();
    assert_eq!(object["output"].as_array().unwrap().len(), 1);
    assert_eq!(
        object["output"][0]["content"][0]["text"],
        "Tool result received: Success."
    );
}

#[tokio::test]
async fn responses_requests_are_recorded_and_streams_counted() {
    let mock = mock().await;
    let body = responses_body("mock:deltas 3", true);
    let _ = ok_text(
        responses(&mock, &body)
            .header("originator", "codex_exec")
            .header("accept", "text/event-stream"),
    )
    .await;
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/responses");
    assert_eq!(r.header("originator"), Some("codex_exec"));
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(r.json(), Some(body));
    assert!(
        eventually(|| mock.stats()
            == StreamStats {
                started: 1,
                completed: 1,
                cancelled: 0
            })
        .await,
        "{:?}",
        mock.stats()
    );

    let mut response = responses(&mock, &responses_body("mock:slow 0 200 20", true))
        .send()
        .await
        .unwrap();
    assert!(!response.chunk().await.unwrap().unwrap().is_empty());
    drop(response);
    assert!(
        eventually(|| mock.stats()
            == StreamStats {
                started: 2,
                completed: 1,
                cancelled: 1
            })
        .await,
        "{:?}",
        mock.stats()
    );
}
