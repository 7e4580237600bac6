//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every endpoint the gateway serves.
//!
//! The document is assembled by `utoipa` from three sources:
//! - `#[utoipa::path]` on the handlers themselves (routes/*.rs), so an endpoint's
//!   documentation changes with its code;
//! - the schemas below, which describe the JSON the handlers build with `json!` or take from the
//!   store crate (tests/openapi.rs checks live responses and store records against them);
//! - [`Layers`], which adds what middleware rather than handlers produce: the admin guard's
//!   security requirement and 401, and the `x-luthien-transaction-id` header.
//!
//! Endpoints served by one handler under two routes (`/ready` and `/api/admin/system-status`,
//! `GET` and `HEAD /api/hello`), the activity stream (its module is private) and the browser
//! sign-in endpoints have documentation-only functions here.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, Ref, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Header, OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{history, models, policy_admin, proxy, service};

/// The OpenAPI description of the gateway.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Luthien gateway",
        version = env!("CARGO_PKG_VERSION"),
        description = "Luthien, an AI-control proxy for coding agents: the Anthropic Messages and \
            OpenAI Chat Completions endpoints (policies applied, every transaction recorded), the \
            history, admin and activity APIs, and service endpoints. Every response carries \
            `x-luthien-transaction-id` (except the activity stream's); a path the gateway does not \
            serve answers 404 in the caller's API format (Anthropic's when the request carries \
            `anthropic-version`, else OpenAI's).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        proxy::messages,
        models::count_tokens,
        proxy::chat_completions,
        proxy::responses,
        models::list,
        service::health,
        service::ready,
        service::hello,
        hello_get,
        document,
        history::sessions,
        history::session,
        history::export,
        history::transaction,
        history::diff,
        history::stats,
        policy_admin::current,
        policy_admin::set,
        policy_admin::validate,
        policy_admin::list,
        policy_admin::history,
        system_status,
        activity_stream,
        session_info,
        login,
        logout,
    ),
    components(schemas(ActivityEnvelope)),
    modifiers(&Layers),
    tags(
        (name = "proxy", description = "The LLM APIs agents call: policies apply, transactions are recorded."),
        (name = "service", description = "Liveness, readiness, connectivity probe and this document; no credential."),
        (name = "history", description = "Recorded sessions and transactions (admin)."),
        (name = "admin", description = "The active policy and the system status (admin)."),
        (name = "activity", description = "Live activity as Server-Sent Events (admin)."),
        (name = "browser", description = "Sign-in for the web UI: a session cookie instead of the admin key."),
    )
)]
pub struct ApiDoc;

/// The document, serialized once: it is fixed for the life of the process.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// `GET /api/openapi.json`: public, like `/health`, since it describes the API and holds no secrets.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    operation_id = "openapi_document",
    summary = "This OpenAPI 3.1 document",
    responses((status = 200, description = "The document.", content_type = "application/json", body = Object)),
)]
pub async fn document() -> Response {
    match &*DOCUMENT {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json.clone(),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document failed to serialize");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"error": {"type": "api_error",
                    "message": format!("the OpenAPI document failed to serialize: {e}")}})),
            )
                .into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documentation-only operations: routes whose handler is documented under another path, or is
// written elsewhere. They are never called.
// ---------------------------------------------------------------------------------------------

/// `GET /api/hello`: the same handler as `HEAD`, with a body.
#[utoipa::path(
    get,
    path = "/api/hello",
    tag = "service",
    operation_id = "hello_get",
    summary = "Connectivity probe (GET)",
    responses((status = 200, description = "The gateway is reachable.", body = Hello)),
)]
#[allow(dead_code)] // documentation only: the route is served by `service::hello`
fn hello_get() {}

/// `GET /api/admin/system-status`: `GET /ready` behind the admin guard.
#[utoipa::path(
    get,
    path = "/api/admin/system-status",
    tag = "admin",
    operation_id = "system_status",
    summary = "System status (the readiness report, for the admin UI)",
    responses((status = 200, description = "The readiness report; see `GET /ready`.", body = Readiness)),
)]
#[allow(dead_code)] // documentation only: the route is served by `service::ready`
fn system_status() {}

