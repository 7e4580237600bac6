//! Every request is recorded before it is answered: method, path, query, headers, body, in
//! order, unknown paths and rejected requests included; `/_mock/` calls are not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn a_request_is_recorded_with_method_path_query_headers_and_body() {
    let mock = mock().await;
    let body = anthropic_body("hello", true);
    let _ = client()
        .post(format!("{}/v1/messages?beta=true", mock.base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .header("X-Custom", "Value With Case")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await;
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.query.as_deref(), Some("beta=true"));
    assert_eq!(
        r.header("anthropic-beta"),
        Some("claude-code-20250219,interleaved-thinking-2025-05-14")
    );
    assert_eq!(r.header("X-CUSTOM"), Some("Value With Case"));
    assert_eq!(r.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(r.json(), Some(body.clone()));
    assert_eq!(r.body, serde_json::to_vec(&body).unwrap());
}

#[tokio::test]
async fn requests_are_recorded_in_order_including_rejected_and_unknown_ones() {
    let mock = mock().await;
    let c = client();
    let base = mock.base_url();
    let _ = c
        .post(format!("{base}/v1/messages"))
        .body("no auth")
        .send()
        .await
        .unwrap();
    let _ = c.get(format!("{base}/nowhere")).send().await.unwrap();
    let _ = openai(&mock, &openai_body("hi", false))
        .send()
        .await
        .unwrap();
    let paths: Vec<(String, String)> = mock
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            ("POST".to_owned(), "/v1/messages".to_owned()),
            ("GET".to_owned(), "/nowhere".to_owned()),
            ("POST".to_owned(), "/v1/chat/completions".to_owned()),
        ]
    );
    assert_eq!(mock.requests()[0].body, "no auth");
    assert_eq!(mock.requests()[0].json(), None);
}

#[tokio::test]
async fn a_request_is_recorded_before_a_stalled_reply_is_sent() {
    let mock = mock().await;
    let request = anthropic(&mock, &anthropic_body("mock:stall 5000", true));
    let pending = tokio::spawn(request.send());
    assert!(eventually(|| mock.requests().len() == 1).await);
    pending.abort();
}

#[tokio::test]
async fn clear_forgets_recorded_requests() {
    let mock = mock().await;
    let _ = openai(&mock, &openai_body("hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(mock.requests().len(), 1);
    mock.clear();
    assert!(mock.requests().is_empty());
    assert!(mock.state().requests().is_empty());
}

#[tokio::test]
async fn the_http_log_serialises_bodies_as_strings_and_skips_control_calls() {
    let mock = mock().await;
    let _ = openai(&mock, &openai_body("hi", false))
        .send()
        .await
        .unwrap();
    let url = format!("{}/_mock/requests", mock.base_url());
    let log: Value = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/v1/chat/completions");
    assert_eq!(log[0]["query"], Value::Null);
    let body: Value = serde_json::from_str(log[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, openai_body("hi", false));
    assert!(log[0]["headers"]
        .as_array()
        .unwrap()
        .contains(&json!(["authorization", "Bearer sk-test"])));

    let response = client().delete(&url).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn the_log_keeps_only_the_newest_requests_beyond_its_cap() {
    use luthien_mock_upstream::{MockState, MockUpstream};
    let state = MockState::with_max_requests(2);
    let mock = MockUpstream::start_with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();
    for i in 0..3 {
        let _ = openai(&mock, &openai_body(&format!("n{i}"), false))
            .send()
            .await
            .unwrap();
    }
    let texts: Vec<Value> = mock
        .requests()
        .iter()
        .map(|r| r.json().unwrap()["messages"][0]["content"].clone())
        .collect();
    assert_eq!(texts, [json!("n1"), json!("n2")]);
}
