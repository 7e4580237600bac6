//! One benchmark run: start the mock, nginx and the gateway on free loopback ports, check each
//! answers, run every cell against the three targets in turn while reading the proxies' CPU
//! and memory from `/proc`, stop everything, and write `RESULTS.md`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::time::Instant;

use crate::cells::{self, Api, Cell, RequestTemplate, Sizes};
use crate::load::{self, Plan};
use crate::machine::Machine;
use crate::nginx;
use crate::procs::{self, Group, Proc};
use crate::report::{self, CellResult, Idle, Results, Target};
use crate::stats::Summary;
use crate::RunArgs;

/// How long a process may take to answer its first request after starting.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// The longest a cell's warm-up may take (slow or Nagle-delayed cells stop early).
const WARMUP_DEADLINE: Duration = Duration::from_secs(3);
/// Pause between target runs so the previous run's connections are gone.
const SETTLE: Duration = Duration::from_millis(300);
/// Open files needed for the 1,000-stream cell (the gateway holds two sockets per stream).
const FILES_FOR_THOUSAND: u64 = 4096;

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("luthien-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Polls `GET path` until the process answers with any HTTP status, or fails.
async fn wait_ready(proc: &mut Proc, addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    let until = Instant::now() + START_DEADLINE;
    loop {
        proc.ensure_running()?;
        match tokio::time::timeout(Duration::from_secs(2), load::get_status(addr, path)).await {
            Ok(Ok(_)) => return Ok(()),
            _ if Instant::now() >= until => {
                bail!("nothing answered on {addr} within {START_DEADLINE:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The soft limit on open files of this process (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The three targets of a cell and what to read for each.
struct Targets {
    mock: SocketAddr,
    nginx: SocketAddr,
    luthien: SocketAddr,
    nginx_group: Group,
    luthien_group: Group,
}

impl Targets {
    fn addr(&self, target: Target) -> SocketAddr {
        match target {
            Target::Direct => self.mock,
            Target::Nginx => self.nginx,
            Target::Luthien => self.luthien,
        }
    }

    fn group(&self, target: Target) -> Option<&Group> {
        match target {
            Target::Direct => None,
            Target::Nginx => Some(&self.nginx_group),
            Target::Luthien => Some(&self.luthien_group),
        }
    }
}

/// Runs one cell against one target, reading the proxy's CPU and peak RSS around the measured part.
async fn measure(
    cell: &Cell,
    targets: &Targets,
    target: Target,
    ticks: f64,
    run_deadline: Duration,
    peaks_reset: &mut bool,
) -> anyhow::Result<Summary> {
    let plan = Plan {
        addr: targets.addr(target),
        template: cell.template(),
        concurrency: cell.concurrency,
        requests: cell.requests,
        warmup_per_worker: cell.warmup_per_worker,
        warmup_deadline: WARMUP_DEADLINE,
        run_deadline,
    };
    let group = targets.group(target);
    let mut cpu_before = None;
    let mut reset_ok = true;
    let outcome = load::run(plan, || {
        if let Some(g) = group {
            reset_ok = g.reset_peaks();
            cpu_before = g.cpu_seconds(ticks).ok();
        }
    })
    .await?;
    *peaks_reset &= reset_ok;
    let (cpu, peak) = match group {
        Some(g) => {
            let after = g.cpu_seconds(ticks)?;
            (cpu_before.map(|b| after - b), Some(g.sum_kib("VmHWM")?))
        }
        None => (None, None),
    };
    Ok(Summary::new(&outcome, cpu, peak))
}

/// One request of each kind through each target; fails with the first error.
async fn smoke_test(targets: &Targets) -> anyhow::Result<()> {
    for target in [Target::Direct, Target::Nginx, Target::Luthien] {
        for api in [Api::Anthropic, Api::OpenAi] {
            for stream in [false, true] {
                let plan = Plan {
                    addr: targets.addr(target),
                    template: RequestTemplate::new(api, stream, "mock:deltas 20"),
                    concurrency: 1,
                    requests: 1,
                    warmup_per_worker: 0,
                    warmup_deadline: Duration::from_secs(5),
                    run_deadline: Duration::from_secs(10),
                };
                let outcome = load::run(plan, || {}).await?;
                if outcome.samples.len() != 1 {
                    bail!(
                        "smoke test failed: {} {} via {}: {}",
                        api.label(),
                        if stream { "stream" } else { "JSON" },
                        target.label(),
                        outcome.first_error.unwrap_or_else(|| "no answer".into())
                    );
                }
            }
        }
    }
    Ok(())
}

/// The whole run.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into());
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark binary has no directory")?
            .to_owned(),
    };
    let mock_bin = bin_dir.join("luthien-mock-upstream");
    let luthien_bin = bin_dir.join("luthien");
    let needed = if args.stock_mock {
        vec![&mock_bin, &luthien_bin]
    } else {
        vec![&luthien_bin]
    };
    for bin in needed {
        if !bin.is_file() {
            bail!(
                "{} not found: build it first (cargo build --release -p luthien -p luthien-mock-upstream)",
                bin.display()
            );
        }
    }
    let nginx_bin = nginx::find(args.nginx.as_deref())?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_owned();
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"));

    let mut notes = Vec::new();
    let mut sizes = Sizes {
        json_requests: args.json_requests,
        stream_requests: args.stream_requests,
        slow_rounds: args.slow_rounds,
        thousand: !args.no_thousand,
    };
    if args.quick {
        sizes = Sizes {
            json_requests: 2000,
            stream_requests: 1000,
            slow_rounds: 1,
            thousand: false,
        };
        notes.push("quick mode: small request counts, figures are rough.".into());
    }
    if sizes.thousand && open_files_limit().is_some_and(|n| n < FILES_FOR_THOUSAND) {
        sizes.thousand = false;
        notes.push(format!(
            "the 1,000-stream cell was skipped: the open-files limit is under {FILES_FOR_THOUSAND} (run with `ulimit -n 65536`, as bench/run.sh does)."
        ));
    }

    let tmp = TempDir::new()?;
    let ticks = procs::clock_ticks();
    let (mock_port, nginx_port, luthien_port) = (
        procs::free_port()?,
        procs::free_port()?,
        procs::free_port()?,
    );

    // The mock is this binary's `mock` subcommand (the mock's router with TCP_NODELAY; see
    // src/mock.rs) unless `--stock-mock` asks for the `luthien-mock-upstream` binary. Either
    // keeps only the last request (it would otherwise hold a thousand bodies).
    let mut command = if args.stock_mock {
        let mut c = Command::new(&mock_bin);
        c.args(["--host", "127.0.0.1", "--port", &mock_port.to_string()])
            .args(["--max-recorded", "1"]);
        c
    } else {
        let mut c = Command::new(std::env::current_exe()?);
        c.args(["mock", "--port", &mock_port.to_string()]);
        c
    };
    command.env("RUST_LOG", "warn").current_dir(&tmp.0);
    if args.stock_mock {
        notes.push(
            "`--stock-mock`: the mock is the `luthien-mock-upstream` binary, whose sockets \
             have Nagle's algorithm on, so 20-delta streams take ~44 ms for every target."
                .into(),
        );
    }
    let mut mock = Proc::spawn("the mock upstream", command, &tmp.0.join("mock.log"))?;
    wait_ready(&mut mock, loopback(mock_port), "/_mock/stats").await?;

    let conf = tmp.0.join("nginx.conf");
    std::fs::write(&conf, nginx::config(&tmp.0, nginx_port, mock_port))?;
    let mut nginx = Proc::spawn(
        "nginx",
        nginx::command(&nginx_bin, &tmp.0, &conf),
        &tmp.0.join("nginx.out"),
    )?;
    wait_ready(&mut nginx, loopback(nginx_port), "/_mock/stats").await?;

    let mut command = Command::new(&luthien_bin);
    let mock_url = format!("http://127.0.0.1:{mock_port}");
    command
        .arg("serve")
        .env("GATEWAY_HOST", "127.0.0.1")
        .env("GATEWAY_PORT", luthien_port.to_string())
        .env("ANTHROPIC_UPSTREAM_URL", &mock_url)
        .env("OPENAI_UPSTREAM_URL", format!("{mock_url}/v1"))
        .env("AUTH_MODE", "passthrough")
        .env("RUST_LOG", "warn")
        .env("LUTHIEN_DATA_DIR", &tmp.0)
        // Server-side keys would replace the client's; passthrough forwards the bench's key.
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("CLIENT_API_KEY");
    // The shell's settings must not change what is measured: defaults, and data in the temp dir.
    for name in [
        "LUTHIEN_CONFIG",
        "DATABASE_URL",
        "REDIS_URL",
        "ADMIN_API_KEY",
        "RETENTION_DAYS",
        "POLICY_SOURCE",
        "POLICY_CONFIG",
        "LOG_FORMAT",
    ] {
        command.env_remove(name);
    }
    command
        // Run where no `.env` file can change the settings.
        .current_dir(&tmp.0);
    let mut luthien = Proc::spawn("the gateway", command, &tmp.0.join("luthien.log"))?;
    wait_ready(&mut luthien, loopback(luthien_port), "/health").await?;

    let mut nginx_pids = vec![nginx.pid()];
    nginx_pids.extend(procs::children(nginx.pid()));
    if nginx_pids.len() < 2 {
        bail!("nginx started no worker process");
    }
    let targets = Targets {
        mock: loopback(mock_port),
        nginx: loopback(nginx_port),
        luthien: loopback(luthien_port),
        nginx_group: Group {
            pids: nginx_pids.clone(),
        },
        luthien_group: Group {
            pids: vec![luthien.pid()],
        },
    };

    // Idle memory first, before any request reached a proxy.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut idle = Idle {
        nginx_before: targets.nginx_group.sum_kib("VmRSS").ok(),
        luthien_before: targets.luthien_group.sum_kib("VmRSS").ok(),
        ..Idle::default()
    };
    smoke_test(&targets).await?;
    println!(
        "mock :{mock_port}  nginx :{nginx_port} (pids {nginx_pids:?})  luthien :{luthien_port} (pid {})",
        luthien.pid()
    );

    let run_deadline = Duration::from_secs(args.run_deadline_secs);
    let overall = started + Duration::from_secs(args.max_minutes * 60);
    let mut results = Vec::new();
    let mut peaks_reset = true;
    for cell in cells::matrix(sizes) {
        if Instant::now() >= overall {
            notes.push(format!(
                "the run reached its {}-minute limit; later cells were not run.",
                args.max_minutes
            ));
            break;
        }
        println!(
            "\n{} c={} ({} requests)",
            cell.shape(),
            cell.concurrency,
            cell.requests
        );
        let mut summaries = Vec::new();
        for target in [Target::Direct, Target::Nginx, Target::Luthien] {
            for proc in [&mut mock, &mut nginx, &mut luthien] {
                proc.ensure_running()?;
            }
            tokio::time::sleep(SETTLE).await;
            let summary = measure(
                &cell,
                &targets,
                target,
                ticks,
                run_deadline,
                &mut peaks_reset,
            )
            .await
            .with_context(|| {
                format!(
                    "{} c={} via {}",
                    cell.shape(),
                    cell.concurrency,
                    target.label()
                )
            })?;
            println!("{}", report::run_line(target.label(), &summary));
            summaries.push(summary);
        }
        let mut it = summaries.into_iter();
        let (Some(direct), Some(nginx), Some(luthien)) = (it.next(), it.next(), it.next()) else {
            bail!("missing a target's summary");
        };
        let result = CellResult {
            cell,
            direct,
            nginx,
            luthien,
        };
        println!("{}", report::cell_line(&result));
        for (target, s) in [
            (Target::Direct, &result.direct),
            (Target::Nginx, &result.nginx),
            (Target::Luthien, &result.luthien),
        ] {
            if s.errors > 0 || s.warmup_errors > 0 || s.cut_short {
                notes.push(format!(
                    "{} c={} via {}: {} errors, {} warm-up errors{}{}",
                    result.cell.shape(),
                    result.cell.concurrency,
                    target.label(),
                    s.errors,
                    s.warmup_errors,
                    if s.cut_short {
                        ", cut short by the run deadline"
                    } else {
                        ""
                    },
                    s.first_error
                        .as_deref()
                        .map(|e| format!("; first: {e}"))
                        .unwrap_or_default()
                ));
            }
        }
        results.push(result);
    }
    if !peaks_reset {
        notes.push(
            "the kernel refused to reset VmHWM (/proc/<pid>/clear_refs), so peak RSS is the \
             process's lifetime peak up to each cell."
                .into(),
        );
    }

    // Idle again: how much memory the proxies keep after the load.
    tokio::time::sleep(Duration::from_secs(2)).await;
    idle.nginx_after = targets.nginx_group.sum_kib("VmRSS").ok();
    idle.luthien_after = targets.luthien_group.sum_kib("VmRSS").ok();

    luthien.stop(&[]);
    nginx.stop(&nginx_pids[1..]);
    mock.stop(&[]);

    let mut machine = Machine::probe(&repo);
    if let Some(commit) = &args.commit {
        machine.commit.clone_from(commit);
    }
    let results = Results {
        machine,
        nginx_version: nginx::version(&nginx_bin),
        cells: results,
        mock: if args.stock_mock {
            "the `luthien-mock-upstream` binary (`--stock-mock`)".into()
        } else {
            "the mock upstream's router (crates/mock-upstream) served by `luthien-bench mock` \
             with TCP_NODELAY on its sockets; the `luthien-mock-upstream` binary leaves Nagle's \
             algorithm on, which makes every 20-delta stream wait ~40 ms for a delayed ACK \
             whoever the client is (see bench/src/mock.rs)"
                .into()
        },
        load_before,
        gateway_note: args.gateway_note.clone(),
        idle,
        notes,
    };
    let previous = std::fs::read_to_string(&out_path).unwrap_or_default();
    let profile = report::preserved_profile(&previous);
    std::fs::write(&out_path, report::markdown(&results, profile.as_deref()))
        .with_context(|| format!("writing {}", out_path.display()))?;
    println!(
        "\nwrote {} in {:.0} s",
        out_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
