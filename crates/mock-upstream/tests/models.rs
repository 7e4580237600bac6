//! `GET /v1/models`: the Anthropic list when the request has `anthropic-version`, the OpenAI
//! list otherwise; both need a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn models_with_anthropic_version_are_an_anthropic_list() {
    let mock = mock().await;
    let response = client()
        .get(format!("{}/v1/models", mock.base_url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("request-id"));
    let list: Value = response.json().await.unwrap();
    let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "has_more", "first_id", "last_id"]);
    let data = list["data"].as_array().unwrap();
    assert!(!data.is_empty());
    for model in data {
        assert_eq!(model["type"], "model");
        assert!(model["id"].as_str().unwrap().starts_with("claude-"));
        assert!(model["display_name"].is_string());
        assert!(model["created_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(list["first_id"], data[0]["id"]);
    assert_eq!(list["last_id"], data[data.len() - 1]["id"]);
    assert_eq!(list["has_more"], false);
}

#[tokio::test]
async fn models_without_anthropic_version_are_an_openai_list() {
    let mock = mock().await;
    let response = client()
        .get(format!("{}/v1/models", mock.base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["object"], "list");
    for model in list["data"].as_array().unwrap() {
        let keys: Vec<&String> = model.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "object", "created", "owned_by"]);
        assert_eq!(model["object"], "model");
    }
}

#[tokio::test]
async fn models_need_a_key_in_either_shape() {
    let mock = mock().await;
    let url = format!("{}/v1/models", mock.base_url());
    let response = client()
        .get(&url)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
}
