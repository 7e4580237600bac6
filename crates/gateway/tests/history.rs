//! Recording and the history API: every transaction through the gateway is recorded and can be
//! found, read as a conversation, diffed and exported; the API needs the admin key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

async fn get(gw: &Gateway, path: &str) -> reqwest::Response {
    gw.http
        .get(format!("{}{path}", gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
}

/// The JSON body of an admin-authenticated GET.
async fn get_json(gw: &Gateway, path: &str) -> Value {
    get(gw, path).await.json().await.unwrap()
}

/// Polls the history until `path` returns a page with at least `n` items (the recorder
/// writes in batches, a fraction of a second after the response).
async fn wait_for_sessions(gw: &Gateway, path: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let v: Value = get_json(gw, path).await;
        if v["items"].as_array().is_some_and(|i| i.len() >= n) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "history never showed {n} session(s) for {path}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a streamed Anthropic request, checks the stream, and returns its transaction's record
/// once the recorder has written it.
async fn recorded(h: &Harness, body: &Value) -> Value {
    let resp = h.anthropic(body).send().await.unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    anthropic_stream(resp).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = get(&h.gw, &format!("/api/history/transactions/{id}")).await;
        if resp.status() == 200 {
            return resp.json().await.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "transaction {id} was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn claude_code_body(session: &str, text: &str) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
           "metadata": {"user_id": format!("user_abc_account__session_{session}")},
           "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_conversation_is_found_by_a_word_that_appears_only_in_a_tool_calls_arguments() {
    let h = Harness::start(&[]).await;
    let prompt = format!(
        "mock:tool Bash {}",
        json!({"command": "grep -r zanzibarquux src/"})
    );
    anthropic_stream(
        h.anthropic(&anthropic_body("claude-sonnet-4-5", &prompt, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    anthropic_stream(
        h.anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "an unrelated conversation",
            true,
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let page = wait_for_sessions(&h.gw, "/api/history/sessions?q=zanzibarquux", 1).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let all = wait_for_sessions(&h.gw, "/api/history/sessions", 2).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn turns_of_one_claude_code_session_are_one_conversation_in_order() {
    let h = Harness::start(&[]).await;
    let session = "7f1c2d3e-0000-4000-8000-0123456789ab";
    for text in ["mock:text first answer", "mock:text second answer"] {
        anthropic_stream(
            h.anthropic(&claude_code_body(session, text))
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    let page = wait_for_sessions(&h.gw, "/api/history/sessions", 1).await;
    let item = &page["items"][0];
    assert_eq!(item["id"], session);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v: Value = get_json(&h.gw, &format!("/api/history/sessions/{session}")).await;
        if v["conversation"].as_array().is_some_and(|c| c.len() == 4) {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let conv = v["conversation"].as_array().unwrap();
    assert_eq!(conv[0]["role"], "user");
    assert_eq!(conv[1]["content"][0]["text"], "first answer");
    assert_eq!(conv[3]["content"][0]["text"], "second answer");
    assert_eq!(v["session"]["title"], "mock:text first answer");
}

#[tokio::test]
async fn a_transaction_record_holds_request_response_timings_usage_and_decisions() {
    let yaml = "policy:\n  class: block_dangerous_commands\n";
    let file =
        std::env::temp_dir().join(format!("luthien-hist-policy-{}.yaml", std::process::id()));
    std::fs::write(&file, yaml).unwrap();
    let h = Harness::start(&["--policy-config", file.to_str().unwrap()]).await;
    let prompt = format!("mock:tool Bash {}", json!({"command": "rm -rf /"}));
    let t = recorded(&h, &anthropic_body("claude-sonnet-4-5", &prompt, true)).await;
    let id = t["record"]["id"].as_str().unwrap().to_owned();
    wait_for_sessions(&h.gw, "/api/history/sessions?decision=blocked", 1).await;
    let r = &t["record"];
    assert_eq!(r["final_decision"], "blocked");
    assert_eq!(r["request_received"]["messages"][0]["content"], prompt);
    assert!(
        r["response_received"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["type"] == "tool_use"),
        "{r}"
    );
    assert!(
        r["response_delivered"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "tool_use"),
        "{r}"
    );
    assert_eq!(r["decisions"][0]["verdict"], "block");
    assert_eq!(r["decisions"][0]["policy"], "block_dangerous_commands");
    assert!(r["usage"]["input_tokens"].as_u64().unwrap() > 0, "{r}");
    assert!(r["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(!r["raw_events"]["events"].as_array().unwrap().is_empty());
    let d: Value = get_json(&h.gw, &format!("/api/history/transactions/{id}/diff")).await;
    assert_eq!(d["response"]["changed"], true);
    assert!(
        d["response"]["unified"].as_str().unwrap().contains("-")
            && d["response"]["unified"]
                .as_str()
                .unwrap()
                .contains("tool_use")
    );
    assert_eq!(d["request"]["changed"], false);
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_session_exports_as_markdown_and_as_json() {
    let h = Harness::start(&[]).await;
    let session = "11111111-2222-4333-8444-555555555555";
    anthropic_stream(
        h.anthropic(&claude_code_body(
            session,
            &format!("mock:tool Bash {}", json!({"command": "ls"})),
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    wait_for_sessions(&h.gw, "/api/history/sessions", 1).await;
    let md = get(
        &h.gw,
        &format!("/api/history/sessions/{session}/export?format=markdown"),
    )
    .await;
    assert!(md.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/markdown"));
    let md = md.text().await.unwrap();
    assert!(
        md.contains("## User")
            && md.contains("**Tool call `Bash`**")
            && md.contains("\"command\": \"ls\""),
        "{md}"
    );
    let js: Value = get_json(
        &h.gw,
        &format!("/api/history/sessions/{session}/export?format=json"),
    )
    .await;
    assert_eq!(js["session"]["id"], session);
    assert_eq!(js["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(
            &h.gw,
            &format!("/api/history/sessions/{session}/export?format=pdf")
        )
        .await
        .status(),
        400
    );
}

#[tokio::test]
async fn a_session_longer_than_one_export_batch_exports_every_turn_in_order() {
    let h = Harness::start(&[]).await;
    let session = "22222222-3333-4444-8555-666666666666";
    const TURNS: usize = 37;
    for t in 0..TURNS {
        anthropic_stream(
            h.anthropic(&claude_code_body(
                session,
                &format!("mock:text reply number {t}"),
            ))
            .send()
            .await
            .unwrap(),
        )
        .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let conversation = loop {
        let v: Value = get_json(&h.gw, &format!("/api/history/sessions/{session}")).await;
        if v["session"]["transaction_count"] == TURNS {
            break v["conversation"].as_array().unwrap().clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "only {v} recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let in_order: Vec<&Value> = conversation
        .iter()
        .filter(|e| e["role"] == "assistant")
        .map(|e| &e["transaction_id"])
        .collect();
    let js: Value = get_json(
        &h.gw,
        &format!("/api/history/sessions/{session}/export?format=json"),
    )
    .await;
    let exported: Vec<&Value> = js["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["record"]["id"])
        .collect();
    assert_eq!(exported, in_order);
    let md = get(
        &h.gw,
        &format!("/api/history/sessions/{session}/export?format=markdown"),
    )
    .await
    .text()
    .await
    .unwrap();
    // After the title (the first prompt).
    let turns_md = &md[md.find("## User").unwrap()..];
    let replies: Vec<usize> = turns_md
        .match_indices("reply number ")
        .filter_map(|(at, m)| {
            turns_md[at + m.len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    // Each turn once, in order: its prompt (the directive) and then the reply it produced.
    assert_eq!(
        replies.len(),
        2 * TURNS,
        "a prompt and a reply per turn: {md}"
    );
    let mut turns = replies.clone();
    turns.dedup();
    assert_eq!(turns, (0..TURNS).collect::<Vec<_>>(), "{md}");
}

#[tokio::test]
async fn the_history_api_needs_the_admin_key() {
    let h = Harness::start(&[]).await;
    for path in [
        "/api/history/sessions",
        "/api/history/sessions/x",
        "/api/history/transactions/x",
    ] {
        let none =
            h.gw.http
                .get(format!("{}{path}", h.gw.url))
                .send()
                .await
                .unwrap();
        assert_eq!(none.status(), 401, "{path}");
        let wrong =
            h.gw.http
                .get(format!("{}{path}", h.gw.url))
                .bearer_auth("nope")
                .send()
                .await
                .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        // The agent's own provider key is not the admin key.
        let agent =
            h.gw.http
                .get(format!("{}{path}", h.gw.url))
                .header("x-api-key", "test-key")
                .send()
                .await
                .unwrap();
        assert_eq!(agent.status(), 401, "{path}");
    }
    assert_eq!(get(&h.gw, "/api/history/sessions").await.status(), 200);
    assert_eq!(
        get(&h.gw, "/api/history/transactions/missing")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn ready_reports_each_component() {
    let h = Harness::start(&[]).await;
    let v: Value =
        h.gw.http
            .get(format!("{}/ready", h.gw.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["database"]["status"], "ok");
    assert_eq!(v["bus"]["backend"], "in_process");
    assert_eq!(v["policy"]["name"], "noop");
}

#[tokio::test]
async fn the_activity_stream_shows_a_request_live_and_needs_the_admin_key() {
    use futures::StreamExt;
    let h = Harness::start(&[]).await;
    let denied =
        h.gw.http
            .get(format!("{}/api/activity/stream", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(denied.status(), 401);
    let resp =
        h.gw.http
            .get(format!("{}/api/activity/stream?replay=0", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let sent = h
        .anthropic(&anthropic_body("claude-sonnet-4-5", "mock:text live", true))
        .send()
        .await
        .unwrap();
    let id = sent.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    anthropic_stream(sent).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("transaction_started") && seen.contains("transaction_finished")) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&id), "{seen}");
}

#[tokio::test]
async fn a_judges_own_request_and_reply_are_recorded_with_its_decision() {
    let file = std::env::temp_dir().join(format!("luthien-hist-judge-{}.yaml", std::process::id()));
    std::fs::write(&file, "policy:\n  class: tool_call_judge\n  config:\n    model: claude-haiku-4-5\n    max_retries: 0\n").unwrap();
    let h = Harness::start(&[
        "--policy-config",
        file.to_str().unwrap(),
        "--anthropic-api-key",
        "judge-key",
    ])
    .await;
    let prompt = format!(
        "mock:tool Bash {}",
        json!({"command": "make deploy", "description": "mock:judge 0.9"})
    );
    let t = recorded(&h, &anthropic_body("claude-sonnet-4-5", &prompt, true)).await;
    wait_for_sessions(&h.gw, "/api/history/sessions?decision=blocked", 1).await;
    let d = &t["record"]["decisions"][0];
    assert_eq!(d["policy"], "tool_call_judge");
    assert_eq!(d["score"], 0.9);
    assert_eq!(d["judge_model"], "claude-haiku-4-5");
    assert!(
        d["judge_request"]["user"]
            .as_str()
            .unwrap()
            .contains("make deploy"),
        "{d}"
    );
    assert!(
        d["judge_response"]["text"]
            .as_str()
            .unwrap()
            .contains("0.9"),
        "{d}"
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_request_changed_by_a_policy_is_recorded_as_received_and_as_sent() {
    let file = std::env::temp_dir().join(format!("luthien-hist-req-{}.yaml", std::process::id()));
    std::fs::write(&file, "policy:\n  class: string_replacement\n  config:\n    replacements: [[\"pip install\", \"uv add\"]]\n    apply_to: request\n").unwrap();
    let h = Harness::start(&["--policy-config", file.to_str().unwrap()]).await;
    let t = recorded(
        &h,
        &anthropic_body("claude-sonnet-4-5", "please pip install rich", true),
    )
    .await;
    let id = t["record"]["id"].as_str().unwrap().to_owned();
    wait_for_sessions(&h.gw, "/api/history/sessions", 1).await;
    assert_eq!(
        t["record"]["request_received"]["messages"][0]["content"],
        "please pip install rich"
    );
    assert_eq!(
        t["record"]["request_sent"]["messages"][0]["content"],
        "please uv add rich"
    );
    let d: Value = get_json(&h.gw, &format!("/api/history/transactions/{id}/diff")).await;
    assert_eq!(d["request"]["changed"], true);
    assert!(
        d["request"]["unified"]
            .as_str()
            .unwrap()
            .contains("+      \"content\": \"please uv add rich\""),
        "{d}"
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn stats_count_recent_sessions_transactions_and_blocks() {
    let h = Harness::start(&[]).await;
    let empty: Value = get_json(&h.gw, "/api/history/stats").await;
    assert_eq!(
        (
            &empty["sessions"],
            &empty["transactions"],
            &empty["blocked"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    let (a, b) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    for (session, text) in [(&a, "one"), (&a, "two"), (&b, "three")] {
        recorded(
            &h,
            &claude_code_body(session, &format!("{text} mock:text ok")),
        )
        .await;
    }
    let v: Value = get_json(&h.gw, "/api/history/stats").await;
    assert_eq!(v["transactions"], 3, "{v}");
    assert_eq!(v["sessions"], 2, "{v}");
    assert_eq!(v["blocked"], 0, "{v}");
    let future = get(&h.gw, "/api/history/stats?from=99999999999999").await;
    let v: Value = future.json().await.unwrap();
    assert_eq!(v["transactions"], 0, "{v}");
    let denied =
        h.gw.http
            .get(format!("{}/api/history/stats", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(denied.status(), 401);
}
