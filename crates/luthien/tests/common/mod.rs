//! Shared harness: the real `luthien` binary in a clean environment with its own data dir, and
//! a guard that stops any gateway it started.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One isolated luthien "installation": a data dir, a home, and extra environment.
pub struct Luthien {
    pub dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Luthien {
    /// A fresh data dir; the gateway listens on a free port (`GATEWAY_PORT=0`).
    pub fn new(name: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("luthien-cli-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            env: vec![
                ("GATEWAY_PORT".into(), "0".into()),
                // Nothing in these tests may reach a real provider.
                ("ANTHROPIC_UPSTREAM_URL".into(), "http://127.0.0.1:9".into()),
                ("OPENAI_UPSTREAM_URL".into(), "http://127.0.0.1:9/v1".into()),
            ],
        }
    }

    /// Adds or replaces an environment variable for every later command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    /// The command `luthien ARGS` in this installation's environment only.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_luthien"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("HOME", &self.dir)
            .env("LUTHIEN_DATA_DIR", &self.dir)
            .env("PATH", "/usr/bin:/bin");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `luthien ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `luthien up`, which must succeed; the guard stops the gateway when dropped.
    pub fn up(&self) -> Running<'_> {
        let o = self.run(&["up"]);
        assert_eq!(o.status.code(), Some(0), "up failed:\n{}", text(&o));
        Running { luthien: self }
    }

    /// The gateway's state file, parsed.
    pub fn state(&self) -> Option<serde_json::Value> {
        let t = std::fs::read_to_string(self.dir.join("gateway.json")).ok()?;
        serde_json::from_str(&t).ok()
    }

    /// The URL of the running background gateway.
    pub fn url(&self) -> String {
        self.state().unwrap()["url"].as_str().unwrap().to_owned()
    }

    /// The admin key the gateway generated.
    pub fn admin_key(&self) -> String {
        std::fs::read_to_string(self.dir.join("admin_api_key"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Writes a file in the data dir; returns its path.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for Luthien {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Guard for a gateway started by a test: `luthien down` on drop, then SIGKILL as a last resort.
pub struct Running<'a> {
    luthien: &'a Luthien,
}

impl<'a> Running<'a> {
    /// Takes charge of a gateway something else started (e.g. `luthien claude`).
    pub fn adopt(luthien: &'a Luthien) -> Self {
        Running { luthien }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        stop(self.luthien);
    }
}

/// Stops whatever gateway the installation's state file names.
pub fn stop(luthien: &Luthien) {
    let _ = luthien.run(&["down", "--timeout", "5"]);
    // `down` removes the state file once the gateway is gone; a file left means it failed.
    if let Some(pid) = luthien.state().and_then(|s| s["pid"].as_u64()) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
    }
}

/// stdout and stderr together, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stdout parsed as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(o)))
}

/// True when `GET url/health` answers 200.
pub fn healthy(url: &str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/health"))
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
}

/// A fake agent: a shell script that writes its arguments and the variables `vars` to
/// `<dir>/<name>.out`, one per line, then exits with `code`.
pub fn fake_agent(dir: &Path, name: &str, vars: &[&str], code: i32) -> PathBuf {
    let out = dir.join(format!("{name}.out"));
    let mut script = format!(
        "#!/bin/sh\nout='{}'\n: > \"$out\"\nfor a in \"$@\"; do printf 'ARG:%s\\n' \"$a\" >> \"$out\"; done\n",
        out.display()
    );
    for v in vars {
        script.push_str(&format!(
            "printf '{v}=%s\\n' \"${{{v}-<unset>}}\" >> \"$out\"\n"
        ));
    }
    script.push_str(&format!("exit {code}\n"));
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// What a fake agent recorded: its arguments, and `NAME=value` lines.
pub fn agent_record(dir: &Path, name: &str) -> (Vec<String>, Vec<String>) {
    let t = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
    let (args, vars): (Vec<&str>, Vec<&str>) = t.lines().partition(|l| l.starts_with("ARG:"));
    (
        args.iter().map(|a| a[4..].to_owned()).collect(),
        vars.iter().map(|v| (*v).to_owned()).collect(),
    )
}
