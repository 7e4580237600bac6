//! `POST /v1/messages` and `POST /v1/chat/completions`: authenticate, read and validate the
//! request, route the model, convert when the upstream speaks the other API, call upstream,
//! and relay the answer in the client's own format.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use protocol::convert::{request as convert_request, response as convert_response};
use protocol::errors::{error_body, parse_error_body, ApiFormat, ErrorKind};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;

use super::body::read_json;
use super::openapi as doc;
use crate::app::App;
use crate::auth;
use crate::config::routing::Target;
use crate::config::ProviderKind;
use crate::error::GatewayError;
use crate::headers;
use crate::recording::{now_ms, TxnContext};
use crate::relay::tap::OnComplete;
use crate::relay::{pump, ChatNaming, Relay, ResponsesNaming};
use crate::session;
use crate::upstream::{Endpoint, UpstreamClient};
use policy::executor::{Executor, ExecutorContext};
use policy::{FailMode, Policy, PolicyRequest, RequestVerdict};
use protocol::anthropic::message as anthropic_message;
use protocol::convert::responses_request as convert_responses_request;
use protocol::convert::responses_response as convert_responses_response;
use protocol::convert::responses_tools::{ToolCallRestorer, ToolMapping};
use protocol::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamEvent, Usage,
};
use protocol::openai::{responses_request, responses_response, responses_stream};

/// `POST /v1/messages`.
#[utoipa::path(
    post,
    path = "/v1/messages",
    tag = "proxy",
    operation_id = "create_message",
    summary = "Anthropic Messages",
    description = "Anthropic's [Messages API](https://docs.anthropic.com/en/api/messages), proxied: \
        the active policy sees the request and the response, the transaction is recorded, and the \
        answer comes back in Anthropic's format whichever provider serves the model. Fields the \
        gateway does not know are forwarded unchanged, as are `anthropic-version`, \
        `anthropic-beta` and the query string (when the provider speaks Anthropic's API).",
    params(
        ("beta" = Option<bool>, Query, description = "`beta=true`, as Anthropic's SDKs send for beta \
            features; forwarded to an Anthropic upstream."),
        ("anthropic-version" = Option<String>, Header, description = "Forwarded unchanged, e.g. `2023-06-01`."),
        ("anthropic-beta" = Option<String>, Header, description = "Forwarded unchanged."),
        ("x-session-id" = Option<String>, Header, description = "Files the transaction under this \
            session (Claude Code's `metadata.user_id` is used otherwise)."),
    ),
    request_body(content = Object, content_type = "application/json", description = "A \
        [Messages request](https://docs.anthropic.com/en/api/messages): `model`, `max_tokens`, \
        `messages` and optional fields."),
    responses(
        (status = 200, description = "The message: JSON, or with `\"stream\": true` an \
            [SSE stream](https://docs.anthropic.com/en/api/messages-streaming) (`message_start` … \
            `message_stop`; a failure mid-stream ends with an `error` event).",
            content(
                (Object = "application/json"),
                (String = "text/event-stream"),
            )),
        (status = 400, description = "Invalid JSON, a missing or ill-typed field, or a model no \
            provider serves.", body = doc::AnthropicError),
        (status = 401, description = "No client credential, or not the gateway's client key.", body = doc::AnthropicError),
        (status = 403, description = "The active policy rejected the request.", body = doc::AnthropicError),
        (status = 413, description = "The body exceeds `MAX_REQUEST_BYTES`.", body = doc::AnthropicError),
        (status = 500, description = "The gateway lacks configuration for this request (e.g. no \
            server key for the provider).", body = doc::AnthropicError),
        (status = 502, description = "The upstream is unreachable or answered nonsense.", body = doc::AnthropicError),
        (status = 504, description = "The upstream did not answer in time.", body = doc::AnthropicError),
        (status = "default", description = "An upstream error (429, 529, …) with its status, \
            headers and body passed through (converted to Anthropic's format when the upstream \
            speaks OpenAI's).", body = doc::AnthropicError),
    ),
)]
pub async fn messages(State(app): State<Arc<App>>, req: Request) -> Response {
    proxy(app, req, ApiFormat::Anthropic).await
}

