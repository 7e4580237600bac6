//! `GET /v1/models` (the configured models, in the caller's API format) and
//! `POST /v1/messages/count_tokens` (forwarded to an Anthropic provider).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use protocol::errors::ApiFormat;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::body::read_json;
use super::openapi as doc;
use crate::app::App;
use crate::auth;
use crate::config::ProviderKind;
use crate::error::GatewayError;
use crate::headers;
use crate::upstream::{Endpoint, UpstreamClient};

/// The format of a request that does not say: Anthropic's SDKs always send `anthropic-version`.
pub fn format_of(headers: &axum::http::HeaderMap) -> ApiFormat {
    if headers.contains_key("anthropic-version") {
        ApiFormat::Anthropic
    } else {
        ApiFormat::OpenAiChat
    }
}

/// `GET /v1/models`.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "proxy",
    operation_id = "list_models",
    summary = "The configured models",
    description = "The models the routing configuration names, in \
        [Anthropic's format](https://docs.anthropic.com/en/api/models-list) when the request \
        carries `anthropic-version`, else in \
        [OpenAI's](https://platform.openai.com/docs/api-reference/models/list).",
    params(
        ("anthropic-version" = Option<String>, Header, description = "Present: Anthropic's format."),
    ),
    responses(
        (status = 200, description = "The models.", body = doc::ModelList),
        (status = 401, description = "No client credential, or not the gateway's client key.", body = doc::ClientError),
    ),
)]
pub async fn list(State(app): State<Arc<App>>, req: Request) -> Response {
    let format = format_of(req.headers());
    if let Err(e) = auth::authenticate(
        app.settings.auth_mode,
        app.settings.client_api_key.as_deref(),
        req.headers(),
    ) {
        return e.into_response_for(format);
    }
    let models = app.routing.models();
    let body = match format {
        ApiFormat::Anthropic => {
            let data: Vec<Value> = models
                .iter()
                .map(|(id, _)| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
                .collect();
            json!({
                "data": data,
                "has_more": false,
                "first_id": models.first().map(|m| m.0),
                "last_id": models.last().map(|m| m.0),
            })
        }
        ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => {
            let data: Vec<Value> = models
                .iter()
                .map(|(id, p)| json!({"id": id, "object": "model", "created": 1_735_689_600, "owned_by": p.name}))
                .collect();
            json!({"object": "list", "data": data})
        }
    };
    axum::Json(body).into_response()
}

/// `POST /v1/messages/count_tokens`: forwarded to the Anthropic provider that serves the model.
/// A model served by an OpenAI-style provider has no such endpoint; the gateway then answers
/// with an estimate (4 bytes of text per token) and says so in `x-luthien-token-count: estimated`.
#[utoipa::path(
    post,
    path = "/v1/messages/count_tokens",
    tag = "proxy",
    operation_id = "count_tokens",
    summary = "Anthropic token counting",
    description = "Anthropic's [token counting API](https://docs.anthropic.com/en/api/messages-count-tokens), \
        forwarded to the Anthropic provider that serves the model (query string, `anthropic-version` \
        and `anthropic-beta` included). For a model an OpenAI-style provider serves, the gateway \
        answers with an estimate (4 bytes of text per token) and `x-luthien-token-count: estimated`.",
    params(
        ("beta" = Option<bool>, Query, description = "Forwarded to the upstream."),
        ("anthropic-version" = Option<String>, Header, description = "Forwarded unchanged."),
        ("anthropic-beta" = Option<String>, Header, description = "Forwarded unchanged."),
    ),
    request_body(content = Object, content_type = "application/json", description = "A \
        [count_tokens request](https://docs.anthropic.com/en/api/messages-count-tokens): `model`, \
        `messages`, and optionally `system`, `tools`, …"),
    responses(
        (status = 200, description = "The count.", body = doc::TokenCount,
            headers(("x-luthien-token-count" = String, description = "`estimated` when the gateway \
                estimated the count instead of asking the provider."))),
        (status = 400, description = "Invalid JSON, `model` or `messages` missing, or a model no \
            provider serves.", body = doc::AnthropicError),
        (status = 401, description = "No client credential, or not the gateway's client key.", body = doc::AnthropicError),
        (status = 413, description = "The body exceeds `MAX_REQUEST_BYTES`.", body = doc::AnthropicError),
        (status = 502, description = "The upstream is unreachable.", body = doc::AnthropicError),
        (status = 504, description = "The upstream did not answer in time.", body = doc::AnthropicError),
        (status = "default", description = "The upstream's status and body, passed through.", body = doc::AnthropicError),
    ),
)]
pub async fn count_tokens(State(app): State<Arc<App>>, req: Request) -> Response {
    match count(&app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response_for(ApiFormat::Anthropic),
    }
}

async fn count(app: &App, req: Request) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let credential = auth::authenticate(
        app.settings.auth_mode,
        app.settings.client_api_key.as_deref(),
        &parts.headers,
    )?;
    let (raw, body) = read_json(body, &parts.headers, app.settings.max_request_bytes).await?;
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::InvalidRequest {
            field: Some("model".into()),
            message: "model: field required (a non-empty string)".into(),
        })?;
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err(GatewayError::InvalidRequest {
            field: Some("messages".into()),
            message: "messages: field required (an array)".into(),
        });
    }
    let target = app.target(model)?;
    if target.provider.kind != ProviderKind::Anthropic {
        let text_bytes = ["system", "messages", "tools"]
            .iter()
            .filter_map(|k| body.get(*k))
            .map(|v| v.to_string().len())
            .sum::<usize>();
        let mut resp =
            axum::Json(json!({"input_tokens": text_bytes.div_ceil(4).max(1)})).into_response();
        resp.headers_mut().insert(
            "x-luthien-token-count",
            HeaderValue::from_static("estimated"),
        );
        return Ok(resp);
    }
    let upstream_body = if target.model == model {
        raw
    } else {
        let mut b = body.clone();
        b["model"] = Value::String(target.model.to_owned());
        bytes::Bytes::from(b.to_string())
    };
    let mut up_headers = headers::upstream_request(&parts.headers, true, true);
    if let Some((name, value)) = auth::upstream_header(&credential, target.provider)? {
        headers::insert(&mut up_headers, name, &value);
    }
    let url = UpstreamClient::url(target.provider, Endpoint::CountTokens, parts.uri.query());
    let deadline = Instant::now() + app.upstream.timeouts.total;
    let resp = app
        .upstream
        .send(target.provider, url, up_headers, upstream_body)
        .await?;
    let status = resp.status();
    let passed = headers::client_response(resp.headers(), true);
    let bytes = app
        .upstream
        .read_body(target.provider, resp, deadline)
        .await?;
    let mut out = (status, bytes).into_response();
    out.headers_mut().extend(passed);
    out.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(out)
}
