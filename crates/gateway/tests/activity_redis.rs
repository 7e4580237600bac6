//! The Redis-linked activity bus with a real Redis: cross-instance delivery exactly once, policy
//! changes reaching other instances, and behaviour while Redis is down and after it returns.
//!
//! Uses the shared Redis at `LUTHIEN_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) with a
//! unique channel per test; the outage test starts and stops its own `redis-server`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_gateway::activity::{
    ActivityBus, ActivityError, ActivityEvent, BusConfig, Delivery, Envelope, Subscription,
};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn shared_redis_url() -> String {
    std::env::var("LUTHIEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_channel(test: &str) -> String {
    format!("luthien:test:{test}:{}", uuid::Uuid::new_v4().simple())
}

fn started(tx: &str) -> ActivityEvent {
    ActivityEvent::TransactionStarted {
        transaction_id: tx.to_owned(),
        session_id: Some("sess".into()),
        model: "gpt-4o".into(),
        client_api: "openai_chat".into(),
        stream: false,
        at_ms: 1,
    }
}

async fn wait_connected(bus: &ActivityBus, want: bool, within: Duration) {
    let deadline = Instant::now() + within;
    while bus.health().connected != want {
        assert!(
            Instant::now() < deadline,
            "bus connected != {want} after {within:?}: {:?}",
            bus.health()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Receives until an event for `tx` arrives (skipping others), failing after `within`.
async fn receive_tx(sub: &mut Subscription, tx: &str, within: Duration) -> Envelope {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, sub.recv()).await {
            Ok(Some(Delivery::Event(env))) if env.transaction_id() == Some(tx) => return env,
            Ok(Some(Delivery::Event(_))) => {}
            other => panic!("waiting for {tx}: {other:?}"),
        }
    }
}

/// Asserts nothing more arrives for a while (i.e. no duplicate).
async fn assert_quiet(sub: &mut Subscription) {
    if let Ok(got) = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
        panic!("expected no further delivery, got {got:?}");
    }
}

#[tokio::test]
async fn an_event_published_on_one_instance_reaches_every_instance_exactly_once_within_a_second() {
    let url = shared_redis_url();
    let channel = unique_channel("exactly_once");
    let a = ActivityBus::redis_with_channel(&url, &channel).unwrap();
    let b = ActivityBus::redis_with_channel(&url, &channel).unwrap();
    assert_ne!(a.instance_id(), b.instance_id());
    wait_connected(&a, true, Duration::from_secs(5)).await;
    wait_connected(&b, true, Duration::from_secs(5)).await;
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();

    let sent_at = Instant::now();
    a.publish(started("from-a"));
    let at_b = receive_tx(&mut on_b, "from-a", Duration::from_secs(1)).await;
    assert!(sent_at.elapsed() < Duration::from_secs(1));
    let at_a = receive_tx(&mut on_a, "from-a", Duration::from_secs(1)).await;
    assert_eq!(
        at_a, at_b,
        "same envelope (instance and sequence) everywhere"
    );
    assert_eq!(at_b.instance, a.instance_id());
    assert_eq!(at_b.id, 1);

    b.publish(started("from-b"));
    receive_tx(&mut on_a, "from-b", Duration::from_secs(1)).await;
    receive_tx(&mut on_b, "from-b", Duration::from_secs(1)).await;

    assert_quiet(&mut on_a).await;
    assert_quiet(&mut on_b).await;

    // Other instances' events land in the replay ring too, once each.
    let ring_b: Vec<String> = b
        .recent(10)
        .iter()
        .map(|e| e.transaction_id().unwrap().to_owned())
        .collect();
    assert_eq!(ring_b, ["from-a", "from-b"]);
    assert_eq!(a.health().dropped, 0);
    assert_eq!(a.health().backend, "redis");
}

#[tokio::test]
async fn a_policy_change_on_one_instance_reaches_the_others_policy_watch() {
    let url = shared_redis_url();
    let channel = unique_channel("policy");
    let a = ActivityBus::redis_with_channel(&url, &channel).unwrap();
    let b = ActivityBus::redis_with_channel(&url, &channel).unwrap();
    wait_connected(&a, true, Duration::from_secs(5)).await;
    wait_connected(&b, true, Duration::from_secs(5)).await;
    let mut policies_b = b.subscribe_policy_changes();

    a.publish(ActivityEvent::PolicyChanged {
        class: "tool_call_judge".into(),
        config: serde_json::json!({"threshold": 0.7}),
        activated_by: "admin".into(),
        at_ms: 1,
    });
    tokio::time::timeout(Duration::from_secs(1), policies_b.changed())
        .await
        .expect("policy change reached B within 1 s")
        .unwrap();
    let env = policies_b.borrow_and_update().clone().unwrap();
    assert_eq!(env.instance, a.instance_id());
    match env.event {
        ActivityEvent::PolicyChanged { class, config, .. } => {
            assert_eq!(class, "tool_call_judge");
            assert_eq!(config["threshold"], 0.7);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_redis_url_is_rejected() {
    let err = ActivityBus::redis("http://localhost:6379").unwrap_err();
    assert!(matches!(err, ActivityError::InvalidRedisUrl(_)), "{err}");
}

#[test]
fn a_redis_bus_needs_a_runtime_and_says_so() {
    let err = ActivityBus::redis("redis://127.0.0.1:6379").unwrap_err();
    assert!(matches!(err, ActivityError::NoRuntime), "{err}");
}

/// A `redis-server` this test owns; killed (by its own pid) when dropped.
struct RedisServer {
    child: Child,
}

impl RedisServer {
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { child }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn while_redis_is_down_publish_returns_at_once_and_the_bus_recovers_when_it_is_back() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let config = BusConfig {
        channel: unique_channel("outage"),
        redis_queue_capacity: 16,
        max_reconnect_backoff: Duration::from_millis(200),
        ..BusConfig::default()
    };
    let a = ActivityBus::redis_with(&url, config.clone()).unwrap();
    let mut local = a.subscribe();

    // Nothing listens on the port: publishing must neither block nor fail.
    let start = Instant::now();
    for n in 0..1_000 {
        a.publish(started(&format!("down-{n}")));
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "publish blocked: {:?}",
        start.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = a.health();
    assert_eq!(health.backend, "redis");
    assert!(!health.connected);
    assert!(
        health.dropped >= 1_000 - 16 - 1,
        "overflow is counted: {health:?}"
    );
    // Local subscribers are unaffected by the outage.
    receive_tx(&mut local, "down-0", Duration::from_secs(1)).await;
    receive_tx(&mut local, "down-999", Duration::from_secs(1)).await;

    // Redis comes up: the bus connects on its own.
    let server = RedisServer::start(port).await;
    wait_connected(&a, true, Duration::from_secs(5)).await;
    let b = ActivityBus::redis_with(&url, config.clone()).unwrap();
    wait_connected(&b, true, Duration::from_secs(5)).await;
    let mut on_b = b.subscribe();
    a.publish(started("after-start"));
    receive_tx(&mut on_b, "after-start", Duration::from_secs(1)).await;

    // Redis goes away: health says so, publishing still returns at once.
    drop(server);
    wait_connected(&a, false, Duration::from_secs(5)).await;
    let start = Instant::now();
    for n in 0..100 {
        a.publish(started(&format!("down-again-{n}")));
    }
    assert!(start.elapsed() < Duration::from_millis(200));

    // And back again: both instances reconnect and events flow.
    let _server = RedisServer::start(port).await;
    wait_connected(&a, true, Duration::from_secs(5)).await;
    wait_connected(&b, true, Duration::from_secs(5)).await;
    a.publish(started("after-restart"));
    receive_tx(&mut on_b, "after-restart", Duration::from_secs(1)).await;
}