/// `GET /api/activity/stream`, served by `activity::stream_handler` (documented here because
/// the `activity::sse` module is private and the macro's companion item is not re-exported).
#[utoipa::path(
    get,
    path = "/api/activity/stream",
    tag = "activity",
    operation_id = "activity_stream",
    summary = "Live activity (Server-Sent Events)",
    description = "Each event is `event: <kind>`, `id: <instance>-<seq>`, `data: <ActivityEnvelope \
        JSON>` (see the `ActivityEnvelope` schema). On connect the last `replay` matching events \
        are sent first; with a `Last-Event-ID` still in the replay ring, everything after it \
        instead. Idle streams get a `: heartbeat` comment every 15 s. A client too slow to keep up \
        gets `event: lagged` with `{\"missed\": n}` and the stream ends; reconnect.",
    params(
        crate::activity::StreamQuery,
        ("last-event-id" = Option<String>, Header, description = "Resume after this event id."),
    ),
    responses(
        (status = 200, description = "The event stream.", content_type = "text/event-stream", body = String),
        (status = 400, description = "`kind` names no event kind.", body = ActivityQueryError),
    ),
)]
#[allow(dead_code)] // documentation only: the route is served by `activity::stream_handler`
fn activity_stream() {}

/// `POST /login`: the web UI's sign-in form.
#[utoipa::path(
    post,
    path = "/login",
    tag = "browser",
    operation_id = "login",
    summary = "Sign in to the web UI with the admin key",
    description = "Exchanges the admin key for a session cookie (HttpOnly, SameSite=Strict, Secure \
        behind TLS, `ADMIN_SESSION_HOURS` long). A wrong key also answers 303, back to \
        `/login?error=invalid&next=…`, without a cookie. Attempts are rate-limited per client \
        address (`LOGIN_ATTEMPTS_PER_MINUTE`), right key or not. `next` is kept only when it is \
        a path on this gateway.",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: `Set-Cookie: luthien_session=…` (HttpOnly) and \
            `Location: next`.",
            headers(
                ("set-cookie" = String, description = "The session cookie `luthien_session`."),
                ("location" = String, description = "Where the browser goes next."),
            )),
        (status = 403, description = "The form was posted from another site (`Origin` or \
            `Sec-Fetch-Site`): login CSRF."),
        (status = 429, description = "Too many attempts from this address; try again later.",
            headers(("retry-after" = String, description = "Seconds to wait."))),
        (status = 503, description = "The session store (the database) is down; the admin key \
            still works as a header."),
    ),
)]
#[allow(dead_code)] // documentation only: served by `admin::login::login`
fn login() {}

/// `GET /api/admin/session`: how the caller authenticated, and its CSRF token.
#[utoipa::path(
    get,
    path = "/api/admin/session",
    tag = "admin",
    operation_id = "admin_session",
    summary = "How this request was authenticated, and the browser session's CSRF token",
    description = "`authenticated_by` is `key`, `session` or `localhost_bypass`; `csrf_token` is \
        the value a cookie-authenticated state change must send in `x-csrf-token` (null unless \
        authenticated by a session).",
    responses((status = 200, description = "The caller's authentication.", body = Object)),
)]
#[allow(dead_code)] // documentation only: served by `admin::login::session_info`
fn session_info() {}

/// `POST /logout`: ends the browser session.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "browser",
    operation_id = "logout",
    summary = "Sign out of the web UI",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out: the cookie is cleared and the browser goes to the \
            login page.",
            headers(
                ("set-cookie" = String, description = "Clears `luthien_session`."),
                ("location" = String, description = "The login page."),
            )),
        (status = 403, description = "The `csrf` field is not the session's CSRF token, or the \
            form came from another site."),
        (status = 503, description = "The session store (the database) is down."),
    ),
)]
#[allow(dead_code)] // documentation only: served by `admin::login::logout`
fn logout() {}

// ---------------------------------------------------------------------------------------------
// What middleware adds: security, the admin guard's 401, the transaction-id header.
// ---------------------------------------------------------------------------------------------

/// Paths behind the admin guard (`admin::require`), as the router layers it.
const GUARDED: [&str; 3] = ["/api/history/", "/api/admin/", "/api/activity/"];

/// Paths whose every response reports the gateway's own time (`routes::proxy`).
const OVERHEAD_REPORTED: [&str; 3] = ["/v1/messages", "/v1/chat/completions", "/v1/responses"];

/// Adds to the document what the router's layers, not the handlers, produce.
struct Layers;

