//! `luthien check`: prints the effective settings with secrets masked, fails precisely on a bad value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn check(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_luthien"));
    cmd.arg("check")
        .env_clear()
        .env("HOME", std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn valid_settings_print_with_every_secret_masked() {
    let o = check(&[
        ("ANTHROPIC_API_KEY", "sk-ant-super-secret-value-9876"),
        ("AUTH_MODE", "both"),
        ("CLIENT_API_KEY", "client-secret-abcd"),
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        !out.contains("super-secret") && !out.contains("client-secret"),
        "{out}"
    );
    assert!(out.contains("…9876") && out.contains("both"), "{out}");
    assert!(out.contains("claude-* → anthropic"), "{out}");
}

#[test]
fn each_bad_value_fails_with_a_message_naming_the_setting() {
    for (env, expected) in [
        (vec![("AUTH_MODE", "client_key")], "CLIENT_API_KEY"),
        (vec![("AUTH_MODE", "sometimes")], "sometimes"),
        (vec![("GATEWAY_PORT", "99999")], "99999"),
        (vec![("GATEWAY_HOST", "not an ip")], "GATEWAY_HOST"),
        (
            vec![("OPENAI_UPSTREAM_URL", "ftp://x")],
            "OPENAI_UPSTREAM_URL",
        ),
        (
            vec![("UPSTREAM_IDLE_TIMEOUT_MS", "0")],
            "UPSTREAM_IDLE_TIMEOUT_MS",
        ),
        (
            vec![("LUTHIEN_CONFIG", "/nonexistent/luthien.yaml")],
            "/nonexistent/luthien.yaml",
        ),
    ] {
        let o = check(&env);
        assert!(!o.status.success(), "{env:?} should fail");
        assert!(text(&o).contains(expected), "{env:?}: {}", text(&o));
    }
}

#[test]
fn a_routing_file_with_a_bad_route_is_rejected_naming_the_route() {
    let dir = std::env::temp_dir().join(format!("luthien-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routes.yaml");
    std::fs::write(&file, "providers:\n  ollama:\n    kind: openai_compatible\n    base_url: http://127.0.0.1:11434/v1\nroutes:\n  - { model: \"llama*\", provider: ollama }\n  - { model: \"x*\", provider: ghost }\n").unwrap();
    let o = check(&[("LUTHIEN_CONFIG", file.to_str().unwrap())]);
    assert!(!o.status.success());
    assert!(text(&o).contains("routes.1.provider"), "{}", text(&o));
    std::fs::write(&file, "providers:\n  ollama:\n    kind: openai_compatible\n    base_url: http://127.0.0.1:11434/v1\nroutes:\n  - { model: \"llama*\", provider: ollama }\n").unwrap();
    let o = check(&[("LUTHIEN_CONFIG", file.to_str().unwrap())]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("llama* → ollama"));
}
