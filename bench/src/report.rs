//! Presenting the results: one console line per target and cell while the run goes, and the
//! markdown of `bench/RESULTS.md` at the end, with the DESIGN §9 budgets judged one by one.

use std::fmt::Write as _;

use crate::cells::{Cell, Kind};
use crate::machine::Machine;
use crate::stats::{diff, Summary};

/// The three ways a request reaches the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Straight to the mock: the baseline the proxies' added latency is measured against.
    Direct,
    /// Through nginx.
    Nginx,
    /// Through the Luthien gateway.
    Luthien,
}

impl Target {
    /// The name in tables and logs.
    pub fn label(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Nginx => "nginx",
            Target::Luthien => "luthien",
        }
    }
}

/// One cell's figures for the three targets.
#[derive(Debug, Clone)]
pub struct CellResult {
    /// The cell.
    pub cell: Cell,
    /// Straight to the mock.
    pub direct: Summary,
    /// Through nginx.
    pub nginx: Summary,
    /// Through the gateway.
    pub luthien: Summary,
}

/// Resident memory outside the cells, KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle {
    /// nginx (master + worker) before the first cell.
    pub nginx_before: Option<u64>,
    /// The gateway before the first cell.
    pub luthien_before: Option<u64>,
    /// nginx after the last cell, once idle again.
    pub nginx_after: Option<u64>,
    /// The gateway after the last cell, once idle again.
    pub luthien_after: Option<u64>,
}

/// Everything the report needs.
#[derive(Debug, Clone)]
pub struct Results {
    /// Date, commit, machine.
    pub machine: Machine,
    /// `nginx/1.x.y`.
    pub nginx_version: String,
    /// Per-cell figures, in run order.
    pub cells: Vec<CellResult>,
    /// What served as the mock upstream.
    pub mock: String,
    /// What the runner says about the gateway's configuration (`--gateway-note`).
    pub gateway_note: Option<String>,
    /// `/proc/loadavg` when the run started (other work on the cores skews every figure).
    pub load_before: String,
    /// Idle memory.
    pub idle: Idle,
    /// Things the reader must know about this run (skipped cells, fallbacks, errors).
    pub notes: Vec<String>,
}

/// Milliseconds with three decimals, or a dash.
fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// Signed milliseconds with three decimals, or a dash.
fn signed_ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:+.3}"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn us(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b > 0.0).then(|| a / b)
}

/// The console line of one target's run in one cell.
pub fn run_line(label: &str, s: &Summary) -> String {
    let mut line = format!(
        "  {:<8} ok {:>6} err {:>3}  p50 {:>8} ms  p99 {:>8} ms  ttfb p50 {:>8} ms  {:>8.0} req/s",
        label,
        s.ok,
        s.errors,
        ms(s.p50),
        ms(s.p99),
        ms(s.ttfb_p50),
        s.rps
    );
    if let Some(cpu) = s.cpu_us {
        let _ = write!(line, "  cpu {cpu:>7.1} µs/req");
    }
    if let Some(peak) = s.peak_rss_kib {
        let _ = write!(line, "  peak rss {} MiB", mib(Some(peak)));
    }
    if let Some(e) = &s.first_error {
        let _ = write!(line, "\n           first error: {e}");
    }
    if s.cut_short {
        let _ = write!(line, "\n           cut short by the run deadline");
    }
    line
}

/// The console summary of one cell: added latency and the CPU ratio, ours beside nginx's.
pub fn cell_line(r: &CellResult) -> String {
    format!(
        "  => added p50 nginx {} / luthien {} ms; added ttfb p50 nginx {} / luthien {} ms; cpu luthien/nginx {}",
        signed_ms(diff(r.nginx.p50, r.direct.p50)),
        signed_ms(diff(r.luthien.p50, r.direct.p50)),
        signed_ms(diff(r.nginx.ttfb_p50, r.direct.ttfb_p50)),
        signed_ms(diff(r.luthien.ttfb_p50, r.direct.ttfb_p50)),
        ratio(r.luthien.cpu_us, r.nginx.cpu_us).map_or("–".into(), |x| format!("{x:.2}×")),
    )
}

/// A budget's verdict line.
struct Verdict {
    budget: String,
    met: Option<bool>,
    numbers: String,
}

