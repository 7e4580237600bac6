//! `luthien-bench`: the performance benchmark of DESIGN §9.
//!
//! `run` starts the mock upstream, nginx and the gateway, sends the same fixed load straight to
//! the mock, through nginx and through the gateway, cell by cell, and writes `bench/RESULTS.md`
//! (latency, added latency, TTFB, throughput, CPU per request, RSS, and the budgets' verdicts).
//! `load` sends one cell's load to one loopback port, for profiling. Neither is part of the
//! test suite: a run takes minutes and wants quiet cores (`bench/run.sh`).

mod cells;
mod load;
mod machine;
mod mock;
mod nginx;
mod procs;
mod report;
mod run;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::cells::{Api, RequestTemplate};
use crate::load::Plan;
use crate::stats::Summary;

/// The Luthien benchmark: direct vs nginx vs the gateway, against the mock upstream.
#[derive(Debug, Parser)]
#[command(name = "luthien-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the whole benchmark and write RESULTS.md.
    Run(RunArgs),
    /// Send one cell's load to one loopback port and print the figures.
    Load(LoadArgs),
    /// Serve the mock upstream with TCP_NODELAY (what `run` starts; see src/mock.rs).
    Mock(MockArgs),
}

/// Options of `luthien-bench mock`.
#[derive(Debug, Clone, clap::Args)]
struct MockArgs {
    /// The loopback port to listen on.
    #[arg(long)]
    port: u16,
}

/// Options of `luthien-bench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Measured requests per JSON cell.
    #[arg(long, default_value_t = 20_000)]
    json_requests: usize,
    /// Measured requests per 20-delta stream cell.
    #[arg(long, default_value_t = 10_000)]
    stream_requests: usize,
    /// Rounds of slow streams per worker in the slow cells (each round takes about 0.7 s).
    #[arg(long, default_value_t = 2)]
    slow_rounds: usize,
    /// Skip the 1,000 slow streams cell.
    #[arg(long)]
    no_thousand: bool,
    /// Small request counts, for checking the bench itself.
    #[arg(long)]
    quick: bool,
    /// The longest one target's measured part of one cell may take; a cell whose requests
    /// are slow (20-delta streams through a proxy that waits on delayed ACKs) ends there.
    #[arg(long, default_value_t = 20)]
    run_deadline_secs: u64,
    /// Cells not started within this many minutes of the start are skipped.
    #[arg(long, default_value_t = 12)]
    max_minutes: u64,
    /// Where `luthien` and `luthien-mock-upstream` are (default: beside this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Use the `luthien-mock-upstream` binary as the mock (its sockets keep Nagle's algorithm
    /// on) instead of `luthien-bench mock`.
    #[arg(long)]
    stock_mock: bool,
    /// The nginx binary (default: `nginx` on the PATH or in /usr/sbin).
    #[arg(long)]
    nginx: Option<PathBuf>,
    /// A remark on the gateway's configuration for the results (e.g. "NoOp policy, recording on").
    #[arg(long)]
    gateway_note: Option<String>,
    /// The commit to record (default: `git rev-parse --short HEAD` of this workspace).
    #[arg(long)]
    commit: Option<String>,
    /// Where to write the results (default: bench/RESULTS.md).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ApiArg {
    Anthropic,
    Openai,
}

/// Options of `luthien-bench load`.
#[derive(Debug, Clone, clap::Args)]
struct LoadArgs {
    /// The loopback port to send to.
    #[arg(long)]
    port: u16,
    /// The client API.
    #[arg(long, value_enum, default_value = "anthropic")]
    api: ApiArg,
    /// Ask for streams.
    #[arg(long)]
    stream: bool,
    /// The mock directive in the user message.
    #[arg(long, default_value = "mock:deltas 20")]
    directive: String,
    /// Concurrent workers.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured requests.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Warm-up requests per worker.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// A process whose CPU per request to report (e.g. the gateway's pid).
    #[arg(long)]
    pid: Option<u32>,
}

async fn load_command(args: LoadArgs) -> anyhow::Result<()> {
    let api = match args.api {
        ApiArg::Anthropic => Api::Anthropic,
        ApiArg::Openai => Api::OpenAi,
    };
    let plan = Plan {
        addr: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, args.port)),
        template: RequestTemplate::new(api, args.stream, &args.directive),
        concurrency: args.concurrency,
        requests: args.requests,
        warmup_per_worker: args.warmup,
        warmup_deadline: Duration::from_secs(30),
        run_deadline: Duration::from_secs(120),
    };
    let ticks = procs::clock_ticks();
    let group = args.pid.map(|pid| procs::Group { pids: vec![pid] });
    let mut before = None;
    let outcome = load::run(plan, || {
        before = group.as_ref().and_then(|g| g.cpu_seconds(ticks).ok());
    })
    .await?;
    let cpu = match (&group, before) {
        (Some(g), Some(b)) => Some(g.cpu_seconds(ticks)? - b),
        _ => None,
    };
    let summary = Summary::new(&outcome, cpu, None);
    println!("{}", report::run_line("load", &summary));
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Mock(args) = &cli.command {
        // The mock gets the same multi-threaded runtime as the `luthien-mock-upstream` binary.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, args.port));
        return runtime.block_on(mock::serve(addr));
    }
    // One thread: the load generator shares 2 cores with the mock and the proxy under test,
    // and must not take more than its share.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Run(args) => runtime.block_on(run::run(args)),
        Cmd::Load(args) => runtime.block_on(load_command(args)),
        Cmd::Mock(_) => Ok(()),
    }
}
