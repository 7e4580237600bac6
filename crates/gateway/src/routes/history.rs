//! The history API (admin auth): sessions with filters and full-text search, a session as a
//! readable conversation, a transaction with everything recorded, the received-vs-delivered
//! diff computed server-side, and a streamed export as Markdown or JSON.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use store::{SessionFilter, TransactionDetail};

use super::openapi as doc;
use crate::app::App;
use crate::request_view::RequestParts;

/// Query of `GET /api/history/sessions`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Last seen at or after (epoch ms).
    pub from: Option<i64>,
    /// Last seen before (epoch ms).
    pub to: Option<i64>,
    /// A model used in the session.
    pub model: Option<String>,
    /// A final decision in the session (`blocked`, `modified`, `error`, …).
    pub decision: Option<String>,
    /// Full-text query.
    pub q: Option<String>,
    /// Page size (default 50, at most 1,000).
    #[param(maximum = 1000)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn problem(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": "api_error", "message": message}})),
    )
        .into_response()
}

fn store_failed(e: store::StoreError) -> Response {
    tracing::warn!(error = %e, "history query failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the history store is unavailable: {e}"),
    )
}

fn not_found(what: &str, id: &str) -> Response {
    problem(StatusCode::NOT_FOUND, format!("no {what} with id {id:?}"))
}

/// `GET /api/history/sessions`.
#[utoipa::path(
    get,
    path = "/api/history/sessions",
    tag = "history",
    operation_id = "list_sessions",
    summary = "List sessions, newest first, with filters and full-text search",
    params(SessionsQuery),
    responses(
        (status = 200, description = "One page; pass `next_cursor` as `cursor` for the next.", body = doc::SessionPage),
        (status = 503, description = "The history store is unavailable (or the cursor is not one it issued).", body = doc::ApiError),
    ),
)]
pub async fn sessions(State(app): State<Arc<App>>, Query(q): Query<SessionsQuery>) -> Response {
    let filter = SessionFilter {
        from_ms: q.from,
        to_ms: q.to,
        model: q.model,
        decision: q.decision,
        q: q.q.filter(|s| !s.trim().is_empty()),
        limit: q.limit.unwrap_or(50),
        cursor: q.cursor,
    };
    match app.store.list_sessions(&filter).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(e) => store_failed(e),
    }
}

/// Query of `GET /api/history/stats`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StatsQuery {
    /// Count what started at or after this time (epoch ms); default: the last 24 hours.
    pub from: Option<i64>,
}

