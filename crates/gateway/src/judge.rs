//! The model client policies' judges call: the judge's model is routed like any request (to
//! Anthropic, OpenAI or an OpenAI-compatible server such as a local Ollama) and called with the
//! server's own key for that provider, never the agent's credential.

use std::sync::Arc;

use async_trait::async_trait;
use policy::judge::client::{JudgeCall, JudgeClient};
use policy::PolicyError;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::auth::{upstream_header, UpstreamAuth};
use crate::config::{ProviderKind, RoutingConfig};
use crate::headers;
use crate::upstream::{Endpoint, UpstreamClient};

/// Calls judge models through the gateway's providers.
pub struct GatewayJudge {
    routing: Arc<RoutingConfig>,
    upstream: UpstreamClient,
}

impl GatewayJudge {
    /// A judge client over `routing` and `upstream`.
    pub fn new(routing: Arc<RoutingConfig>, upstream: UpstreamClient) -> Self {
        Self { routing, upstream }
    }
}

#[async_trait]
impl JudgeClient for GatewayJudge {
    async fn complete(&self, call: JudgeCall) -> Result<String, PolicyError> {
        let unavailable = |m: String| PolicyError::Unavailable(m);
        let target = self.routing.resolve(&call.model).ok_or_else(|| {
            unavailable(format!(
                "no provider serves the judge model {:?}",
                call.model
            ))
        })?;
        let anthropic = target.provider.kind == ProviderKind::Anthropic;
        let body = if anthropic {
            json!({"model": target.model, "max_tokens": call.max_tokens, "temperature": call.temperature,
                   "system": call.system, "messages": [{"role": "user", "content": call.user}]})
        } else {
            let mut b = json!({"model": target.model, "temperature": call.temperature,
                   "messages": [{"role": "system", "content": call.system}, {"role": "user", "content": call.user}]});
            let tokens_key = if target.provider.kind == ProviderKind::Openai {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            b[tokens_key] = json!(call.max_tokens);
            if call.json_mode {
                b["response_format"] = json!({"type": "json_object"});
            }
            b
        };
        let mut h = headers::upstream_request(&Default::default(), false, anthropic);
        if let Some((name, value)) = upstream_header(&UpstreamAuth::Server, target.provider)
            .map_err(|e| unavailable(e.to_string()))?
        {
            headers::insert(&mut h, name, &value);
        }
        let endpoint = if anthropic {
            Endpoint::Messages
        } else {
            Endpoint::ChatCompletions
        };
        let url = UpstreamClient::url(target.provider, endpoint, None);
        let deadline = Instant::now() + self.upstream.timeouts.total;
        let resp = self
            .upstream
            .send(
                target.provider,
                url,
                h,
                bytes::Bytes::from(body.to_string()),
            )
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = resp.status();
        let bytes = self
            .upstream
            .read_body(target.provider, resp, deadline)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(unavailable(format!(
                "judge model {} answered HTTP {}: {}",
                call.model,
                status.as_u16(),
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| unavailable(format!("judge reply is not JSON: {e}")))?;
        let text = if anthropic {
            v["content"].as_array().map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
        } else {
            v["choices"][0]["message"]["content"]
                .as_str()
                .map(str::to_owned)
        };
        text.filter(|t| !t.is_empty())
            .ok_or_else(|| unavailable("the judge's reply has no text".into()))
    }
}
