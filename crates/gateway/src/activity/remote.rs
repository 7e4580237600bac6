//! The Redis side of the activity bus: one task publishes this instance's events, another
//! subscribes to the channel and feeds other instances' events to the local subscribers.
//!
//! Both tasks reconnect with exponential backoff while Redis is down and log once per outage
//! (not once per attempt), so a Redis restart costs two log lines, not a flood. They stop when
//! the last bus handle is dropped.

use super::bus::Core;
use super::event::Envelope;
use futures::StreamExt;
use redis::AsyncCommands;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one PUBLISH may take before the connection is considered dead.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// The first reconnection delay; it doubles up to the configured maximum.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// How many times one event is retried across reconnects before it is dropped.
const MAX_ATTEMPTS: u32 = 3;

/// Connection state shared by the two Redis tasks and read by `health()`.
#[derive(Debug, Default)]
pub(crate) struct LinkStatus {
    publisher_up: AtomicBool,
    subscriber_up: AtomicBool,
    outage: AtomicBool,
    dropped: AtomicU64,
}

/// Which of the two Redis connections a status change is about.
#[derive(Debug, Clone, Copy)]
enum Side {
    Publisher,
    Subscriber,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Publisher => "publisher",
            Side::Subscriber => "subscriber",
        }
    }
}

impl LinkStatus {
    /// Whether both the publishing and the subscribing connections are up.
    pub(crate) fn connected(&self) -> bool {
        self.publisher_up.load(Ordering::Relaxed) && self.subscriber_up.load(Ordering::Relaxed)
    }

    /// Events that never reached Redis.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn flag(&self, side: Side) -> &AtomicBool {
        match side {
            Side::Publisher => &self.publisher_up,
            Side::Subscriber => &self.subscriber_up,
        }
    }

    fn mark_up(&self, side: Side) {
        self.flag(side).store(true, Ordering::Relaxed);
        if self.connected() && self.outage.swap(false, Ordering::Relaxed) {
            tracing::info!(
                dropped = self.dropped(),
                "activity bus reconnected to Redis"
            );
        }
    }

    fn mark_down(&self, side: Side, error: &dyn std::fmt::Display) {
        self.flag(side).store(false, Ordering::Relaxed);
        if !self.outage.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                connection = side.name(),
                %error,
                "activity bus lost Redis; events stay local until it is back"
            );
        }
    }
}

/// What both tasks need to know about the link.
#[derive(Debug, Clone)]
pub(crate) struct LinkSettings {
    pub(crate) channel: String,
    pub(crate) max_backoff: Duration,
}

/// Exponential reconnection delay.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: INITIAL_BACKOFF.min(max),
            max,
        }
    }

    fn reset(&mut self) {
        self.next = INITIAL_BACKOFF.min(self.max);
    }

    fn step(&mut self) -> Duration {
        let current = self.next;
        self.next = (self.next * 2).min(self.max);
        current
    }
}

/// Sleeps for the backoff; returns false if the bus was dropped meanwhile.
async fn pause(backoff: &mut Backoff, shutdown: &mut watch::Receiver<()>) -> bool {
    tokio::select! {
        _ = shutdown.changed() => false,
        () = tokio::time::sleep(backoff.step()) => true,
    }
}