/// `GET /api/history/stats`: how many sessions, transactions and blocked transactions started
/// since `from` (what `luthien status` shows).
#[utoipa::path(
    get,
    path = "/api/history/stats",
    tag = "history",
    operation_id = "history_stats",
    summary = "Counts of recent traffic",
    params(StatsQuery),
    responses(
        (status = 200, description = "`{from, sessions, transactions, blocked}`: traffic that started at or after `from`.", body = Object),
        (status = 503, description = "The history store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn stats(State(app): State<Arc<App>>, Query(q): Query<StatsQuery>) -> Response {
    let from = q
        .from
        .unwrap_or_else(|| crate::recording::now_ms() - 86_400_000);
    match app.store.activity_counts(from).await {
        Ok(c) => axum::Json(json!({
            "from": from,
            "sessions": c.sessions,
            "transactions": c.transactions,
            "blocked": c.blocked,
        }))
        .into_response(),
        Err(e) => store_failed(e),
    }
}

/// `GET /api/history/sessions/{id}`: the session's transactions in order, as a conversation.
#[utoipa::path(
    get,
    path = "/api/history/sessions/{id}",
    tag = "history",
    operation_id = "get_session",
    summary = "A session as a readable conversation",
    params(("id" = String, Path, description = "The session id.")),
    responses(
        (status = 200, description = "The session and its conversation.", body = doc::SessionConversation),
        (status = 404, description = "No such session.", body = doc::ApiError),
        (status = 503, description = "The history store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn session(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.session_conversation(&id).await {
        Ok(Some(session)) => {
            let mut conversation: Vec<Value> = Vec::new();
            for (i, t) in session.transactions.iter().enumerate() {
                let parts = match RequestParts::of_turn(&session, i) {
                    Ok(parts) => parts,
                    Err(e) => return store_failed(e),
                };
                conversation.extend(turn(t, &parts));
            }
            axum::Json(json!({"session": session.summary, "conversation": conversation}))
                .into_response()
        }
        Ok(None) => not_found("session", &id),
        Err(e) => store_failed(e),
    }
}

/// One transaction as conversation entries: the user's new message, then what the assistant
/// delivered, with the policy decisions that shaped it.
///
/// Agents resend the whole history every call, so the user's entry is only what this call
/// added: the last user message of `messages` (Anthropic Messages, OpenAI Chat), or the items
/// at the end of a Responses `input` after the model's last item (the new prompt, the tool
/// outputs). Responses items are shown as the content blocks the other APIs use (`text`,
/// `tool_use` with parsed arguments, `tool_result`, `thinking`), plus `custom_tool_call`
/// (`{id, name, input}` with the free-form text, as an assembled stream records it).
fn turn(t: &TransactionDetail, request: &RequestParts<'_>) -> Vec<Value> {
    let r = &t.record;
    let mut out = Vec::new();
    if let Some(content) = new_user_content(request) {
        out.push(json!({"role": "user", "transaction_id": r.id, "content": content}));
    }
    let delivered = r
        .response_delivered
        .as_ref()
        .or(r.response_received.as_ref());
    let content = delivered
        .map(|d| {
            if d["content"].is_array() {
                d["content"].clone()
            } else if let Some(output) = d["output"].as_array() {
                // An OpenAI Responses response object.
                Value::Array(output.iter().flat_map(item_blocks).collect())
            } else {
                // An OpenAI Chat response recorded in its own format.
                d["choices"][0]["message"].clone()
            }
        })
        .unwrap_or(Value::Null);
    out.push(json!({
        "role": "assistant", "transaction_id": r.id, "model": r.model, "status": r.status,
        "final_decision": r.final_decision, "error": r.error, "content": content,
        "decisions": r.decisions, "started_at_ms": r.started_at_ms,
    }));
    out
}

/// What a request added to the conversation, as content.
fn new_user_content(req: &RequestParts<'_>) -> Option<Value> {
    if req.messages {
        return req
            .history
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| m["content"].clone());
    }
    match (req.input_text, req.history.as_slice()) {
        (Some(s), _) => Some(Value::String(s.to_owned())),
        (None, []) => None,
        (None, items) => {
            let start = items
                .iter()
                .rposition(|i| !client_item(i))
                .map_or(0, |i| i + 1);
            let blocks: Vec<Value> = items[start..]
                .iter()
                .copied()
                .filter(|i| i["role"] != "developer" && i["role"] != "system")
                .flat_map(item_blocks)
                // Codex's own context (AGENTS.md, environment) is not what the user said.
                .filter(|b| {
                    !(b["type"] == "text"
                        && b["text"]
                            .as_str()
                            .is_some_and(crate::session::is_codex_context))
                })
                .collect();
            (!blocks.is_empty()).then_some(Value::Array(blocks))
        }
    }
}

/// Whether a Responses input item comes from the client (a user, developer or system message,
/// or a tool's output) rather than from the model (its messages, calls and reasoning).
fn client_item(i: &Value) -> bool {
    match i["type"].as_str() {
        None | Some("message") => i["role"] != "assistant",
        Some(t) => t.ends_with("_output"),
    }
}

/// A Responses item as content blocks (see [`turn`]); an item of another type is kept as it is.
fn item_blocks(i: &Value) -> Vec<Value> {
    let id = &i["call_id"];
    match i["type"].as_str() {
        None | Some("message") => match &i["content"] {
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            Value::Array(parts) => parts
                .iter()
                .map(|p| match p["type"].as_str() {
                    Some("input_text" | "output_text" | "text") => {
                        json!({"type": "text", "text": p["text"]})
                    }
                    Some("refusal") => json!({"type": "text", "text": p["refusal"]}),
                    _ => p.clone(),
                })
                .collect(),
            _ => Vec::new(),
        },
        Some("function_call") => {
            let input = match &i["arguments"] {
                Value::String(a) => serde_json::from_str(a).unwrap_or_else(|_| json!(a)),
                other => other.clone(),
            };
            vec![json!({"type": "tool_use", "id": id, "name": i["name"], "input": input})]
        }
        Some("custom_tool_call") => vec![
            json!({"type": "custom_tool_call", "id": id, "name": i["name"], "input": i["input"]}),
        ],
        Some(t) if t.ends_with("_output") && i.get("output").is_some() => {
            vec![json!({"type": "tool_result", "tool_use_id": id, "content": i["output"]})]
        }
        Some("reasoning") => {
            let summary = text_of(&i["summary"]);
            if summary.trim().is_empty() {
                // Encrypted reasoning only: nothing to read.
                Vec::new()
            } else {
                vec![json!({"type": "thinking", "thinking": summary})]
            }
        }
        _ => vec![i.clone()],
    }
}

