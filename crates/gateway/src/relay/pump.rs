//! Drives a relay from the upstream body to the client body, applying the idle and total
//! timeouts, waiting on policy decisions and sending keep-alives while one holds the stream.
//! The pump is the client's response body itself: when the client disconnects the body is
//! dropped, which drops the upstream response (cancelling the upstream request) and the
//! executor (cancelling pending judges).

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, Stream, StreamExt};
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

/// How many bytes of already-received upstream output one client write may gather.
const COALESCE_BYTES: usize = 64 * 1024;
/// How many times in a row the relay yields to the HTTP client's connection task before it
/// decides nothing more has arrived (measured: one is too few for the next chunk of a burst to
/// be ready, three gather a 20-event burst into about three writes).
const COALESCE_YIELDS: u32 = 3;

impl Pump {
    /// Feeds one item of the upstream body (a chunk, an error, or its end) to the relay.
    fn on_upstream(&mut self, item: Option<reqwest::Result<Bytes>>, out: &mut BytesMut) {
        match item {
            None => {
                self.upstream_ended = true;
                self.relay.on_end(out);
            }
            Some(Err(e)) => self.relay.fail(
                ErrorKind::UpstreamConnection,
                &format!(
                    "the upstream connection failed mid-stream: {}",
                    error_chain(&e)
                ),
                out,
            ),
            Some(Ok(chunk)) => {
                for frame in self.decoder.push(&chunk) {
                    self.relay.on_frame(&frame, out);
                }
            }
        }
    }

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
                Step::Upstream(Ok(item), _) => {
                    self.on_upstream(item, &mut out);
                    // Upstreams send one HTTP chunk per event, and a burst of them often arrives
                    // in one read; the HTTP client hands them over one per wake-up of its
                    // connection task. What has arrived goes out in one write instead of a
                    // write (and a syscall, and a wake-up of the client) per event: the relay
                    // takes what is ready, yielding a few times to let the connection task
                    // decode the next chunk from its buffer. Nothing waits on the network, and
                    // the first bytes of a response go out at once.
                    let coalesce = self.relay.tap.first_byte_at.is_some();
                    let mut misses = 0;
                    while coalesce
                        && !self.upstream_ended
                        && !self.relay.is_done()
                        && out.len() < COALESCE_BYTES
                    {
                        match self.upstream.next().now_or_never() {
                            Some(item) => {
                                self.on_upstream(item, &mut out);
                                misses = 0;
                            }
                            None if misses < COALESCE_YIELDS => {
                                tokio::task::yield_now().await;
                                misses += 1;
                            }
                            None => break,
                        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use bytes::Bytes;
    use futures::StreamExt;
    use protocol::errors::ApiFormat;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    use super::body_stream;
    use crate::config::settings::Timeouts;
    use crate::relay::{ChatNaming, Relay};
    use crate::upstream::UpstreamClient;

    /// An Anthropic stream of `deltas` text deltas, one SSE event per item.
    fn events(deltas: usize) -> Vec<Bytes> {
        let mut out = vec![
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#.to_owned(),
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.to_owned(),
        ];
        for i in 0..deltas {
            out.push(format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"w{i} "}}}}"#
            ));
        }
        out.push(r#"{"type":"content_block_stop","index":0}"#.to_owned());
        out.push(r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}"#.to_owned());
        out.push(r#"{"type":"message_stop"}"#.to_owned());
        out.into_iter()
            .map(|data| {
                let kind = serde_json::from_str::<serde_json::Value>(&data).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
            })
            .collect()
    }

    /// The client's body for an upstream body made of `upstream`'s items, on a same-API route.
    fn client_body(
        upstream: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
    ) -> impl futures::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
        let resp =
            reqwest::Response::from(http::Response::new(reqwest::Body::wrap_stream(upstream)));
        let relay = Relay::new(
            ApiFormat::Anthropic,
            ApiFormat::Anthropic,
            ChatNaming {
                model: "m",
                created: 0,
                include_usage: false,
                responses: None,
            },
            None,
        );
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(5),
            idle: Duration::from_secs(5),
            total: Duration::from_secs(30),
        };
        body_stream(
            resp,
            relay,
            UpstreamClient::new(timeouts).unwrap(),
            Instant::now() + Duration::from_secs(30),
            Duration::from_secs(5),
            Box::new(|_, _, _| {}),
        )
    }

    #[tokio::test]
    async fn events_that_arrived_together_leave_in_one_write_after_the_first() {
        let sent = events(20);
        let upstream = futures::stream::iter(sent.clone().into_iter().map(Ok));
        let writes: Vec<Bytes> = client_body(upstream)
            .map(|w| match w {
                Ok(b) => b,
                Err(never) => match never {},
            })
            .collect()
            .await;
        assert_eq!(
            writes.concat(),
            sent.concat(),
            "the upstream's bytes, unchanged"
        );
        assert_eq!(
            writes[0], sent[0],
            "the first event goes out alone, at once"
        );
        assert_eq!(
            writes.len(),
            2,
            "the rest had arrived and went out together"
        );
    }

    #[tokio::test]
    async fn an_event_goes_out_before_the_next_has_arrived() {
        let sent = events(3);
        let (tx, rx) = mpsc::unbounded_channel::<Result<Bytes, std::io::Error>>();
        let upstream = tokio_stream_from(rx);
        let mut body = Box::pin(client_body(upstream));
        for (i, event) in sent.iter().enumerate() {
            tx.send(Ok(event.clone())).unwrap();
            // The upstream sends nothing more until the client has this event: a relay that
            // waited for more would never finish.
            let got = tokio::time::timeout(Duration::from_secs(5), body.next())
                .await
                .unwrap_or_else(|_| panic!("event {i} was held back"))
                .unwrap();
            assert_eq!(got.ok(), Some(event.clone()));
        }
        drop(tx);
        assert!(body.next().await.is_none());
    }

    /// A stream over an unbounded receiver.
    fn tokio_stream_from<T: Send + 'static>(
        rx: mpsc::UnboundedReceiver<T>,
    ) -> impl futures::Stream<Item = T> + Send + Sync {
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
    }
}
