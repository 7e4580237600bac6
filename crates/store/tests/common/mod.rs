//! Test support: a fresh database per test on each backend (SQLite temp file, PostgreSQL
//! `luthien_test_<random>` dropped afterwards, even when the test panics), the macro that runs one
//! test body on both, and record fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use luthien_store::{Backend, DecisionRecord, RawEvents, Store, TransactionRecord, Usage};
use serde_json::{json, Value};
use sqlx::Connection;

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub enum TestDb {
    Sqlite { path: PathBuf },
    Postgres { name: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => TestDb::Sqlite {
                path: std::env::temp_dir().join(format!("luthien_test_{tag}.db")),
            },
            Backend::Postgres => {
                let name = format!("luthien_test_{tag}");
                admin_exec(&format!("CREATE DATABASE {name}")).await;
                TestDb::Postgres { name }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres { .. } => Backend::Postgres,
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path } => format!("sqlite://{}?mode=rwc", path.display()),
            TestDb::Postgres { name } => format!("postgres://postgres@127.0.0.1:5432/{name}"),
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url())
            .await
            .expect("connect to test database")
    }

    /// Rows in `table`, counted with a fresh connection.
    #[allow(dead_code)] // not every test file counts rows
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            TestDb::Sqlite { .. } => {
                let mut c = sqlx::SqliteConnection::connect(&self.url()).await.unwrap();
                sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
            }
            TestDb::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url()).await.unwrap();
                sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap()
            }
        }
    }

    /// Runs raw SQL on the test database with a fresh connection.
    pub async fn exec(&self, sql: &str) {
        match self {
            TestDb::Sqlite { .. } => {
                let mut c = sqlx::SqliteConnection::connect(&self.url()).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            TestDb::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url()).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            TestDb::Postgres { name } => {
                // Drop runs outside async context (and after panics): use a private runtime.
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(admin_exec(&sql));
                })
                .join();
            }
        }
    }
}

/// Runs SQL on the PostgreSQL maintenance database.
pub async fn admin_exec(sql: &str) {
    let mut c = sqlx::PgConnection::connect(PG_ADMIN_URL)
        .await
        .expect("PostgreSQL must be running on 127.0.0.1:5432 (pg_ctlcluster … main start)");
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
}

/// Defines `mod $name { sqlite(), postgres() }`: the same body against a fresh database of each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($db:ident: &TestDb) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: &$crate::common::TestDb) $body

            #[tokio::test]
            async fn sqlite() {
                let db = $crate::common::TestDb::new(luthien_store::Backend::Sqlite).await;
                body(&db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::common::TestDb::new(luthien_store::Backend::Postgres).await;
                body(&db).await;
            }
        }
    };
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A small valid record in `session` (None = its own session) started at `at_ms`.
pub fn record(session: Option<&str>, at_ms: i64, user_text: &str) -> TransactionRecord {
    TransactionRecord {
        id: new_id(),
        session_id: session.map(str::to_string),
        client_api: "anthropic".into(),
        provider: "anthropic".into(),
        model: "claude-sonnet-4-5".into(),
        status: 200,
        error: None,
        stream: false,
        started_at_ms: at_ms,
        ttft_ms: None,
        total_ms: 12.5,
        overhead_ms: 0.25,
        usage: Usage::default(),
        policy: "noop".into(),
        final_decision: "pass".into(),
        request_received: json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": user_text}]}),
        request_sent: None,
        response_received: None,
        response_delivered: None,
        raw_events: None,
        decisions: Vec::new(),
        title_hint: Some(user_text.to_string()),
    }
}

