//! `POST /v1/responses` (the OpenAI Responses API, what Codex speaks): native passthrough to an
//! OpenAI upstream byte for byte, conversion to Anthropic and Chat Completions upstreams
//! (streaming and not), Codex's custom `apply_patch` tool across conversions, policies on
//! Responses streams, and errors in OpenAI's format. Every stream is checked by the Responses
//! wire-invariant validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use protocol::validate::{validate_responses_sse, ValidatedStream};
use serde_json::{json, Value};

const CODEX_WIRE: &[u8] = include_bytes!("../../protocol/tests/fixtures/responses_codex.sse");

const LOCAL: &str = "providers:\n  local:\n    kind: openai_compatible\n    base_url: \"{MOCK}/v1\"\n    models: [llama3]\n";

fn responses_request(gw: &Gateway, body: &Value) -> reqwest::RequestBuilder {
    gw.http
        .post(format!("{}/v1/responses", gw.url))
        .bearer_auth("test-key")
        .json(body)
}

/// A Codex-shaped request: developer instructions, the user's text, Codex's tools.
fn codex_body(model: &str, text: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "instructions": "You are Codex.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox: none"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Run a command",
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "custom", "name": "apply_patch", "description": "Apply a patch",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
            {"type": "web_search"}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "medium"},
        "store": false,
        "stream": stream,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a-session"
    })
}

/// A harness whose gateway runs the policy `class`; the policy file goes when the guard drops.
async fn with_policy(class: &str) -> (Harness, PolicyFile) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("luthien-resp-{}-{n}.yaml", std::process::id()));
    std::fs::write(&path, format!("policy:\n  class: {class}\n")).unwrap();
    let h = Harness::start(&["--policy-config", path.to_str().unwrap()]).await;
    (h, PolicyFile(path))
}

