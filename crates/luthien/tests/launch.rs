//! `luthien claude` and `luthien codex` run the agent through the gateway, with its arguments
//! verbatim, its exit code, and never the admin key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{agent_record, fake_agent, text, Luthien};

#[test]
fn claude_gets_the_gateway_url_and_its_args_verbatim_but_never_the_admin_key() {
    let l = Luthien::new("claude").env("ADMIN_API_KEY", "secret");
    let bin = fake_agent(
        &l.dir,
        "claude",
        &["ANTHROPIC_BASE_URL", "ADMIN_API_KEY"],
        7,
    );
    let l = l.env("LUTHIEN_CLAUDE_BIN", bin.to_str().unwrap());
    let o = l.run(&[
        "claude", "-p", "hi there", "--model", "x", "--", "-h", "--help",
    ]);
    // No gateway was running: `claude` started one; the guard stops it.
    let _running = common::Running::adopt(&l);
    assert_eq!(
        o.status.code(),
        Some(7),
        "the agent's exit code\n{}",
        text(&o)
    );
    let (args, vars) = agent_record(&l.dir, "claude");
    assert_eq!(
        args,
        ["-p", "hi there", "--model", "x", "--", "-h", "--help"]
    );
    let url = l.url();
    assert!(
        vars.contains(&format!("ANTHROPIC_BASE_URL={url}")),
        "{vars:?} vs {url}"
    );
    assert!(
        vars.contains(&"ADMIN_API_KEY=<unset>".to_owned()),
        "{vars:?}"
    );
    assert!(common::healthy(&url));

    // A second run uses the running gateway.
    let o = l.run(&["claude", "--version"]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("started the gateway"));
    assert_eq!(l.url(), url);
}

#[test]
fn claude_signal_death_exits_128_plus_the_signal() {
    let l = Luthien::new("claude-sig");
    let bin = l.file("claude-sig", "#!/bin/sh\nkill -TERM $$\n");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&bin)
        .status()
        .unwrap();
    let l = l.env("LUTHIEN_CLAUDE_BIN", bin.to_str().unwrap());
    let running = l.up();
    let o = l.run(&["claude"]);
    assert_eq!(o.status.code(), Some(128 + 15), "{}", text(&o));
    drop(running);
}

#[test]
fn a_missing_agent_exits_127_with_the_install_hint_and_starts_nothing() {
    for (cmd, var, hint) in [
        (
            "claude",
            "LUTHIEN_CLAUDE_BIN",
            "npm install -g @anthropic-ai/claude-code",
        ),
        ("codex", "LUTHIEN_CODEX_BIN", "npm install -g @openai/codex"),
    ] {
        let l = Luthien::new("missing");
        let o = l.run(&[cmd, "-p", "hi"]);
        assert_eq!(o.status.code(), Some(127), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(hint),
            "{}",
            text(&o)
        );
        let l = l.env(var, "/nonexistent/agent");
        let o = l.run(&[cmd]);
        assert_eq!(o.status.code(), Some(127), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(hint),
            "{}",
            text(&o)
        );
        assert!(l.state().is_none(), "no gateway was started for nothing");
    }
}

#[test]
fn codex_gets_provider_overrides_for_the_gateways_responses_api_before_the_users_args() {
    let l = Luthien::new("codex").env("ADMIN_API_KEY", "secret");
    let bin = fake_agent(&l.dir, "codex", &["ADMIN_API_KEY", "OPENAI_API_KEY"], 3);
    let l = l
        .env("LUTHIEN_CODEX_BIN", bin.to_str().unwrap())
        .env("OPENAI_API_KEY", "sk-user");
    let running = l.up();
    let url = l.url();
    let o = l.run(&[
        "codex",
        "exec",
        "--json",
        "-c",
        "model=\"gpt-5.5\"",
        "say hi",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let (args, vars) = agent_record(&l.dir, "codex");
    assert_eq!(args[0], "-c");
    assert_eq!(args[1], "model_provider=\"luthien\"");
    assert_eq!(args[2], "-c");
    assert_eq!(
        args[3],
        format!(
            "model_providers.luthien={{ name = \"Luthien\", base_url = \"{url}/v1\", \
             env_key = \"OPENAI_API_KEY\", wire_api = \"responses\" }}"
        )
    );
    assert_eq!(
        args[4..],
        ["exec", "--json", "-c", "model=\"gpt-5.5\"", "say hi"]
    );
    assert!(
        vars.contains(&"ADMIN_API_KEY=<unset>".to_owned()),
        "{vars:?}"
    );
    assert!(
        vars.contains(&"OPENAI_API_KEY=sk-user".to_owned()),
        "the user's key passes through: {vars:?}"
    );
    drop(running);
}

#[test]
fn an_explicit_gateway_url_that_does_not_answer_exits_3() {
    let l = Luthien::new("explicit");
    let bin = fake_agent(&l.dir, "claude", &[], 0);
    let l = l.env("LUTHIEN_CLAUDE_BIN", bin.to_str().unwrap());
    let o = l.run(&["claude", "--gateway-url", "http://127.0.0.1:9", "-p", "hi"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no gateway at http://127.0.0.1:9"));
    assert!(l.state().is_none());
}