/// Publishes this instance's events to the Redis channel until the bus is dropped.
pub(crate) async fn run_publisher(
    client: redis::Client,
    settings: LinkSettings,
    core: Arc<Core>,
    mut queue: mpsc::Receiver<Envelope>,
    mut shutdown: watch::Receiver<()>,
) {
    let mut backoff = Backoff::new(settings.max_backoff);
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    // An event whose PUBLISH failed is retried after reconnecting rather than lost at once.
    let mut pending: Option<(String, u32)> = None;
    loop {
        let Some(connection) = conn.as_mut() else {
            let attempt =
                tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection());
            let result = tokio::select! {
                _ = shutdown.changed() => return,
                result = attempt => result,
            };
            match result {
                Ok(Ok(c)) => {
                    conn = Some(c);
                    backoff.reset();
                    core.link.mark_up(Side::Publisher);
                }
                Ok(Err(e)) => {
                    core.link.mark_down(Side::Publisher, &e);
                    if !pause(&mut backoff, &mut shutdown).await {
                        return;
                    }
                }
                Err(_) => {
                    core.link
                        .mark_down(Side::Publisher, &"connection timed out");
                    if !pause(&mut backoff, &mut shutdown).await {
                        return;
                    }
                }
            }
            continue;
        };
        let (payload, attempts) = match pending.take() {
            Some(p) => p,
            None => {
                let Some(env) = queue.recv().await else {
                    // Every bus handle is gone.
                    return;
                };
                match serde_json::to_string(&env) {
                    Ok(json) => (json, 0),
                    Err(e) => {
                        core.link.count_drop();
                        tracing::error!(error = %e, kind = env.kind_name(), "activity event failed to encode");
                        continue;
                    }
                }
            }
        };
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            connection.publish::<_, _, usize>(&settings.channel, &payload),
        )
        .await;
        let error: Box<dyn std::fmt::Display + Send> = match sent {
            Ok(Ok(_receivers)) => continue,
            Ok(Err(e)) => Box::new(e),
            Err(_) => Box::new("publish timed out"),
        };
        conn = None;
        if attempts + 1 < MAX_ATTEMPTS {
            pending = Some((payload, attempts + 1));
            if attempts == 0 {
                // Usually a connection that died while idle (Redis restarted): reconnect at
                // once, and only call it an outage if that fails too.
                continue;
            }
        } else {
            core.link.count_drop();
        }
        core.link.mark_down(Side::Publisher, &error);
        if !pause(&mut backoff, &mut shutdown).await {
            return;
        }
    }
}

/// Receives every instance's events from the Redis channel and delivers other instances' ones
/// locally, until the bus is dropped.
pub(crate) async fn run_subscriber(
    client: redis::Client,
    settings: LinkSettings,
    core: Arc<Core>,
    mut shutdown: watch::Receiver<()>,
) {
    let mut backoff = Backoff::new(settings.max_backoff);
    loop {
        let attempt = async {
            let mut pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
                .await
                .map_err(|_| SubscribeError::Timeout)??;
            tokio::time::timeout(CONNECT_TIMEOUT, pubsub.subscribe(&settings.channel))
                .await
                .map_err(|_| SubscribeError::Timeout)??;
            Ok::<_, SubscribeError>(pubsub)
        };
        let result = tokio::select! {
            _ = shutdown.changed() => return,
            result = attempt => result,
        };
        match result {
            Ok(mut pubsub) => {
                backoff.reset();
                core.link.mark_up(Side::Subscriber);
                let mut messages = pubsub.on_message();
                loop {
                    let msg = tokio::select! {
                        _ = shutdown.changed() => return,
                        msg = messages.next() => msg,
                    };
                    // The stream ends when the connection does.
                    let Some(msg) = msg else { break };
                    ingest(&core, msg.get_payload_bytes());
                }
                core.link
                    .mark_down(Side::Subscriber, &"subscription connection closed");
            }
            Err(e) => core.link.mark_down(Side::Subscriber, &e),
        }
        if !pause(&mut backoff, &mut shutdown).await {
            return;
        }
    }
}

/// Delivers one message from the channel, unless this instance published it (it was already
/// delivered locally by `publish`).
fn ingest(core: &Core, payload: &[u8]) {
    match serde_json::from_slice::<Envelope>(payload) {
        Ok(env) if env.instance == core.instance() => {}
        Ok(env) => core.deliver(env),
        // Another version's event kinds, or a foreign publisher on our channel: not ours to fail on.
        Err(e) => tracing::debug!(error = %e, "ignoring undecodable activity message"),
    }
}

/// Why subscribing to the channel failed.
#[derive(Debug, thiserror::Error)]
enum SubscribeError {
    #[error("connection timed out")]
    Timeout,
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}
