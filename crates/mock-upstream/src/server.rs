//! The HTTP side: one entry handler records every request, then routes it to the Anthropic
//! Messages, OpenAI Chat Completions or OpenAI Responses flow (validate → choose the scenario →
//! script → wait → render) or to the `/_mock/` control endpoints. Unknown paths answer 404 in
//! the format of the path's provider.

use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;

use crate::anthropic::{self, Anthropic};
use crate::openai::{self, OpenAi};
use crate::record::{MockState, RecordedRequest};
use crate::responses::Responses;
use crate::scenario::{self, SCENARIO_HEADER};
use crate::script::{self, Reply};
use crate::stream::{self, StreamGuard};
use crate::wire::{Wire, JSON};

/// Largest body accepted, as Anthropic's 32 MB limit (Claude Code sends MBs in long sessions).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The mock's router over `state`.
pub(crate) fn router(state: MockState) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

async fn dispatch(State(state): State<MockState>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if let Some(control) = path.strip_prefix("/_mock/") {
        // Control calls are not part of the traffic under test, so they are not recorded.
        return control_endpoint(&state, &parts.method, control);
    }
    let anthropic_path = is_anthropic(path, &parts.headers);
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        state.record(RecordedRequest::from_parts(&parts, Bytes::new()));
        return if anthropic_path {
            anthropic::too_large()
        } else {
            openai::too_large()
        };
    };
    state.record(RecordedRequest::from_parts(&parts, body.clone()));
    tracing::debug!(method = %parts.method, path, bytes = body.len(), "request");

    let headers = &parts.headers;
    match (&parts.method, path) {
        (&Method::POST, "/v1/messages") => {
            complete::<Anthropic>(&state, headers, &body, started).await
        }
        (&Method::POST, "/v1/messages/count_tokens") => anthropic::count_tokens(headers, &body),
        (&Method::POST, "/v1/chat/completions") => {
            complete::<OpenAi>(&state, headers, &body, started).await
        }
        (&Method::POST, "/v1/responses") => {
            complete::<Responses>(&state, headers, &body, started).await
        }
        (&Method::GET, "/v1/models") if headers.contains_key("anthropic-version") => {
            anthropic::models(headers)
        }
        (&Method::GET, "/v1/models") => openai::models(headers, started),
        _ if anthropic_path => anthropic::not_found(),
        _ => openai::not_found(parts.method.as_str(), path),
    }
}

/// Whether a request speaks Anthropic: its path, or failing that its headers.
fn is_anthropic(path: &str, headers: &HeaderMap) -> bool {
    path.starts_with("/v1/messages")
        || headers.contains_key("anthropic-version")
        || headers.contains_key("x-api-key")
}

/// The common flow of a completion request on either wire format.
async fn complete<W: Wire>(
    state: &MockState,
    headers: &HeaderMap,
    body: &[u8],
    started: Instant,
) -> Response {
    let call = match W::validate(headers, body) {
        Ok(call) => call,
        Err(error) => return W::error_response(&error),
    };
    let header = headers.get(SCENARIO_HEADER).and_then(|v| v.to_str().ok());
    let script = match script::reply(&scenario::choose(header, &call.last_turn)) {
        Reply::Script(script) => script,
        Reply::Error { status, message } => {
            return W::error_response(&W::status_error(status, message))
        }
    };
    if call.stream {
        // Counted before the wait, so a client leaving during the TTFT counts as a cancel.
        let guard = StreamGuard::start(state);
        if !script.pacing.before_headers.is_zero() {
            tokio::time::sleep(script.pacing.before_headers).await;
        }
        let frames = W::stream_frames(&script, &call);
        W::sse_response(stream::body(frames, guard), started)
    } else {
        let delay = script.total_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        W::message(&script, &call, started)
    }
}

/// `GET /_mock/requests`, `DELETE /_mock/requests`, `GET /_mock/stats`.
fn control_endpoint(state: &MockState, method: &Method, path: &str) -> Response {
    match (method, path) {
        (&Method::GET, "requests") => json(&state.requests()),
        (&Method::DELETE, "requests") => {
            state.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        (&Method::GET, "stats") => json(&state.stats()),
        _ => (StatusCode::NOT_FOUND, "unknown mock control endpoint\n").into_response(),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => crate::wire::response(200, JSON, Body::from(body)),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}