impl Modify for Layers {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, scheme) in security_schemes() {
            components.add_security_scheme(name, scheme);
        }
        components.responses.insert(
            "AdminUnauthorized".into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(
                        "The admin key is missing or wrong: send it as `Authorization: Bearer` \
                         or `x-api-key`, or sign in at `/login` for a session cookie.",
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build(),
            ),
        );
        let admin: Vec<SecurityRequirement> =
            ["admin_key", "admin_api_key_header", "session_cookie"]
                .into_iter()
                .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
                .collect();
        let client: Vec<SecurityRequirement> = ["client_api_key", "client_bearer"]
            .into_iter()
            .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
            .collect();
        for (path, item) in doc.paths.paths.iter_mut() {
            let guarded = GUARDED.iter().any(|p| path.starts_with(p));
            let proxied = path.starts_with("/v1/");
            // The activity router is merged after the transaction-id layer (app.rs).
            let has_txn_header = !path.starts_with("/api/activity/");
            let has_overhead = OVERHEAD_REPORTED.contains(&path.as_str());
            for op in operations(item) {
                if guarded {
                    op.security = Some(admin.clone());
                    op.responses.responses.insert(
                        "401".into(),
                        RefOr::Ref(Ref::from_response_name("AdminUnauthorized")),
                    );
                }
                if proxied {
                    op.security = Some(client.clone());
                }
                if has_txn_header {
                    for resp in op.responses.responses.values_mut() {
                        if let RefOr::T(resp) = resp {
                            resp.headers.insert(
                                "x-luthien-transaction-id".into(),
                                described_header(
                                    "The transaction's id (UUIDv7): find it in the history API.",
                                ),
                            );
                            if has_overhead {
                                resp.headers.insert(
                                    "x-luthien-overhead-ms".into(),
                                    described_header(
                                        "Time the gateway itself added, in milliseconds (upstream time excluded).",
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

fn described_header(description: &str) -> Header {
    let mut h = Header::new(Object::with_type(Type::String));
    h.description = Some(description.to_owned());
    h
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.head.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn security_schemes() -> Vec<(&'static str, SecurityScheme)> {
    vec![
        (
            "admin_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin key (`ADMIN_API_KEY`; generated on first start when unset) as \
                         `Authorization: Bearer <key>`.",
                    ))
                    .build(),
            ),
        ),
        (
            "admin_api_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The admin key as `x-api-key: <key>`.",
            ))),
        ),
        (
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "luthien_session",
                "The web UI's session cookie, set by `POST /login`. A state-changing request \
                 (POST, PUT, PATCH, DELETE) authenticated by this cookie must also send the \
                 session's CSRF token as `x-csrf-token`; requests carrying the admin key need none.",
            ))),
        ),
        (
            "client_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The client's credential as Anthropic's SDKs send it. Under \
                 `AUTH_MODE=passthrough` it is the provider key, forwarded upstream; under \
                 `client_key` it is the gateway's `CLIENT_API_KEY`; `both` accepts either. \
                 `x-api-key` wins when both headers are sent.",
            ))),
        ),
        (
            "client_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The client's credential as OpenAI's SDKs (and Claude Pro/Max OAuth) send \
                         it: `Authorization: Bearer <key or token>`; same rules as `client_api_key`.",
                    ))
                    .build(),
            ),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Schemas. Each describes JSON a handler builds; keep them in step with the handlers (the tests
// compare them with live responses).
// ---------------------------------------------------------------------------------------------

/// An error from the history, admin and activity APIs, and the admin guard's 401.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// What went wrong.
    pub error: ApiErrorDetail,
}

/// The `error` member of an [`ApiError`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// `authentication_error`, `api_error` (store unavailable), `invalid_request_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// A sentence saying what happened and what to do.
    pub message: String,
}

/// `GET /api/admin/policy/current` when the store is unavailable: the error and the active name.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentPolicyUnavailable {
    /// What went wrong.
    pub error: ApiErrorDetail,
    /// The active policy's name (known without the store).
    pub name: String,
}

/// An error in Anthropic's format (`/v1/messages`, `/v1/messages/count_tokens`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnthropicError {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error.
    pub error: ApiErrorDetail,
}

/// An error in OpenAI's format (`/v1/chat/completions`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiError {
    /// The error.
    pub error: OpenAiErrorDetail,
}

/// The `error` member of an [`OpenAiError`].
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiErrorDetail {
    /// A sentence saying what happened.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `server_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The offending request field, when known.
    #[schema(required = true)]
    pub param: Option<String>,
    /// `model_not_found` for an unknown model, else null.
    #[schema(required = true)]
    pub code: Option<String>,
}