/// `POST /v1/chat/completions`.
#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    tag = "proxy",
    operation_id = "create_chat_completion",
    summary = "OpenAI Chat Completions",
    description = "OpenAI's [Chat Completions API](https://platform.openai.com/docs/api-reference/chat/create), \
        proxied: the active policy sees the request and the response, the transaction is recorded, \
        and the answer comes back in OpenAI's format whichever provider serves the model.",
    params(
        ("x-session-id" = Option<String>, Header, description = "Files the transaction under this session."),
    ),
    request_body(content = Object, content_type = "application/json", description = "A \
        [chat completion request](https://platform.openai.com/docs/api-reference/chat/create): \
        `model`, `messages` and optional fields."),
    responses(
        (status = 200, description = "The completion: JSON, or with `\"stream\": true` an \
            [SSE stream](https://platform.openai.com/docs/api-reference/chat-streaming) of \
            `chat.completion.chunk`s with exactly one `finish_reason`, then `data: [DONE]`.",
            content(
                (Object = "application/json"),
                (String = "text/event-stream"),
            )),
        (status = 400, description = "Invalid JSON, a missing or ill-typed field (`param` names \
            it), or a model no provider serves (`code: model_not_found`).", body = doc::OpenAiError),
        (status = 401, description = "No client credential, or not the gateway's client key.", body = doc::OpenAiError),
        (status = 403, description = "The active policy rejected the request.", body = doc::OpenAiError),
        (status = 413, description = "The body exceeds `MAX_REQUEST_BYTES`.", body = doc::OpenAiError),
        (status = 500, description = "The gateway lacks configuration for this request.", body = doc::OpenAiError),
        (status = 502, description = "The upstream is unreachable or answered nonsense.", body = doc::OpenAiError),
        (status = 504, description = "The upstream did not answer in time.", body = doc::OpenAiError),
        (status = "default", description = "An upstream error (429, 503, …) with its status, \
            headers and body passed through (converted to OpenAI's format when the upstream \
            speaks Anthropic's).", body = doc::OpenAiError),
    ),
)]
pub async fn chat_completions(State(app): State<Arc<App>>, req: Request) -> Response {
    proxy(app, req, ApiFormat::OpenAiChat).await
}

/// `POST /v1/responses`: the OpenAI Responses API, what the Codex CLI speaks.
#[utoipa::path(
    post,
    path = "/v1/responses",
    tag = "proxy",
    operation_id = "create_response",
    summary = "OpenAI Responses (what Codex speaks)",
    description = "OpenAI's [Responses API](https://platform.openai.com/docs/api-reference/responses/create), \
        proxied: byte for byte to OpenAI when no policy changes anything, converted for Anthropic \
        and Chat-only upstreams (custom tools such as Codex's `apply_patch` travel as one-string \
        functions and come back as `custom_tool_call`s; hosted tools such as `web_search` are left \
        out there). `previous_response_id` and other server-side state cannot be converted.",
    params(
        ("x-session-id" = Option<String>, Header, description = "Files the transaction under this session."),
    ),
    request_body(content = Object, content_type = "application/json", description = "A \
        [response request](https://platform.openai.com/docs/api-reference/responses/create): \
        `model`, `input` and optional fields."),
    responses(
        (status = 200, description = "The response object, or with `\"stream\": true` an \
            [SSE stream](https://platform.openai.com/docs/api-reference/responses-streaming) of \
            typed events with contiguous `sequence_number`s, ending in `response.completed`, \
            `response.incomplete` or `response.failed`.",
            content(
                (Object = "application/json"),
                (String = "text/event-stream"),
            )),
        (status = 400, description = "Invalid JSON, a missing or ill-typed field (`param` names \
            it), something the upstream cannot carry, or a model no provider serves \
            (`code: model_not_found`).", body = doc::OpenAiError),
        (status = 401, description = "No client credential, or not the gateway's client key.", body = doc::OpenAiError),
        (status = 403, description = "The active policy rejected the request.", body = doc::OpenAiError),
        (status = 413, description = "The body exceeds `MAX_REQUEST_BYTES`.", body = doc::OpenAiError),
        (status = 502, description = "The upstream is unreachable or answered nonsense.", body = doc::OpenAiError),
        (status = 504, description = "The upstream did not answer in time.", body = doc::OpenAiError),
        (status = "default", description = "An upstream error with its status and headers, \
            in OpenAI's format.", body = doc::OpenAiError),
    ),
)]
pub async fn responses(State(app): State<Arc<App>>, req: Request) -> Response {
    proxy(app, req, ApiFormat::OpenAiResponses).await
}

/// What the proxy tracks across the exits of a transaction.
struct Timing {
    /// When the request arrived.
    started: Instant,
    /// Time spent waiting on the upstream, subtracted from the total to give the gateway's overhead.
    upstream: Duration,
    /// The transaction's record in the making, once its body was read and its model routed.
    ctx: Option<TxnContext>,
}

