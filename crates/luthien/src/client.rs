//! The HTTP client for the gateway's admin, history and service endpoints.
//!
//! It turns each way a call can fail into an error with an exit code and a next step: no
//! answer (3, "start one with `luthien up`"), 404 (4), 400/422 with the per-field errors and
//! 401/403 with where the admin key comes from (5).

use std::time::Duration;

use anyhow::Context;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::exit::{self, coded};

/// A client for one gateway.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

/// How long to wait for a connection: a local gateway answers at once or not at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Client {
    /// A client for the gateway at `base`, authenticating with `key` when there is one.
    pub fn new(base: &str, key: Option<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
        })
    }

    /// The gateway's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /health`'s body when the gateway answers it with 200, else `None`.
    pub async fn health(&self) -> Option<Value> {
        let resp = self
            .http
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        if resp.status() != StatusCode::OK {
            return None;
        }
        resp.json().await.ok()
    }

    /// `GET path` (with its query) as JSON.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.send(self.http.get(self.url(path))).await?;
        resp.json()
            .await
            .with_context(|| format!("{path}: the gateway's answer is not JSON"))
    }

    /// `POST path` with a JSON body, answered with JSON.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let resp = self.send(self.http.post(self.url(path)).json(body)).await?;
        resp.json()
            .await
            .with_context(|| format!("{path}: the gateway's answer is not JSON"))
    }

    /// `GET path`, successful, with its body still to be read (for streaming).
    pub async fn get_stream(&self, path: &str) -> anyhow::Result<Response> {
        self.send(self.http.get(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Response> {
        let req = match &self.key {
            Some(k) => req.bearer_auth(k),
            None => req,
        };
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        Err(self.refusal(status, &body))
    }

    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        if e.is_connect() || e.is_timeout() {
            coded(
                exit::NOT_RUNNING,
                format!(
                    "no gateway at {}: start one with `luthien up` (or pass --gateway-url)",
                    self.base
                ),
            )
        } else {
            coded(
                exit::NOT_RUNNING,
                format!("the gateway at {} did not answer: {e}", self.base),
            )
        }
    }

    fn refusal(&self, status: StatusCode, body: &Value) -> anyhow::Error {
        let message = body["error"]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.to_string());
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let hint = if self.key.is_some() {
                    "check ADMIN_API_KEY: it must be the gateway's admin key"
                } else {
                    "no admin key found: set ADMIN_API_KEY, or use the data dir of a gateway \
                     that generated one (its `admin_api_key` file; --data-dir)"
                };
                coded(
                    exit::REJECTED,
                    format!(
                        "{} refused the request (HTTP {}): {message}; {hint}",
                        self.base,
                        status.as_u16()
                    ),
                )
            }
            StatusCode::NOT_FOUND => coded(exit::NOT_FOUND, message),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                let mut text = format!("the gateway rejected it: {message}");
                for e in body["error"]["errors"].as_array().into_iter().flatten() {
                    text.push_str("\n  - ");
                    text.push_str(&field_error(e));
                }
                coded(exit::REJECTED, text)
            }
            _ => anyhow::anyhow!("HTTP {} from {}: {message}", status.as_u16(), self.base),
        }
    }
}

/// One `{field, message, line}` error as `line 5: policy.config.x: message`.
fn field_error(e: &Value) -> String {
    let mut out = String::new();
    if let Some(line) = e["line"].as_u64() {
        out.push_str(&format!("line {line}: "));
    }
    if let Some(field) = e["field"].as_str() {
        out.push_str(field);
        out.push_str(": ");
    }
    out.push_str(e["message"].as_str().unwrap_or("invalid"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_error_names_its_line_and_field() {
        assert_eq!(
            field_error(&json!({"field": "policy.config.x", "message": "too big", "line": 5})),
            "line 5: policy.config.x: too big"
        );
        assert_eq!(
            field_error(&json!({"field": null, "message": "bad"})),
            "bad"
        );
    }

    #[test]
    fn each_refusal_maps_to_its_exit_code() {
        let c = Client::new("http://127.0.0.1:1", None).unwrap_or_else(|e| panic!("{e}"));
        let code = |s: u16| {
            exit::code_of(&c.refusal(
                StatusCode::from_u16(s).unwrap_or(StatusCode::IM_A_TEAPOT),
                &json!({"error": {"message": "m"}}),
            ))
        };
        assert_eq!(code(401), exit::REJECTED);
        assert_eq!(code(422), exit::REJECTED);
        assert_eq!(code(404), exit::NOT_FOUND);
        assert_eq!(code(500), exit::ERROR);
    }
}
