//! `GET /api/activity/stream`: the activity bus as Server-Sent Events.
//!
//! Each event is sent as `event: <kind>`, `id: <instance>-<seq>`, `data: <envelope JSON>`.
//! Filters (`session`, `transaction`, `kind=a,b`) are applied server-side, so a UI watching one
//! session does not receive every session's traffic. On connect the last `replay` (default 50)
//! matching events from the ring are sent first; a `Last-Event-ID` header found in the ring
//! replays everything after it instead, so a reconnecting client resumes without duplicates.
//! Idle streams get a `: heartbeat` comment (15 s by default) to keep proxies from closing them.
//! A client too slow to keep up gets `event: lagged` with `{"missed": n}` and the stream ends;
//! it is expected to reconnect.

use super::bus::{ActivityBus, Delivery};
use super::event::{ActivityEvent, Envelope};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::{stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

/// The default interval between heartbeat comments on an idle stream.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// How many matching events are replayed on connect when `replay` is not given.
pub const DEFAULT_REPLAY: usize = 50;

/// What the SSE handler needs: the bus and the heartbeat interval.
#[derive(Debug, Clone)]
pub struct ActivityState {
    /// The bus to stream from.
    pub bus: ActivityBus,
    /// Interval between heartbeat comments when no event was sent.
    pub heartbeat: Duration,
}

impl ActivityState {
    /// State with the default heartbeat.
    pub fn new(bus: ActivityBus) -> Self {
        Self {
            bus,
            heartbeat: DEFAULT_HEARTBEAT,
        }
    }

    /// Overrides the heartbeat interval (tests use a short one).
    pub fn with_heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }
}

/// A router serving `GET /api/activity/stream` from `bus` (auth is layered on by the caller).
pub fn router(bus: ActivityBus) -> Router {
    router_with(ActivityState::new(bus))
}

/// Like [`router`], with explicit state.
pub fn router_with(state: ActivityState) -> Router {
    Router::new()
        .route("/api/activity/stream", get(stream_handler))
        .with_state(state)
}

/// The query string of `/api/activity/stream`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only events of this session.
    pub session: Option<String>,
    /// Only events of this transaction.
    pub transaction: Option<String>,
    /// Only these kinds (comma-separated): `transaction_started`, `transaction_finished`,
    /// `decision`, `approval_requested`, `approval_resolved`, `policy_changed`.
    pub kind: Option<String>,
    /// How many matching recent events to send first (default 50; 0 disables replay).
    pub replay: Option<usize>,
}

/// Which events a stream wants; an absent criterion matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Required session id.
    pub session: Option<String>,
    /// Required transaction id.
    pub transaction: Option<String>,
    /// Allowed kinds (`None`: all).
    pub kinds: Option<Vec<String>>,
}

impl ActivityFilter {
    /// Builds a filter from the query, rejecting kind names no event has.
    pub fn from_query(query: &StreamQuery) -> Result<Self, String> {
        let kinds = match query.kind.as_deref() {
            None => None,
            Some(list) => {
                let kinds: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = kinds
                    .iter()
                    .find(|k| !ActivityEvent::KIND_NAMES.contains(&k.as_str()))
                {
                    return Err(format!("unknown activity kind `{bad}`"));
                }
                // `kind=` with nothing in it means no kind filter, not "match nothing".
                (!kinds.is_empty()).then_some(kinds)
            }
        };
        Ok(Self {
            session: query.session.clone().filter(|s| !s.is_empty()),
            transaction: query.transaction.clone().filter(|t| !t.is_empty()),
            kinds,
        })
    }

    /// Whether `env` passes every criterion.
    pub fn matches(&self, env: &Envelope) -> bool {
        let session_ok = self
            .session
            .as_deref()
            .is_none_or(|s| env.session_id() == Some(s));
        let transaction_ok = self
            .transaction
            .as_deref()
            .is_none_or(|t| env.transaction_id() == Some(t));
        let kind_ok = self
            .kinds
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|k| k == env.kind_name()));
        session_ok && transaction_ok && kind_ok
    }
}

/// Handles `GET /api/activity/stream`.
pub async fn stream_handler(
    State(state): State<ActivityState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Response {
    let filter = match ActivityFilter::from_query(&query) {
        Ok(filter) => filter,
        Err(message) => {
            let body = serde_json::json!({
                "error": message,
                "valid_kinds": ActivityEvent::KIND_NAMES,
            });
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // Subscribing and snapshotting together means no event is both replayed and streamed.
    let (recent, subscription) = state.bus.subscribe_with_recent();
    let resumed = last_event_id.as_deref().and_then(|last| {
        recent
            .iter()
            .position(|env| env.event_id() == last)
            .map(|at| recent.iter().skip(at + 1).cloned().collect::<Vec<_>>())
    });
    let replay: Vec<Envelope> = match resumed {
        Some(after) => after.into_iter().filter(|e| filter.matches(e)).collect(),
        None => {
            let wanted = query.replay.unwrap_or(DEFAULT_REPLAY);
            let matching: Vec<Envelope> =
                recent.into_iter().filter(|e| filter.matches(e)).collect();
            let skip = matching.len().saturating_sub(wanted);
            matching.into_iter().skip(skip).collect()
        }
    };

    let replayed = stream::iter(replay).filter_map(|env| async move { to_sse(&env) });
    let live = subscription.into_stream().filter_map(move |delivery| {
        let event = match delivery {
            Delivery::Event(env) if filter.matches(&env) => to_sse(&env),
            Delivery::Event(_) => None,
            Delivery::Lagged { missed } => Some(
                Event::default()
                    .event("lagged")
                    .data(serde_json::json!({ "missed": missed }).to_string()),
            ),
        };
        async move { event }
    });
    let events = replayed.chain(live).map(Ok::<Event, Infallible>);

    let sse =
        Sse::new(events).keep_alive(KeepAlive::new().interval(state.heartbeat).text("heartbeat"));
    // Reverse proxies (nginx) buffer responses unless told not to, which would hold events back.
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        sse,
    )
        .into_response()
}

/// One envelope as an SSE event; `None` (and a log line) if it cannot be encoded.
fn to_sse(env: &Envelope) -> Option<Event> {
    match serde_json::to_string(env) {
        Ok(json) => Some(
            Event::default()
                .event(env.kind_name())
                .id(env.event_id())
                .data(json),
        ),
        Err(e) => {
            tracing::error!(error = %e, kind = env.kind_name(), "activity event failed to encode");
            None
        }
    }
}