impl Timing {
    /// The gateway's own time so far, in milliseconds.
    fn overhead_ms(&self) -> f64 {
        self.started
            .elapsed()
            .saturating_sub(self.upstream)
            .as_secs_f64()
            * 1000.0
    }
}

async fn proxy(app: Arc<App>, req: Request, format: ApiFormat) -> Response {
    let started = Instant::now();
    let txn = uuid::Uuid::now_v7();
    let span = tracing::info_span!("proxy", transaction_id = %txn, api = ?format);
    let mut timing = Timing {
        started,
        upstream: Duration::ZERO,
        ctx: None,
    };
    let mut resp = match handle(&app, req, format, txn, &mut timing)
        .instrument(span)
        .await
    {
        Ok(resp) => resp,
        Err(e) => {
            if let Some(ctx) = timing.ctx.take() {
                let body = match &e {
                    GatewayError::Upstream { body, .. } => serde_json::from_slice(body).ok(),
                    _ => None,
                };
                let overhead = timing.overhead_ms();
                app.recording.finished(ctx.finish_error(
                    e.status().as_u16(),
                    e.to_string(),
                    body,
                    overhead,
                ));
            }
            e.into_response_for(format)
        }
    };
    let overhead = started.elapsed().saturating_sub(timing.upstream);
    headers::insert(
        resp.headers_mut(),
        "x-luthien-transaction-id",
        &txn.to_string(),
    );
    headers::insert(
        resp.headers_mut(),
        "x-luthien-overhead-ms",
        &format!("{:.3}", overhead.as_secs_f64() * 1000.0),
    );
    resp
}

