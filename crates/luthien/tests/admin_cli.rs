//! `luthien policy current | set` and `luthien history list | show | export` against a running
//! background gateway, through its admin API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{json, stdout, text, Luthien};
use mock_upstream::{MockHandle, MockUpstream};
use serde_json::json;

/// A background gateway in front of the in-process mock upstream.
struct WithMock {
    // The runtime's worker threads serve the mock while the test blocks on the CLI.
    rt: tokio::runtime::Runtime,
    mock: MockHandle,
    luthien: Luthien,
}

impl WithMock {
    fn new(name: &str) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mock = rt.block_on(MockUpstream::start()).unwrap();
        let luthien = Luthien::new(name)
            .env("ANTHROPIC_UPSTREAM_URL", &mock.base_url())
            .env("OPENAI_UPSTREAM_URL", &format!("{}/v1", mock.base_url()));
        Self { rt, mock, luthien }
    }

    /// Sends one Anthropic request in session `session` through the gateway.
    fn send(&self, session: &str, text: &str) {
        let url = self.luthien.url();
        let status = self.rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", "user-key")
                .header("anthropic-version", "2023-06-01")
                .header("x-session-id", session)
                .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
                    "messages": [{"role": "user", "content": text}]}))
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, 200);
    }

    /// Sends a Codex-shaped `/v1/responses` request for `session`.
    fn send_codex(&self, session: &str, text: &str) {
        let url = self.luthien.url();
        let status = self.rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{url}/v1/responses"))
                .bearer_auth("user-key")
                .header("session-id", session)
                .json(
                    &json!({"model": "gpt-5.5", "input": [{"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": text}]}],
                    "tools": [{"type": "custom", "name": "apply_patch"}]}),
                )
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, 200);
    }

    /// `history list --json` once the recorder has written `session` (it writes in batches).
    fn wait_for_session(&self, session: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let o = self.luthien.run(&["history", "list", "--json"]);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            let page = json(&o);
            if page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == session)
            {
                return page;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{session} never listed: {page}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for WithMock {
    fn drop(&mut self) {
        common::stop(&self.luthien);
        let _ = &self.mock;
    }
}

#[test]
fn policy_set_activates_a_file_and_current_shows_it() {
    let g = WithMock::new("policy-set");
    let l = &g.luthien;
    let _running = l.up();
    let f = l.file(
        "caps.yaml",
        "policy:\n  class: string_replacement\n  config:\n    replacements: [[\"walrus\", \"seal\"]]\n",
    );
    let o = l.run(&["policy", "set", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("string_replacement"), "{}", text(&o));

    let o = l.run(&["policy", "current", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let current = json(&o);
    assert_eq!(current["class"], "string_replacement", "{current}");
    assert_eq!(
        current["config"]["replacements"],
        json!([["walrus", "seal"]])
    );
    assert_eq!(current["activated_by"], "luthien policy set");

    let o = l.run(&["policy", "current"]);
    assert!(stdout(&o).contains("string_replacement"), "{}", text(&o));
    let s = json(&l.run(&["status", "--json"]));
    assert_eq!(s["policy"]["class"], "string_replacement", "{s}");
}

#[test]
fn policy_set_rejects_an_invalid_file_naming_field_and_line_and_changes_nothing() {
    let g = WithMock::new("policy-bad");
    let l = &g.luthien;
    let _running = l.up();
    let f = l.file(
        "bad.yaml",
        "policy:\n  class: tool_call_judge\n  config:\n    model: m\n    probability_threshold: 1.5\n",
    );
    let o = l.run(&["policy", "set", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 5: policy.config.probability_threshold"),
        "{err}"
    );
    let current = json(&l.run(&["policy", "current", "--json"]));
    assert_eq!(current["name"], "noop", "nothing changed: {current}");
}

#[test]
fn a_wrong_admin_key_exits_5_and_no_gateway_exits_3() {
    let g = WithMock::new("wrong-key");
    let l = &g.luthien;
    let _running = l.up();
    let wrong = Luthien::new("wrong-key-client")
        .env("LUTHIEN_GATEWAY_URL", &l.url())
        .env("ADMIN_API_KEY", "not-the-key");
    let o = wrong.run(&["policy", "current"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ADMIN_API_KEY"),
        "{}",
        text(&o)
    );
    let nobody = Luthien::new("nobody").env("LUTHIEN_GATEWAY_URL", "http://127.0.0.1:9");
    let o = nobody.run(&["history", "list"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("no gateway at http://127.0.0.1:9: start one with `luthien up`"),
        "{}",
        text(&o)
    );
}

#[test]
fn history_lists_shows_and_exports_a_session_sent_through_the_gateway() {
    let g = WithMock::new("history");
    let l = &g.luthien;
    let _running = l.up();
    g.send("cli-session-1", "remember the walrus");
    let page = g.wait_for_session("cli-session-1");
    let s = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cli-session-1")
        .unwrap();
    assert_eq!(s["transaction_count"], 1, "{s}");

    let o = l.run(&["history", "list"]);
    assert!(stdout(&o).contains("cli-session-1"), "{}", text(&o));
    assert!(stdout(&o).contains("remember the walrus"), "{}", text(&o));
    let o = l.run(&["history", "list", "--q", "walrus", "--json"]);
    assert_eq!(
        json(&o)["items"].as_array().unwrap().len(),
        1,
        "{}",
        text(&o)
    );
    let o = l.run(&["history", "list", "--blocked", "--json"]);
    assert_eq!(json(&o)["items"], json!([]), "{}", text(&o));

    let o = l.run(&["history", "show", "cli-session-1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("You said: remember the walrus"),
        "{}",
        text(&o)
    );
    let o = l.run(&["history", "show", "cli-session-1", "--json"]);
    assert_eq!(json(&o)["session"]["id"], "cli-session-1");

    let o = l.run(&["history", "export", "cli-session-1", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = stdout(&o);
    assert!(
        md.contains("## User") && md.contains("remember the walrus"),
        "{md}"
    );
    assert!(
        md.contains("## Assistant") && md.contains("You said: remember the walrus"),
        "{md}"
    );

    let out = l.dir.join("export.json");
    let o = l.run(&[
        "history",
        "export",
        "cli-session-1",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(exported["session"]["id"], "cli-session-1");
    assert_eq!(exported["transactions"].as_array().unwrap().len(), 1);

    let s = json(&l.run(&["status", "--json"]));
    assert_eq!(s["activity"]["last_hour"]["sessions"], 1, "{s}");
    assert_eq!(s["activity"]["last_24h"]["transactions"], 1, "{s}");
}

#[test]
fn an_unknown_session_exits_4() {
    let g = WithMock::new("unknown");
    let l = &g.luthien;
    let _running = l.up();
    for args in [
        &["history", "show", "no-such-session"][..],
        &[
            "history",
            "export",
            "no-such-session",
            "--format",
            "markdown",
        ][..],
    ] {
        let o = l.run(args);
        assert_eq!(o.status.code(), Some(4), "{args:?}\n{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-session"));
        assert!(o.stdout.is_empty(), "nothing half-exported: {}", text(&o));
    }
}

#[test]
fn piped_output_has_no_escape_codes() {
    let g = WithMock::new("plain");
    let l = &g.luthien;
    let _running = l.up();
    g.send("plain-session", "hello");
    g.wait_for_session("plain-session");
    for args in [
        &["status"][..],
        &["policy", "current"][..],
        &["policy", "list"][..],
        &["history", "list"][..],
        &["history", "show", "plain-session"][..],
    ] {
        let o = l
            .command(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}\n{}", text(&o));
        assert!(
            !o.stdout.contains(&0x1b),
            "{args:?} printed an escape code:\n{}",
            text(&o)
        );
    }
}

#[test]
fn history_show_prints_a_codex_apply_patch_as_written() {
    let g = WithMock::new("codex-history");
    let l = &g.luthien;
    let _running = l.up();
    g.send_codex(
        "codex-session-1",
        "mock:custom apply_patch *** Begin Patch\n*** Add File: walrus.txt\n+goo goo\n*** End Patch",
    );
    g.wait_for_session("codex-session-1");
    let o = l.run(&["history", "show", "codex-session-1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("apply_patch"), "{out}");
    assert!(
        out.contains("*** Add File: walrus.txt\n+goo goo"),
        "the patch is shown as written: {out}"
    );
}
