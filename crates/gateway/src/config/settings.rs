//! Settings: every one an environment variable (a `.env` file is read first) and a CLI flag.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// How the gateway authenticates clients and which credentials it sends upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Forward the client's own credential (API key or OAuth token) to the provider.
    Passthrough,
    /// Accept only `CLIENT_API_KEY`; call providers with the server's keys.
    #[value(name = "client_key")]
    ClientKey,
    /// `CLIENT_API_KEY` gets the server's keys; any other credential is forwarded.
    Both,
}

/// Where the active policy comes from at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicySource {
    /// The policy last activated (persisted in the database); an error if there is none.
    #[value(name = "db")]
    Db,
    /// `POLICY_CONFIG`, which must exist; it is persisted as the current policy.
    #[value(name = "file")]
    File,
    /// The database's policy if there is one, else `POLICY_CONFIG`, else `noop`.
    #[value(name = "db-fallback-file")]
    DbFallbackFile,
    /// `POLICY_CONFIG` if set, else the database's policy, else `noop`.
    #[value(name = "file-fallback-db")]
    FileFallbackDb,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured in a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Every gateway setting. Field docs are the `--help` text.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_HOST", default_value = "127.0.0.1")]
    pub gateway_host: String,
    /// Port to listen on.
    #[arg(long, env = "GATEWAY_PORT", default_value_t = 8000)]
    pub gateway_port: u16,
    /// Client authentication and upstream credential mode.
    #[arg(long, env = "AUTH_MODE", value_enum, default_value = "passthrough")]
    pub auth_mode: AuthMode,
    /// The key clients present in `client_key` and `both` modes.
    #[arg(long, env = "CLIENT_API_KEY", hide_env_values = true)]
    pub client_api_key: Option<String>,
    /// The server's Anthropic key (used in `client_key` and `both` modes).
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,
    /// The server's OpenAI key (used in `client_key` and `both` modes).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Base URL of the Anthropic API; the gateway appends `/v1/messages`.
    #[arg(
        long,
        env = "ANTHROPIC_UPSTREAM_URL",
        default_value = "https://api.anthropic.com"
    )]
    pub anthropic_upstream_url: String,
    /// Base URL of the OpenAI API; the gateway appends `/chat/completions`.
    #[arg(
        long,
        env = "OPENAI_UPSTREAM_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_upstream_url: String,
    /// YAML file with providers and model routes (default: `config.yaml` in the data dir, if present).
    #[arg(long, env = "LUTHIEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for Luthien's own files.
    #[arg(long, env = "LUTHIEN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Largest request body accepted, in bytes (Anthropic's own limit is 32 MiB).
    #[arg(long, env = "MAX_REQUEST_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_request_bytes: usize,
    /// Most messages accepted in one request.
    #[arg(long, env = "MAX_MESSAGES", default_value_t = 100_000)]
    pub max_messages: usize,
    /// Upstream TCP+TLS connect timeout, in milliseconds.
    #[arg(long, env = "UPSTREAM_CONNECT_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_connect_timeout_ms: u64,
    /// Longest wait for the upstream's response headers, in milliseconds.
    #[arg(
        long,
        env = "UPSTREAM_FIRST_BYTE_TIMEOUT_MS",
        default_value_t = 600_000
    )]
    pub upstream_first_byte_timeout_ms: u64,
    /// Longest silence between two pieces of an upstream body, in milliseconds.
    #[arg(long, env = "UPSTREAM_IDLE_TIMEOUT_MS", default_value_t = 300_000)]
    pub upstream_idle_timeout_ms: u64,
    /// Longest a whole upstream exchange may take, in milliseconds.
    #[arg(long, env = "UPSTREAM_TOTAL_TIMEOUT_MS", default_value_t = 3_600_000)]
    pub upstream_total_timeout_ms: u64,
    /// `max_tokens` sent to Anthropic when an OpenAI client gave none (Anthropic requires it).
    #[arg(long, env = "DEFAULT_MAX_TOKENS", default_value_t = 4096)]
    pub default_max_tokens: u64,
    /// Where transactions are recorded: `sqlite://…` or `postgres://…` (default: SQLite in the data dir).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis for the activity bus across instances (unset: in-process only).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The admin key for the history and admin APIs (unset: generated on first start, stored 0600 in the data dir).
    #[arg(long, env = "ADMIN_API_KEY", hide_env_values = true)]
    pub admin_api_key: Option<String>,
    /// How long a browser login to the admin UI lasts, in hours.
    #[arg(long, env = "ADMIN_SESSION_HOURS", default_value_t = 12)]
    pub admin_session_hours: u32,
    /// Failed-or-not login attempts allowed per client address per minute (then 429).
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub login_attempts_per_minute: u32,
    /// Lets requests from 127.0.0.1/::1 use the admin API and UI without the key. Off by default:
    /// the supervised agent runs on this machine and must not be able to switch its own policy
    /// off. Only for single-user set-ups; a warning is printed at start.
    #[arg(long, env = "ADMIN_LOCALHOST_BYPASS", default_value_t = false, action = clap::ArgAction::Set)]
    pub admin_localhost_bypass: bool,
    /// Sessions last seen longer ago than this many days are purged (unset: kept forever).
    #[arg(long, env = "RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Where the policy comes from at start: `db`, `file`, `db-fallback-file` or `file-fallback-db`.
    #[arg(
        long,
        env = "POLICY_SOURCE",
        value_enum,
        default_value = "file-fallback-db"
    )]
    pub policy_source: PolicySource,
    /// Policy YAML file (`policy: {class, config}`); unset means `noop`.
    #[arg(long, env = "POLICY_CONFIG")]
    pub policy_config: Option<PathBuf>,
    /// How often a client receives a keep-alive while a policy decision holds its stream, in milliseconds.
    #[arg(long, env = "POLICY_KEEPALIVE_MS", default_value_t = 5_000)]
    pub policy_keepalive_ms: u64,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
}

