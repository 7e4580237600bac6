//! Where the CLI finds the gateway: the state file a background gateway keeps in the data dir
//! (`gateway.json`: pid, URL, start time), the flags that override it, and the admin key.
//!
//! `luthien up` starts `luthien serve` with `LUTHIEN_STATE_FILE` set; the gateway writes the file
//! once it listens (so the URL is the bound one, even with `GATEWAY_PORT=0`) and removes it when
//! it stops. A file whose pid is gone is stale and ignored.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gateway::Settings;
use serde::{Deserialize, Serialize};

/// The environment variable through which `up` tells `serve` where to write its state.
pub const STATE_FILE_VAR: &str = "LUTHIEN_STATE_FILE";

/// What a background gateway records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The gateway's process id.
    pub pid: u32,
    /// The URL it answers on.
    pub url: String,
    /// When it started listening (RFC 3339, UTC).
    pub started_at: String,
    /// The same instant in epoch milliseconds (for uptime).
    pub started_at_ms: u64,
}

/// `<data_dir>/gateway.json`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("gateway.json")
}

/// `<data_dir>/gateway.log`.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("gateway.log")
}

/// The recorded state, if the file exists and parses.
pub fn read(data_dir: &Path) -> Option<State> {
    let text = std::fs::read_to_string(state_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The recorded state when its process is still alive and still a gateway.
pub fn read_live(data_dir: &Path) -> Option<State> {
    read(data_dir).filter(|s| alive(s.pid) && looks_like_gateway(s.pid))
}

/// Writes `state` to `path` whole: a reader never sees half a file.
pub fn write(path: &Path, state: &State) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&tmp, path)
}

/// Removes the state file if it still describes `pid` (a newer gateway's file is left alone).
pub fn remove_if_pid(path: &Path, pid: u32) {
    let same = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<State>(&t).ok())
        .is_none_or(|s| s.pid == pid);
    if same {
        let _ = std::fs::remove_file(path);
    }
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// True while process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let exists = match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        // Someone else's process: it exists, but it is not ours to manage.
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    };
    // A gateway whose parent never reaped it stays a zombie: it is gone for our purposes.
    exists && !is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
        })
        .is_some_and(|state| state == 'Z')
}

/// False when the OS says `pid` is now some other program (the pid was reused after a crash).
/// Without `/proc` (macOS) the answer is true: the health check decides.
pub fn looks_like_gateway(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) => raw
            .split(|b| *b == 0)
            .any(|arg| arg == b"serve" || arg == b"demo"),
        Err(_) => true,
    }
}

/// The URL of `http://GATEWAY_HOST:GATEWAY_PORT`, with a wildcard host made reachable.
pub fn configured_url(settings: &Settings) -> String {
    let host = match settings.gateway_host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    if host.contains(':') {
        format!("http://[{host}]:{}", settings.gateway_port)
    } else {
        format!("http://{host}:{}", settings.gateway_port)
    }
}

/// How a command that talks to a gateway finds it (flattened into those commands).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GatewayArgs {
    /// The gateway to talk to [default: the one `luthien up` started, else http://GATEWAY_HOST:GATEWAY_PORT].
    #[arg(long, env = "LUTHIEN_GATEWAY_URL", value_name = "URL")]
    pub gateway_url: Option<String>,
    /// Luthien's data directory: state file, log, generated admin key [default: ~/.luthien].
    #[arg(long, env = "LUTHIEN_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The data directory flag of commands that only need the files (`down`, `logs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DataDirArgs {
    /// Luthien's data directory: state file, log, generated admin key [default: ~/.luthien].
    #[arg(long, env = "LUTHIEN_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    /// The data directory: the flag, else the gateway's default.
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        let args = GatewayArgs {
            gateway_url: None,
            data_dir: self.data_dir.clone(),
        };
        Ok(args.settings()?.data_dir())
    }
}

/// Where the URL in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `--gateway-url` or `LUTHIEN_GATEWAY_URL`.
    Explicit,
    /// The state file of a live background gateway.
    StateFile,
    /// `GATEWAY_HOST` and `GATEWAY_PORT`.
    Settings,
}

/// The gateway a command talks to.
#[derive(Debug, Clone)]
pub struct Located {
    /// Its base URL, without a trailing slash.
    pub url: String,
    /// Where that URL came from.
    pub source: UrlSource,
    /// The live background gateway's state, if there is one.
    pub state: Option<State>,
    /// The effective settings (from the environment) with the data dir applied.
    pub settings: Settings,
}

impl GatewayArgs {
    /// The gateway settings from the environment, with `--data-dir` applied.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::from_args(Vec::<OsString>::new())
            .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
            .context("reading the gateway settings from the environment")?;
        if self.data_dir.is_some() {
            settings.data_dir.clone_from(&self.data_dir);
        }
        Ok(settings)
    }

    /// The URL to use: the flag, else a live background gateway's, else the configured one.
    pub fn locate(&self) -> anyhow::Result<Located> {
        let settings = self.settings()?;
        let state = read_live(&settings.data_dir());
        let (url, source) = match (&self.gateway_url, &state) {
            (Some(u), _) => (u.clone(), UrlSource::Explicit),
            (None, Some(s)) => (s.url.clone(), UrlSource::StateFile),
            (None, None) => (configured_url(&settings), UrlSource::Settings),
        };
        Ok(Located {
            url: url.trim_end_matches('/').to_owned(),
            source,
            state,
            settings,
        })
    }
}

impl Located {
    /// The admin key: `ADMIN_API_KEY`, else the key a gateway generated in the data dir.
    pub fn admin_key(&self) -> Option<String> {
        admin_key(&self.settings)
    }
}

/// The admin key: `ADMIN_API_KEY`, else `<data_dir>/admin_api_key`.
pub fn admin_key(settings: &Settings) -> Option<String> {
    settings
        .admin_api_key
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| {
            std::fs::read_to_string(settings.data_dir().join("admin_api_key"))
                .ok()
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
        })
}
