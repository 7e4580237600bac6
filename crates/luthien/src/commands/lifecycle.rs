//! `luthien up | down | status | logs`: a gateway running in the background.
//!
//! `up` re-executes this binary as `luthien serve` with the same flags and environment,
//! detached in its own process group (Ctrl-C in the terminal does not reach it), its output
//! appended to `<data_dir>/gateway.log`; the gateway records its pid and URL in
//! `<data_dir>/gateway.json` (see [`crate::state`]). `down` sends it SIGTERM (SIGKILL after the
//! timeout) and removes the state file; with nothing running it says so and exits 0, so it is
//! safe in scripts. `status` exits 3 when no gateway answers.

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use gateway::Settings;
use serde_json::{json, Value};

use crate::client::Client;
use crate::exit::{self, coded};
use crate::output::{self, paint, Tone};
use crate::state::{self, GatewayArgs, State, UrlSource};

/// How long `up` waits for a new gateway to answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `luthien up`: starts a background gateway unless one is running.
pub async fn up(settings: Settings, serve_args: Vec<OsString>) -> anyhow::Result<()> {
    let data_dir = settings.data_dir();
    if let Some(s) = state::read_live(&data_dir) {
        if Client::new(&s.url, None)?.health().await.is_some() {
            println!(
                "The Luthien gateway is already running at {} (pid {}).",
                s.url, s.pid
            );
            return Ok(());
        }
        return Err(anyhow::anyhow!(
            "a gateway (pid {}) is recorded in {} but does not answer at {}: see `luthien logs`, \
             or stop it with `luthien down`",
            s.pid,
            state::state_path(&data_dir).display(),
            s.url
        ));
    }
    if settings.gateway_port != 0 {
        let url = state::configured_url(&settings);
        if Client::new(&url, None)?.health().await.is_some() {
            println!(
                "A gateway is already answering at {url} (not started by `luthien up`, so \
                 `luthien down` cannot stop it)."
            );
            return Ok(());
        }
    }
    let s = start(&settings, serve_args).await?;
    println!(
        "The Luthien gateway is running at {} (pid {}).",
        s.url, s.pid
    );
    println!(
        "  logs:      luthien logs -f   ({})",
        state::log_path(&data_dir).display()
    );
    println!(
        "  admin key: ADMIN_API_KEY, else {}",
        data_dir.join("admin_api_key").display()
    );
    println!("  stop:      luthien down");
    Ok(())
}