/// Wraps [`Settings`] so they can be parsed on their own (tests, embedding).
#[derive(Debug, clap::Parser)]
struct Standalone {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// Parses settings from CLI-style arguments (environment variables still apply).
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        let argv = std::iter::once(std::ffi::OsString::from("luthien"))
            .chain(args.into_iter().map(Into::into));
        Standalone::try_parse_from(argv).map(|s| s.settings)
    }

    /// The timeouts as durations.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: Duration::from_millis(self.upstream_connect_timeout_ms),
            first_byte: Duration::from_millis(self.upstream_first_byte_timeout_ms),
            idle: Duration::from_millis(self.upstream_idle_timeout_ms),
            total: Duration::from_millis(self.upstream_total_timeout_ms),
        }
    }

    /// The data directory: the setting, else `~/.luthien`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".luthien")
        })
    }

    /// The database URL: the setting, else a SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir().join("luthien.db").display()
            )
        })
    }

    /// The routing file to read: the setting, else `config.yaml` in the data dir if it exists.
    pub fn config_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.config {
            return Some(p.clone());
        }
        let p = self.data_dir().join("config.yaml");
        p.exists().then_some(p)
    }

    /// Checks what clap cannot: combinations and value ranges. Each message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if matches!(self.auth_mode, AuthMode::ClientKey | AuthMode::Both)
            && self
                .client_api_key
                .as_deref()
                .unwrap_or_default()
                .is_empty()
        {
            return Err(format!(
                "AUTH_MODE={} needs CLIENT_API_KEY: set the key clients must present",
                self.auth_mode_name()
            ));
        }
        for (name, url) in [
            ("ANTHROPIC_UPSTREAM_URL", &self.anthropic_upstream_url),
            ("OPENAI_UPSTREAM_URL", &self.openai_upstream_url),
        ] {
            check_url(url).map_err(|e| format!("{name}={url:?} is not a usable URL: {e}"))?;
        }
        for (name, v) in [
            (
                "UPSTREAM_CONNECT_TIMEOUT_MS",
                self.upstream_connect_timeout_ms,
            ),
            (
                "UPSTREAM_FIRST_BYTE_TIMEOUT_MS",
                self.upstream_first_byte_timeout_ms,
            ),
            ("UPSTREAM_IDLE_TIMEOUT_MS", self.upstream_idle_timeout_ms),
            ("UPSTREAM_TOTAL_TIMEOUT_MS", self.upstream_total_timeout_ms),
            ("POLICY_KEEPALIVE_MS", self.policy_keepalive_ms),
        ] {
            if v == 0 {
                return Err(format!("{name} must be greater than 0"));
            }
        }
        if self.admin_session_hours == 0 {
            return Err("ADMIN_SESSION_HOURS must be greater than 0".into());
        }
        if self.login_attempts_per_minute == 0 {
            return Err("LOGIN_ATTEMPTS_PER_MINUTE must be greater than 0".into());
        }
        if self.max_request_bytes == 0 {
            return Err("MAX_REQUEST_BYTES must be greater than 0".into());
        }
        if self.max_messages == 0 {
            return Err("MAX_MESSAGES must be greater than 0".into());
        }
        Ok(())
    }

    /// The auth mode as written in the environment.
    pub fn auth_mode_name(&self) -> &'static str {
        match self.auth_mode {
            AuthMode::Passthrough => "passthrough",
            AuthMode::ClientKey => "client_key",
            AuthMode::Both => "both",
        }
    }

    /// The effective settings as `(NAME, value)` lines, secrets masked, for `luthien check`.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
        vec![
            ("GATEWAY_HOST", self.gateway_host.clone()),
            ("GATEWAY_PORT", self.gateway_port.to_string()),
            ("AUTH_MODE", self.auth_mode_name().into()),
            ("CLIENT_API_KEY", mask(&self.client_api_key)),
            ("ANTHROPIC_API_KEY", mask(&self.anthropic_api_key)),
            ("OPENAI_API_KEY", mask(&self.openai_api_key)),
            (
                "ANTHROPIC_UPSTREAM_URL",
                self.anthropic_upstream_url.clone(),
            ),
            ("OPENAI_UPSTREAM_URL", self.openai_upstream_url.clone()),
            (
                "LUTHIEN_CONFIG",
                self.config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(none: built-in routes)".into()),
            ),
            ("LUTHIEN_DATA_DIR", self.data_dir().display().to_string()),
            ("MAX_REQUEST_BYTES", self.max_request_bytes.to_string()),
            ("MAX_MESSAGES", self.max_messages.to_string()),
            (
                "UPSTREAM_CONNECT_TIMEOUT_MS",
                self.upstream_connect_timeout_ms.to_string(),
            ),
            (
                "UPSTREAM_FIRST_BYTE_TIMEOUT_MS",
                self.upstream_first_byte_timeout_ms.to_string(),
            ),
            (
                "UPSTREAM_IDLE_TIMEOUT_MS",
                self.upstream_idle_timeout_ms.to_string(),
            ),
            (
                "UPSTREAM_TOTAL_TIMEOUT_MS",
                self.upstream_total_timeout_ms.to_string(),
            ),
            ("DEFAULT_MAX_TOKENS", self.default_max_tokens.to_string()),
            (
                "POLICY_CONFIG",
                self.policy_config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(unset: noop)".into()),
            ),
            ("POLICY_SOURCE", format!("{:?}", self.policy_source)),
            ("POLICY_KEEPALIVE_MS", self.policy_keepalive_ms.to_string()),
            ("DATABASE_URL", mask_url(&self.database_url())),
            (
                "REDIS_URL",
                self.redis_url
                    .as_deref()
                    .map(mask_url)
                    .unwrap_or_else(|| "(unset: in-process bus)".into()),
            ),
            (
                "ADMIN_API_KEY",
                self.admin_api_key
                    .as_ref()
                    .map(|_| mask(&self.admin_api_key))
                    .unwrap_or_else(|| "(unset: generated in the data dir)".into()),
            ),
            ("ADMIN_SESSION_HOURS", self.admin_session_hours.to_string()),
            (
                "LOGIN_ATTEMPTS_PER_MINUTE",
                self.login_attempts_per_minute.to_string(),
            ),
            (
                "ADMIN_LOCALHOST_BYPASS",
                if self.admin_localhost_bypass {
                    "true (WARNING: local processes, the agent included, are admins)".into()
                } else {
                    "false".into()
                },
            ),
            (
                "RETENTION_DAYS",
                self.retention_days
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "(unset: keep)".into()),
            ),
            (
                "LOG_FORMAT",
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            ("RUST_LOG", opt(&std::env::var("RUST_LOG").ok())),
        ]
    }
}

/// Upstream timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Until the response headers arrive.
    pub first_byte: Duration,
    /// Between two pieces of the body.
    pub idle: Duration,
    /// The whole exchange.
    pub total: Duration,
}

/// Shows that a secret is set without showing it: its length and last four characters at most.
pub fn mask(secret: &Option<String>) -> String {
    match secret.as_deref() {
        None | Some("") => "(unset)".into(),
        Some(s) if s.chars().count() <= 8 => format!("set ({} chars)", s.chars().count()),
        Some(s) => {
            let tail: String = s
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("set (…{tail}, {} chars)", s.chars().count())
        }
    }
}

/// A URL with its password hidden.
pub fn mask_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A URL is usable when it is absolute http(s) with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "scheme must be http or https, not {}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none() {
        return Err("no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_never_reveals_a_short_secret_and_shows_only_the_tail_of_a_long_one() {
        assert_eq!(mask(&None), "(unset)");
        assert_eq!(mask(&Some("abc".into())), "set (3 chars)");
        let m = mask(&Some("sk-ant-very-secret-1234".into()));
        assert!(m.contains("1234") && !m.contains("secret"), "{m}");
    }
}