async fn handle(
    app: &App,
    req: Request,
    format: ApiFormat,
    txn: uuid::Uuid,
    timing: &mut Timing,
) -> Result<Response, GatewayError> {
    let (parts, body) = req.into_parts();
    let credential = auth::authenticate(
        app.settings.auth_mode,
        app.settings.client_api_key.as_deref(),
        &parts.headers,
    )?;
    let (raw, body) = read_json(body, &parts.headers, app.settings.max_request_bytes).await?;
    let count = match format {
        ApiFormat::Anthropic => {
            protocol::anthropic::request::validate(&body)?;
            protocol::anthropic::request::message_count(&body)
        }
        ApiFormat::OpenAiChat => {
            protocol::openai::chat_request::validate(&body)?;
            protocol::openai::chat_request::message_count(&body)
        }
        ApiFormat::OpenAiResponses => {
            responses_request::validate(&body)?;
            body["input"].as_array().map_or(1, Vec::len)
        }
    };
    if count > app.settings.max_messages {
        return Err(GatewayError::InvalidRequest {
            field: Some("messages".into()),
            message: format!(
                "messages: {count} messages is more than the limit of {} (MAX_MESSAGES)",
                app.settings.max_messages
            ),
        });
    }
    let policy = app.policy();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let received_raw = raw.clone();
    let (raw, body, original) = match request_phase(policy.as_ref(), format, raw, body).await? {
        RequestOutcome::Forward(raw, body, original) => (raw, body, original),
        RequestOutcome::Respond(text, body) => {
            return Ok(respond_locally(format, &body, stream, &text))
        }
    };
    // Shared, not copied: the record, the executor and the routing all read the same body.
    let body = Arc::new(body);
    let received = original.map(Arc::new).unwrap_or_else(|| Arc::clone(&body));
    let model = body["model"].as_str().unwrap_or_default();
    let target = app.target(model)?;
    let ctx = TxnContext {
        id: txn.to_string(),
        started_at_ms: now_ms(),
        started: timing.started,
        session_id: session::session_id(&received, &parts.headers),
        title: session::title(&received),
        client_api: format,
        provider: target.provider.name.clone(),
        model: model.to_owned(),
        stream,
        policy: policy.name(),
        request_received: received,
        request_sent: None,
    };
    app.recording.started(&ctx);
    timing.ctx = Some(ctx);
    // OpenAI itself serves the Responses API; compatible servers are only sure to speak Chat.
    let upstream_format = match (target.provider.kind, format) {
        (ProviderKind::Anthropic, _) => ApiFormat::Anthropic,
        (ProviderKind::Openai, ApiFormat::OpenAiResponses) => ApiFormat::OpenAiResponses,
        (ProviderKind::Openai | ProviderKind::OpenaiCompatible, _) => ApiFormat::OpenAiChat,
    };
    let same_api = format == upstream_format;
    let include_usage = body["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false);
    let upstream_body = build_upstream_body(app, raw, &body, format, upstream_format, &target)?;
    // The same buffer means nothing changed: the record keeps one copy.
    let changed = upstream_body.as_ptr() != received_raw.as_ptr()
        || upstream_body.len() != received_raw.len();
    if let (true, Some(ctx)) = (changed, timing.ctx.as_mut()) {
        ctx.request_sent = serde_json::from_slice(&upstream_body).ok();
    }

    let mut up_headers = headers::upstream_request(
        &parts.headers,
        same_api,
        upstream_format == ApiFormat::Anthropic,
    );
    if let Some((name, value)) = auth::upstream_header(&credential, target.provider)? {
        headers::insert(&mut up_headers, name, &value);
    }
    let endpoint = match upstream_format {
        ApiFormat::Anthropic => Endpoint::Messages,
        ApiFormat::OpenAiChat => Endpoint::ChatCompletions,
        ApiFormat::OpenAiResponses => Endpoint::Responses,
    };
    let query = if same_api { parts.uri.query() } else { None };
    let url = UpstreamClient::url(target.provider, endpoint, query);

    let deadline = Instant::now() + app.upstream.timeouts.total;
    let sent = Instant::now();
    let resp = app
        .upstream
        .send(target.provider, url, up_headers, upstream_body)
        .await;
    timing.upstream = sent.elapsed();
    let resp = resp?;
    let status = resp.status();
    let passed_headers = headers::client_response(resp.headers(), same_api);

    if !status.is_success() {
        let t = Instant::now();
        let body = app
            .upstream
            .read_body(target.provider, resp, deadline)
            .await;
        timing.upstream += t.elapsed();
        let body = body?;
        return Err(upstream_error(
            status,
            passed_headers,
            body,
            same_api,
            format,
        ));
    }

    let passthrough = Executor::is_passthrough(policy.as_ref());
    let executor_ctx = || ExecutorContext {
        transaction_id: txn.to_string(),
        format,
        request: Arc::clone(&body),
    };
    if stream {
        let created = unix_now();
        let responses = (format == ApiFormat::OpenAiResponses).then(|| ResponsesNaming {
            encoder: responses_options(&body, same_api, created),
            tools: (!same_api)
                .then(|| ToolMapping::for_request(&body).ok())
                .flatten(),
        });
        let naming = ChatNaming {
            model: target.model,
            created,
            include_usage,
            responses,
        };
        let executor = (!passthrough).then(|| Executor::new(Arc::clone(&policy), executor_ctx()));
        let relay = Relay::new(format, upstream_format, naming, executor);
        let keepalive = Duration::from_millis(app.settings.policy_keepalive_ms);
        let recording = app.recording.clone();
        let ctx = timing.ctx.take();
        let overhead = timing.overhead_ms();
        let on_complete: OnComplete = Box::new(move |tap, end, decisions| {
            if let Some(ctx) = ctx {
                recording.finished(ctx.finish_stream(tap, end, &decisions, overhead));
            }
        });
        let body = pump::body_stream(
            resp,
            relay,
            app.upstream.clone(),
            deadline,
            keepalive,
            on_complete,
        );
        let mut response = Response::new(Body::from_stream(body));
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.extend(passed_headers);
        h.insert(
            "content-type",
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        h.insert("cache-control", HeaderValue::from_static("no-cache"));
        return Ok(response);
    }

    let t = Instant::now();
    let bytes = app
        .upstream
        .read_body(target.provider, resp, deadline)
        .await;
    timing.upstream += t.elapsed();
    let bytes = bytes?;
    let mut decisions = Vec::new();
    let mut record_delivered = None;
    let out = if format == ApiFormat::OpenAiResponses {
        let executor = (!passthrough).then(|| Executor::new(Arc::clone(&policy), executor_ctx()));
        let (out, delivered, records) =
            responses_json(&bytes, upstream_format, &target, &body, executor).await?;
        record_delivered = delivered;
        decisions = records;
        out
    } else if !passthrough {
        let message = upstream_message(&bytes, upstream_format, &target)?;
        let mut executor = Executor::new(Arc::clone(&policy), executor_ctx());
        let decided = run_executor(&mut executor, &message).await?;
        decisions = executor.records().to_vec();
        let message = anthropic_message::from_events(&message, &decided);
        record_delivered = Some(message.clone());
        let converted = match format {
            ApiFormat::Anthropic => message,
            ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => {
                let chat = convert_response::anthropic_to_chat_response(&message, unix_now())
                    .map_err(|e| GatewayError::UpstreamProtocol {
                        provider: target.provider.name.clone(),
                        detail: e.to_string(),
                    })?;
                if upstream_format == ApiFormat::OpenAiChat {
                    with_upstream_identity(chat, &bytes)
                } else {
                    chat
                }
            }
        };
        Bytes::from(converted.to_string())
    } else if same_api {
        bytes.clone()
    } else {
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| GatewayError::UpstreamProtocol {
                provider: target.provider.name.clone(),
                detail: format!("invalid JSON: {e}"),
            })?;
        let converted = match format {
            ApiFormat::Anthropic => {
                convert_response::chat_to_anthropic_response(&value, target.model)
            }
            ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => {
                convert_response::anthropic_to_chat_response(&value, unix_now())
            }
        }
        .map_err(|e| GatewayError::UpstreamProtocol {
            provider: target.provider.name.clone(),
            detail: e.to_string(),
        })?;
        Bytes::from(converted.to_string())
    };
    if let Some(ctx) = timing.ctx.take() {
        let received = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let overhead = timing.overhead_ms();
        app.recording.finished(ctx.finish_json(
            status.as_u16(),
            received,
            record_delivered,
            &decisions,
            overhead,
        ));
    }
    let mut response = (status, out).into_response();
    response.headers_mut().extend(passed_headers);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

/// What the request phase decided.
enum RequestOutcome {
    /// Send upstream: the raw bytes (the client's own when the policy changed nothing), the
    /// body, and the body as received when the policy changed it.
    Forward(Bytes, Value, Option<Value>),
    /// Answer with this text without calling upstream.
    Respond(String, Value),
}

/// Runs the policy's request phase under its deadline and fail mode.
async fn request_phase(
    policy: &dyn Policy,
    format: ApiFormat,
    raw: Bytes,
    body: Value,
) -> Result<RequestOutcome, GatewayError> {
    let mut req = PolicyRequest::new(format, body);
    let verdict = match tokio::time::timeout(policy.deadline(), policy.on_request(&mut req)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => unavailable_request(policy, &e.to_string())?,
        Err(_) => unavailable_request(policy, "no decision in time")?,
    };
    match verdict {
        RequestVerdict::Pass if req.is_modified() => {
            let (body, original) = req.into_parts();
            let raw = serde_json::to_vec(&body).map(Bytes::from).map_err(|e| {
                GatewayError::Misconfigured(format!("cannot serialise the modified request: {e}"))
            })?;
            Ok(RequestOutcome::Forward(raw, body, original))
        }
        RequestVerdict::Pass => Ok(RequestOutcome::Forward(raw, req.into_body(), None)),
        RequestVerdict::Reject { message } => Err(GatewayError::PolicyRejected {
            policy: policy.name(),
            message,
        }),
        RequestVerdict::Respond { text } => Ok(RequestOutcome::Respond(text, req.into_body())),
    }
}

fn unavailable_request(policy: &dyn Policy, reason: &str) -> Result<RequestVerdict, GatewayError> {
    tracing::warn!(policy = %policy.name(), reason, "request check unavailable");
    match policy.fail_mode() {
        FailMode::FailOpen => Ok(RequestVerdict::Pass),
        FailMode::FailClosed => Err(GatewayError::PolicyRejected {
            policy: policy.name(),
            message: format!("the request check was unavailable ({reason})"),
        }),
    }
}

/// A response the policy wrote, in the client's format, streamed or not.
fn respond_locally(format: ApiFormat, body: &Value, stream: bool, text: &str) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let id = format!("msg_luthien_{}", uuid::Uuid::now_v7().simple());
    let events = vec![
        StreamEvent::MessageStart(MessageStart {
            id: id.clone(),
            model: model.clone(),
            usage: Usage::default(),
        }),
        StreamEvent::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::Text(text.to_owned()),
        },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::MessageDelta(MessageDelta {
            stop_reason: Some(StopReason::EndTurn),
            stop_sequence: None,
            usage: Usage::default(),
        }),
        StreamEvent::MessageStop,
    ];
    if stream {
        let mut out = bytes::BytesMut::new();
        match format {
            ApiFormat::Anthropic => {
                let mut enc = protocol::anthropic::stream::Encoder::default();
                for ev in &events {
                    out.extend_from_slice(&enc.encode(ev));
                }
            }
            ApiFormat::OpenAiResponses => {
                let mut enc =
                    responses_stream::Encoder::new(responses_options(body, false, unix_now()));
                for ev in &events {
                    for b in enc.encode(ev) {
                        out.extend_from_slice(&b);
                    }
                }
            }
            ApiFormat::OpenAiChat => {
                let mut enc = protocol::openai::chat_stream::Encoder::new(
                    protocol::openai::chat_stream::EncoderOptions {
                        id: format!("chatcmpl-luthien-{}", uuid::Uuid::now_v7().simple()),
                        model,
                        created: unix_now(),
                        include_usage: body["stream_options"]["include_usage"]
                            .as_bool()
                            .unwrap_or(false),
                    },
                );
                for ev in &events {
                    for b in enc.encode(ev) {
                        out.extend_from_slice(&b);
                    }
                }
            }
        }
        let mut resp = (StatusCode::OK, out.freeze()).into_response();
        resp.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        return resp;
    }
    let shell = serde_json::json!({"id": id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}});
    let message = anthropic_message::from_events(&shell, &events);
    let out = match format {
        ApiFormat::Anthropic => message,
        ApiFormat::OpenAiChat => {
            convert_response::anthropic_to_chat_response(&message, unix_now()).unwrap_or(message)
        }
        ApiFormat::OpenAiResponses => {
            responses_response::build(&events, responses_options(body, false, unix_now()))
        }
    };
    axum::Json(out).into_response()
}

