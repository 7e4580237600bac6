//! `GET /history`: sessions newest first, grouped by day, with full-text search and filters
//! run by the store (not in the browser over one page), paged with cursors; and
//! `GET /history/{id}`: one session as a conversation, updated live while it runs
//! (`?fragment=1` returns the conversation alone for the live view to swap in).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use store::{SessionFilter, SessionSummary, StoreError};

use super::assets;
use super::calendar;
use super::conversation::ConversationFragment;
use super::layout::{failure, query_string, render, segment, store_failure, Chrome};
use crate::admin::Operator;
use crate::app::App;
use crate::recording::now_ms;

/// Sessions per page unless `limit` says otherwise.
const PAGE: u32 = 25;
/// The most a page may ask for.
const MAX_PAGE: u32 = 200;
/// The decisions the filter offers.
const DECISIONS: [&str; 5] = ["blocked", "modified", "pass", "unavailable", "error"];
/// How many earlier pages the "newer" link can walk back through.
const MAX_TRAIL: usize = 50;

/// The history page's query: the search form's fields, and the pager's position.
#[derive(Debug, Default)]
struct HistoryQuery {
    q: String,
    from: String,
    to: String,
    model: String,
    decision: String,
    limit: Option<u32>,
    /// Where this page starts (`None`: the newest).
    cursor: Option<String>,
    /// The cursors of the earlier pages, oldest first (`""` is the first page), so "newer"
    /// can go back: the store pages forward only.
    back: Vec<String>,
}

impl HistoryQuery {
    /// Parses the query string; repeated `back` keys form the trail.
    fn parse(raw: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
        let mut q = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "q" => q.q = v,
                "from" => q.from = v,
                "to" => q.to = v,
                "model" => q.model = v,
                "decision" => q.decision = v,
                "limit" => q.limit = v.parse().ok(),
                "cursor" if !v.is_empty() => q.cursor = Some(v),
                "back" if q.back.len() < MAX_TRAIL => q.back.push(v),
                _ => {}
            }
        }
        q
    }

    fn limit(&self) -> u32 {
        self.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE)
    }

    /// A link to this search at `cursor`, with `back` as the trail.
    fn href(&self, cursor: Option<&str>, back: &[String]) -> String {
        let limit = self.limit.map(|l| l.to_string());
        let mut pairs: Vec<(&str, &str)> = [
            ("q", self.q.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("model", self.model.as_str()),
            ("decision", self.decision.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        if let Some(l) = &limit {
            pairs.push(("limit", l));
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c));
        }
        for b in back {
            pairs.push(("back", b));
        }
        let qs = query_string(&pairs);
        if qs.is_empty() {
            "/history".into()
        } else {
            format!("/history?{qs}")
        }
    }
}

/// A session in the list.
struct SessionRow {
    href: String,
    id: String,
    title: String,
    untitled: bool,
    time: String,
    span: String,
    transactions: u64,
    blocked: u64,
    models: String,
}

/// The sessions of one day.
struct DayGroup {
    label: String,
    sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    q: String,
    from: String,
    to: String,
    model: String,
    decision: String,
    decisions: &'static [&'static str],
    problems: Vec<String>,
    groups: Vec<DayGroup>,
    filtered: bool,
    newer_href: Option<String>,
    older_href: Option<String>,
    newest_href: Option<String>,
}

fn row(s: SessionSummary) -> SessionRow {
    let title = s.title.as_deref().map(str::trim).unwrap_or_default();
    let span = if calendar::date(s.first_seen_ms) == calendar::date(s.last_seen_ms) {
        format!(
            "{}–{}",
            calendar::time(s.first_seen_ms),
            calendar::time(s.last_seen_ms)
        )
    } else {
        format!(
            "{} – {}",
            calendar::datetime(s.first_seen_ms),
            calendar::datetime(s.last_seen_ms)
        )
    };
    SessionRow {
        href: format!("/history/{}", segment(&s.id)),
        untitled: title.is_empty(),
        title: if title.is_empty() {
            "(untitled)".into()
        } else {
            title.to_owned()
        },
        time: calendar::time(s.last_seen_ms),
        span,
        transactions: s.transaction_count,
        blocked: s.blocked_count,
        models: s.models.join(", "),
        id: s.id,
    }
}

