//! The in-process activity bus: ordering, lagging subscribers, the replay ring, the envelope's
//! wire shape and policy-change watching.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_gateway::activity::{
    ActivityBus, ActivityEvent, BusConfig, BusHealth, Delivery, Envelope,
};
use std::time::{Duration, Instant};

fn started(n: usize, session: &str) -> ActivityEvent {
    ActivityEvent::TransactionStarted {
        transaction_id: format!("tx-{n}"),
        session_id: Some(session.to_owned()),
        model: "claude-sonnet-4".to_owned(),
        client_api: "anthropic_messages".to_owned(),
        stream: true,
        at_ms: 1_700_000_000_000,
    }
}

fn tx_number(env: &Envelope) -> usize {
    env.transaction_id()
        .unwrap()
        .trim_start_matches("tx-")
        .parse()
        .unwrap()
}

async fn next_event(sub: &mut luthien_gateway::activity::Subscription) -> Envelope {
    match tokio::time::timeout(Duration::from_secs(1), sub.recv()).await {
        Ok(Some(Delivery::Event(env))) => env,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn every_subscriber_receives_published_events_in_order_with_increasing_ids() {
    let bus = ActivityBus::in_process();
    let mut a = bus.subscribe();
    let mut b = bus.subscribe();
    for n in 0..100 {
        bus.publish(started(n, "s"));
    }
    for sub in [&mut a, &mut b] {
        for n in 0..100 {
            let env = next_event(sub).await;
            assert_eq!(tx_number(&env), n);
            assert_eq!(env.id, n as u64 + 1);
            assert_eq!(env.instance, bus.instance_id());
        }
    }
}

#[tokio::test]
async fn a_subscriber_only_sees_events_published_after_it_subscribed() {
    let bus = ActivityBus::in_process();
    bus.publish(started(0, "s"));
    let mut sub = bus.subscribe();
    bus.publish(started(1, "s"));
    assert_eq!(tx_number(&next_event(&mut sub).await), 1);
}

#[tokio::test]
async fn publishing_with_no_subscribers_is_fine() {
    let bus = ActivityBus::in_process();
    for n in 0..10 {
        bus.publish(started(n, "s"));
    }
    assert_eq!(bus.recent(100).len(), 10);
}

#[tokio::test]
async fn a_subscriber_that_never_reads_is_dropped_with_a_lagged_marker_while_others_get_everything()
{
    const TOTAL: usize = 10_000;
    let bus = ActivityBus::in_process();
    let mut stalled = bus.subscribe();
    let mut reader = bus.subscribe();
    let reading = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(TOTAL);
        while seen.len() < TOTAL {
            match reader.recv().await {
                Some(Delivery::Event(env)) => seen.push(tx_number(&env)),
                other => panic!("the reading subscriber must not lag: {other:?}"),
            }
        }
        seen
    });

    let start = Instant::now();
    for n in 0..TOTAL {
        bus.publish(started(n, "s"));
        // Give the reader a turn now and then (single-threaded runtime, and tokio lets a task
        // receive about 128 messages per turn); the stalled one never reads.
        if n % 64 == 63 {
            tokio::task::yield_now().await;
        }
    }
    let publishing = start.elapsed();
    assert!(
        publishing < Duration::from_secs(2),
        "publishing {TOTAL} events took {publishing:?}"
    );

    let seen = tokio::time::timeout(Duration::from_secs(5), reading)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, (0..TOTAL).collect::<Vec<_>>());

    match stalled.recv().await {
        Some(Delivery::Lagged { missed }) => assert!(missed > 0, "missed {missed}"),
        other => panic!("expected a lagged marker, got {other:?}"),
    }
    assert_eq!(stalled.recv().await, None, "a lagged subscription ends");
    assert_eq!(stalled.recv().await, None);
}

#[tokio::test]
async fn the_replay_ring_keeps_only_the_most_recent_events() {
    let bus = ActivityBus::in_process();
    for n in 0..500 {
        bus.publish(started(n, "s"));
    }
    let all = bus.recent(1_000);
    assert_eq!(all.len(), 200, "default ring capacity");
    assert_eq!(
        all.iter().map(tx_number).collect::<Vec<_>>(),
        (300..500).collect::<Vec<_>>()
    );
    let last = bus.recent(3);
    assert_eq!(
        last.iter().map(tx_number).collect::<Vec<_>>(),
        vec![497, 498, 499]
    );
    assert!(bus.recent(0).is_empty());

    let small = ActivityBus::in_process_with(BusConfig {
        replay_capacity: 5,
        ..BusConfig::default()
    });
    for n in 0..20 {
        small.publish(started(n, "s"));
    }
    assert_eq!(small.recent(100).len(), 5);
}

