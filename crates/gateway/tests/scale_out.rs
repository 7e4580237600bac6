//! Recording at scale and across instances, on the real PostgreSQL and Redis of this machine:
//! two gateways share a database and a bus; 1,000 mixed requests are all recorded with the
//! right decisions; a database outage never fails a request, shows in /ready, and recording
//! catches up when the database returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use mock_upstream::MockUpstream;
use serde_json::{json, Value};
use sqlx::Connection;

const ADMIN_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A PostgreSQL database of this test's own, dropped at the end.
struct PgDb {
    name: String,
}

impl PgDb {
    async fn create() -> Self {
        let name = format!("luthien_gw_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(ADMIN_PG).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        Self { name }
    }
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
    async fn set_available(&self, available: bool) {
        let mut c = sqlx::PgConnection::connect(ADMIN_PG).await.unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {available}",
            self.name
        ))
        .execute(&mut c)
        .await
        .unwrap();
        if !available {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(&self.name)
            .execute(&mut c)
            .await
            .unwrap();
        }
    }
    async fn drop_db(self) {
        let mut c = sqlx::PgConnection::connect(ADMIN_PG).await.unwrap();
        let _ = sqlx::query(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ))
        .execute(&mut c)
        .await;
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut c)
        .await;
    }
}

async fn admin_get(gw: &Gateway, path: &str) -> Value {
    gw.http
        .get(format!("{}{path}", gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `check` on a JSON endpoint until it holds, or fails with what was last seen.
async fn eventually(gw: &Gateway, path: &str, secs: u64, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = admin_get(gw, path).await;
        if check(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never satisfied the check; last: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_instances_share_history_activity_and_policy_through_postgres_and_redis() {
    let db = PgDb::create().await;
    let mock = MockUpstream::start().await.unwrap();
    let args = [
        "--database-url",
        &db.url(),
        "--redis-url",
        "redis://127.0.0.1:6379",
    ];
    let a = start_gateway(settings_for(&mock.base_url(), &args), None).await;
    let b = start_gateway(settings_for(&mock.base_url(), &args), None).await;

    // A watches its activity stream while a request goes through B.
    let resp = a
        .http
        .get(format!("{}/api/activity/stream?replay=0", a.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let mut feed = resp.bytes_stream();
    let sent = b
        .anthropic(&anthropic_body(
            "claude-sonnet-4-5",
            "mock:text through b",
            true,
        ))
        .send()
        .await
        .unwrap();
    let id = sent.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    anthropic_stream(sent).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains(&id) && seen.contains("transaction_finished")) {
        let chunk = tokio::time::timeout_at(deadline, feed.next())
            .await
            .expect("B's request on A's feed")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    eventually(&a, &format!("/api/history/transactions/{id}"), 10, |v| {
        v["record"]["id"] == id.as_str()
    })
    .await;

    // A policy set through A blocks on B within a second or so.
    let set = a
        .http
        .post(format!("{}/api/admin/policy/set", a.url))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"class": "block_dangerous_commands", "config": {}, "activated_by": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());
    let prompt = format!("mock:tool Bash {}", json!({"command": "rm -rf /"}));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let s = anthropic_stream(
            b.anthropic(&anthropic_body("claude-sonnet-4-5", &prompt, true))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if s.tool_calls.is_empty() {
            assert!(s.text.contains("Luthien blocked"), "{}", s.text);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never applied the policy set through A"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let current = admin_get(&b, "/api/admin/policy/current").await;
    assert_eq!(current["class"], "block_dangerous_commands");
    assert_eq!(current["activated_by"], "test");
    drop((a, b));
    db.drop_db().await;
}

#[tokio::test]
async fn a_thousand_mixed_requests_are_all_recorded_with_the_right_decisions() {
    let file = std::env::temp_dir().join(format!("luthien-1000-{}.yaml", std::process::id()));
    std::fs::write(&file, "policy:\n  class: block_dangerous_commands\n").unwrap();
    let h = Harness::start(&["--policy-config", file.to_str().unwrap()]).await;
    let dangerous = format!("mock:tool Bash {}", json!({"command": "rm -rf ~"}));
    let harmless = format!("mock:tool Bash {}", json!({"command": "ls"}));
    let mut expected_blocked = 0;
    let requests = futures::stream::iter(0..1000).map(|i| {
        let (body, chat) = match i % 5 {
            0 => (
                anthropic_body("claude-sonnet-4-5", "mock:text hello", true),
                false,
            ),
            1 => (anthropic_body("claude-sonnet-4-5", &harmless, false), false),
            2 => (anthropic_body("claude-sonnet-4-5", &dangerous, true), false),
            3 => (chat_body("claude-sonnet-4-5", "mock:tools 2", true), true),
            _ => (chat_body("gpt-4o", &dangerous, false), true),
        };
        let req = if chat {
            h.chat(&body)
        } else {
            h.anthropic(&body)
        };
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            resp.bytes().await.unwrap();
        }
    });
    requests.buffer_unordered(16).collect::<Vec<_>>().await;
    for i in 0..1000 {
        if i % 5 == 2 || i % 5 == 4 {
            expected_blocked += 1;
        }
    }
    let page = eventually(&h.gw, "/api/history/sessions?limit=1000", 30, |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 1000)
    })
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000, "exactly one record per request");
    assert!(
        page["next_cursor"].is_null(),
        "and no more: {}",
        page["next_cursor"]
    );
    let blocked: u64 = items
        .iter()
        .map(|s| s["blocked_count"].as_u64().unwrap())
        .sum();
    assert_eq!(blocked, expected_blocked);
    let blocked_page = admin_get(&h.gw, "/api/history/sessions?decision=blocked&limit=1000").await;
    assert_eq!(
        blocked_page["items"].as_array().unwrap().len() as u64,
        expected_blocked
    );
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn a_database_outage_fails_no_request_shows_in_ready_and_recording_catches_up() {
    let db = PgDb::create().await;
    let mock = MockUpstream::start().await.unwrap();
    let gw = start_gateway(
        settings_for(&mock.base_url(), &["--database-url", &db.url()]),
        None,
    )
    .await;
    let send = |n: usize| {
        let gw = &gw;
        async move {
            for i in 0..n {
                let body = anthropic_body(
                    "claude-sonnet-4-5",
                    &format!("mock:text request {i}"),
                    i % 2 == 0,
                );
                let resp = gw.anthropic(&body).send().await.unwrap();
                assert_eq!(resp.status(), 200, "a request failed during the outage");
                resp.bytes().await.unwrap();
            }
        }
    };
    send(10).await;
    eventually(&gw, "/api/history/sessions?limit=1000", 10, |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 10)
    })
    .await;

    db.set_available(false).await;
    send(20).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let ready: Value = gw
            .http
            .get(format!("{}/ready", gw.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["status"] == "degraded" && ready["database"]["status"] == "down" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/ready never reported the outage: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    db.set_available(true).await;
    eventually(&gw, "/api/history/sessions?limit=1000", 30, |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 30)
    })
    .await;
    let ready: Value = gw
        .http
        .get(format!("{}/ready", gw.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"]["status"], "ok", "{ready}");
    drop(gw);
    db.drop_db().await;
}