/// `GET /history`.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Option<Extension<Operator>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let chrome = Chrome::page(operator, "history");
    let query = HistoryQuery::parse(raw.as_deref());
    let mut problems = Vec::new();
    let mut day = |field: &str, value: &str| -> Option<i64> {
        if value.trim().is_empty() {
            return None;
        }
        let parsed = calendar::parse_date(value);
        if parsed.is_none() {
            problems.push(format!(
                "{field}: {value:?} is not a date (YYYY-MM-DD); the filter was left out"
            ));
        }
        parsed
    };
    let from_ms = day("from", &query.from);
    // `to` names a day and includes all of it.
    let to_ms = day("to", &query.to).map(|d| d + calendar::ONE_DAY_MS);
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = SessionFilter {
        from_ms,
        to_ms,
        model: nonempty(&query.model),
        decision: nonempty(&query.decision),
        q: nonempty(&query.q),
        limit: query.limit(),
        cursor: query.cursor.clone(),
    };
    let page = match app.store.list_sessions(&filter).await {
        Ok(page) => page,
        Err(StoreError::InvalidCursor) => {
            return failure(
                chrome,
                StatusCode::BAD_REQUEST,
                "This page link is not valid",
                "The paging position in the link was not made by this gateway. Start again from the newest sessions.".into(),
            )
        }
        Err(e) => return store_failure(chrome, &e),
    };
    let now = now_ms();
    let mut groups: Vec<DayGroup> = Vec::new();
    for s in page.items {
        let label = calendar::day_label(s.last_seen_ms, now);
        match groups.last_mut() {
            Some(g) if g.label == label => g.sessions.push(row(s)),
            _ => groups.push(DayGroup {
                label,
                sessions: vec![row(s)],
            }),
        }
    }
    let older_href = page.next_cursor.as_deref().map(|next| {
        let mut back = query.back.clone();
        back.push(query.cursor.clone().unwrap_or_default());
        let skip = back.len().saturating_sub(MAX_TRAIL);
        query.href(Some(next), &back[skip..])
    });
    let newer_href = query.cursor.as_ref().map(|_| {
        let mut back = query.back.clone();
        let previous = back.pop().filter(|c| !c.is_empty());
        query.href(previous.as_deref(), &back)
    });
    let newest_href = (query.back.len() > 1).then(|| query.href(None, &[]));
    render(&HistoryPage {
        chrome,
        filtered: [
            &query.q,
            &query.from,
            &query.to,
            &query.model,
            &query.decision,
        ]
        .iter()
        .any(|v| !v.trim().is_empty()),
        q: query.q,
        from: query.from,
        to: query.to,
        model: query.model,
        decision: query.decision,
        decisions: &DECISIONS,
        problems,
        groups,
        newer_href,
        older_href,
        newest_href,
    })
}

/// Query of `GET /history/{id}`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SessionQuery {
    /// `1`: only the conversation element, for the live view.
    pub fragment: Option<String>,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    chrome: Chrome,
    id: String,
    title: String,
    first_seen: String,
    last_seen: String,
    transactions: u64,
    blocked: u64,
    models: String,
    export_markdown: String,
    export_json: String,
    conversation: String,
    script: String,
}

/// `GET /history/{id}` (and `?fragment=1`).
pub async fn session(
    State(app): State<Arc<App>>,
    operator: Option<Extension<Operator>>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<SessionQuery>,
) -> Response {
    let chrome = Chrome::page(operator, "history");
    let detail = match app.store.session_conversation(&id).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return failure(
                chrome,
                StatusCode::NOT_FOUND,
                "No such session",
                format!("No session with id {id:?} is recorded (retention may have removed it)."),
            )
        }
        Err(e) => return store_failure(chrome, &e),
    };
    let fragment = match ConversationFragment::of(&detail) {
        Ok(f) => f,
        Err(e) => return store_failure(chrome, &e),
    };
    let conversation = match fragment.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "the conversation template failed to render");
            return failure(
                chrome,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The conversation could not be rendered",
                "The gateway log has the details.".into(),
            );
        }
    };
    if q.fragment.as_deref() == Some("1") {
        return Html(conversation).into_response();
    }
    let s = &detail.summary;
    let export = |format: &str| {
        format!(
            "/api/history/sessions/{}/export?format={format}",
            segment(&s.id)
        )
    };
    render(&SessionPage {
        chrome,
        title: s
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "(untitled)".into()),
        first_seen: calendar::datetime(s.first_seen_ms),
        last_seen: calendar::datetime(s.last_seen_ms),
        transactions: s.transaction_count,
        blocked: s.blocked_count,
        models: s.models.join(", "),
        export_markdown: export("markdown"),
        export_json: export("json"),
        id: s.id.clone(),
        conversation,
        script: assets::href("session.js"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_trail_round_trips_through_the_query_string() {
        let q = HistoryQuery {
            q: "rm -rf".into(),
            cursor: Some("17.a&b".into()),
            back: vec![String::new(), "12.x".into()],
            ..Default::default()
        };
        let href = q.href(q.cursor.as_deref(), &q.back);
        let raw = href.trim_start_matches("/history?");
        let parsed = HistoryQuery::parse(Some(raw));
        assert_eq!(parsed.q, "rm -rf");
        assert_eq!(parsed.cursor.as_deref(), Some("17.a&b"));
        assert_eq!(parsed.back, vec![String::new(), "12.x".to_owned()]);
    }
}