fn verdicts(results: &Results) -> Vec<Verdict> {
    let mut out = Vec::new();

    // CPU per request ≤ 2× nginx's, every cell.
    let mut worst: Option<(f64, String)> = None;
    let mut failing = Vec::new();
    let mut all_known = true;
    for r in &results.cells {
        let name = format!("{} c={}", r.cell.shape(), r.cell.concurrency);
        match ratio(r.luthien.cpu_us, r.nginx.cpu_us) {
            Some(x) => {
                if x > 2.0 {
                    failing.push(format!("{name} {x:.2}×"));
                }
                if worst.as_ref().is_none_or(|(w, _)| x > *w) {
                    worst = Some((x, name));
                }
            }
            None => all_known = false,
        }
    }
    let mut numbers = match &worst {
        Some((x, name)) => format!("highest ratio {x:.2}× ({name})"),
        None => "no CPU figures".into(),
    };
    if !failing.is_empty() {
        let _ = write!(numbers, "; over budget: {}", failing.join("; "));
    }
    out.push(Verdict {
        budget: "CPU per request ≤ 2× nginx's, every cell".into(),
        met: (all_known && worst.is_some()).then_some(failing.is_empty()),
        numbers,
    });

    // Added p50 and TTFB p50 within 0.2 ms of nginx's at concurrency 1 and 16.
    for (budget, streams_only, pick) in [
        (
            "added latency p50 within 0.2 ms of nginx's (c = 1, 16)",
            false,
            (|s: &Summary| s.p50) as fn(&Summary) -> Option<f64>,
        ),
        (
            "added TTFB p50 within 0.2 ms of nginx's (streams, c = 1, 16)",
            true,
            |s: &Summary| s.ttfb_p50,
        ),
    ] {
        let mut worst: Option<(f64, String)> = None;
        let mut failing = Vec::new();
        let mut all_known = true;
        for r in results.cells.iter().filter(|r| {
            r.cell.kind == Kind::Fast
                && matches!(r.cell.concurrency, 1 | 16)
                && (!streams_only || r.cell.stream)
        }) {
            let name = format!("{} c={}", r.cell.shape(), r.cell.concurrency);
            let ours = diff(pick(&r.luthien), pick(&r.direct));
            let theirs = diff(pick(&r.nginx), pick(&r.direct));
            match diff(ours, theirs) {
                Some(gap) => {
                    if gap > 0.2 {
                        failing.push(format!(
                            "{name}: {} vs {} ms",
                            signed_ms(ours),
                            signed_ms(theirs)
                        ));
                    }
                    if worst.as_ref().is_none_or(|(w, _)| gap > *w) {
                        worst = Some((
                            gap,
                            format!(
                                "{name}: {} vs nginx {} ms",
                                signed_ms(ours),
                                signed_ms(theirs)
                            ),
                        ));
                    }
                }
                None => all_known = false,
            }
        }
        let mut numbers = match &worst {
            Some((gap, detail)) => format!("largest gap {gap:+.3} ms ({detail})"),
            None => "no figures".into(),
        };
        if !failing.is_empty() {
            let _ = write!(numbers, "; over budget: {}", failing.join("; "));
        }
        out.push(Verdict {
            budget: budget.into(),
            met: (all_known && worst.is_some()).then_some(failing.is_empty()),
            numbers,
        });
    }

    // Memory.
    let limit = |kib: Option<u64>, mb: u64| kib.map(|k| k <= mb * 1024);
    // Idle counts twice: at start, and once the load is over (memory kept after a peak).
    let idle_met = match (
        limit(results.idle.luthien_before, 50),
        limit(results.idle.luthien_after, 50),
    ) {
        (Some(before), Some(after)) => Some(before && after),
        (before, None) => before,
        (None, after) => after,
    };
    out.push(Verdict {
        budget: "RSS ≤ 50 MB idle (at start and after the last cell)".into(),
        met: idle_met,
        numbers: format!(
            "{} MiB before the first cell, {} MiB idle 2 s after the last (nginx: {} / {} MiB)",
            mib(results.idle.luthien_before),
            mib(results.idle.luthien_after),
            mib(results.idle.nginx_before),
            mib(results.idle.nginx_after),
        ),
    });
    for (streams, mb) in [(256, 100), (1000, 200)] {
        let cell = results
            .cells
            .iter()
            .find(|r| r.cell.kind == Kind::Slow && r.cell.concurrency == streams);
        let (met, numbers) = match cell {
            Some(r) => (
                limit(r.luthien.peak_rss_kib, mb),
                format!(
                    "peak {} MiB (nginx {} MiB)",
                    mib(r.luthien.peak_rss_kib),
                    mib(r.nginx.peak_rss_kib)
                ),
            ),
            None => (None, "not run".into()),
        };
        out.push(Verdict {
            budget: format!("RSS ≤ {mb} MB with {streams} concurrent slow streams"),
            met,
            numbers,
        });
    }
    out.push(Verdict {
        budget: "flat memory over a 10-minute soak".into(),
        met: None,
        numbers: "not measured by this run (it would take longer than the whole bench)".into(),
    });
    out
}

