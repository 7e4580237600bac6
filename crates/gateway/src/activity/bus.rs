//! The activity bus: a non-blocking fan-out of [`Envelope`]s to local subscribers, a bounded
//! replay ring, and (optionally) a Redis pub/sub link so every gateway instance sees every
//! instance's events.
//!
//! Publishing never waits and never fails: the local fan-out is a `tokio::sync::broadcast`
//! channel (a slow subscriber falls behind and is dropped instead of slowing the publisher), and
//! the Redis side is fed through a bounded queue that drops (and counts) on overflow.
//!
//! Deduplication with Redis: an event is delivered to local subscribers immediately on
//! `publish`, and the Redis subscriber skips messages whose `instance` is this bus's own. We chose
//! this over "deliver only what comes back from Redis" so that the local activity stream (and
//! policy changes made on this instance) keep working while Redis is down, and so local
//! subscribers do not pay a Redis round trip.

use super::error::ActivityError;
use super::event::{ActivityEvent, Envelope};
use super::remote::{self, LinkStatus};
use futures::Stream;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// The Redis pub/sub channel activity events travel on by default.
pub const DEFAULT_CHANNEL: &str = "luthien:activity";

/// Tuning for an [`ActivityBus`]; the defaults suit a gateway.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// How many events a local subscriber may fall behind before it is dropped.
    pub broadcast_capacity: usize,
    /// How many recent events are kept for replay on connect.
    pub replay_capacity: usize,
    /// How many events may wait for the Redis publisher before new ones are dropped.
    pub redis_queue_capacity: usize,
    /// The Redis pub/sub channel name.
    pub channel: String,
    /// The longest wait between Redis reconnection attempts.
    pub max_reconnect_backoff: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            broadcast_capacity: 1024,
            replay_capacity: 200,
            redis_queue_capacity: 4096,
            channel: DEFAULT_CHANNEL.to_owned(),
            max_reconnect_backoff: Duration::from_secs(2),
        }
    }
}

/// The bus's state as reported by `/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusHealth {
    /// `in_process` or `redis`.
    pub backend: &'static str,
    /// Whether events currently reach the other instances (always true in process).
    pub connected: bool,
    /// Events not sent to Redis because its queue was full (or the event failed to encode).
    pub dropped: u64,
}

/// What a [`Subscription`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The next event.
    Event(Envelope),
    /// The subscriber fell behind and `missed` events were lost; the subscription ends here.
    Lagged {
        /// How many events were skipped.
        missed: u64,
    },
}

/// A receiver of the bus's events, in publication order; it ends after a [`Delivery::Lagged`].
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Envelope>,
    done: bool,
}

impl Subscription {
    /// Waits for the next delivery; `None` once the subscription has ended.
    pub async fn recv(&mut self) -> Option<Delivery> {
        if self.done {
            return None;
        }
        match self.rx.recv().await {
            Ok(env) => Some(Delivery::Event(env)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Ending here rather than skipping ahead keeps a consumer from silently
                // presenting a stream with holes; it reconnects and replays instead.
                self.done = true;
                Some(Delivery::Lagged { missed })
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.done = true;
                None
            }
        }
    }

    /// Turns the subscription into a `Stream` of deliveries.
    pub fn into_stream(self) -> impl Stream<Item = Delivery> + Send + 'static {
        futures::stream::unfold(self, |mut sub| async move {
            let next = sub.recv().await?;
            Some((next, sub))
        })
    }
}

/// State shared between the bus handles and its background Redis tasks.
#[derive(Debug)]
pub(crate) struct Core {
    instance: String,
    seq: AtomicU64,
    tx: broadcast::Sender<Envelope>,
    ring: Mutex<VecDeque<Envelope>>,
    replay_capacity: usize,
    policy_tx: watch::Sender<Option<Envelope>>,
    pub(crate) link: LinkStatus,
}

impl Core {
    fn new(config: &BusConfig) -> Self {
        // A zero capacity would make tokio's broadcast panic; one is the least meaningful value.
        let (tx, _) = broadcast::channel(config.broadcast_capacity.max(1));
        let (policy_tx, _) = watch::channel(None);
        let instance = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(12)
            .collect();
        Self {
            instance,
            seq: AtomicU64::new(0),
            tx,
            ring: Mutex::new(VecDeque::with_capacity(config.replay_capacity)),
            replay_capacity: config.replay_capacity,
            policy_tx,
            link: LinkStatus::default(),
        }
    }

    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    fn ring(&self) -> MutexGuard<'_, VecDeque<Envelope>> {
        // A panic while holding this lock cannot leave the ring inconsistent (push/pop only), so
        // a poisoned lock is still usable.
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands an event to the local subscribers and the replay ring.
    pub(crate) fn deliver(&self, env: Envelope) {
        if matches!(env.event, ActivityEvent::PolicyChanged { .. }) {
            self.policy_tx.send_replace(Some(env.clone()));
        }
        // Ring push and broadcast happen under one lock so the ring's order is the broadcast's
        // order; `subscribe_with_recent` relies on it to hand out a gapless, duplicate-free view.
        let mut ring = self.ring();
        if self.replay_capacity > 0 {
            if ring.len() >= self.replay_capacity {
                ring.pop_front();
            }
            ring.push_back(env.clone());
        }
        // An error only means nobody is subscribed right now.
        let _ = self.tx.send(env);
    }
}

