//! Auth and request validation, as strict as the real APIs: missing or invalid keys, missing
//! `anthropic-version`, malformed JSON, missing required fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn messages_url(mock: &luthien_mock_upstream::MockHandle) -> String {
    format!("{}/v1/messages", mock.base_url())
}

#[tokio::test]
async fn anthropic_without_a_key_is_401_x_api_key_required() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(messages_url(&mock))
            .header("anthropic-version", "2023-06-01")
            .json(&anthropic_body("hi", false)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}})
    );
}

#[tokio::test]
async fn anthropic_accepts_a_bearer_token_instead_of_x_api_key() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(messages_url(&mock))
            .bearer_auth("oauth-token")
            .header("anthropic-version", "2023-06-01")
            .json(&anthropic_body("hi", false)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_invalid_key_is_rejected_on_both_providers() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(messages_url(&mock))
            .header("x-api-key", "mock-invalid-key")
            .header("anthropic-version", "2023-06-01")
            .json(&anthropic_body("hi", false)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "authentication_error");
    let (status, body) = status_and_body(
        client()
            .post(format!("{}/v1/chat/completions", mock.base_url()))
            .bearer_auth("mock-invalid-key")
            .json(&openai_body("hi", false)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn anthropic_without_a_version_header_is_400() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(messages_url(&mock))
            .header("x-api-key", "k")
            .json(&anthropic_body("hi", false)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "anthropic-version: header is required"
    );
}

#[tokio::test]
async fn anthropic_malformed_json_is_400_invalid_request() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(messages_url(&mock))
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn anthropic_requires_max_tokens_model_and_messages() {
    let mock = mock().await;
    for (field, message) in [
        ("max_tokens", "max_tokens: Field required"),
        ("model", "model: Field required"),
        ("messages", "messages: Field required"),
    ] {
        let mut request = anthropic_body("hi", false);
        request.as_object_mut().unwrap().remove(field);
        let (status, body) = status_and_body(anthropic(&mock, &request)).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(body["error"]["message"], message);
    }
}

#[tokio::test]
async fn openai_without_a_bearer_key_is_401_invalid_api_key() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(format!("{}/v1/chat/completions", mock.base_url()))
            .header("x-api-key", "not-for-openai")
            .json(&openai_body("hi", false)),
    )
    .await;
    assert_eq!(status, 401);
    let error = body["error"].as_object().unwrap();
    assert_eq!(
        error.keys().collect::<Vec<_>>(),
        ["message", "type", "param", "code"]
    );
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], Value::Null);
    assert_eq!(body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn openai_malformed_json_is_400_in_openai_shape() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(format!("{}/v1/chat/completions", mock.base_url()))
            .bearer_auth("k")
            .body("[1,"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("We could not parse the JSON body"));
}

#[tokio::test]
async fn openai_requires_model_and_messages() {
    let mock = mock().await;
    let (status, body) = status_and_body(openai(&mock, &json!({"messages": []}))).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "you must provide a model parameter"
    );
    let (status, body) = status_and_body(openai(&mock, &json!({"model": "gpt-4o"}))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "messages");
    assert_eq!(body["error"]["code"], "missing_required_parameter");
}

#[tokio::test]
async fn unknown_paths_are_404_in_the_format_of_their_provider() {
    let mock = mock().await;
    let (status, body) = status_and_body(
        client()
            .post(format!("{}/v1/messages/batches", mock.base_url()))
            .header("x-api-key", "k"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}})
    );
    let (status, body) = status_and_body(
        client()
            .post(format!("{}/v1/embeddings", mock.base_url()))
            .bearer_auth("k"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"message": "Invalid URL (POST /v1/embeddings)", "type": "invalid_request_error", "param": null, "code": null}})
    );
}

#[tokio::test]
async fn claude_codes_connectivity_probe_gets_a_404_not_an_error() {
    let mock = mock().await;
    let response = client()
        .head(format!("{}/api/hello", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(mock.requests()[0].method, "HEAD");
}