/// `GET /api/history/transactions/{id}`: everything recorded.
#[utoipa::path(
    get,
    path = "/api/history/transactions/{id}",
    tag = "history",
    operation_id = "get_transaction",
    summary = "A transaction with everything recorded",
    params(("id" = String, Path, description = "The transaction id (`x-luthien-transaction-id`).")),
    responses(
        (status = 200, description = "The transaction.", body = doc::TransactionDetail),
        (status = 404, description = "No such transaction.", body = doc::ApiError),
        (status = 503, description = "The history store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn transaction(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.transaction(&id).await {
        Ok(Some(t)) => axum::Json(t).into_response(),
        Ok(None) => not_found("transaction", &id),
        Err(e) => store_failed(e),
    }
}

/// A unified diff of two JSON values, pretty-printed; `None` sides diff as empty.
pub fn json_diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let pretty = |v: Option<&Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default()
    };
    let (a, b) = (pretty(before), pretty(after));
    let changed = after.is_some() && a != b;
    let unified = if changed {
        similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(3)
            .header("received", "delivered")
            .to_string()
    } else {
        String::new()
    };
    json!({"changed": changed, "unified": unified})
}

/// `GET /api/history/transactions/{id}/diff`: request received vs sent, response received vs delivered.
#[utoipa::path(
    get,
    path = "/api/history/transactions/{id}/diff",
    tag = "history",
    operation_id = "get_transaction_diff",
    summary = "What the policies changed: unified diffs, computed server-side",
    params(("id" = String, Path, description = "The transaction id.")),
    responses(
        (status = 200, description = "Request received vs sent, response received vs delivered.", body = doc::TransactionDiff),
        (status = 404, description = "No such transaction.", body = doc::ApiError),
        (status = 503, description = "The history store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn diff(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.store.transaction(&id).await {
        Ok(Some(t)) => {
            let r = &t.record;
            axum::Json(json!({
                "transaction_id": r.id,
                "request": json_diff(Some(&r.request_received), r.request_sent.as_ref()),
                "response": json_diff(r.response_received.as_ref(), r.response_delivered.as_ref()),
            }))
            .into_response()
        }
        Ok(None) => not_found("transaction", &id),
        Err(e) => store_failed(e),
    }
}

/// Query of the export endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `markdown` (default) or `json`.
    #[param(value_type = Option<doc::ExportFormat>, inline)]
    pub format: Option<String>,
}

/// Transactions an export expands at a time.
const EXPORT_BATCH: usize = 16;