/// A Chat response the executor rebuilt, given back the Chat upstream's own top-level fields
/// (its id, `created`, model snapshot, `service_tier`, `system_fingerprint`, usage and any
/// field this gateway does not know) instead of the ones the rebuild made up: only `choices`
/// is the policy's.
fn with_upstream_identity(mut rebuilt: Value, upstream: &[u8]) -> Value {
    let Ok(Value::Object(mut original)) = serde_json::from_slice::<Value>(upstream) else {
        return rebuilt;
    };
    if let Some(choices) = rebuilt.get_mut("choices").map(Value::take) {
        // On a key already there, `insert` keeps its place: the upstream's field order stays.
        original.insert("choices".into(), choices);
    }
    Value::Object(original)
}

/// The upstream's non-streaming answer as an Anthropic message (the executor's canonical form).
fn upstream_message(
    bytes: &[u8],
    upstream: ApiFormat,
    target: &Target<'_>,
) -> Result<Value, GatewayError> {
    let bad = |detail: String| GatewayError::UpstreamProtocol {
        provider: target.provider.name.clone(),
        detail,
    };
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    match upstream {
        ApiFormat::Anthropic => Ok(value),
        ApiFormat::OpenAiChat => convert_response::chat_to_anthropic_response(&value, target.model)
            .map_err(|e| bad(e.to_string())),
        ApiFormat::OpenAiResponses => {
            convert_responses_response::responses_to_anthropic_response(&value, target.model)
                .map_err(|e| bad(e.to_string()))
        }
    }
}