/// An error in the format of the API the request used: Anthropic's or OpenAI's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ClientError {
    /// Anthropic's format (the request carried `anthropic-version`).
    Anthropic(AnthropicError),
    /// OpenAI's format.
    OpenAi(OpenAiError),
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `healthy`.
    pub status: String,
    /// The gateway's version.
    pub version: String,
}

/// `GET /api/hello`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hello {
    /// Always `ok`.
    pub status: String,
}

/// `ok`, or `degraded` (requests are still served; recording or the bus is impaired).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyState {
    /// Everything works.
    Ok,
    /// Something is impaired; the named component says what.
    Degraded,
}

/// `GET /ready` and `GET /api/admin/system-status`: every component's state, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every component is.
    pub status: ReadyState,
    /// The database answered a ping within 2 s.
    pub database: DatabaseStatus,
    /// The recorder's queue and counters.
    pub recorder: RecorderStatus,
    /// The activity bus.
    pub bus: BusStatus,
    /// The active policy.
    pub policy: PolicyStatus,
}

/// The database part of [`Readiness`].
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseStatus {
    /// `ok` or `down`.
    pub status: String,
    /// Why it is down.
    pub error: Option<String>,
}

/// The recorder part of [`Readiness`].
#[derive(Debug, Serialize, ToSchema)]
pub struct RecorderStatus {
    /// `ok`, or `degraded` while the database fails writes.
    pub status: ReadyState,
    /// Records accepted and not yet written.
    pub queued: u64,
    /// Records written.
    pub written: u64,
    /// Records lost (queue full or rejected).
    pub dropped: u64,
    /// Failed batch writes (each retry counts).
    pub failed_batches: u64,
    /// The last write error.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// The bus part of [`Readiness`].
#[derive(Debug, Serialize, ToSchema)]
pub struct BusStatus {
    /// `ok`, or `degraded` while Redis is unreachable.
    pub status: ReadyState,
    /// `in_process` or `redis`.
    pub backend: String,
    /// Whether events reach the other instances.
    pub connected: bool,
    /// Events not sent to Redis.
    pub dropped: u64,
}

/// The policy part of [`Readiness`].
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyStatus {
    /// Always `ok`: a gateway without a policy does not start.
    pub status: String,
    /// The active policy's name.
    pub name: String,
}

/// `GET /v1/models` for a request with `anthropic-version`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnthropicModelList {
    /// The configured models.
    pub data: Vec<AnthropicModel>,
    /// Always false.
    pub has_more: bool,
    /// The first model's id.
    #[schema(required = true)]
    pub first_id: Option<String>,
    /// The last model's id.
    #[schema(required = true)]
    pub last_id: Option<String>,
}

/// A model in Anthropic's format.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnthropicModel {
    /// Always `model`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The model name clients send.
    pub id: String,
    /// The same name.
    pub display_name: String,
    /// A fixed date (the gateway does not know the provider's).
    pub created_at: String,
}

/// `GET /v1/models` in OpenAI's format.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiModelList {
    /// Always `list`.
    pub object: String,
    /// The configured models.
    pub data: Vec<OpenAiModel>,
}

/// A model in OpenAI's format.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiModel {
    /// The model name clients send.
    pub id: String,
    /// Always `model`.
    pub object: String,
    /// A fixed epoch time.
    pub created: i64,
    /// The provider that serves it.
    pub owned_by: String,
}

/// The configured models in the caller's format.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ModelList {
    /// Anthropic's format.
    Anthropic(AnthropicModelList),
    /// OpenAI's format.
    OpenAi(OpenAiModelList),
}

/// `POST /v1/messages/count_tokens`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCount {
    /// Input tokens of the request.
    pub input_tokens: u64,
}

/// A page of sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionPage {
    /// The sessions of this page.
    pub items: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A session as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSummary {
    /// Session id.
    pub id: String,
    /// The first user message of its first transaction (≤ 120 characters).
    #[schema(required = true)]
    pub title: Option<String>,
    /// Start of the earliest transaction (epoch ms).
    pub first_seen_ms: i64,
    /// Start of the latest transaction (epoch ms).
    pub last_seen_ms: i64,
    /// Number of transactions.
    pub transaction_count: u64,
    /// Transactions whose final decision was `blocked`.
    pub blocked_count: u64,
    /// Models used, in order of first use.
    pub models: Vec<String>,
}