/// Starts `luthien serve <serve_args>` in the background and waits until it answers `/health`.
/// Progress goes to stderr, so a launched agent's stdout stays its own.
pub async fn start(settings: &Settings, serve_args: Vec<OsString>) -> anyhow::Result<State> {
    let data_dir = settings.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    // A stale file from a crashed gateway is left for the new one to overwrite: removing it
    // here could remove the file of a gateway another `luthien` just started.
    let state_file = state::state_path(&data_dir);
    let log_file = state::log_path(&data_dir);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .with_context(|| format!("cannot open the log {}", log_file.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    writeln!(
        log,
        "--- luthien up: starting the gateway at {} ---",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    )?;
    let exe = std::env::current_exe().context("cannot find the luthien executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("serve")
        .args(serve_args)
        .env(state::STATE_FILE_VAR, &state_file)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: Ctrl-C in this terminal goes to the foreground group only.
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().context("cannot start `luthien serve`")?;
    let pid = child.id();
    let began = Instant::now();
    let progress = output::stderr_is_terminal();
    let mut last_shown = u64::MAX;
    loop {
        if let Some(status) = child.try_wait()? {
            clear_progress(progress);
            return Err(anyhow::anyhow!(
                "the gateway exited while starting ({status}); from {}:\n{}",
                log_file.display(),
                tail_since(&log_file, log_start, 20)
            ));
        }
        if let Some(s) = state::read(&data_dir).filter(|s| s.pid == pid) {
            if Client::new(&s.url, None)?.health().await.is_some() {
                clear_progress(progress);
                return Ok(s);
            }
        }
        let waited = began.elapsed();
        if waited > START_TIMEOUT {
            clear_progress(progress);
            terminate(pid);
            return Err(anyhow::anyhow!(
                "the gateway did not answer /health within {}s and was stopped; from {}:\n{}",
                START_TIMEOUT.as_secs(),
                log_file.display(),
                tail_since(&log_file, log_start, 20)
            ));
        }
        if progress && waited.as_secs() != last_shown {
            last_shown = waited.as_secs();
            eprint!("\rStarting the Luthien gateway… {last_shown}s");
            let _ = std::io::stderr().flush();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn clear_progress(shown: bool) {
    if shown {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}

fn terminate(pid: u32) {
    signal(pid, nix::sys::signal::Signal::SIGTERM);
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), sig);
    }
}

/// The last `n` lines written to `path` after byte `from`.
fn tail_since(path: &Path, from: u64, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.take(1 << 20).read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `luthien down`: stops the background gateway.
pub async fn down(data_dir: &Path, timeout: Duration) -> anyhow::Result<()> {
    let path = state::state_path(data_dir);
    let Some(s) = state::read(data_dir) else {
        println!("No background gateway is running (no {}).", path.display());
        return Ok(());
    };
    if !state::alive(s.pid) || !state::looks_like_gateway(s.pid) {
        state::remove_if_pid(&path, s.pid);
        println!(
            "No background gateway is running (pid {} is gone; removed the stale {}).",
            s.pid,
            path.display()
        );
        return Ok(());
    }
    terminate(s.pid);
    let began = Instant::now();
    let mut killed = false;
    while state::alive(s.pid) {
        if began.elapsed() > timeout && !killed {
            eprintln!(
                "The gateway (pid {}) did not stop within {}s of SIGTERM: sending SIGKILL.",
                s.pid,
                timeout.as_secs()
            );
            signal(s.pid, nix::sys::signal::Signal::SIGKILL);
            killed = true;
        }
        if began.elapsed() > timeout + Duration::from_secs(5) {
            return Err(anyhow::anyhow!(
                "the gateway (pid {}) is still running after SIGKILL",
                s.pid
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    state::remove_if_pid(&path, s.pid);
    println!("Stopped the Luthien gateway at {} (pid {}).", s.url, s.pid);
    Ok(())
}

/// `luthien status`: what is running, where, with which policy, and how busy it has been.
/// Returns the exit code: 0 running, 3 not.
pub async fn status(args: &GatewayArgs, json: bool) -> anyhow::Result<u8> {
    let located = args.locate()?;
    let client = Client::new(&located.url, located.admin_key())?;
    let Some(health) = client.health().await else {
        let stale = state::read(&located.settings.data_dir()).filter(|_| located.state.is_none());
        if json {
            output::print_json(&json!({"running": false, "url": located.url}))?;
        } else {
            println!(
                "Luthien gateway: {} (nothing answers at {})",
                paint("not running", Tone::Bad),
                located.url
            );
            if let Some(s) = stale {
                println!("  the state file names pid {}, which is gone", s.pid);
            }
            println!("  start one with `luthien up`");
        }
        return Ok(exit::NOT_RUNNING);
    };
    let own = located
        .state
        .as_ref()
        .filter(|s| located.source != UrlSource::Explicit || s.url == located.url);
    let uptime = own.map(|s| state::now_ms().saturating_sub(s.started_at_ms) / 1000);
    let policy = client.get("/api/admin/policy/current").await;
    let ready = client.get("/ready").await;
    let activity = activity(&client).await;
    if json {
        let err = |e: &anyhow::Error| json!({"error": format!("{e:#}")});
        output::print_json(&json!({
            "running": true,
            "url": located.url,
            "version": health["version"],
            "pid": own.map(|s| s.pid),
            "started_at": own.map(|s| s.started_at.clone()),
            "uptime_secs": uptime,
            "policy": policy.as_ref().map_or_else(err, Clone::clone),
            "ready": ready.as_ref().map_or_else(err, Clone::clone),
            "activity": activity.as_ref().map_or_else(err, Clone::clone),
        }))?;
        return Ok(exit::OK);
    }
    // Padded before painting: escape codes would count towards the width.
    let row = |k: &str, v: String| println!("{} {v}", paint(&format!("{k:<11}"), Tone::Strong));
    row(
        "gateway",
        format!(
            "{} at {} (version {})",
            paint("running", Tone::Good),
            located.url,
            health["version"].as_str().unwrap_or("?")
        ),
    );
    match own {
        Some(s) => row(
            "process",
            format!(
                "pid {}, up {} (since {})",
                s.pid,
                output::duration(uptime.unwrap_or(0)),
                s.started_at
            ),
        ),
        None => row("process", paint("not started by `luthien up`", Tone::Faint)),
    }
    match &policy {
        Ok(p) => {
            let when = p["activated_at_ms"]
                .as_i64()
                .map(|ms| {
                    format!(
                        ", activated {} by {}",
                        output::time_ms(ms),
                        p["activated_by"].as_str().unwrap_or("?")
                    )
                })
                .unwrap_or_default();
            row(
                "policy",
                format!("{}{when}", p["name"].as_str().unwrap_or("?")),
            );
        }
        Err(e) => row("policy", paint(&format!("unknown ({e:#})"), Tone::Warn)),
    }
    match &ready {
        Ok(r) => row("components", components(r)),
        Err(e) => row("components", paint(&format!("unknown ({e:#})"), Tone::Warn)),
    }
    match &activity {
        Ok(a) => {
            let window = |w: &Value| {
                let blocked = w["blocked"].as_u64().unwrap_or(0);
                let blocked = format!("{blocked} blocked");
                format!(
                    "{} sessions, {} transactions, {}",
                    w["sessions"],
                    w["transactions"],
                    if a["last_24h"]["blocked"].as_u64().unwrap_or(0) > 0 {
                        paint(&blocked, Tone::Bad)
                    } else {
                        blocked
                    }
                )
            };
            row("last hour", window(&a["last_hour"]));
            row("last 24 h", window(&a["last_24h"]));
        }
        Err(e) => row("activity", paint(&format!("unknown ({e:#})"), Tone::Warn)),
    }
    Ok(exit::OK)
}

/// `/ready`'s components as `database ok · recorder ok · bus ok (in_process) · policy ok`.
fn components(ready: &Value) -> String {
    ["database", "recorder", "bus", "policy"]
        .iter()
        .map(|name| {
            let c = &ready[*name];
            let st = c["status"].as_str().unwrap_or("?");
            let tone = match st {
                "ok" => Tone::Good,
                "degraded" => Tone::Warn,
                _ => Tone::Bad,
            };
            let extra = match (*name, c["backend"].as_str(), c["error"].as_str()) {
                (_, _, Some(err)) => format!(" ({err})"),
                ("bus", Some(b), _) => format!(" ({b})"),
                _ => String::new(),
            };
            format!("{name} {}{extra}", paint(st, tone))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Sessions, transactions and blocked transactions that started in the last hour and the last
/// 24 hours, counted by the gateway (`GET /api/history/stats`).
async fn activity(client: &Client) -> anyhow::Result<Value> {
    let now = i64::try_from(state::now_ms()).unwrap_or(i64::MAX);
    let window = |v: Value| json!({"sessions": v["sessions"], "transactions": v["transactions"], "blocked": v["blocked"]});
    let hour = client
        .get(&format!("/api/history/stats?from={}", now - 3_600_000))
        .await?;
    let day = client
        .get(&format!("/api/history/stats?from={}", now - 86_400_000))
        .await?;
    Ok(json!({"last_hour": window(hour), "last_24h": window(day)}))
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `luthien logs`: the last `lines` lines of the gateway's log, then new ones with `follow`.
pub async fn logs(data_dir: &Path, lines: usize, follow: bool) -> anyhow::Result<()> {
    let path = state::log_path(data_dir);
    let mut file = std::fs::File::open(&path).map_err(|e| {
        coded(
            exit::NOT_RUNNING,
            format!(
                "no gateway log at {} ({e}): start the gateway with `luthien up`",
                path.display()
            ),
        )
    })?;
    let len = file.metadata()?.len();
    let start = tail_offset(&mut file, len, lines)?;
    let mut pos = copy_from(&mut file, start)?;
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(_) => continue,
        };
        if len < pos {
            // Truncated or replaced: start again from its beginning.
            file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(_) => continue,
            };
            pos = 0;
        }
        if len > pos {
            pos = copy_from(&mut file, pos)?;
        }
    }
}

/// Where the last `lines` lines of a `len`-byte file begin.
fn tail_offset(file: &mut std::fs::File, len: u64, lines: usize) -> anyhow::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    if lines == 0 {
        return Ok(len);
    }
    let mut end = len;
    let mut seen = 0usize;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut buf = vec![0u8; usize::try_from(end - start)?];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        for (i, b) in buf.iter().enumerate().rev() {
            let at = start + u64::try_from(i)?;
            // The file's final newline ends the last line; it does not begin another.
            if *b == b'\n' && at + 1 != len {
                seen += 1;
                if seen == lines {
                    return Ok(at + 1);
                }
            }
        }
        end = start;
    }
    Ok(0)
}

/// Copies the file from `pos` to its current end onto stdout; returns the new position.
fn copy_from(file: &mut std::fs::File, pos: u64) -> anyhow::Result<u64> {
    file.seek(SeekFrom::Start(pos))?;
    let mut out = std::io::stdout().lock();
    let copied = match std::io::copy(file, &mut out) {
        Ok(n) => n,
        // `luthien logs | head`: the reader left; nothing more to do.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => return Err(e.into()),
    };
    let _ = out.flush();
    Ok(pos + copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(content: &str, n: usize) -> String {
        let dir = std::env::temp_dir().join(format!("luthien-tail-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log");
        std::fs::write(&p, content).unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        let off = tail_offset(&mut f, content.len() as u64, n).unwrap();
        content[usize::try_from(off).unwrap()..].to_owned()
    }

    #[test]
    fn the_tail_is_the_last_n_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a\nb\n", 5), "a\nb\n");
        assert_eq!(tail("a\nb\n", 0), "");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
    }
}