/// How a Responses answer names itself: the upstream's own id when it speaks Responses (a
/// client may refer to it later), else a fresh `resp_…`; the model the client asked for; the
/// request fields a response object repeats.
fn responses_options(
    request: &Value,
    same_api: bool,
    created_at: u64,
) -> responses_stream::EncoderOptions {
    responses_stream::EncoderOptions {
        id: (!same_api).then(|| format!("resp_{}", uuid::Uuid::now_v7().simple())),
        model: request["model"].as_str().map(str::to_owned),
        created_at,
        echo: responses_request::response_echo(request),
    }
}

/// A non-streaming answer for a Responses client: the upstream's bytes when it speaks
/// Responses and no policy looks, otherwise the response rebuilt from canonical events (after
/// the executor, when a policy looks). Returns the body, the delivered record when a policy
/// ran, and its decisions.
async fn responses_json(
    bytes: &Bytes,
    upstream: ApiFormat,
    target: &Target<'_>,
    request: &Value,
    executor: Option<Executor>,
) -> Result<(Bytes, Option<Value>, Vec<policy::executor::DecisionRecord>), GatewayError> {
    if upstream == ApiFormat::OpenAiResponses && executor.is_none() {
        return Ok((bytes.clone(), None, Vec::new()));
    }
    let bad = |detail: String| GatewayError::UpstreamProtocol {
        provider: target.provider.name.clone(),
        detail,
    };
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let same_api = upstream == ApiFormat::OpenAiResponses;
    let opts = responses_options(request, same_api, unix_now());
    let tools = ToolMapping::for_request(request)?;
    let Some(mut executor) = executor else {
        let converted = match upstream {
            ApiFormat::Anthropic => {
                convert_responses_response::anthropic_to_responses_response(&value, opts, &tools)
            }
            _ => convert_responses_response::chat_to_responses_response(&value, opts, &tools),
        }
        .map_err(|e| bad(e.to_string()))?;
        return Ok((Bytes::from(converted.to_string()), None, Vec::new()));
    };
    let events = match upstream {
        ApiFormat::OpenAiResponses => responses_response::to_events(&value),
        ApiFormat::Anthropic => anthropic_message::to_events(&value),
        ApiFormat::OpenAiChat => convert_response::chat_to_anthropic_response(&value, target.model)
            .and_then(|m| anthropic_message::to_events(&m)),
    }
    .map_err(|e| bad(e.to_string()))?;
    let events = if same_api {
        events
    } else {
        let mut restorer = ToolCallRestorer::new(tools);
        events
            .into_iter()
            .flat_map(|ev| restorer.push(ev))
            .collect()
    };
    let decided = run_events(&mut executor, events).await;
    let out = if same_api {
        responses_response::from_events(&value, &decided)
    } else {
        responses_response::build(&decided, opts)
    };
    Ok((
        Bytes::from(out.to_string()),
        Some(out),
        executor.records().to_vec(),
    ))
}

