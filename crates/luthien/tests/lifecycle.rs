//! `luthien up | status | down | logs`: a gateway in the background, found through its state file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{healthy, json, stdout, text, Luthien};

#[test]
fn up_starts_a_background_gateway_that_status_reports_and_down_stops() {
    let l = Luthien::new("lifecycle");
    let running = l.up();
    let url = l.url();
    assert!(healthy(&url), "the gateway answers /health at {url}");
    let state = l.state().unwrap();
    assert!(
        state["pid"].as_u64().is_some() && state["started_at"].is_string(),
        "{state}"
    );

    let again = l.run(&["up"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        stdout(&again).contains("already running"),
        "{}",
        text(&again)
    );
    assert_eq!(l.state().unwrap()["pid"], state["pid"], "no second gateway");

    let status = l.run(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let s = json(&status);
    assert_eq!(s["running"], true);
    assert_eq!(s["url"], url.as_str());
    assert_eq!(s["pid"], state["pid"]);
    assert_eq!(s["policy"]["name"], "noop", "{s}");
    assert_eq!(s["ready"]["database"]["status"], "ok", "{s}");
    assert_eq!(s["activity"]["last_hour"]["sessions"], 0, "{s}");

    let readable = l.run(&["status"]);
    assert!(
        stdout(&readable).contains("running at"),
        "{}",
        text(&readable)
    );

    let logs = l.run(&["logs", "-n", "200"]);
    assert!(stdout(&logs).contains("listening on"), "{}", text(&logs));

    let down = l.run(&["down"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(stdout(&down).contains("Stopped"), "{}", text(&down));
    assert!(!healthy(&url), "the port stops answering");
    assert!(l.state().is_none(), "the state file is removed");
    drop(running);
}

#[test]
fn with_nothing_running_status_exits_3_and_down_exits_0() {
    let l = Luthien::new("idle");
    let status = l.run(&["status"]);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status));
    assert!(stdout(&status).contains("not running"), "{}", text(&status));
    let status = l.run(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(3));
    assert_eq!(json(&status)["running"], false);
    let down = l.run(&["down"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(
        stdout(&down).contains("No background gateway"),
        "{}",
        text(&down)
    );
}

#[test]
fn a_gateway_that_cannot_start_fails_up_with_its_log() {
    let l = Luthien::new("broken").env("POLICY_CONFIG", "/nonexistent/policy.yaml");
    let o = l.run(&["up"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exited while starting"), "{err}");
    assert!(
        err.contains("/nonexistent/policy.yaml"),
        "the log tail says why:\n{err}"
    );
    assert!(l.state().is_none());
}

#[test]
fn logs_without_a_gateway_ever_started_exit_3() {
    let l = Luthien::new("nolog");
    let o = l.run(&["logs"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("luthien up"));
}
