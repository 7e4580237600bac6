//! `luthien demo` shows the whole path working with no API key, then keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_demonstrates_itself_through_the_built_in_mock_with_no_key() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_luthien"))
        .arg("demo")
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .env("GATEWAY_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = String::new();
    while !out.contains("Press Ctrl-C") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            Err(_) => break,
        }
    }
    let still_serving = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_serving,
        "the demo keeps serving after its show:\n{out}"
    );
    assert!(
        out.contains("assistant: Hello from the Luthien mock upstream. You said: Hello, Luthien!"),
        "{out}"
    );
    assert!(
        out.contains("tool call: get_weather({\"city\":\"City1\",\"unit\":\"celsius\"})"),
        "{out}"
    );
    assert!(out.contains("finish_reason: \"tool_calls\""), "{out}");
    assert!(
        out.contains("HTTP 429")
            && out.contains("retry-after: 1")
            && out.contains("rate_limit_error"),
        "{out}"
    );
    assert!(!out.contains("self-demonstration failed"), "{out}");
}
