//! AUTH_MODE: which clients are let in and which credential goes upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

fn messages(gw: &Gateway) -> reqwest::RequestBuilder {
    gw.http
        .post(format!("{}/v1/messages", gw.url))
        .header("anthropic-version", "2023-06-01")
        .json(&anthropic_body("claude-sonnet-4-5", "hi", false))
}

#[tokio::test]
async fn passthrough_forwards_the_clients_api_key_or_oauth_token_unchanged() {
    let h = Harness::start(&[
        "--auth-mode",
        "passthrough",
        "--anthropic-api-key",
        "server-key",
    ])
    .await;
    assert_eq!(
        messages(&h.gw)
            .header("x-api-key", "sk-ant-user")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        h.mock.requests().last().unwrap().header("x-api-key"),
        Some("sk-ant-user")
    );
    let oauth = "sk-ant-oat01-abcdef";
    assert_eq!(
        messages(&h.gw)
            .bearer_auth(oauth)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let seen = h.mock.requests().last().unwrap().clone();
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer sk-ant-oat01-abcdef")
    );
    assert_eq!(
        seen.header("x-api-key"),
        None,
        "the server key is never added in passthrough"
    );
}

#[tokio::test]
async fn passthrough_without_a_credential_is_a_401() {
    let h = Harness::start(&[]).await;
    let resp = messages(&h.gw).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn client_key_mode_accepts_only_the_client_key_and_uses_the_servers_key() {
    let h = Harness::start(&[
        "--auth-mode",
        "client_key",
        "--client-api-key",
        "gw-secret",
        "--anthropic-api-key",
        "server-key",
        "--openai-api-key",
        "oa-key",
    ])
    .await;
    assert_eq!(
        messages(&h.gw)
            .header("x-api-key", "wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        messages(&h.gw)
            .header("x-api-key", "gw-secre")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(h.mock.requests().is_empty());
    assert_eq!(
        messages(&h.gw)
            .header("x-api-key", "gw-secret")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        h.mock.requests().last().unwrap().header("x-api-key"),
        Some("server-key")
    );
    let resp =
        h.gw.http
            .post(format!("{}/v1/chat/completions", h.gw.url))
            .bearer_auth("gw-secret")
            .json(&chat_body("gpt-4o", "hi", false))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        h.mock.requests().last().unwrap().header("authorization"),
        Some("Bearer oa-key")
    );
    let resp =
        h.gw.http
            .post(format!("{}/v1/chat/completions", h.gw.url))
            .bearer_auth("nope")
            .json(&chat_body("gpt-4o", "hi", false))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 401);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn client_key_mode_without_a_server_key_explains_which_variable_to_set() {
    let h = Harness::start(&["--auth-mode", "client_key", "--client-api-key", "gw-secret"]).await;
    let resp = messages(&h.gw)
        .header("x-api-key", "gw-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ANTHROPIC_API_KEY"),
        "{v}"
    );
}

#[tokio::test]
async fn both_mode_uses_the_server_key_for_the_client_key_and_forwards_anything_else() {
    let h = Harness::start(&[
        "--auth-mode",
        "both",
        "--client-api-key",
        "gw-secret",
        "--anthropic-api-key",
        "server-key",
    ])
    .await;
    assert_eq!(
        messages(&h.gw)
            .bearer_auth("gw-secret")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        h.mock.requests().last().unwrap().header("x-api-key"),
        Some("server-key")
    );
    assert_eq!(
        messages(&h.gw)
            .header("x-api-key", "sk-ant-own")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        h.mock.requests().last().unwrap().header("x-api-key"),
        Some("sk-ant-own")
    );
    assert_eq!(messages(&h.gw).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn an_upstream_401_for_a_bad_forwarded_key_reaches_the_client() {
    let h = Harness::start(&[]).await;
    let resp = messages(&h.gw)
        .header("x-api-key", "mock-invalid-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn nothing_in_the_body_can_redirect_the_upstream_call() {
    let h = Harness::start(&[]).await;
    let decoy = fixed_upstream(200, vec![], b"{}").await;
    let mut body = chat_body("gpt-4o", "hi", false);
    for key in ["api_base", "base_url", "api_key", "custom_llm_provider"] {
        body[key] = serde_json::Value::String(decoy.clone());
    }
    let resp = h.chat(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        v["object"], "chat.completion",
        "the answer came from the configured upstream"
    );
    assert_eq!(h.mock.requests().len(), 1);
}
