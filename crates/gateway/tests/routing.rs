//! Model routing: the routing file's providers and patterns, `name/model` prefixes, and
//! OpenAI-compatible servers such as Ollama or vLLM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

const ROUTES: &str = "providers:\n  local:\n    kind: openai_compatible\n    base_url: \"{MOCK}/local/v1\"\n    api_key_env: LOCAL_KEY\n  keyless:\n    kind: openai_compatible\n    base_url: \"{MOCK}/keyless/v1\"\nroutes:\n  - { model: \"llama*\", provider: local }\n";

#[tokio::test]
async fn a_pattern_in_the_routing_file_selects_an_openai_compatible_provider() {
    let h = Harness::with_routing(&["--auth-mode", "both", "--client-api-key", "gw"], ROUTES).await;
    let resp =
        h.gw.http
            .post(format!("{}/v1/chat/completions", h.gw.url))
            .bearer_auth("gw")
            .json(&chat_body("llama3", "hi", false))
            .send()
            .await
            .unwrap();
    // The mock serves only /v1/...; what matters is where the call went and with which key.
    let _ = resp.status();
    let seen = h.mock.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/local/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer local-secret"));
}

#[tokio::test]
async fn a_provider_prefix_selects_the_named_provider_and_is_removed() {
    let h = Harness::with_routing(&["--auth-mode", "both", "--client-api-key", "gw"], ROUTES).await;
    let _ =
        h.gw.http
            .post(format!("{}/v1/messages", h.gw.url))
            .header("x-api-key", "gw")
            .json(&anthropic_body("keyless/qwen2.5", "hi", false))
            .send()
            .await
            .unwrap();
    let seen = h.mock.requests().last().unwrap().clone();
    assert_eq!(seen.path, "/keyless/v1/chat/completions");
    assert_eq!(
        seen.header("authorization"),
        None,
        "a keyless local server gets no key"
    );
    let body: Value = seen.json().unwrap();
    assert_eq!(body["model"], "qwen2.5");
    assert_eq!(
        body["max_tokens"], 1024,
        "OpenAI-compatible servers get max_tokens, not max_completion_tokens"
    );
}

#[tokio::test]
async fn the_real_openai_provider_gets_max_completion_tokens() {
    let h = Harness::start(&[]).await;
    let resp = h
        .anthropic(&anthropic_body("gpt-5", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = h.mock.requests().last().unwrap().json().unwrap();
    assert_eq!(body["max_completion_tokens"], 1024);
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn default_routes_send_o_series_models_to_openai() {
    let h = Harness::start(&[]).await;
    let resp = h
        .chat(&chat_body("o3-mini", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        h.mock.requests().last().unwrap().path,
        "/v1/chat/completions"
    );
}

#[test]
fn a_route_to_an_unknown_provider_is_rejected_naming_the_route() {
    let s = settings_for("http://127.0.0.1:1", &[]);
    let err = luthien_gateway::RoutingConfig::from_yaml(
        &s,
        "routes:\n  - { model: \"x*\", provider: nobody }\n",
        &|_| None,
    )
    .unwrap_err();
    assert!(
        err.contains("routes.0.provider") && err.contains("nobody"),
        "{err}"
    );
    let err = luthien_gateway::RoutingConfig::from_yaml(
        &s,
        "providers:\n  p:\n    kind: openai_compatible\n    base_url: \"ftp://x\"\n",
        &|_| None,
    )
    .unwrap_err();
    assert!(err.contains("providers.p.base_url"), "{err}");
}

#[tokio::test]
async fn reasoning_effort_goes_only_to_openai_models_that_reason() {
    let h = Harness::start(&[]).await;
    let mut body = anthropic_body("gpt-4o", "hi", false);
    body["thinking"] = serde_json::json!({"type": "adaptive"});
    assert_eq!(h.anthropic(&body).send().await.unwrap().status(), 200);
    let sent: Value = h.mock.requests().last().unwrap().json().unwrap();
    assert!(
        sent.get("reasoning_effort").is_none(),
        "gpt-4o rejects reasoning_effort: {sent}"
    );
    for model in ["gpt-5", "o3-mini"] {
        body["model"] = model.into();
        assert_eq!(h.anthropic(&body).send().await.unwrap().status(), 200);
        let sent: Value = h.mock.requests().last().unwrap().json().unwrap();
        assert_eq!(sent["reasoning_effort"], "medium", "{model}");
    }
}
