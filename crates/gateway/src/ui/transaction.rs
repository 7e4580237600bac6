//! `GET /transactions/{id}`: one transaction in full: the request as received and as sent, the
//! response as received and as delivered (side by side, differences highlighted), the policy
//! decisions, timings and usage. Unknown ids get a 404 page.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use store::{DecisionRecord, TransactionRecord};

use super::calendar;
use super::diff::{side_by_side, SideBySide};
use super::layout::{clip, failure, millis, pretty, render, segment, store_failure, Chrome};
use crate::admin::Operator;
use crate::app::App;

/// How many raw stream events the page lists (the rest are counted).
const MAX_RAW_EVENTS: usize = 300;

/// A labelled value of the summary list.
struct Fact {
    label: &'static str,
    value: String,
}

/// One policy decision, formatted.
struct DecisionView {
    policy: String,
    /// The tool call decided on: its name, and its input (pretty JSON or the free-form text).
    tool: Option<(String, String)>,
    kind: String,
    block: String,
    verdict: String,
    status: String,
    score: String,
    rationale: String,
    latency: String,
    judge_model: String,
    judge_exchange: Option<String>,
}

/// One of the two comparisons (request, response).
struct Comparison {
    id: &'static str,
    title: &'static str,
    before_label: &'static str,
    after_label: &'static str,
    /// Why the after side is missing, when it is.
    missing: Option<&'static str>,
    diff: SideBySide,
}

#[derive(Template)]
#[template(path = "transaction.html")]
struct TransactionPage {
    chrome: Chrome,
    id: String,
    session_href: String,
    session_id: String,
    final_decision: String,
    error: Option<String>,
    facts: Vec<Fact>,
    timings: Vec<Fact>,
    usage: Vec<Fact>,
    decisions: Vec<DecisionView>,
    comparisons: Vec<Comparison>,
    raw_events: Vec<String>,
    raw_more: usize,
    raw_truncated: bool,
}

/// `GET /transactions/{id}`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Option<Extension<Operator>>,
    Path(id): Path<String>,
) -> Response {
    let chrome = Chrome::page(operator, "activity");
    match app.store.transaction(&id).await {
        Ok(Some(t)) => render(&view(chrome, t.session_id, &t.record)),
        Ok(None) => failure(
            chrome,
            StatusCode::NOT_FOUND,
            "No such transaction",
            format!(
                "No transaction with id {id:?} is recorded. It may still be in flight (the \
                 recorder writes a moment after the response), or retention removed it."
            ),
        ),
        Err(e) => store_failure(chrome, &e),
    }
}

fn opt_ms(ms: Option<f64>) -> String {
    ms.map(millis).unwrap_or_else(|| "—".into())
}

fn opt_count(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "—".into())
}

fn decision_view(d: &DecisionRecord) -> DecisionView {
    let exchange = match (&d.judge_request, &d.judge_response) {
        (None, None) => None,
        (req, resp) => Some(format!(
            "request:\n{}\n\nresponse:\n{}",
            req.as_ref().map(pretty).unwrap_or_else(|| "—".into()),
            resp.as_ref().map(pretty).unwrap_or_else(|| "—".into())
        )),
    };
    let tool = d.tool_call.as_ref().map(|t| {
        let name = t["name"].as_str().unwrap_or("tool").to_owned();
        let input = match &t["input"] {
            serde_json::Value::String(text) => text.clone(),
            other => pretty(other),
        };
        (name, input)
    });
    DecisionView {
        policy: d.policy.clone(),
        tool,
        kind: d.kind.clone(),
        block: d
            .block_index
            .map(|b| b.to_string())
            .unwrap_or_else(|| "—".into()),
        verdict: d.verdict.clone(),
        status: d.status.clone(),
        score: d
            .score
            .map(|s| format!("{s:.2}"))
            .unwrap_or_else(|| "—".into()),
        rationale: d.rationale.clone().unwrap_or_default(),
        latency: millis(d.latency_ms),
        judge_model: d.judge_model.clone().unwrap_or_else(|| "—".into()),
        judge_exchange: exchange,
    }
}

