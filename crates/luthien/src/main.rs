//! `luthien`: the command line of the Luthien AI-control proxy.

mod commands;
mod logging;

use clap::{Parser, Subcommand};
use gateway::Settings;

/// Luthien: an AI-control proxy for coding agents.
#[derive(Debug, Parser)]
#[command(name = "luthien", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(Box<Settings>),
    /// Validate the settings and routing file, and print the effective settings (secrets masked).
    Check(Box<Settings>),
    /// Run the gateway against the built-in mock upstream: no API key needed.
    Demo(Box<Settings>),
    /// Policies: list them, or check a policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// List every policy with a one-line description.
    List {
        /// Print the full list (with config schemas and examples) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy YAML file (`policy: {class, config}`).
    Check {
        /// The file to check.
        file: std::path::PathBuf,
    },
}

fn main() -> std::process::ExitCode {
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
    let result = match cli.command {
        Command::Serve(s) => runtime.block_on(commands::serve::run(*s)),
        Command::Check(s) => commands::check::run(&s),
        Command::Demo(s) => runtime.block_on(commands::demo::run(*s)),
        Command::Policy(PolicyCommand::List { json }) => commands::policy::list(json),
        Command::Policy(PolicyCommand::Check { file }) => commands::policy::check(&file),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