/// `GET /api/history/sessions/{id}`: the session and its turns as a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionConversation {
    /// The session.
    pub session: SessionSummary,
    /// For each transaction: the user's new message (when it has one), then the assistant's turn.
    pub conversation: Vec<ConversationEntry>,
}

/// Who speaks in a [`ConversationEntry`].
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The client's latest user message.
    User,
    /// What the gateway delivered.
    Assistant,
}

/// One entry of a conversation; the assistant's entries carry the transaction's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationEntry {
    /// `user` or `assistant`.
    pub role: Role,
    /// The transaction the entry comes from.
    pub transaction_id: String,
    /// The message content as recorded (Anthropic content blocks, or OpenAI's message).
    #[schema(value_type = Value)]
    pub content: serde_json::Value,
    /// Assistant only: the model requested.
    pub model: Option<String>,
    /// Assistant only: the HTTP status returned.
    pub status: Option<u16>,
    /// Assistant only: `pass`, `modified`, `blocked`, `unavailable` or `error`.
    pub final_decision: Option<String>,
    /// Assistant only: the error message of a failed call.
    pub error: Option<String>,
    /// Assistant only: the policy decisions taken.
    pub decisions: Option<Vec<DecisionRecord>>,
    /// Assistant only: when the request arrived (epoch ms).
    pub started_at_ms: Option<i64>,
}

/// A stored transaction and the session it is filed under.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionDetail {
    /// The session (the transaction's own id when the client sent none).
    pub session_id: String,
    /// Everything recorded.
    pub record: TransactionRecord,
}

/// One proxied LLM call, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionRecord {
    /// UUIDv7 of the transaction.
    pub id: String,
    /// Client session id, when the client sent one.
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// `anthropic` or `openai_chat`.
    pub client_api: String,
    /// Upstream provider name.
    pub provider: String,
    /// Model as requested.
    pub model: String,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Error message when the call failed.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// When the request arrived (epoch ms).
    pub started_at_ms: i64,
    /// Time to the first token delivered (ms).
    #[schema(required = true)]
    pub ttft_ms: Option<f64>,
    /// Time until the response was fully delivered (ms).
    pub total_ms: f64,
    /// Time the gateway itself added (ms).
    pub overhead_ms: f64,
    /// Token usage reported by the provider.
    pub usage: Usage,
    /// The active policy's name.
    pub policy: String,
    /// `pass`, `modified`, `blocked`, `unavailable` or `error`.
    pub final_decision: String,
    /// The request body as the client sent it.
    #[schema(value_type = Value)]
    pub request_received: serde_json::Value,
    /// The request body as sent upstream (after policies).
    #[schema(value_type = Option<Value>, required = true)]
    pub request_sent: Option<serde_json::Value>,
    /// The upstream response, assembled into one message.
    #[schema(value_type = Option<Value>, required = true)]
    pub response_received: Option<serde_json::Value>,
    /// The response delivered to the client, assembled, in the client's format.
    #[schema(value_type = Option<Value>, required = true)]
    pub response_delivered: Option<serde_json::Value>,
    /// Raw streamed events, kept up to a cap.
    #[schema(required = true)]
    pub raw_events: Option<RawEvents>,
    /// Policy decisions, in order.
    pub decisions: Vec<DecisionRecord>,
    /// Text of the request's first user message.
    #[schema(required = true)]
    pub title_hint: Option<String>,
}

/// Provider-reported token counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// Input tokens.
    #[schema(required = true)]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[schema(required = true)]
    pub output_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[schema(required = true)]
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    #[schema(required = true)]
    pub cache_creation_input_tokens: Option<u64>,
}

/// Raw stream events up to a cap.
#[derive(Debug, Serialize, ToSchema)]
pub struct RawEvents {
    /// The SSE frames kept, in order.
    pub events: Vec<String>,
    /// True when later frames were dropped at the cap.
    pub truncated: bool,
}