/// `GET /api/history/sessions/{id}/export?format=markdown|json`, written transaction by transaction.
#[utoipa::path(
    get,
    path = "/api/history/sessions/{id}/export",
    tag = "history",
    operation_id = "export_session",
    summary = "Download a session as Markdown or JSON",
    description = "Streamed one transaction at a time, as an attachment \
        (`luthien-session-<id>.md` or `.json`). A transaction purged or unreadable mid-export is \
        noted in place (`{\"missing\": id}` in JSON) instead of cutting the file.",
    params(("id" = String, Path, description = "The session id."), ExportQuery),
    responses(
        (status = 200, description = "The export.",
            content(
                (String = "text/markdown"),
                (doc::SessionExport = "application/json"),
            ),
            headers(("content-disposition" = String, description = "`attachment; filename=\"luthien-session-<id>.<ext>\"`"))),
        (status = 400, description = "`format` is neither `markdown` nor `json`.", body = doc::ApiError),
        (status = 404, description = "No such session.", body = doc::ApiError),
        (status = 503, description = "The history store is unavailable.", body = doc::ApiError),
    ),
)]
pub async fn export(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let format = q.format.unwrap_or_else(|| "markdown".into());
    if format != "markdown" && format != "json" {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("format must be markdown or json, not {format:?}"),
        );
    }
    let outline = match app.store.session_outline(&id).await {
        Ok(Some(o)) => o,
        Ok(None) => return not_found("session", &id),
        Err(e) => return store_failed(e),
    };
    let json_format = format == "json";
    let head = if json_format {
        format!(
            "{{\"session\":{},\"transactions\":[",
            serde_json::to_string(&outline.summary).unwrap_or_default()
        )
    } else {
        format!(
            "# {}\n\nSession `{}`\n",
            outline.summary.title.as_deref().unwrap_or("(untitled)"),
            outline.summary.id
        )
    };
    let tail = if json_format { "]}" } else { "" };
    // A few transactions are expanded at a time: every turn resends the whole history, so the
    // expanded session would be quadratic in memory. The bodies they share are read once.
    let store = app.store.clone();
    let body = futures::stream::unfold((0usize, outline), move |(start, outline)| {
        let store = store.clone();
        async move {
            let ids = outline.transaction_ids.get(start..)?;
            let ids = &ids[..ids.len().min(EXPORT_BATCH)];
            if ids.is_empty() {
                return None;
            }
            let loaded = store.outline_transactions(&outline, ids).await;
            let mut chunk = String::new();
            for (i, tid) in ids.iter().enumerate() {
                let sep = if start + i > 0 { "," } else { "" };
                let t = match &loaded {
                    Ok(list) => list.iter().find(|t| &t.record.id == tid),
                    Err(_) => None,
                };
                match t {
                    Some(t) if json_format => {
                        chunk.push_str(sep);
                        chunk.push_str(&serde_json::to_string(t).unwrap_or_default());
                    }
                    Some(t) => chunk.push_str(&markdown_turn(t)),
                    // Purged or unreadable mid-export: say so in the file instead of cutting it.
                    None if json_format => {
                        chunk.push_str(&format!("{sep}{{\"missing\":\"{tid}\"}}"));
                    }
                    None => chunk.push_str(&format!("\n> transaction {tid} could not be read\n")),
                }
            }
            let next = start + ids.len();
            Some((
                Ok::<_, std::convert::Infallible>(Bytes::from(chunk)),
                (next, outline),
            ))
        }
    });
    let stream = futures::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(body)
        .chain(futures::stream::once(async move { Ok(Bytes::from(tail)) }));
    let mut resp = Response::new(Body::from_stream(stream));
    let (ct, ext) = if json_format {
        ("application/json", "json")
    } else {
        ("text/markdown; charset=utf-8", "md")
    };
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"luthien-session-{id}.{ext}\""
    )) {
        resp.headers_mut().insert("content-disposition", v);
    }
    resp
}

fn markdown_turn(t: &TransactionDetail) -> String {
    let mut md = String::new();
    for entry in turn(t, &RequestParts::of_body(&t.record.request_received)) {
        let role = entry["role"].as_str().unwrap_or_default();
        md.push_str(&format!(
            "\n## {}\n\n",
            if role == "user" { "User" } else { "Assistant" }
        ));
        for block in entry["content"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![entry["content"].clone()])
        {
            match (block["type"].as_str(), &block) {
                (Some("text"), _) => md.push_str(&format!(
                    "{}\n\n",
                    block["text"].as_str().unwrap_or_default()
                )),
                (Some("tool_use"), _) => md.push_str(&format!(
                    "**Tool call `{}`**\n\n{}\n\n",
                    block["name"].as_str().unwrap_or_default(),
                    fenced(
                        "json",
                        &serde_json::to_string_pretty(&block["input"]).unwrap_or_default()
                    )
                )),
                (Some("custom_tool_call"), _) => md.push_str(&format!(
                    "**Tool call `{}`**\n\n{}\n\n",
                    block["name"].as_str().unwrap_or_default(),
                    fenced("", &text_of(&block["input"]))
                )),
                (Some("tool_result"), _) => md.push_str(&format!(
                    "**Tool result**\n\n{}\n\n",
                    fenced("", &text_of(&block["content"]))
                )),
                (Some("thinking"), _) => md.push_str(&format!(
                    "<details><summary>Thinking</summary>\n\n{}\n\n</details>\n\n",
                    block["thinking"].as_str().unwrap_or_default()
                )),
                (_, Value::String(s)) => md.push_str(&format!("{s}\n\n")),
                _ => {}
            }
        }
        for d in entry["decisions"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "> Policy `{}`: {} ({})\n\n",
                d["policy"].as_str().unwrap_or_default(),
                d["verdict"].as_str().unwrap_or_default(),
                d["status"].as_str().unwrap_or_default()
            ));
        }
    }
    md
}

/// A fenced code block whose fence is longer than any run of backticks in `text`, so that a
/// patch or a tool output holding a fence of its own cannot end the block early.
fn fenced(lang: &str, text: &str) -> String {
    let longest = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest.max(2) + 1);
    let nl = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{lang}\n{text}{nl}{fence}")
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