/// Runs a whole message through the executor: non-streaming responses share the stream path.
async fn run_executor(
    executor: &mut Executor,
    message: &Value,
) -> Result<Vec<StreamEvent>, GatewayError> {
    let events =
        anthropic_message::to_events(message).map_err(|e| GatewayError::UpstreamProtocol {
            provider: "upstream".into(),
            detail: e.to_string(),
        })?;
    Ok(run_events(executor, events).await)
}

/// Pushes `events` through the executor and waits for every decision.
async fn run_events(executor: &mut Executor, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    for ev in events {
        out.extend(executor.push(ev, None).into_iter().map(|o| o.event));
    }
    while executor.is_waiting() {
        out.extend(executor.next_resolved().await.into_iter().map(|o| o.event));
    }
    out
}

/// The body to send upstream: the client's bytes untouched when nothing needs to change.
fn build_upstream_body(
    app: &App,
    raw: Bytes,
    body: &Value,
    client: ApiFormat,
    upstream: ApiFormat,
    target: &Target<'_>,
) -> Result<Bytes, GatewayError> {
    let converted = match (client, upstream) {
        (a, b) if a == b => {
            if body["model"].as_str() == Some(target.model) {
                return Ok(raw);
            }
            let mut b = body.clone();
            b["model"] = Value::String(target.model.to_owned());
            b
        }
        (ApiFormat::Anthropic, _) => {
            let mut chat = convert_request::anthropic_to_chat(
                body,
                &convert_request::ToChatOptions {
                    model: target.model.to_owned(),
                    use_max_completion_tokens: target.provider.kind == ProviderKind::Openai,
                },
            )?;
            // OpenAI rejects `reasoning_effort` on models that do not reason, and Claude Code
            // always asks for thinking; other OpenAI-compatible servers are left to decide.
            if target.provider.kind == ProviderKind::Openai && !openai_model_reasons(target.model) {
                if let Some(obj) = chat.as_object_mut() {
                    obj.remove("reasoning_effort");
                }
            }
            chat
        }
        (ApiFormat::OpenAiChat, _) => convert_request::chat_to_anthropic(
            body,
            &convert_request::ToAnthropicOptions {
                model: target.model.to_owned(),
                default_max_tokens: app.settings.default_max_tokens,
            },
        )?,
        // Codex offers hosted tools (web_search) on every request whether the task needs them
        // or not; an upstream that cannot run them answers without them rather than refusing.
        (ApiFormat::OpenAiResponses, ApiFormat::Anthropic) => {
            convert_responses_request::responses_to_anthropic(
                body,
                &convert_responses_request::ResponsesToAnthropicOptions {
                    model: target.model.to_owned(),
                    default_max_tokens: app.settings.default_max_tokens,
                    hosted_tools: convert_responses_request::HostedTools::Drop,
                },
            )?
        }
        (ApiFormat::OpenAiResponses, _) => convert_responses_request::responses_to_chat(
            body,
            &convert_responses_request::ResponsesToChatOptions {
                model: target.model.to_owned(),
                use_max_completion_tokens: target.provider.kind == ProviderKind::Openai,
                hosted_tools: convert_responses_request::HostedTools::Drop,
            },
        )?,
    };
    serde_json::to_vec(&converted)
        .map(Bytes::from)
        .map_err(|e| {
            GatewayError::Misconfigured(format!("cannot serialise the upstream request: {e}"))
        })
}