/// A record with every field set, unusual values included (unicode, key order, large counts).
pub fn full_record(session: &str, at_ms: i64) -> TransactionRecord {
    let response = json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "Let me look — ünïcødé ✓"},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls -la", "z": 1, "a": [1.5, null, true]}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 20}});
    TransactionRecord {
        id: new_id(),
        session_id: Some(session.to_string()),
        client_api: "anthropic".into(),
        provider: "anthropic".into(),
        model: "claude-sonnet-4-5".into(),
        status: 200,
        error: Some("upstream hiccup (recovered)".into()),
        stream: true,
        started_at_ms: at_ms,
        ttft_ms: Some(123.456),
        total_ms: 987.654_321,
        overhead_ms: 1.0 / 3.0,
        usage: Usage {
            input_tokens: Some(1_234),
            output_tokens: Some(0),
            cache_read_input_tokens: Some(9_007_199_254_740_993),
            cache_creation_input_tokens: None,
        },
        policy: "tool_judge".into(),
        final_decision: "modified".into(),
        request_received: json!({"zeta": 1, "model": "claude-sonnet-4-5", "system": [{"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "list files"}, {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}, {"role": "user", "content": [{"type": "text", "text": "now"}]}],
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}], "stream": true, "alpha": null, "nested": {"b": [1, 2, {"c": "d"}], "a": 1e-7}}),
        request_sent: Some(
            json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "list files"}], "system": "rewritten", "stream": true}),
        ),
        response_received: Some(response.clone()),
        response_delivered: Some(
            json!({"id": "msg_01", "content": [{"type": "text", "text": "[blocked tool call]"}]}),
        ),
        raw_events: Some(RawEvents {
            events: vec![
                "event: message_start\ndata: {\"type\":\"message_start\"}\n\n".into(),
                "data: ünï\n\n".into(),
            ],
            truncated: true,
        }),
        decisions: vec![
            DecisionRecord {
                policy: "tool_judge".into(),
                block_index: Some(2),
                kind: "tool_call".into(),
                verdict: "block".into(),
                status: "ok".into(),
                score: Some(0.875),
                rationale: Some("deletes files".into()),
                judge_model: Some("claude-haiku".into()),
                latency_ms: 45.5,
                judge_request: Some(
                    json!({"messages": [{"role": "user", "content": "judge this"}]}),
                ),
                judge_response: Some(json!({"probability": 0.875, "explanation": "deletes files"})),
                tool_call: Some(json!({"id": "toolu_1", "name": "Bash", "format": "json",
                                       "input": {"command": "rm -rf /"}})),
            },
            DecisionRecord {
                policy: "noop".into(),
                block_index: None,
                kind: "request".into(),
                verdict: "allow".into(),
                status: "ok".into(),
                score: None,
                rationale: None,
                judge_model: None,
                latency_ms: 0.0,
                judge_request: None,
                judge_response: None,
                tool_call: None,
            },
        ],
        title_hint: Some("list files".into()),
    }
}

/// An Anthropic assistant message that calls a tool with `args`.
pub fn tool_call_message(name: &str, args: Value) -> Value {
    json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("toolu_{}", new_id()), "name": name, "input": args}]})
}

/// An OpenAI Responses (Codex) transaction in `session`: `input` as the request's item list, with
/// the rest of a Codex body around it, and `response` as both the received and delivered response.
pub fn responses_record(
    session: &str,
    at_ms: i64,
    input: Value,
    response: Option<Value>,
) -> TransactionRecord {
    TransactionRecord {
        id: new_id(),
        session_id: Some(session.to_string()),
        client_api: "openai_responses".into(),
        provider: "openai".into(),
        model: "gpt-5.5".into(),
        status: 200,
        error: None,
        stream: true,
        started_at_ms: at_ms,
        ttft_ms: Some(100.0),
        total_ms: 900.0,
        overhead_ms: 0.5,
        usage: Usage::default(),
        policy: "noop".into(),
        final_decision: "pass".into(),
        request_received: json!({"model": "gpt-5.5", "input": input,
            "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
                      {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: patch"}}],
            "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": {"effort": "medium"}, "store": false,
            "stream": true, "include": ["reasoning.encrypted_content"], "prompt_cache_key": session,
            "text": {"verbosity": "low"}, "client_metadata": {"turn": at_ms}}),
        request_sent: None,
        response_received: response.clone(),
        response_delivered: response,
        raw_events: None,
        decisions: Vec::new(),
        title_hint: None,
    }
}

/// A Responses `message` item with one text part (`input_text`, or `output_text` for the assistant).
pub fn message_item(role: &str, text: &str) -> Value {
    let part = if role == "assistant" {
        "output_text"
    } else {
        "input_text"
    };
    json!({"type": "message", "role": role, "content": [{"type": part, "text": text}]})
}

/// A Responses `function_call` item for Codex's shell tool.
pub fn exec_call_item(call_id: &str, cmd: &str) -> Value {
    json!({"type": "function_call", "call_id": call_id, "name": "exec_command",
           "arguments": json!({"cmd": cmd}).to_string()})
}

/// A Responses `custom_tool_call` item for Codex's `apply_patch`.
pub fn patch_call_item(call_id: &str, patch: &str) -> Value {
    json!({"type": "custom_tool_call", "call_id": call_id, "name": "apply_patch", "input": patch})
}

/// A tool's answer (`function_call_output`, or `custom_tool_call_output` when `custom`).
pub fn output_item(call_id: &str, output: &str, custom: bool) -> Value {
    let kind = if custom {
        "custom_tool_call_output"
    } else {
        "function_call_output"
    };
    json!({"type": kind, "call_id": call_id, "output": output})
}