/// One policy decision within a transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionRecord {
    /// The policy that decided.
    pub policy: String,
    /// The content block decided on; null for whole-request or whole-response decisions.
    #[schema(required = true)]
    pub block_index: Option<u32>,
    /// What was judged (`tool_call`, `text`, `request`, …).
    pub kind: String,
    /// The verdict (`allow`, `block`, `modify`, …).
    pub verdict: String,
    /// How it was reached (`ok`, `timeout`, `error`, …).
    pub status: String,
    /// Judge score, when the policy produces one.
    #[schema(required = true)]
    pub score: Option<f64>,
    /// The reason.
    #[schema(required = true)]
    pub rationale: Option<String>,
    /// The LLM judge's model.
    #[schema(required = true)]
    pub judge_model: Option<String>,
    /// Time the decision took (ms).
    pub latency_ms: f64,
    /// The judge's request body.
    #[schema(value_type = Option<Value>, required = true)]
    pub judge_request: Option<serde_json::Value>,
    /// The judge's response body.
    #[schema(value_type = Option<Value>, required = true)]
    pub judge_response: Option<serde_json::Value>,
    /// The tool call decided on, when the block was one: `{id, name, format: json|freeform,
    /// input}` (free-form input, such as Codex's `apply_patch` text, is a string).
    #[schema(value_type = Option<Object>)]
    pub tool_call: Option<serde_json::Value>,
}

/// `GET /api/history/transactions/{id}/diff`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionDiff {
    /// The transaction.
    pub transaction_id: String,
    /// Request as received vs as sent upstream.
    pub request: JsonDiff,
    /// Response as received from upstream vs as delivered.
    pub response: JsonDiff,
}

/// A unified diff of two pretty-printed JSON values.
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonDiff {
    /// Whether the second side exists and differs.
    pub changed: bool,
    /// The unified diff (`received` → `delivered`); empty when unchanged.
    pub unified: String,
}

/// The export's format.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// A readable conversation (`text/markdown`).
    Markdown,
    /// The session and every transaction (`application/json`).
    Json,
}

/// `GET /api/history/sessions/{id}/export?format=json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionExport {
    /// The session.
    pub session: SessionSummary,
    /// Its transactions in order; one purged or unreadable mid-export is `{"missing": id}`.
    pub transactions: Vec<ExportedTransaction>,
}

/// A transaction in an export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ExportedTransaction {
    /// The transaction as recorded.
    Recorded(Box<TransactionDetail>),
    /// A transaction that could not be read.
    Missing(MissingTransaction),
}

/// A transaction an export could not read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingTransaction {
    /// Its id.
    pub missing: String,
}

/// The active policy (`current`, and `set`'s answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivePolicy {
    /// The running policy's name.
    pub name: String,
    /// The policy class as activated.
    pub class: String,
    /// Its configuration.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// When it took effect (epoch ms); null for the default policy never activated.
    #[schema(required = true)]
    pub activated_at_ms: Option<i64>,
    /// Who activated it (`admin`, `startup:file`, …; `default` when never activated).
    pub activated_by: String,
}

/// `POST /api/admin/policy/validate`: a policy to check.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySpec {
    /// A policy name from `GET /api/admin/policy/list`, or a luthien-proxy Python class path.
    pub class: String,
    /// The policy's configuration (its schema is in the list); `{}` when absent.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// `POST /api/admin/policy/set`: the policy to activate.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySetRequest {
    /// A policy name from `GET /api/admin/policy/list`, or a luthien-proxy Python class path.
    pub class: String,
    /// The policy's configuration; `{}` when absent.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Recorded as who activated it; `admin` when absent.
    pub activated_by: Option<String>,
}

/// A configuration error naming the field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path (`class`, `config`, `rules[0].pattern`, …); null when not about one field.
    #[schema(required = true)]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The line in a YAML source, when known.
    pub line: Option<u64>,
}

/// `POST /api/admin/policy/set`'s 422: nothing was changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyConfigError {
    /// The error, with one entry per bad field.
    pub error: PolicyConfigErrorDetail,
}

/// The `error` member of a [`PolicyConfigError`].
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyConfigErrorDetail {
    /// Always `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The first error as a sentence.
    pub message: String,
    /// Each bad field (empty when the body is not JSON).
    pub errors: Vec<FieldError>,
}

/// `POST /api/admin/policy/validate`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyValidation {
    /// Whether `set` would accept the policy.
    pub valid: bool,
    /// The policy's name, when valid.
    pub name: Option<String>,
    /// Each bad field; empty when valid.
    pub errors: Vec<FieldError>,
}

/// `GET /api/admin/policy/list`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    /// Every built-in policy.
    pub policies: Vec<PolicyInfo>,
}

