//! `luthien claude` and `luthien codex`: run a coding agent through the gateway.
//!
//! The gateway is found (or started in the background, see [`super::lifecycle`]), then the
//! agent runs with the user's own environment as it was before luthien read any `.env`, with
//! the gateway's URL added and every admin variable removed: the supervised agent must never
//! hold the key that changes its own policy. Its credentials (API key or Pro/Max login) are
//! untouched; the gateway's default `AUTH_MODE=passthrough` forwards them. The agent's
//! arguments are passed verbatim and its exit code becomes ours.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::Context;
use gateway::config::AuthMode;
use nix::sys::signal::Signal;

use crate::client::Client;
use crate::exit::{self, coded};
use crate::state::{self, GatewayArgs, UrlSource};

/// A coding agent luthien can launch.
#[derive(Debug, Clone, Copy)]
pub struct Agent {
    /// Its product name, for messages.
    pub name: &'static str,
    /// The variable that overrides where its binary is.
    pub bin_var: &'static str,
    /// Its binary's name on PATH.
    pub bin: &'static str,
    /// How to install it.
    pub install: &'static str,
    /// The variable holding the key it sends, which `client_key` mode sets to `CLIENT_API_KEY`.
    pub key_var: &'static str,
}

/// Claude Code.
pub const CLAUDE: Agent = Agent {
    name: "Claude Code",
    bin_var: "LUTHIEN_CLAUDE_BIN",
    bin: "claude",
    install: "npm install -g @anthropic-ai/claude-code",
    key_var: "ANTHROPIC_API_KEY",
};

/// The Codex CLI.
pub const CODEX: Agent = Agent {
    name: "Codex",
    bin_var: "LUTHIEN_CODEX_BIN",
    bin: "codex",
    install: "npm install -g @openai/codex",
    key_var: "OPENAI_API_KEY",
};

/// The name of the provider luthien adds to Codex's configuration.
const CODEX_PROVIDER: &str = "luthien";

/// Runs `agent` with `args` through the gateway; returns the agent's exit code.
pub async fn run(
    agent: Agent,
    target: &GatewayArgs,
    args: Vec<OsString>,
    original_env: &[(OsString, OsString)],
) -> anyhow::Result<u8> {
    let env_var = |name: &str| {
        original_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os(name))
    };
    let bin = find_binary(agent, env_var(agent.bin_var), env_var("PATH"))?;
    let (url, settings) = gateway_url(target).await?;

    let mut cmd = tokio::process::Command::new(&bin);
    cmd.env_clear()
        .envs(
            original_env
                .iter()
                .filter(|(k, _)| !is_admin_var(k))
                .map(|(k, v)| (k, v)),
        )
        .kill_on_drop(false);
    if settings.auth_mode == AuthMode::ClientKey {
        // The gateway accepts only its client key in this mode: the agent must present it.
        if let Some(k) = settings.client_api_key.as_deref().filter(|k| !k.is_empty()) {
            cmd.env(agent.key_var, k);
        }
    }
    if agent.bin == CLAUDE.bin {
        cmd.env("ANTHROPIC_BASE_URL", &url);
    } else {
        if settings.auth_mode == AuthMode::Passthrough && env_var(agent.key_var).is_none() {
            eprintln!(
                "luthien: OPENAI_API_KEY is not set; Codex sends it to the gateway, which \
                 forwards it to OpenAI (a ChatGPT login cannot go through the gateway)"
            );
        }
        cmd.args(codex_overrides(&url));
    }
    cmd.args(&args);

    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing(agent, &bin.display().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(coded(
                exit::NOT_EXECUTABLE,
                format!("cannot run {}: {e}", bin.display()),
            ))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot run {}", bin.display())),
    };
    wait(&mut child).await
}

/// The gateway to use: the one named by `--gateway-url` (which must answer), else a running
/// one, else a new background gateway with the settings of the environment.
async fn gateway_url(target: &GatewayArgs) -> anyhow::Result<(String, gateway::Settings)> {
    let located = target.locate()?;
    let client = Client::new(&located.url, None)?;
    if client.health().await.is_some() {
        return Ok((located.url, located.settings));
    }
    if located.source == UrlSource::Explicit {
        return Err(coded(
            exit::NOT_RUNNING,
            format!(
                "no gateway at {} (from --gateway-url or LUTHIEN_GATEWAY_URL): start it, or \
                 unset that to let luthien start one",
                located.url
            ),
        ));
    }
    let s = match super::lifecycle::start(&located.settings, Vec::new()).await {
        Ok(s) => s,
        Err(e) => {
            // Another `luthien claude` may have started one on the same port meanwhile.
            if let Some(s) = state::read_live(&located.settings.data_dir()) {
                if Client::new(&s.url, None)?.health().await.is_some() {
                    return Ok((s.url, located.settings));
                }
            }
            return Err(e);
        }
    };
    eprintln!(
        "luthien: started the gateway at {} in the background (pid {}; stop it with `luthien down`)",
        s.url, s.pid
    );
    Ok((s.url, located.settings))
}

