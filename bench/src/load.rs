//! The load generator: N workers, each on its own keep-alive HTTP/1.1 connection, share a fixed
//! number of requests. Every worker first sends its warm-up requests; then all of them wait at
//! a barrier so the caller can take its "before" readings, and the measured requests start
//! together. Each measured request records its total latency (request written → body ended)
//! and its time to the first byte of the body. Everything is bounded by counts and deadlines.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cells::RequestTemplate;

/// The longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many bytes of the body's end are kept to check its terminator and quote errors.
const TAIL_BYTES: usize = 160;

/// What to send, where, how often and how concurrently.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target (always a loopback address).
    pub addr: SocketAddr,
    /// The request every worker sends.
    pub template: RequestTemplate,
    /// Number of workers, each with one connection.
    pub concurrency: usize,
    /// Measured requests shared among the workers.
    pub requests: usize,
    /// Unmeasured requests per worker before the barrier.
    pub warmup_per_worker: usize,
    /// The longest the warm-up may take.
    pub warmup_deadline: Duration,
    /// The longest the measured part may take; requests not started by then are not sent.
    pub run_deadline: Duration,
}

/// One measured request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Request written to body ended, in nanoseconds.
    pub total_ns: u64,
    /// Request written to first body byte, in nanoseconds.
    pub ttfb_ns: u64,
}

/// The measured part of a load run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Successful measured requests.
    pub samples: Vec<Sample>,
    /// Measured requests that failed (status, transport, timeout or incomplete body).
    pub errors: usize,
    /// The first error's description.
    pub first_error: Option<String>,
    /// Failed warm-up requests (not part of the figures, but a sign of trouble).
    pub warmup_errors: usize,
    /// Wall time from the start signal to the last worker's end.
    pub wall: Duration,
    /// Whether the run deadline cut the run short.
    pub cut_short: bool,
}

struct Shared {
    plan: Plan,
    host: String,
    next: AtomicUsize,
}

#[derive(Default)]
struct WorkerResult {
    samples: Vec<Sample>,
    errors: usize,
    first_error: Option<String>,
    warmup_errors: usize,
    cut_short: bool,
}

/// Runs `plan`. `before` runs once every worker has warmed up and just before the measured
/// requests start (the caller samples CPU and resets peak RSS there).
pub async fn run(plan: Plan, before: impl FnOnce()) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        plan.addr.ip().is_loopback(),
        "the benchmark only targets loopback addresses, not {}",
        plan.addr
    );
    let concurrency = plan.concurrency.max(1);
    let shared = Arc::new(Shared {
        host: plan.addr.to_string(),
        next: AtomicUsize::new(0),
        plan,
    });
    // Every worker plus this coordinator; used twice: "warmed up", then "go".
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    // Dropping the set (on any early return) aborts every worker.
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        workers.spawn(worker(Arc::clone(&shared), Arc::clone(&barrier)));
    }
    let warmup_limit = shared.plan.warmup_deadline + Duration::from_secs(5);
    tokio::time::timeout(warmup_limit, barrier.wait())
        .await
        .context("the warm-up did not finish in time")?;
    before();
    let started = Instant::now();
    barrier.wait().await;

    let mut outcome = Outcome::default();
    let join_limit = started + shared.plan.run_deadline + REQUEST_TIMEOUT + Duration::from_secs(5);
    while let Some(joined) = tokio::time::timeout_at(join_limit, workers.join_next())
        .await
        .context("workers did not finish in time")?
    {
        let result = joined.context("a load worker failed")?;
        outcome.samples.extend(result.samples);
        outcome.errors += result.errors;
        outcome.warmup_errors += result.warmup_errors;
        outcome.cut_short |= result.cut_short;
        if outcome.first_error.is_none() {
            outcome.first_error = result.first_error;
        }
    }
    outcome.wall = started.elapsed();
    Ok(outcome)
}

async fn worker(shared: Arc<Shared>, barrier: Arc<Barrier>) -> WorkerResult {
    let plan = &shared.plan;
    let mut result = WorkerResult::default();
    let mut conn: Option<SendRequest<Full<Bytes>>> = None;
    let warmup_end = Instant::now() + plan.warmup_deadline;
    for _ in 0..plan.warmup_per_worker {
        if Instant::now() >= warmup_end {
            break;
        }
        // A request started before the warm-up deadline may finish after it.
        if one(&shared, &mut conn, warmup_end + REQUEST_TIMEOUT)
            .await
            .is_err()
        {
            result.warmup_errors += 1;
        }
    }
    barrier.wait().await;
    barrier.wait().await;
    let deadline = Instant::now() + plan.run_deadline;
    loop {
        if shared.next.fetch_add(1, Ordering::Relaxed) >= plan.requests {
            break;
        }
        if Instant::now() >= deadline {
            result.cut_short = true;
            break;
        }
        match one(&shared, &mut conn, deadline + REQUEST_TIMEOUT).await {
            Ok(sample) => result.samples.push(sample),
            Err(e) => {
                result.errors += 1;
                if result.first_error.is_none() {
                    result.first_error = Some(format!("{e:#}"));
                }
            }
        }
    }
    result
}

/// One request on the worker's connection (opened or reopened as needed), bounded by
/// [`REQUEST_TIMEOUT`] and `limit`. A failed request drops the connection.
async fn one(
    shared: &Shared,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
    limit: Instant,
) -> anyhow::Result<Sample> {
    let until = limit.min(Instant::now() + REQUEST_TIMEOUT);
    let outcome = tokio::time::timeout_at(until, exchange(shared, conn)).await;
    let result = match outcome {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!("request timed out")),
    };
    if result.is_err() {
        *conn = None;
    }
    result
}

async fn exchange(
    shared: &Shared,
    conn: &mut Option<SendRequest<Full<Bytes>>>,
) -> anyhow::Result<Sample> {
    let sender = match conn {
        Some(sender) if !sender.is_closed() => sender,
        _ => conn.insert(connect(shared.plan.addr).await?),
    };
    sender.ready().await.context("connection not ready")?;
    let request = shared.plan.template.request(&shared.host)?;
    let start = Instant::now();
    let response = sender.send_request(request).await.context("sending")?;
    let status = response.status();
    let mut body = response.into_body();
    let mut first_byte = None;
    let mut tail: Vec<u8> = Vec::with_capacity(TAIL_BYTES * 2);
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the body")?;
        if let Some(data) = frame.data_ref() {
            if data.is_empty() {
                continue;
            }
            first_byte.get_or_insert_with(|| start.elapsed());
            tail.extend_from_slice(data);
            if tail.len() > TAIL_BYTES {
                tail.drain(..tail.len() - TAIL_BYTES);
            }
        }
    }
    let total = start.elapsed();
    let text = String::from_utf8_lossy(&tail);
    if !status.is_success() {
        bail!("HTTP {status}: …{}", text.trim());
    }
    if !text.trim_end().ends_with(shared.plan.template.terminator) {
        bail!("incomplete body: …{}", text.trim());
    }
    let total_ns = nanos(total);
    Ok(Sample {
        total_ns,
        ttfb_ns: first_byte.map_or(total_ns, nanos),
    })
}

/// Opens a keep-alive connection with Nagle off (the proxies under test turn it off too).
async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `GET path` on a fresh connection; the status code (readiness checks).
pub async fn get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut sender = connect(addr).await?;
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    // Drain the body so the connection closes cleanly.
    let _ = response.into_body().collect().await;
    Ok(status)
}