fn view(chrome: Chrome, session_id: String, r: &TransactionRecord) -> TransactionPage {
    let facts = vec![
        Fact {
            label: "Started",
            value: format!("{} UTC", calendar::datetime(r.started_at_ms)),
        },
        Fact {
            label: "Model",
            value: r.model.clone(),
        },
        Fact {
            label: "Provider",
            value: r.provider.clone(),
        },
        Fact {
            label: "Client API",
            value: r.client_api.clone(),
        },
        Fact {
            label: "Streamed",
            value: if r.stream { "yes" } else { "no" }.into(),
        },
        Fact {
            label: "HTTP status",
            value: r.status.to_string(),
        },
        Fact {
            label: "Policy",
            value: r.policy.clone(),
        },
    ];
    let timings = vec![
        Fact {
            label: "Time to first token",
            value: opt_ms(r.ttft_ms),
        },
        Fact {
            label: "Total",
            value: millis(r.total_ms),
        },
        Fact {
            label: "Gateway overhead",
            value: millis(r.overhead_ms),
        },
    ];
    let usage = vec![
        Fact {
            label: "Input tokens",
            value: opt_count(r.usage.input_tokens),
        },
        Fact {
            label: "Output tokens",
            value: opt_count(r.usage.output_tokens),
        },
        Fact {
            label: "Cache reads",
            value: opt_count(r.usage.cache_read_input_tokens),
        },
        Fact {
            label: "Cache writes",
            value: opt_count(r.usage.cache_creation_input_tokens),
        },
    ];
    let comparisons = vec![
        Comparison {
            id: "request",
            title: "Request",
            before_label: "as received from the client",
            after_label: "as sent upstream",
            // The recorder keeps no second copy of a request sent unchanged, so a missing copy
            // means "unchanged" when upstream answered, and "maybe never sent" when it did not.
            missing: (r.request_sent.is_none() && r.response_received.is_none()).then_some(
                "No upstream copy was recorded: the request went unchanged, or was never sent \
                 (rejected or answered by a policy, or it failed first).",
            ),
            diff: side_by_side(Some(&r.request_received), r.request_sent.as_ref()),
        },
        Comparison {
            id: "response",
            title: "Response",
            before_label: "as received from upstream",
            after_label: "as delivered to the client",
            missing: match (&r.response_received, &r.response_delivered) {
                (None, None) => Some("No response was recorded."),
                (Some(_), None) if r.error.is_some() => {
                    Some("The client received the error, not this response.")
                }
                _ => None,
            },
            // The recorder keeps no second copy of a response delivered unchanged.
            diff: side_by_side(
                r.response_received.as_ref(),
                match (&r.response_delivered, &r.error) {
                    (None, None) => r.response_received.as_ref(),
                    (delivered, _) => delivered.as_ref(),
                },
            ),
        },
    ];
    let (raw_events, raw_more, raw_truncated) = match &r.raw_events {
        Some(raw) => (
            raw.events
                .iter()
                .take(MAX_RAW_EVENTS)
                .map(|e| clip(e, 4_096).0.to_owned())
                .collect(),
            raw.events.len().saturating_sub(MAX_RAW_EVENTS),
            raw.truncated,
        ),
        None => (Vec::new(), 0, false),
    };
    TransactionPage {
        chrome,
        id: r.id.clone(),
        session_href: format!("/history/{}", segment(&session_id)),
        session_id,
        final_decision: r.final_decision.clone(),
        error: r.error.clone(),
        facts,
        timings,
        usage,
        decisions: r.decisions.iter().map(decision_view).collect(),
        comparisons,
        raw_events,
        raw_more,
        raw_truncated,
    }
}
