//! POLICY_SOURCE: a policy set at run time survives a restart unless the mode says the file wins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use luthien_gateway::App;
use serde_json::{json, Value};

async fn current(gw: &Gateway) -> Value {
    gw.http
        .get(format!("{}/api/admin/policy/current", gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_policy_set_at_run_time_survives_a_restart_unless_the_file_wins() {
    let dir = temp_dir();
    let db = format!("sqlite://{}?mode=rwc", dir.join("shared.db").display());
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "policy:\n  class: all_caps\n").unwrap();
    let base = "http://127.0.0.1:9";

    let first = start_gateway(settings_for(base, &["--database-url", &db]), None).await;
    assert_eq!(current(&first).await["name"], "noop");
    let set = first
        .http
        .post(format!("{}/api/admin/policy/set", first.url))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"class": "plain_dashes", "config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    drop(first);

    // Default (file-fallback-db) with no file: the database's policy.
    let restarted = start_gateway(settings_for(base, &["--database-url", &db]), None).await;
    assert_eq!(current(&restarted).await["name"], "plain_dashes");
    drop(restarted);

    // db-fallback-file: the database still wins over the file.
    let f = file.to_str().unwrap();
    let dbwins = start_gateway(
        settings_for(
            base,
            &[
                "--database-url",
                &db,
                "--policy-config",
                f,
                "--policy-source",
                "db-fallback-file",
            ],
        ),
        None,
    )
    .await;
    assert_eq!(current(&dbwins).await["name"], "plain_dashes");
    drop(dbwins);

    // file: the file wins, and becomes the persisted current policy.
    let filewins = start_gateway(
        settings_for(
            base,
            &[
                "--database-url",
                &db,
                "--policy-config",
                f,
                "--policy-source",
                "file",
            ],
        ),
        None,
    )
    .await;
    let c = current(&filewins).await;
    assert_eq!(c["name"], "all_caps");
    assert_eq!(c["activated_by"], "startup:file");
}

#[tokio::test]
async fn invalid_policies_are_refused_with_the_field_named_and_nothing_changes() {
    let h = Harness::start(&[]).await;
    let resp =
        h.gw.http
            .post(format!("{}/api/admin/policy/set", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"class": "tool_call_judge", "config": {"probability_threshold": 7}}))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["error"]["errors"][0]["field"], "probability_threshold",
        "{v}"
    );
    assert_eq!(current(&h.gw).await["name"], "noop");
    let unauth =
        h.gw.http
            .post(format!("{}/api/admin/policy/set", h.gw.url))
            .json(&json!({"class": "noop"}))
            .send()
            .await
            .unwrap();
    assert_eq!(
        unauth.status(),
        401,
        "the agent cannot switch its own policy off"
    );
}

#[tokio::test]
async fn policy_source_db_with_an_empty_database_is_refused_at_start() {
    let dir = temp_dir();
    let db = format!("sqlite://{}?mode=rwc", dir.join("empty.db").display());
    let settings = settings_for(
        "http://127.0.0.1:9",
        &["--database-url", &db, "--policy-source", "db"],
    );
    let err = App::new(settings).await.err().expect("refused");
    assert!(err.to_string().contains("POLICY_SOURCE=db"), "{err}");
}

#[tokio::test]
async fn the_admin_api_lists_validates_and_keeps_the_activation_history() {
    let h = Harness::start(&[]).await;
    let get = |path: &str| {
        h.gw.http
            .get(format!("{}{path}", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .send()
    };
    let list: Value = get("/api/admin/policy/list")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let judge = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tool_call_judge")
        .unwrap();
    assert!(judge["schema"]["properties"]["probability_threshold"].is_object());
    let post = |path: &str, body: Value| {
        h.gw.http
            .post(format!("{}{path}", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
    };
    let bad: Value = post(
        "/api/admin/policy/validate",
        json!({"class": "string_replacement", "config": {"replacements": [["", "x"]]}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["errors"][0]["field"], "replacements.0.0");
    let good: Value = post("/api/admin/policy/validate", json!({"class": "all_caps"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(good["valid"], true);
    assert_eq!(
        current(&h.gw).await["name"],
        "noop",
        "validate changes nothing"
    );
    for class in ["all_caps", "plain_dashes"] {
        assert_eq!(
            post(
                "/api/admin/policy/set",
                json!({"class": class, "activated_by": "ops"})
            )
            .await
            .unwrap()
            .status(),
            200
        );
    }
    let hist: Value = get("/api/admin/policy/history")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let classes: Vec<&str> = hist["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["class"].as_str().unwrap())
        .collect();
    assert_eq!(&classes[..2], &["plain_dashes", "all_caps"], "newest first");
    let status: Value = get("/api/admin/system-status")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["database"]["status"], "ok");
    assert_eq!(
        h.gw.http
            .get(format!("{}/api/admin/policy/list", h.gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