/// Keeps the Redis tasks alive; dropping the last bus handle stops them.
#[derive(Debug)]
struct RedisLink {
    queue: mpsc::Sender<Envelope>,
    _shutdown: watch::Sender<()>,
}

#[derive(Debug)]
struct Inner {
    core: Arc<Core>,
    redis: Option<RedisLink>,
}

/// The gateway's activity bus; cheap to clone, every clone publishes to the same subscribers.
#[derive(Debug, Clone)]
pub struct ActivityBus {
    inner: Arc<Inner>,
}

impl ActivityBus {
    /// A bus that only reaches subscribers in this process.
    pub fn in_process() -> Self {
        Self::in_process_with(BusConfig::default())
    }

    /// An in-process bus with explicit tuning.
    pub fn in_process_with(config: BusConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                core: Arc::new(Core::new(&config)),
                redis: None,
            }),
        }
    }

    /// A bus linked to every other instance through Redis pub/sub on [`DEFAULT_CHANNEL`].
    ///
    /// Only the URL is checked here: Redis being down is not an error, the bus reconnects in
    /// the background and reports it through [`ActivityBus::health`]. Must run inside a tokio
    /// runtime.
    pub fn redis(url: &str) -> Result<Self, ActivityError> {
        Self::redis_with(url, BusConfig::default())
    }

    /// A Redis-linked bus on a specific channel (tests use one per test).
    pub fn redis_with_channel(url: &str, channel: &str) -> Result<Self, ActivityError> {
        Self::redis_with(
            url,
            BusConfig {
                channel: channel.to_owned(),
                ..BusConfig::default()
            },
        )
    }

    /// A Redis-linked bus with explicit tuning.
    pub fn redis_with(url: &str, config: BusConfig) -> Result<Self, ActivityError> {
        let client = redis::Client::open(url).map_err(ActivityError::InvalidRedisUrl)?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ActivityError::NoRuntime)?;
        let core = Arc::new(Core::new(&config));
        let (queue, queue_rx) = mpsc::channel(config.redis_queue_capacity.max(1));
        let (shutdown, shutdown_rx) = watch::channel(());
        let settings = remote::LinkSettings {
            channel: config.channel.clone(),
            max_backoff: config.max_reconnect_backoff,
        };
        runtime.spawn(remote::run_publisher(
            client.clone(),
            settings.clone(),
            Arc::clone(&core),
            queue_rx,
            shutdown_rx.clone(),
        ));
        runtime.spawn(remote::run_subscriber(
            client,
            settings,
            Arc::clone(&core),
            shutdown_rx,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                redis: Some(RedisLink {
                    queue,
                    _shutdown: shutdown,
                }),
            }),
        })
    }

    /// This bus's random instance id (the `instance` of the envelopes it publishes).
    pub fn instance_id(&self) -> &str {
        self.inner.core.instance()
    }

    /// Publishes an event to every subscriber (and, with Redis, every instance); never blocks.
    pub fn publish(&self, event: ActivityEvent) {
        let core = &self.inner.core;
        let env = Envelope {
            id: core.seq.fetch_add(1, Ordering::Relaxed) + 1,
            instance: core.instance.clone(),
            event,
        };
        if let Some(link) = &self.inner.redis {
            if link.queue.try_send(env.clone()).is_err() {
                // Full (Redis slow or down) or closed (task gone): either way the event cannot
                // reach the other instances, and the caller must not wait for it.
                core.link.count_drop();
            }
        }
        core.deliver(env);
    }

    /// Subscribes to every event delivered from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.inner.core.tx.subscribe(),
            done: false,
        }
    }

    /// Subscribes and snapshots the replay ring atomically: every event is either in the
    /// snapshot (oldest first) or delivered by the subscription, never both, never neither.
    pub fn subscribe_with_recent(&self) -> (Vec<Envelope>, Subscription) {
        let core = &self.inner.core;
        let ring = core.ring();
        let sub = Subscription {
            rx: core.tx.subscribe(),
            done: false,
        };
        (ring.iter().cloned().collect(), sub)
    }

    /// The last `n` events (oldest first) from the replay ring.
    pub fn recent(&self, n: usize) -> Vec<Envelope> {
        let ring = self.inner.core.ring();
        let skip = ring.len().saturating_sub(n);
        ring.iter().skip(skip).cloned().collect()
    }

    /// The latest `PolicyChanged` envelope seen by this bus (local or from another instance).
    ///
    /// A `watch` rather than a broadcast subscription because only the newest policy matters
    /// and a watcher can never lag out and miss one.
    pub fn subscribe_policy_changes(&self) -> watch::Receiver<Option<Envelope>> {
        self.inner.core.policy_tx.subscribe()
    }

    /// The backend, whether it is connected, and how many events were dropped on the way out.
    pub fn health(&self) -> BusHealth {
        let link = &self.inner.core.link;
        match self.inner.redis {
            None => BusHealth {
                backend: "in_process",
                connected: true,
                dropped: link.dropped(),
            },
            Some(_) => BusHealth {
                backend: "redis",
                connected: link.connected(),
                dropped: link.dropped(),
            },
        }
    }
}
