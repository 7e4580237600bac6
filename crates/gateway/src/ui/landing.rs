//! `GET /`: whether the gateway can do its whole job (database, recorder, activity bus), the
//! active policy, and how to point Claude Code, Codex and the SDKs at this gateway, with the
//! base URL taken from the address the reader used to reach it.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;

use super::calendar;
use super::layout::{render, Chrome};
use crate::admin::Operator;
use crate::app::App;

/// One line of the status list.
struct Check {
    name: &'static str,
    ok: bool,
    state: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    chrome: Chrome,
    checks: Vec<Check>,
    all_ok: bool,
    policy_name: String,
    policy_since: Option<String>,
    base: String,
    codex_toml: String,
    anthropic_sdk: String,
    openai_sdk: String,
}

/// `GET /`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Option<Extension<Operator>>,
    headers: HeaderMap,
) -> Response {
    let checks = status(&app).await;
    let all_ok = checks.iter().all(|c| c.ok);
    let policy_name = app.policy().name().to_string();
    // The activation record is a nicety here: a store failure is already on the status list.
    let policy_since = match app.store.current_policy().await {
        Ok(Some(a)) => Some(format!(
            "active since {} UTC, set by {}",
            calendar::datetime(a.activated_at_ms),
            a.activated_by
        )),
        _ => None,
    };
    let base = base_url(&headers, &app);
    render(&LandingPage {
        chrome: Chrome::page(operator, "home"),
        checks,
        all_ok,
        policy_name,
        policy_since,
        codex_toml: format!(
            "model_provider = \"luthien\"\n\n[model_providers.luthien]\nname = \"Luthien\"\n\
             base_url = \"{base}/v1\"\nwire_api = \"responses\"\nenv_key = \"OPENAI_API_KEY\""
        ),
        anthropic_sdk: format!(
            "from anthropic import Anthropic\n\nclient = Anthropic(base_url=\"{base}\")"
        ),
        openai_sdk: format!("from openai import OpenAI\n\nclient = OpenAI(base_url=\"{base}/v1\")"),
        base,
    })
}

/// The same checks as `GET /ready`: the database answers, the recorder is writing, the bus
/// reaches the other instances.
async fn status(app: &App) -> Vec<Check> {
    let db = match tokio::time::timeout(Duration::from_secs(2), app.store.ping()).await {
        Ok(Ok(())) => Check {
            name: "Database",
            ok: true,
            state: "ok".into(),
            detail: format!("{:?}", app.store.backend()).to_lowercase(),
        },
        Ok(Err(e)) => Check {
            name: "Database",
            ok: false,
            state: "down".into(),
            detail: e.to_string(),
        },
        Err(_) => Check {
            name: "Database",
            ok: false,
            state: "down".into(),
            detail: "no answer within 2 s".into(),
        },
    };
    let rec = app.recording.recorder.stats();
    let mut rec_detail = format!(
        "{} written, {} queued, {} dropped",
        rec.written, rec.queued, rec.dropped
    );
    if let Some(e) = &rec.last_error {
        rec_detail.push_str(&format!("; last error: {e}"));
    }
    let bus = app.recording.bus.health();
    vec![
        db,
        Check {
            name: "Recorder",
            ok: rec.db_healthy,
            state: if rec.db_healthy { "ok" } else { "degraded" }.into(),
            detail: rec_detail,
        },
        Check {
            name: "Activity bus",
            ok: bus.connected,
            state: if bus.connected { "ok" } else { "degraded" }.into(),
            detail: format!("{}, {} dropped", bus.backend.replace('_', "-"), bus.dropped),
        },
    ]
}

/// `scheme://host[:port]` as the reader reached the gateway: the `Host` header (it is what the
/// reader's own tools will resolve), `https` when a TLS-terminating proxy says so, else the
/// configured listen address. Only characters valid in a host survive, so a forged header can
/// not inject text into the snippets (they are escaped anyway).
fn base_url(headers: &HeaderMap, app: &App) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "{}:{}",
                app.settings.gateway_host, app.settings.gateway_port
            )
        });
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}
