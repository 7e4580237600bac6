//! `GET /activity`: the live feed. The page is a frame; `activity.js` subscribes to
//! `/api/activity/stream` and renders each event with `textContent`, newest first, with
//! filters, pause and automatic reconnection.

use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::assets;
use super::layout::{render, Chrome};
use crate::activity::ActivityEvent;
use crate::admin::Operator;

/// Query of `GET /activity`: initial filter values, so a filtered feed can be linked to.
#[derive(Debug, Default, Deserialize)]
pub struct ActivityQuery {
    /// Session id (substring).
    pub session: Option<String>,
    /// Model (substring).
    pub model: Option<String>,
    /// Decision (`blocked`, `modified`, `pass`, `error`, `unavailable`).
    pub decision: Option<String>,
    /// Event kind.
    pub kind: Option<String>,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    chrome: Chrome,
    session: String,
    model: String,
    decision: String,
    kind: String,
    kinds: &'static [&'static str],
    decisions: &'static [&'static str],
    script: String,
}

/// The decisions the filter offers; each also matches the per-block verdict it stands for.
const DECISIONS: [&str; 5] = ["blocked", "modified", "pass", "unavailable", "error"];

/// `GET /activity`.
pub async fn page(
    operator: Option<Extension<Operator>>,
    Query(q): Query<ActivityQuery>,
) -> Response {
    render(&ActivityPage {
        chrome: Chrome::page(operator, "activity"),
        session: q.session.unwrap_or_default(),
        model: q.model.unwrap_or_default(),
        decision: q.decision.unwrap_or_default(),
        kind: q.kind.unwrap_or_default(),
        kinds: &ActivityEvent::KIND_NAMES,
        decisions: &DECISIONS,
        script: assets::href("activity.js"),
    })
}