/// The `-c` overrides that send Codex to the gateway's `/v1/responses` without touching the
/// user's own Codex configuration. Values are TOML, as Codex parses them.
pub fn codex_overrides(url: &str) -> Vec<String> {
    let base_url = toml_string(&format!("{}/v1", url.trim_end_matches('/')));
    vec![
        "-c".into(),
        format!("model_provider={}", toml_string(CODEX_PROVIDER)),
        "-c".into(),
        format!(
            "model_providers.{CODEX_PROVIDER}={{ name = \"Luthien\", base_url = {base_url}, \
             env_key = \"OPENAI_API_KEY\", wire_api = \"responses\" }}"
        ),
    ]
}

/// A TOML basic string (JSON's escapes are valid TOML escapes).
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// True for the variables that carry or configure the gateway's admin access.
fn is_admin_var(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    name.starts_with("ADMIN_")
        || (name.starts_with("LUTHIEN_") && name.contains("ADMIN"))
        || name == state::STATE_FILE_VAR
}

/// The agent's binary: `$<bin_var>` (a path, or a name looked up on PATH), else its usual name
/// on PATH.
fn find_binary(
    agent: Agent,
    configured: Option<OsString>,
    path: Option<OsString>,
) -> anyhow::Result<PathBuf> {
    let wanted = configured
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| OsString::from(agent.bin));
    let wanted_path = Path::new(&wanted);
    if wanted_path.components().count() > 1 {
        return if wanted_path.is_file() {
            executable(wanted_path)?;
            Ok(wanted_path.to_path_buf())
        } else {
            Err(missing(agent, &wanted_path.display().to_string()))
        };
    }
    for dir in std::env::split_paths(&path.unwrap_or_default()) {
        let candidate = dir.join(&wanted);
        if candidate.is_file() && executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(missing(agent, &wanted.to_string_lossy()))
}

#[cfg(unix)]
fn executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o111 == 0 {
        return Err(coded(
            exit::NOT_EXECUTABLE,
            format!("{} is not executable (chmod +x it)", path.display()),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

fn missing(agent: Agent, what: &str) -> anyhow::Error {
    coded(
        exit::AGENT_MISSING,
        format!(
            "{} (`{what}`) was not found: install it with `{}`, or set {} to its path",
            agent.name, agent.install, agent.bin_var
        ),
    )
}

/// Waits for the agent; returns its exit code, or 128 + N when signal N ended it.
///
/// Ctrl-C and Ctrl-\ reach the agent from the terminal directly (it is in our foreground
/// process group), so here they are only kept from ending luthien before the agent. SIGTERM
/// and SIGHUP sent to luthien alone are passed on.
async fn wait(child: &mut tokio::process::Child) -> anyhow::Result<u8> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let pid = child.id();
    let forward = |sig: Signal| {
        if let Some(raw) = pid.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), sig);
        }
    };
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = int.recv() => {}
            _ = quit.recv() => {}
            _ = term.recv() => forward(Signal::SIGTERM),
            _ = hup.recv() => forward(Signal::SIGHUP),
        }
    };
    Ok(code_of(status))
}

fn code_of(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(exit::ERROR),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(exit::ERROR),
        (None, None) => exit::ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_variables_never_reach_the_agent() {
        for name in [
            "ADMIN_API_KEY",
            "ADMIN_LOCALHOST_BYPASS",
            "LUTHIEN_ADMIN_KEY",
            "LUTHIEN_STATE_FILE",
        ] {
            assert!(is_admin_var(OsStr::new(name)), "{name}");
        }
        for name in ["ANTHROPIC_API_KEY", "PATH", "HOME", "LUTHIEN_GATEWAY_URL"] {
            assert!(!is_admin_var(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn codex_is_pointed_at_the_gateways_responses_api() {
        let o = codex_overrides("http://127.0.0.1:8000/");
        assert_eq!(o[0], "-c");
        assert_eq!(o[1], "model_provider=\"luthien\"");
        assert!(o[3].starts_with("model_providers.luthien={"), "{}", o[3]);
        assert!(
            o[3].contains("base_url = \"http://127.0.0.1:8000/v1\""),
            "{}",
            o[3]
        );
        assert!(o[3].contains("wire_api = \"responses\""), "{}", o[3]);
    }

    #[test]
    fn a_missing_binary_names_the_install_command() {
        let e = find_binary(CODEX, None, Some(OsString::from("/nonexistent"))).unwrap_err();
        assert_eq!(exit::code_of(&e), exit::AGENT_MISSING);
        assert!(
            e.to_string().contains("npm install -g @openai/codex"),
            "{e}"
        );
    }
}
