//! Drives a relay from the upstream body to the client body, applying the idle and total
//! timeouts, waiting on policy decisions and sending keep-alives while one holds the stream.
//! The pump is the client's response body itself: when the client disconnects the body is
//! dropped, which drops the upstream response (cancelling the upstream request) and the
//! executor (cancelling pending judges).

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use protocol::errors::ErrorKind;
use protocol::sse::SseDecoder;
use tokio::time::Instant;

use super::tap::{OnComplete, StreamEnd};
use super::Relay;
use crate::upstream::{error_chain, UpstreamClient};

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

struct Pump {
    upstream: Upstream,
    upstream_ended: bool,
    decoder: SseDecoder,
    relay: Relay,
    client: UpstreamClient,
    deadline: Instant,
    keepalive: Duration,
    on_complete: Option<OnComplete>,
}

impl Drop for Pump {
    /// Runs when the stream ends and also when the client goes away mid-stream (the body is
    /// dropped), so every stream is recorded exactly once.
    fn drop(&mut self) {
        if let Some(done) = self.on_complete.take() {
            let tap = std::mem::take(&mut self.relay.tap);
            let end = match (self.relay.is_done(), &tap.error) {
                (false, _) => StreamEnd::ClientGone,
                (true, Some(e)) => StreamEnd::Failed(e.clone()),
                (true, None) => StreamEnd::Completed,
            };
            done(tap, end, self.relay.decisions().to_vec());
        }
    }
}

/// What woke the pump.
enum Step {
    Upstream(
        Result<Option<reqwest::Result<Bytes>>, tokio::time::error::Elapsed>,
        Instant,
    ),
    Decided,
    KeepAlive,
    /// Nothing left to wait for, yet the stream is not complete (a bug guard, never expected).
    Stalled,
}

/// The client's body stream for an upstream streaming response.
pub fn body_stream(
    resp: reqwest::Response,
    relay: Relay,
    client: UpstreamClient,
    deadline: Instant,
    keepalive: Duration,
    on_complete: OnComplete,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    let pump = Pump {
        upstream: Box::pin(resp.bytes_stream()),
        upstream_ended: false,
        decoder: SseDecoder::new(),
        relay,
        client,
        deadline,
        keepalive,
        on_complete: Some(on_complete),
    };
    futures::stream::unfold(pump, |mut p| async move {
        let bytes = p.next_output().await?;
        Some((Ok(bytes), p))
    })
}

impl Pump {
    /// The next bytes for the client, or `None` once the stream has ended.
    async fn next_output(&mut self) -> Option<Bytes> {
        let mut out = BytesMut::new();
        while !self.relay.is_done() {
            let waiting = self.relay.is_waiting();
            let idle_end = Instant::now() + self.client.timeouts.idle;
            let (deadline, keepalive, reading) =
                (self.deadline, self.keepalive, !self.upstream_ended);
            let step = {
                let upstream = &mut self.upstream;
                let relay = &mut self.relay;
                let read = async {
                    let r = tokio::time::timeout_at(idle_end.min(deadline), upstream.next()).await;
                    Step::Upstream(r, idle_end)
                };
                tokio::select! {
                    biased;
                    () = relay.next_resolved(&mut out), if waiting => Step::Decided,
                    () = tokio::time::sleep(keepalive), if waiting => Step::KeepAlive,
                    step = read, if reading => step,
                    else => Step::Stalled,
                }
            };
            match step {
                Step::Decided => {}
                Step::Stalled => self.relay.fail(
                    ErrorKind::Api,
                    "the gateway could not complete the stream (no upstream and no pending decision)",
                    &mut out,
                ),
                Step::KeepAlive => self.relay.keepalive(&mut out),
                Step::Upstream(Err(_), idle_end) => {
                    let what = self.client.timeout_name(idle_end, self.deadline);
                    self.relay
                        .fail(ErrorKind::Timeout, &format!("the upstream stream exceeded {what}"), &mut out);
                }
                Step::Upstream(Ok(None), _) => {
                    self.upstream_ended = true;
                    self.relay.on_end(&mut out);
                }
                Step::Upstream(Ok(Some(Err(e))), _) => self.relay.fail(
                    ErrorKind::UpstreamConnection,
                    &format!("the upstream connection failed mid-stream: {}", error_chain(&e)),
                    &mut out,
                ),
                Step::Upstream(Ok(Some(Ok(chunk))), _) => {
                    for frame in self.decoder.push(&chunk) {
                        self.relay.on_frame(&frame, &mut out);
                    }
                }
            }
            if !out.is_empty() {
                self.relay
                    .tap
                    .first_byte_at
                    .get_or_insert_with(std::time::Instant::now);
                return Some(out.freeze());
            }
        }
        None
    }
}
