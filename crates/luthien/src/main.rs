//! `luthien`: the command line of the Luthien AI-control proxy.
//!
//! Run the gateway (`serve`, `demo`, `check`), keep one in the background (`up`, `down`,
//! `status`, `logs`), run a coding agent through it (`claude`, `codex`), and manage its policy
//! (`policy`) and recorded conversations (`history`).
//!
//! Exit codes (see [`exit`]): 0 ok · 1 error · 2 usage · 3 no gateway running or reachable ·
//! 4 not found · 5 rejected (invalid input, or the admin key missing or refused) · 126/127 the
//! agent binary cannot run / is not installed; `claude` and `codex` otherwise exit with the
//! agent's own code (128 + N for signal N).

/// The allocator of every `luthien` process (see the note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod client;
mod commands;
mod exit;
mod logging;
mod output;
mod state;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gateway::Settings;

use commands::history::{Format, ListArgs};
use state::{DataDirArgs, GatewayArgs};

/// Luthien: an AI-control proxy for coding agents.
#[derive(Debug, Parser)]
#[command(
    name = "luthien",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 error, 2 usage, 3 no gateway running or reachable, \
                  4 not found, 5 rejected (invalid input or admin key), 127 agent not installed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway in the foreground.
    Serve(Box<Settings>),
    /// Validate the settings and routing file, and print the effective settings (secrets masked).
    Check(Box<Settings>),
    /// Run the gateway against the built-in mock upstream: no API key needed.
    Demo(Box<Settings>),
    /// Start the gateway in the background (same flags as `serve`); logs go to <data dir>/gateway.log.
    Up(Box<Settings>),
    /// Stop the background gateway (exits 0 when none is running).
    Down {
        #[command(flatten)]
        dir: DataDirArgs,
        /// Seconds to wait after SIGTERM before SIGKILL.
        #[arg(long, default_value_t = 15, value_name = "SECS")]
        timeout: u64,
    },
    /// Show whether a gateway is running, its policy, health and recent activity (exit 3 when not running).
    Status {
        #[command(flatten)]
        target: GatewayArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the background gateway's log.
    Logs {
        #[command(flatten)]
        dir: DataDirArgs,
        /// Keep printing new lines as they are written.
        #[arg(long, short = 'f')]
        follow: bool,
        /// How many of the last lines to print first.
        #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
        lines: usize,
    },
    /// Run Claude Code through the gateway (starting one if needed); arguments go to `claude` verbatim.
    #[command(after_help = "Claude Code's own help: luthien claude -- --help\n\
                            The binary: $LUTHIEN_CLAUDE_BIN, else `claude` on PATH.")]
    Claude(LaunchArgs),
    /// Run the Codex CLI through the gateway (starting one if needed); arguments go to `codex` verbatim.
    #[command(after_help = "Codex's own help: luthien codex -- --help\n\
                            The binary: $LUTHIEN_CODEX_BIN, else `codex` on PATH.")]
    Codex(LaunchArgs),
    /// Policies: list them, check a file, show or set the running gateway's.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Recorded sessions: list, show, export.
    #[command(subcommand)]
    History(HistoryCommand),
}

/// Arguments of `claude` and `codex`.
#[derive(Debug, clap::Args)]
struct LaunchArgs {
    #[command(flatten)]
    target: GatewayArgs,
    /// Arguments for the agent, passed verbatim.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// List every policy with a one-line description.
    List {
        /// Print the full list (with config schemas and examples) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy YAML file (`policy: {class, config}`); exit 5 when invalid.
    Check {
        /// The file to check.
        file: PathBuf,
    },
    /// Show the running gateway's active policy.
    Current {
        #[command(flatten)]
        target: GatewayArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy YAML file and activate it on the running gateway.
    Set {
        #[command(flatten)]
        target: GatewayArgs,
        /// The policy file (`policy: {class, config}`).
        file: PathBuf,
        /// Print the activated policy as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    /// List recorded sessions, newest first.
    List {
        #[command(flatten)]
        target: GatewayArgs,
        #[command(flatten)]
        args: ListArgs,
    },
    /// Show one session as a conversation (exit 4 when there is no such session).
    Show {
        #[command(flatten)]
        target: GatewayArgs,
        /// The session id.
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export one session, streamed to stdout or a file (exit 4 when there is no such session).
    Export {
        #[command(flatten)]
        target: GatewayArgs,
        /// The session id.
        id: String,
        /// The format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: Format,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    // The user's environment as it was, before `.env` adds the gateway's settings: a launched
    // agent gets this one (minus admin variables), not the gateway's secrets.
    let original_env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    // A missing .env is normal; a broken one is reported by the parse below via the values.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, &original_env));
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(exit::code_of(&e))
        }
    }
}

/// Runs one command; returns the exit code for outcomes that are not errors (an agent's code,
/// `status` of a stopped gateway).
async fn run(command: Command, original_env: &[(OsString, OsString)]) -> anyhow::Result<u8> {
    let ok = |r: anyhow::Result<()>| r.map(|()| exit::OK);
    match command {
        Command::Serve(s) => ok(commands::serve::run(*s).await),
        Command::Check(s) => ok(commands::check::run(&s)),
        Command::Demo(s) => ok(commands::demo::run(*s).await),
        Command::Up(s) => {
            // `serve` gets exactly the flags `up` was given (clap has validated them).
            let serve_args: Vec<OsString> = std::env::args_os().skip(2).collect();
            ok(commands::lifecycle::up(*s, serve_args).await)
        }
        Command::Down { dir, timeout } => {
            let data_dir = dir.resolve()?;
            ok(commands::lifecycle::down(&data_dir, Duration::from_secs(timeout)).await)
        }
        Command::Status { target, json } => commands::lifecycle::status(&target, json).await,
        Command::Logs { dir, follow, lines } => {
            let data_dir = dir.resolve()?;
            ok(commands::lifecycle::logs(&data_dir, lines, follow).await)
        }
        Command::Claude(a) => {
            commands::launch::run(commands::launch::CLAUDE, &a.target, a.args, original_env).await
        }
        Command::Codex(a) => {
            commands::launch::run(commands::launch::CODEX, &a.target, a.args, original_env).await
        }
        Command::Policy(p) => ok(match p {
            PolicyCommand::List { json } => commands::policy::list(json),
            PolicyCommand::Check { file } => commands::policy::check(&file),
            PolicyCommand::Current { target, json } => {
                commands::policy::current(&target, json).await
            }
            PolicyCommand::Set { target, file, json } => {
                commands::policy::set(&target, &file, json).await
            }
        }),
        Command::History(h) => ok(match h {
            HistoryCommand::List { target, args } => commands::history::list(&target, &args).await,
            HistoryCommand::Show { target, id, json } => {
                commands::history::show(&target, &id, json).await
            }
            HistoryCommand::Export {
                target,
                id,
                format,
                output,
            } => commands::history::export(&target, &id, format, output.as_deref()).await,
        }),
    }
}