#[tokio::test]
async fn subscribe_with_recent_neither_repeats_nor_skips_events() {
    let bus = ActivityBus::in_process();
    for n in 0..10 {
        bus.publish(started(n, "s"));
    }
    let (recent, mut sub) = bus.subscribe_with_recent();
    bus.publish(started(10, "s"));
    assert_eq!(
        recent.iter().map(tx_number).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(tx_number(&next_event(&mut sub).await), 10);
}

#[tokio::test]
async fn envelopes_serialize_with_a_snake_case_kind_tag_and_round_trip() {
    let bus = ActivityBus::in_process();
    let mut sub = bus.subscribe();
    bus.publish(ActivityEvent::Decision {
        transaction_id: "tx-1".into(),
        session_id: Some("sess".into()),
        policy: "tool_call_judge".into(),
        block_index: 2,
        verdict: "block".into(),
        status: "ok".into(),
        score: Some(0.93),
        at_ms: 5,
    });
    let env = next_event(&mut sub).await;
    let json = serde_json::to_value(&env).unwrap();
    assert_eq!(json["id"], 1);
    assert_eq!(json["instance"], bus.instance_id());
    assert_eq!(json["event"]["kind"], "decision");
    assert_eq!(json["event"]["block_index"], 2);
    assert_eq!(json["event"]["score"], 0.93);
    let back: Envelope = serde_json::from_value(json).unwrap();
    assert_eq!(back, env);
    assert_eq!(env.kind_name(), "decision");
    assert_eq!(env.session_id(), Some("sess"));
    assert_eq!(env.transaction_id(), Some("tx-1"));
    assert_eq!(env.event_id(), format!("{}-1", bus.instance_id()));
}

#[test]
fn every_kind_has_a_listed_name_and_policy_changes_have_no_session_or_transaction() {
    let events = [
        started(1, "s"),
        ActivityEvent::TransactionFinished {
            transaction_id: "t".into(),
            session_id: None,
            model: "m".into(),
            status: 200,
            final_decision: "allowed".into(),
            total_ms: 12.5,
            at_ms: 1,
        },
        ActivityEvent::Decision {
            transaction_id: "t".into(),
            session_id: None,
            policy: "p".into(),
            block_index: 0,
            verdict: "allow".into(),
            status: "ok".into(),
            score: None,
            at_ms: 1,
        },
        ActivityEvent::ApprovalRequested {
            approval_id: "a".into(),
            transaction_id: "t".into(),
            session_id: Some("s".into()),
            policy: "p".into(),
            tool_name: Some("Bash".into()),
            summary: "run rm -rf".into(),
            expires_at_ms: Some(10),
            at_ms: 1,
        },
        ActivityEvent::ApprovalResolved {
            approval_id: "a".into(),
            transaction_id: "t".into(),
            session_id: Some("s".into()),
            outcome: "denied".into(),
            resolved_by: Some("admin".into()),
            at_ms: 2,
        },
        ActivityEvent::PolicyChanged {
            class: "noop".into(),
            config: serde_json::json!({}),
            activated_by: "admin".into(),
            at_ms: 3,
        },
    ];
    let names: Vec<&str> = events.iter().map(ActivityEvent::kind_name).collect();
    assert_eq!(names, ActivityEvent::KIND_NAMES);
    for ev in &events {
        let json = serde_json::to_value(ev).unwrap();
        assert_eq!(json["kind"], ev.kind_name());
    }
    let policy = events.last().unwrap();
    assert_eq!(policy.session_id(), None);
    assert_eq!(policy.transaction_id(), None);
}

#[tokio::test]
async fn policy_changes_are_visible_through_the_policy_watch() {
    let bus = ActivityBus::in_process();
    let mut policies = bus.subscribe_policy_changes();
    assert!(policies.borrow().is_none());
    bus.publish(started(1, "s"));
    bus.publish(ActivityEvent::PolicyChanged {
        class: "all_caps".into(),
        config: serde_json::json!({"x": 1}),
        activated_by: "admin".into(),
        at_ms: 1,
    });
    tokio::time::timeout(Duration::from_secs(1), policies.changed())
        .await
        .unwrap()
        .unwrap();
    let latest = policies.borrow_and_update().clone().unwrap();
    assert!(matches!(
        latest.event,
        ActivityEvent::PolicyChanged { ref class, .. } if class == "all_caps"
    ));
}

#[tokio::test]
async fn in_process_health_is_connected_with_nothing_dropped() {
    let bus = ActivityBus::in_process();
    bus.publish(started(1, "s"));
    assert_eq!(
        bus.health(),
        BusHealth {
            backend: "in_process",
            connected: true,
            dropped: 0
        }
    );
}

#[tokio::test]
async fn clones_share_one_bus_and_separate_buses_have_distinct_instance_ids() {
    let bus = ActivityBus::in_process();
    let clone = bus.clone();
    let mut sub = bus.subscribe();
    clone.publish(started(7, "s"));
    assert_eq!(tx_number(&next_event(&mut sub).await), 7);
    assert_eq!(bus.instance_id(), clone.instance_id());
    assert_ne!(bus.instance_id(), ActivityBus::in_process().instance_id());
}