/// The markdown of `bench/RESULTS.md`; `profile` is the hand-written profile section kept
/// from the previous file, if any.
pub fn markdown(results: &Results, profile: Option<&str>) -> String {
    let m = &results.machine;
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark results (DESIGN §9)\n");
    let _ = writeln!(
        md,
        "Generated by `bench/run.sh` (`luthien-bench run`); do not edit the tables by hand.\n"
    );
    let _ = writeln!(md, "- Date: {}", m.date);
    let _ = writeln!(md, "- Commit: `{}`", m.commit);
    let _ = writeln!(
        md,
        "- Machine: {} CPUs (`nproc`), {}, {} RAM, Linux {}",
        m.nproc, m.cpu, m.memory, m.kernel
    );
    let _ = writeln!(
        md,
        "- Gateway: `luthien serve`, release build, `RUST_LOG=warn`, passthrough auth, default \
         multi-threaded runtime, otherwise default settings: no policy or routing file, no \
         database or Redis URL, a fresh temporary `LUTHIEN_DATA_DIR`.{}",
        results
            .gateway_note
            .as_deref()
            .map(|n| format!(" **{n}**"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        md,
        "- nginx: {}, 1 worker process (the 2 cores are shared by the load generator, the \
         mock and the proxy, and one event-driven worker is nginx's cheapest configuration: \
         the floor we compare with), `proxy_buffering off`, HTTP/1.1 keep-alive to the mock, \
         `access_log off`.",
        results.nginx_version
    );
    let _ = writeln!(
        md,
        "- Load average when the run started (1, 5, 15 min): {}",
        results.load_before
    );
    let _ = writeln!(md, "- Mock upstream: {}.", results.mock);
    let _ = writeln!(
        md,
        "- Load: built-in generator (hyper HTTP/1.1 client, one keep-alive connection per \
         worker, single-threaded runtime), fixed request count per cell after a warm-up; \
         latency = request written → body ended; TTFB = request written → first body byte. \
         Everything on 127.0.0.1, all processes sharing the same cores."
    );
    let _ = writeln!(
        md,
        "- CPU µs/req = (utime + stime) delta of the proxy's processes over the measured part \
         ÷ successful requests (nginx: master + worker). Peak RSS = `VmHWM` after resetting it \
         before the measured part (nginx: summed over master + worker). MiB = 2²⁰ bytes.\n"
    );
    for note in &results.notes {
        let _ = writeln!(md, "> Note: {note}\n");
    }

    let _ = writeln!(md, "## Latency (ms)\n");
    let _ = writeln!(
        md,
        "| cell | conc. | requests | direct p50 / p99 | nginx p50 / p99 | luthien p50 / p99 \
         | added p50 nginx / luthien | added p99 nginx / luthien | TTFB p50 direct / nginx / luthien \
         | added TTFB p50 nginx / luthien |"
    );
    let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in &results.cells {
        let ttfb = r.cell.stream;
        let (d, n, l) = (&r.direct, &r.nginx, &r.luthien);
        // A target the run deadline cut short measured fewer requests than planned; say so.
        let mut requests = r.cell.requests.to_string();
        for (target, s) in [
            (Target::Direct, d),
            (Target::Nginx, n),
            (Target::Luthien, l),
        ] {
            if s.ok < r.cell.requests {
                let _ = write!(requests, " ({} {})", target.label(), s.ok);
            }
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {} | {} |",
            r.cell.shape(),
            r.cell.concurrency,
            requests,
            ms(d.p50),
            ms(d.p99),
            ms(n.p50),
            ms(n.p99),
            ms(l.p50),
            ms(l.p99),
            signed_ms(diff(n.p50, d.p50)),
            signed_ms(diff(l.p50, d.p50)),
            signed_ms(diff(n.p99, d.p99)),
            signed_ms(diff(l.p99, d.p99)),
            if ttfb {
                format!(
                    "{} / {} / {}",
                    ms(d.ttfb_p50),
                    ms(n.ttfb_p50),
                    ms(l.ttfb_p50)
                )
            } else {
                "–".into()
            },
            if ttfb {
                format!(
                    "{} / {}",
                    signed_ms(diff(n.ttfb_p50, d.ttfb_p50)),
                    signed_ms(diff(l.ttfb_p50, d.ttfb_p50))
                )
            } else {
                "–".into()
            },
        );
    }

    let _ = writeln!(md, "\n## Cost\n");
    let _ = writeln!(
        md,
        "| cell | conc. | req/s direct / nginx / luthien | CPU µs/req nginx / luthien | luthien ÷ nginx \
         | peak RSS MiB nginx / luthien | errors direct / nginx / luthien |"
    );
    let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|");
    for r in &results.cells {
        let (d, n, l) = (&r.direct, &r.nginx, &r.luthien);
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} / {:.0} / {:.0} | {} / {} | {} | {} / {} | {} / {} / {} |",
            r.cell.shape(),
            r.cell.concurrency,
            d.rps,
            n.rps,
            l.rps,
            us(n.cpu_us),
            us(l.cpu_us),
            ratio(l.cpu_us, n.cpu_us).map_or("–".into(), |x| format!("{x:.2}×")),
            mib(n.peak_rss_kib),
            mib(l.peak_rss_kib),
            d.errors + d.warmup_errors,
            n.errors + n.warmup_errors,
            l.errors + l.warmup_errors,
        );
    }
    let i = &results.idle;
    let _ = writeln!(
        md,
        "\nIdle RSS before the first cell: nginx {} MiB (master + worker), luthien {} MiB. \
         After the last cell, idle again: nginx {} MiB, luthien {} MiB.",
        mib(i.nginx_before),
        mib(i.luthien_before),
        mib(i.nginx_after),
        mib(i.luthien_after)
    );

    let _ = writeln!(md, "\n## Budgets\n");
    let _ = writeln!(
        md,
        "Judged against DESIGN §9 with this run's figures (the budget assumes the NoOp policy \
         with recording on; see the gateway line above for what this run had).\n"
    );
    let _ = writeln!(md, "| budget | verdict | numbers |");
    let _ = writeln!(md, "|---|---|---|");
    for v in verdicts(results) {
        let verdict = match v.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not judged",
        };
        let _ = writeln!(md, "| {} | {} | {} |", v.budget, verdict, v.numbers);
    }
    md.push('\n');
    match profile {
        Some(section) => md.push_str(section.trim_end()),
        None => md.push_str(
            "## What dominates the cost\n\nNot profiled yet: run `bench/profile.sh` and write \
             the reading here (this section is kept when the bench rewrites the file).",
        ),
    }
    md.push('\n');
    md
}

/// The hand-written part of an existing RESULTS.md: from "What dominates the cost" to the end
/// (the later sections compare runs and are written by hand too).
pub fn preserved_profile(existing: &str) -> Option<String> {
    const HEADING: &str = "## What dominates the cost";
    let start = existing.find(HEADING)?;
    Some(existing[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_sections_are_kept_from_the_profile_heading_to_the_end() {
        let md = "# R\n\n## Budgets\nx\n## What dominates the cost\n\nA\nB\n## Later\nC\n";
        assert_eq!(
            preserved_profile(md).as_deref(),
            Some("## What dominates the cost\n\nA\nB\n## Later\nC\n")
        );
        assert_eq!(preserved_profile("# nothing"), None);
    }
}
