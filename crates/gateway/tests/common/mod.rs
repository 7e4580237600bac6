//! Shared harness: the mock upstream, a gateway in front of it, and request builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use bytes::Bytes;
use luthien_gateway::{App, RoutingConfig, Server, Settings};
use mock_upstream::{MockHandle, MockUpstream};
use protocol::validate::{validate_anthropic_sse, validate_chat_sse, ValidatedStream};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// A running gateway.
pub struct Gateway {
    pub url: String,
    pub http: reqwest::Client,
    pub app: std::sync::Arc<App>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A mock upstream with a gateway in front of it.
pub struct Harness {
    pub mock: MockHandle,
    pub gw: Gateway,
}

/// The admin key every test gateway uses.
pub const ADMIN_KEY: &str = "test-admin-key";

/// A fresh directory for one test gateway's data (its SQLite database).
pub fn temp_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("luthien-gw-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Settings pointing both built-in providers at `base` (the mock or another fake), with a
/// database of their own.
pub fn settings_for(base: &str, extra: &[&str]) -> Settings {
    let dir = temp_dir();
    let mut args = vec![
        "--anthropic-upstream-url".to_owned(),
        base.to_owned(),
        "--openai-upstream-url".to_owned(),
        format!("{base}/v1"),
        "--data-dir".to_owned(),
        dir.to_string_lossy().into_owned(),
        "--admin-api-key".to_owned(),
        ADMIN_KEY.to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Settings::from_args(args).unwrap()
}

/// Starts a gateway with `settings` (and optional routing YAML) on a free port.
pub async fn start_gateway(settings: Settings, routing_yaml: Option<&str>) -> Gateway {
    let app = match routing_yaml {
        Some(yaml) => {
            let routing = RoutingConfig::from_yaml(&settings, yaml, &|name| match name {
                "LOCAL_KEY" => Some("local-secret".into()),
                _ => None,
            })
            .unwrap();
            App::with_routing(settings, routing).await.unwrap()
        }
        None => App::new(settings).await.unwrap(),
    };
    let server = Server::bind(app, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let app = server.app();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(server.serve(async {
        let _ = rx.await;
    }));
    Gateway {
        url,
        http: reqwest::Client::new(),
        app,
        stop: Some(tx),
    }
}

impl Harness {
    /// Mock + gateway with default settings plus `extra` CLI flags.
    pub async fn start(extra: &[&str]) -> Self {
        let mock = MockUpstream::start().await.unwrap();
        let gw = start_gateway(settings_for(&mock.base_url(), extra), None).await;
        Self { mock, gw }
    }

    /// Mock + gateway with a routing file.
    pub async fn with_routing(extra: &[&str], yaml_template: &str) -> Self {
        let mock = MockUpstream::start().await.unwrap();
        let yaml = yaml_template.replace("{MOCK}", &mock.base_url());
        let gw = start_gateway(settings_for(&mock.base_url(), extra), Some(&yaml)).await;
        Self { mock, gw }
    }

    /// `POST /v1/messages` as the Anthropic SDK sends it.
    pub fn anthropic(&self, body: &Value) -> reqwest::RequestBuilder {
        self.gw.anthropic(body)
    }

    /// `POST /v1/chat/completions` as the OpenAI SDK sends it.
    pub fn chat(&self, body: &Value) -> reqwest::RequestBuilder {
        self.gw.chat(body)
    }
}

impl Gateway {
    /// `POST /v1/messages` with a key and `anthropic-version`.
    pub fn anthropic(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/v1/messages", self.url))
            .header("x-api-key", "test-key")
            .header("anthropic-version", "2023-06-01")
            .json(body)
    }

    /// `POST /v1/chat/completions` with a bearer key.
    pub fn chat(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/v1/chat/completions", self.url))
            .bearer_auth("test-key")
            .json(body)
    }

    /// True when `GET /health` answers 200: the gateway is still serving.
    pub async fn healthy(&self) -> bool {
        self.http
            .get(format!("{}/health", self.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }
}

/// An Anthropic Messages request whose user text is `text`.
pub fn anthropic_body(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 1024, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

/// An OpenAI Chat request whose user text is `text`.
pub fn chat_body(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]})
}

/// Reads a whole streamed body.
pub async fn body_bytes(resp: reqwest::Response) -> Bytes {
    resp.bytes().await.unwrap()
}

/// Reads an Anthropic stream and checks every wire invariant.
pub async fn anthropic_stream(resp: reqwest::Response) -> ValidatedStream {
    assert_eq!(resp.status(), 200, "status");
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
    let bytes = body_bytes(resp).await;
    validate_anthropic_sse(&bytes).unwrap_or_else(|v| {
        panic!(
            "invariants broken: {v:?}\n--- stream ---\n{}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// Reads an OpenAI Chat stream and checks every wire invariant.
pub async fn chat_stream(resp: reqwest::Response) -> ValidatedStream {
    assert_eq!(resp.status(), 200, "status");
    let bytes = body_bytes(resp).await;
    validate_chat_sse(&bytes).unwrap_or_else(|v| {
        panic!(
            "invariants broken: {v:?}\n--- stream ---\n{}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// A fake upstream that answers every POST with fixed status, headers and body bytes, so a
/// test can compare what the client receives with exactly what the upstream sent.
pub async fn fixed_upstream(
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static [u8],
) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || {
        let headers = headers.clone();
        async move {
            let mut resp =
                (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
            for (k, v) in headers {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