/// An upstream error status: passed through unchanged on a same-API route, otherwise
/// re-expressed in the client's format with the same status and the upstream's message.
fn upstream_error(
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    same_api: bool,
    client: ApiFormat,
) -> GatewayError {
    if same_api {
        return GatewayError::Upstream {
            status,
            headers: Box::new(headers),
            body,
        };
    }
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let (kind, message) = match parsed.as_ref().and_then(parse_error_body) {
        Some((kind, message)) => (
            kind.unwrap_or_else(|| ErrorKind::from_status(status.as_u16())),
            message,
        ),
        None => (
            ErrorKind::from_status(status.as_u16()),
            format!("upstream returned HTTP {}", status.as_u16()),
        ),
    };
    let body = error_body(client, kind, &message, None).to_string();
    GatewayError::Upstream {
        status,
        headers: Box::new(headers),
        body: Bytes::from(body),
    }
}

/// OpenAI's reasoning models (o-series, gpt-5 family, codex) accept `reasoning_effort`.
fn openai_model_reasons(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    m.starts_with("gpt-5")
        || m.contains("codex")
        || (m.starts_with('o') && m.chars().nth(1).is_some_and(|c| c.is_ascii_digit()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use policy::PolicyError;
    use serde_json::json;

    struct Gate(RequestVerdict);

    #[async_trait]
    impl Policy for Gate {
        fn name(&self) -> String {
            "gate".into()
        }
        async fn on_request(
            &self,
            _req: &mut PolicyRequest,
        ) -> Result<RequestVerdict, PolicyError> {
            Ok(self.0.clone())
        }
    }

    struct Broken(FailMode);

    #[async_trait]
    impl Policy for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        async fn on_request(
            &self,
            _req: &mut PolicyRequest,
        ) -> Result<RequestVerdict, PolicyError> {
            Err(PolicyError::Unavailable("down".into()))
        }
        fn fail_mode(&self) -> FailMode {
            self.0
        }
    }

    fn body() -> (Bytes, Value) {
        let v = json!({"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
        (Bytes::from(v.to_string()), v)
    }

    #[tokio::test]
    async fn a_rejecting_policy_becomes_a_403_in_the_clients_format() {
        let (raw, v) = body();
        let gate = Gate(RequestVerdict::Reject {
            message: "not today".into(),
        });
        let Err(e) = request_phase(&gate, ApiFormat::Anthropic, raw, v).await else {
            panic!("rejected")
        };
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        let resp = e.into_response_for(ApiFormat::OpenAiChat);
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"]["type"], "permission_error");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not today"));
    }

    #[tokio::test]
    async fn a_failing_request_check_follows_the_fail_mode() {
        let (raw, v) = body();
        assert!(request_phase(
            &Broken(FailMode::FailClosed),
            ApiFormat::Anthropic,
            raw.clone(),
            v.clone()
        )
        .await
        .is_err());
        let Ok(RequestOutcome::Forward(out, _, None)) = request_phase(
            &Broken(FailMode::FailOpen),
            ApiFormat::Anthropic,
            raw.clone(),
            v,
        )
        .await
        else {
            panic!("fail open forwards")
        };
        assert_eq!(out, raw, "unmodified requests keep their bytes");
    }

    #[tokio::test]
    async fn a_responding_policy_answers_without_upstream_as_a_valid_stream_in_each_format() {
        let (raw, v) = body();
        let gate = Gate(RequestVerdict::Respond {
            text: "answered locally".into(),
        });
        let Ok(RequestOutcome::Respond(text, body)) =
            request_phase(&gate, ApiFormat::Anthropic, raw, v).await
        else {
            panic!("responds")
        };
        for (format, validate) in [
            (
                ApiFormat::Anthropic,
                protocol::validate::validate_anthropic_sse as fn(&[u8]) -> _,
            ),
            (ApiFormat::OpenAiChat, protocol::validate::validate_chat_sse),
        ] {
            let resp = respond_locally(format, &body, true, &text);
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            let s = validate(&bytes).unwrap();
            assert_eq!(s.text, "answered locally");
        }
        let resp = respond_locally(ApiFormat::OpenAiChat, &body, false, &text);
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "answered locally");
    }
}
