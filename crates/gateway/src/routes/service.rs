//! Service endpoints: liveness, Claude Code's connectivity probe, and the 404 fallback.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::models::format_of;
use super::openapi as doc;
use crate::error::GatewayError;

/// `GET /health`: the process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    summary = "Liveness",
    responses((status = 200, description = "The process is up.", body = doc::Health)),
)]
pub async fn health() -> Response {
    axum::Json(json!({"status": "healthy", "version": env!("CARGO_PKG_VERSION")})).into_response()
}

/// `HEAD /api/hello` (and GET): Claude Code's connectivity probe; it carries no credential.
#[utoipa::path(
    head,
    path = "/api/hello",
    tag = "service",
    summary = "Connectivity probe (Claude Code's)",
    responses((status = 200, description = "The gateway is reachable (no body on HEAD).")),
)]
pub async fn hello() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Any other path: a 404 in the caller's API format, naming what the gateway serves.
pub async fn not_found(req: Request) -> Response {
    let format = format_of(req.headers());
    GatewayError::NotFound(format!(
        "{} {} is not served by this gateway; it serves POST /v1/messages, POST /v1/messages/count_tokens, \
         POST /v1/chat/completions, POST /v1/responses, GET /v1/models and GET /health",
        req.method(),
        req.uri().path()
    ))
    .into_response_for(format)
}

/// `GET /ready`: whether the gateway can do its whole job. Requests keep being served while the
/// database or the bus is down (recording waits and retries), so a degraded state is reported
/// by name with a 200, not as a failure that would take the instance out of a load balancer.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    operation_id = "ready",
    summary = "Readiness",
    description = "Whether the gateway can do its whole job: database, recorder, activity bus and \
        policy. Requests keep being served while the database or the bus is down, so a degraded \
        state is reported by name with a 200.",
    responses((status = 200, description = "Each component's state.", body = doc::Readiness)),
)]
pub async fn ready(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::app::App>>,
) -> Response {
    let db = match tokio::time::timeout(std::time::Duration::from_secs(2), app.store.ping()).await {
        Ok(Ok(())) => json!({"status": "ok"}),
        Ok(Err(e)) => json!({"status": "down", "error": e.to_string()}),
        Err(_) => json!({"status": "down", "error": "no answer within 2 s"}),
    };
    let rec = app.recording.recorder.stats();
    let bus = app.recording.bus.health();
    let recorder_status = if rec.db_healthy { "ok" } else { "degraded" };
    let bus_status = if bus.connected { "ok" } else { "degraded" };
    let all_ok = db["status"] == "ok" && rec.db_healthy && bus.connected;
    axum::Json(json!({
        "status": if all_ok { "ok" } else { "degraded" },
        "database": db,
        "recorder": {"status": recorder_status, "queued": rec.queued, "written": rec.written,
                     "dropped": rec.dropped, "failed_batches": rec.failed_batches, "last_error": rec.last_error},
        "bus": {"status": bus_status, "backend": bus.backend, "connected": bus.connected, "dropped": bus.dropped},
        "policy": {"status": "ok", "name": app.policy().name()},
    }))
    .into_response()
}