/// Removes a policy file when dropped.
struct PolicyFile(std::path::PathBuf);

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The transaction's record once the recorder has written it (it writes in batches).
async fn recorded(gw: &Gateway, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = gw
            .http
            .get(format!("{}/api/history/transactions/{id}", gw.url))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return r.json().await.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "transaction {id} never recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn responses_stream(resp: reqwest::Response) -> ValidatedStream {
    assert_eq!(resp.status(), 200, "status");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
    let bytes = body_bytes(resp).await;
    validate_responses_sse(&bytes).unwrap_or_else(|v| {
        panic!(
            "invariants broken: {v:?}\n--- stream ---\n{}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

#[tokio::test]
async fn a_native_openai_stream_reaches_the_client_byte_for_byte() {
    let up = fixed_upstream(
        200,
        vec![
            ("content-type", "text/event-stream"),
            ("x-request-id", "req_resp_1"),
        ],
        CODEX_WIRE,
    )
    .await;
    let gw = start_gateway(settings_for(&up, &[]), None).await;
    let resp = responses_request(&gw, &codex_body("gpt-5.5", "fix the tests", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "req_resp_1");
    assert!(resp.headers().contains_key("x-luthien-transaction-id"));
    assert_eq!(body_bytes(resp).await.as_ref(), CODEX_WIRE);
}

#[tokio::test]
async fn a_responses_client_streams_from_an_anthropic_upstream() {
    let h = Harness::start(&[]).await;
    let resp = responses_request(
        &h.gw,
        &codex_body(
            "claude-sonnet-4-5",
            "hello mock:text converted answer",
            true,
        ),
    )
    .send()
    .await
    .unwrap();
    let s = responses_stream(resp).await;
    assert_eq!(s.text, "converted answer");
    assert!(!s.ended_with_error);
    // The upstream got an Anthropic request: instructions as system, the developer message too,
    // Codex's tools as functions, web_search dropped.
    let sent = h.mock.requests().into_iter().last().unwrap();
    assert_eq!(sent.path, "/v1/messages");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert!(
        body["system"].to_string().contains("You are Codex."),
        "{body}"
    );
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["exec_command", "apply_patch"], "{body}");
}

#[tokio::test]
async fn exec_command_and_apply_patch_calls_come_back_in_codex_shapes_from_anthropic() {
    let h = Harness::start(&[]).await;
    let run = r#"mock:tool exec_command {"cmd":"ls -la"}"#;
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("claude-sonnet-4-5", run, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 1, "{s:?}");
    assert_eq!(s.tool_calls[0].name, "exec_command");
    assert_eq!(s.tool_calls[0].input, json!({"cmd": "ls -la"}));

    // Anthropic only knows functions: apply_patch travels as a one-string function and comes
    // back to Codex as its own custom tool call.
    let patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch";
    let directive = format!("mock:tool apply_patch {}", json!({ "input": patch }));
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("claude-sonnet-4-5", &directive, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 1, "{s:?}");
    assert_eq!(s.tool_calls[0].name, "apply_patch");
    assert_eq!(
        s.tool_calls[0].input,
        json!(patch),
        "a custom call's input is its text"
    );
}

#[tokio::test]
async fn a_responses_client_gets_a_response_object_from_an_anthropic_upstream() {
    let h = Harness::start(&[]).await;
    let resp = responses_request(
        &h.gw,
        &codex_body("claude-sonnet-4-5", "mock:text plain answer", false),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "response", "{v}");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "claude-sonnet-4-5");
    let text: String = v["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().clone())
        .filter_map(|c| c["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "plain answer");
    assert!(v["usage"]["input_tokens"].as_u64().is_some(), "{v}");
}

#[tokio::test]
async fn a_responses_client_streams_from_a_chat_only_server() {
    let h = Harness::with_routing(&[], LOCAL).await;
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("local/llama3", "mock:deltas 5", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.text, "w0 w1 w2 w3 w4 ");
    let sent = h.mock.requests().into_iter().last().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["model"], "llama3");
    assert_eq!(body["messages"][0]["role"], "system", "{body}");
}

#[tokio::test]
async fn a_dangerous_exec_command_is_removed_and_the_stream_stays_valid() {
    let (h, _file) = with_policy("block_dangerous_commands").await;
    let run = r#"Cleaning up. mock:tool exec_command {"cmd":"sudo rm -rf /"}"#;
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("claude-sonnet-4-5", run, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.tool_calls.is_empty(), "the call was removed: {s:?}");
    assert!(
        s.text.to_lowercase().contains("block"),
        "the client is told: {}",
        s.text
    );
    // Non-streaming goes through the same executor.
    let resp = responses_request(&h.gw, &codex_body("claude-sonnet-4-5", run, false))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert!(
        !v["output"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "function_call"),
        "{v}"
    );
}

#[tokio::test]
async fn errors_are_in_openais_format() {
    let h = Harness::start(&[]).await;
    let unknown = responses_request(&h.gw, &codex_body("mystery-model", "hi", true))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let v: Value = unknown.json().await.unwrap();
    assert_eq!(v["error"]["code"], "model_not_found", "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");

    let bad = responses_request(&h.gw, &json!({"model": "claude-sonnet-4-5", "input": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let v: Value = bad.json().await.unwrap();
    assert_eq!(v["error"]["param"], "input", "{v}");

    let stored =
        json!({"model": "claude-sonnet-4-5", "input": "hi", "previous_response_id": "resp_1"});
    let resp = responses_request(&h.gw, &stored).send().await.unwrap();
    assert_eq!(resp.status(), 400, "server-side state cannot be converted");
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("previous_response_id"),
        "{v}"
    );

    let upstream = responses_request(
        &h.gw,
        &codex_body("claude-sonnet-4-5", "mock:error 429", false),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(upstream.status(), 429);
    assert!(upstream.headers().contains_key("retry-after"));
    let v: Value = upstream.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_exceeded", "{v}");
    assert_eq!(v["error"]["message"], "mock: simulated 429");
}

#[tokio::test]
async fn a_stream_cut_by_the_upstream_ends_with_response_failed() {
    let h = Harness::start(&[]).await;
    let resp = responses_request(
        &h.gw,
        &codex_body("claude-sonnet-4-5", "mock:truncate", true),
    )
    .send()
    .await
    .unwrap();
    let s = responses_stream(resp).await;
    assert!(s.ended_with_error, "{s:?}");
    assert!(h.gw.healthy().await);
}

#[tokio::test]
async fn responses_traffic_is_recorded() {
    let h = Harness::start(&[]).await;
    let resp = responses_request(
        &h.gw,
        &codex_body("claude-sonnet-4-5", "mock:text recorded answer", true),
    )
    .send()
    .await
    .unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    responses_stream(resp).await;
    let v = recorded(&h.gw, &id).await;
    assert_eq!(v["record"]["client_api"], "openai_responses", "{v}");
    assert_eq!(v["record"]["request_received"]["input"][1]["role"], "user");
    assert!(v.to_string().contains("recorded answer"), "{v}");
}

#[tokio::test]
async fn a_native_openai_upstream_streams_through_unchanged_and_valid() {
    let h = Harness::start(&[]).await;
    let run = r#"mock:tool exec_command {"cmd":"cargo test"}"#;
    let resp = responses_request(&h.gw, &codex_body("gpt-5.5", run, true))
        .send()
        .await
        .unwrap();
    let s = responses_stream(resp).await;
    assert_eq!(s.tool_calls.len(), 1, "{s:?}");
    assert_eq!(s.tool_calls[0].input, json!({"cmd": "cargo test"}));
    let sent = h.mock.requests().into_iter().last().unwrap();
    assert_eq!(sent.path, "/v1/responses");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        codex_body("gpt-5.5", run, true),
        "the request went upstream as sent"
    );
}

#[tokio::test]
async fn a_native_apply_patch_into_ssh_is_blocked_and_sequence_numbers_stay_contiguous() {
    let (h, _file) = with_policy("block_sensitive_file_writes").await;
    let evil = "mock:custom apply_patch *** Begin Patch\n*** Add File: /root/.ssh/authorized_keys\n+ssh-ed25519 AAAA attacker\n*** End Patch";
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("gpt-5.5", evil, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(s.tool_calls.is_empty(), "the patch was removed: {s:?}");
    assert!(s.text.to_lowercase().contains("block"), "{}", s.text);
    let fine =
        "mock:custom apply_patch *** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch";
    let s = responses_stream(
        responses_request(&h.gw, &codex_body("gpt-5.5", fine, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s.tool_calls.len(), 1, "{s:?}");
    assert_eq!(s.tool_calls[0].name, "apply_patch");
}

#[tokio::test]
async fn a_native_non_streaming_response_passes_through() {
    let h = Harness::start(&[]).await;
    let resp = responses_request(
        &h.gw,
        &codex_body("gpt-5.5", "mock:text native object", false),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert!(v.to_string().contains("native object"), "{v}");
}

#[tokio::test]
async fn a_blocked_patch_is_named_with_its_input_in_the_audit_trail_and_the_ui() {
    let (h, _file) = with_policy("block_sensitive_file_writes").await;
    let evil = "mock:custom apply_patch *** Begin Patch\n*** Update File: /root/.aws/credentials\n+key\n*** End Patch";
    let resp = responses_request(&h.gw, &codex_body("gpt-5.5", evil, true))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    responses_stream(resp).await;
    let v = recorded(&h.gw, &id).await;
    let decisions = v["record"]["decisions"].as_array().unwrap();
    let blocked = decisions.iter().find(|d| d["verdict"] == "block").unwrap();
    assert_eq!(blocked["tool_call"]["name"], "apply_patch", "{v}");
    assert_eq!(blocked["tool_call"]["format"], "freeform");
    assert!(blocked["tool_call"]["input"]
        .as_str()
        .unwrap()
        .contains(".aws/credentials"));
    let page =
        h.gw.http
            .get(format!("{}/transactions/{id}", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(
        page.contains("class=\"decision-tool\">apply_patch</code>"),
        "{page}"
    );
    assert!(page.contains("/root/.aws/credentials"));
}