/// A built-in policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyInfo {
    /// The name used in `class`.
    pub name: String,
    /// One line on what it does.
    pub description: String,
    /// The JSON Schema of its configuration.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    /// An example configuration.
    #[schema(value_type = Value)]
    pub example: serde_json::Value,
}

/// `GET /api/admin/policy/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyHistory {
    /// The last 100 activations, newest first.
    pub activations: Vec<PolicyActivation>,
}

/// A policy taking effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyActivation {
    /// UUIDv7 of the activation.
    pub id: String,
    /// Policy class.
    pub class: String,
    /// Policy configuration.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// When it took effect (epoch ms).
    pub activated_at_ms: i64,
    /// Who activated it.
    pub activated_by: String,
}

/// `GET /api/activity/stream`'s 400: a `kind` no event has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityQueryError {
    /// Which kind is unknown.
    pub error: String,
    /// The kinds that exist.
    pub valid_kinds: Vec<String>,
}

/// The `data:` of each activity SSE event (the SSE `event:` is `event.kind`, the `id:` is
/// `<instance>-<id>`, usable as `Last-Event-ID`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityEnvelope {
    /// Per-instance sequence number, from 1.
    pub id: u64,
    /// The publishing gateway instance.
    pub instance: String,
    /// What happened.
    pub event: ActivityEvent,
}

/// One thing that happened; `kind` names it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A client request was accepted.
    TransactionStarted {
        /// The transaction's id.
        transaction_id: String,
        /// The client session, when known.
        #[schema(required = true)]
        session_id: Option<String>,
        /// The model asked for.
        model: String,
        /// The client API.
        client_api: String,
        /// Whether the client asked for a stream.
        stream: bool,
        /// Epoch ms.
        at_ms: i64,
    },
    /// A transaction ended and its response was delivered.
    TransactionFinished {
        /// The transaction's id.
        transaction_id: String,
        /// The client session, when known.
        #[schema(required = true)]
        session_id: Option<String>,
        /// The model that served it.
        model: String,
        /// The HTTP status returned.
        status: u16,
        /// The policy outcome.
        final_decision: String,
        /// Duration of the whole transaction (ms).
        total_ms: f64,
        /// Epoch ms.
        at_ms: i64,
    },
    /// A policy reached a verdict about one block.
    Decision {
        /// The transaction's id.
        transaction_id: String,
        /// The client session, when known.
        #[schema(required = true)]
        session_id: Option<String>,
        /// The policy that decided.
        policy: String,
        /// The block judged.
        block_index: u64,
        /// The verdict.
        verdict: String,
        /// How the evaluation went.
        status: String,
        /// A judge's score, when any.
        #[schema(required = true)]
        score: Option<f64>,
        /// Epoch ms.
        at_ms: i64,
    },
    /// A policy paused a transaction for a human's approval.
    ApprovalRequested {
        /// The approval request's id.
        approval_id: String,
        /// The paused transaction.
        transaction_id: String,
        /// The client session, when known.
        #[schema(required = true)]
        session_id: Option<String>,
        /// The policy asking.
        policy: String,
        /// The tool call awaiting approval, when any.
        #[schema(required = true)]
        tool_name: Option<String>,
        /// What is being approved, in one line.
        summary: String,
        /// When the request expires (epoch ms), if it does.
        #[schema(required = true)]
        expires_at_ms: Option<i64>,
        /// Epoch ms.
        at_ms: i64,
    },
    /// A pending approval was approved, denied or expired.
    ApprovalResolved {
        /// The approval request's id.
        approval_id: String,
        /// The paused transaction.
        transaction_id: String,
        /// The client session, when known.
        #[schema(required = true)]
        session_id: Option<String>,
        /// `approved`, `denied` or `expired`.
        outcome: String,
        /// Who resolved it; null on expiry.
        #[schema(required = true)]
        resolved_by: Option<String>,
        /// Epoch ms.
        at_ms: i64,
    },
    /// The active policy was replaced.
    PolicyChanged {
        /// The policy now active.
        class: String,
        /// Its configuration.
        #[schema(value_type = Value)]
        config: serde_json::Value,
        /// Who activated it.
        activated_by: String,
        /// Epoch ms.
        at_ms: i64,
    },
}

/// `POST /login`'s form.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginForm {
    /// The admin key.
    pub key: String,
    /// Where to go after signing in (a path on this gateway); `/` when absent.
    pub next: Option<String>,
}

/// `POST /logout`'s form.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutForm {
    /// The session's CSRF token.
    pub csrf: String,
}
