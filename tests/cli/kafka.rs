//! The Kafka bridge against a real broker (tansu): `listen --publish kafka://`, `send
//! --publish kafka://` and `relay kafka://`.
//!
//! The broker comes from HOOKCTL_TEST_KAFKA_URL (`.ci/run` starts one with `.ci/kafka.sh`).
//! Without it a test says it was skipped and why; with CI=true that is a failure instead.
//! Every test uses its own topics and groups, so they run in parallel. The broker-loss test
//! runs a tansu of its own behind a proxy it cuts (tansu's prebuilt binary keeps topics only in
//! memory, so a broker that really stopped would lose them).

#[cfg(feature = "kafka")]
mod harness;

#[cfg(feature = "kafka")]
mod with_kafka {
    use std::collections::HashSet;

    use super::harness::*;
    use crate::support::*;

    /// `hookctl send ARGS --to URL`: the exit code and stderr.
    fn send(url: &str, args: &[&str]) -> (i32, String) {
        let out = hookctl()
            .arg("send")
            .args(args)
            .args(["--to", url])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `hookctl send ARGS --publish URL`, which must succeed.
    fn send_published(url: &str, args: &[&str]) {
        let out = hookctl()
            .arg("send")
            .args(args)
            .args(["--publish", url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn listen_publish_is_acknowledged_before_the_2xx_byte_exact() {
        let Some(k) = kafka("listen_publish_is_acknowledged_before_the_2xx_byte_exact") else {
            return;
        };
        let topic = unique("exact");
        let dir = tempfile::tempdir().unwrap();
        let capture = dir.path().join("in.jsonl");
        let binary = dir.path().join("body.bin");
        std::fs::write(&binary, [0u8, 159, 146, 150, 255, b'\n', 1]).unwrap();
        let source = Listen::start(&[
            "--publish",
            &k.url(&topic, 1),
            "--capture",
            capture.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            source
                .stderr
                .seen
                .iter()
                .any(|l| l.starts_with(&format!("publishing to topic \"{topic}\""))),
            "{:?}",
            source.stderr.seen
        );
        let hooks = format!("{}/hooks/in?x=1", source.url);
        let data = format!("@{}", binary.display());
        let sends: [Vec<&str>; 3] = [
            vec![
                "payment_success",
                "--sign",
                "stripe",
                "--secret",
                "whsec_test",
                "-H",
                "X-Extra: a b",
            ],
            vec![
                "--data",
                &data,
                "-H",
                "Content-Type: application/octet-stream",
            ],
            vec!["--data", "{\"no\":\"type\"}", "-X", "PUT"],
        ];
        for (i, args) in sends.iter().enumerate() {
            let (code, err) = send(&hooks, args);
            assert_eq!(code, 0, "{args:?}: {err}");
            // The 2xx came after the broker's acknowledgement: the message is there now.
            let records = k.read(&topic, i + 1);
            assert_eq!(records.len(), i + 1, "{records:?}");
        }
        let records = k.read(&topic, 3);
        let captured = std::fs::read_to_string(&capture).unwrap();
        let lines: Vec<&str> = captured.lines().collect();
        assert_eq!(lines.len(), 3);
        for (record, line) in records.iter().zip(&lines) {
            // The value is the capture line, byte for byte; the key is the event id.
            assert_eq!(record.payload, line.as_bytes());
            let event = hookctl::event::Event::from_json_line(line.as_bytes())
                .unwrap()
                .unwrap();
            assert_eq!(record.key, event.id.as_bytes());
            assert_eq!(
                record.header("event-id").as_deref(),
                Some(event.id.as_str())
            );
            assert_eq!(record.header("event-type"), event.event_type);
            assert_eq!(
                record.header("content-type").as_deref(),
                Some("application/json")
            );
        }
        let events: Vec<_> = records
            .iter()
            .map(|r| {
                hookctl::event::Event::from_json_line(&r.payload)
                    .unwrap()
                    .unwrap()
            })
            .collect();
        assert_eq!(events[0].event_type.as_deref(), Some("payment_success"));
        assert!(events[0].header("stripe-signature").is_some());
        assert_eq!(events[1].body.as_ref(), [0u8, 159, 146, 150, 255, b'\n', 1]);
        assert_eq!(events[2].method, "PUT");
        assert_eq!(records[2].header("event-type"), None);
    }

    #[test]
    fn relay_delivers_and_a_restart_resumes_from_the_committed_offsets() {
        let Some(k) = kafka("relay_delivers_and_a_restart_resumes_from_the_committed_offsets")
        else {
            return;
        };
        let (topic, group) = (unique("resume"), unique("group"));
        let url = k.url(&topic, 2);
        for id in ["evt_a1", "evt_a2", "evt_a3"] {
            send_published(&url, &["order_created", "--id", id]);
        }
        let recorder = Recorder::ok();
        let relay = |count: &str| {
            hookctl()
                .args([
                    "relay",
                    &url,
                    "--group",
                    &group,
                    "--to",
                    &recorder.url,
                    "--count",
                    count,
                    "--concurrency",
                    "4",
                ])
                .output()
                .unwrap()
        };
        let out = relay("3");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("relay: 3 delivered, 0 dead-lettered"), "{err}");
        let first: HashSet<String> = recorder.take(3).into_iter().map(|s| s.event.id).collect();
        assert_eq!(
            first,
            HashSet::from(["evt_a1", "evt_a2", "evt_a3"].map(String::from))
        );
        for id in ["evt_b1", "evt_b2"] {
            send_published(&url, &["order_created", "--id", id]);
        }
        // The second run starts where the first one committed: only the new events.
        let out = relay("2");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let second: HashSet<String> = recorder.take(2).into_iter().map(|s| s.event.id).collect();
        assert_eq!(
            second,
            HashSet::from(["evt_b1", "evt_b2"].map(String::from))
        );
        assert!(recorder.drain().is_empty());
    }

    #[test]
    fn two_relays_in_one_group_share_the_partitions_and_deliver_each_event_once() {
        let Some(k) = kafka("two_relays_in_one_group_share_the_partitions") else {
            return;
        };
        let (topic, group) = (unique("shared"), unique("group"));
        let url = k.url(&topic, 4);
        let recorder = Recorder::ok();
        let args = ["relay", &url, "--group", &group, "--to", &recorder.url];
        let mut first = spawn_hookctl(&args);
        let assigned = |l: &str| l.contains("assigned partitions") && !l.ends_with(": none");
        first
            .stderr
            .wait_for("the first relay's partitions", assigned);
        let mut second = spawn_hookctl(&args);
        second
            .stderr
            .wait_for("the second relay's partitions", assigned);
        // The first relay gave some partitions up and got the rest back.
        first
            .stderr
            .wait_for("the first relay's new partitions", assigned);
        let sent: HashSet<String> = (0..24).map(|i| format!("evt_shared_{i}")).collect();
        for id in &sent {
            send_published(&url, &["payment_success", "--id", id]);
        }
        let got: Vec<String> = recorder.take(24).into_iter().map(|s| s.event.id).collect();
        assert_eq!(got.iter().cloned().collect::<HashSet<_>>(), sent);
        assert!(first.interrupt().success());
        assert!(second.interrupt().success());
        assert!(recorder.drain().is_empty(), "an event was delivered twice");
        let delivered = |s: &mut Spawned| -> u64 {
            let line = s
                .stderr
                .wait_for("the summary", |l| l.starts_with("relay: "));
            line.trim_start_matches("relay: ")
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (a, b) = (delivered(&mut first), delivered(&mut second));
        assert_eq!(a + b, 24);
        assert!(a > 0 && b > 0, "one relay did all the work: {a} and {b}");
    }

    #[test]
    fn failed_and_invalid_messages_are_dead_lettered_with_the_reason() {
        let Some(k) = kafka("failed_and_invalid_messages_are_dead_lettered_with_the_reason") else {
            return;
        };
        let (topic, group) = (unique("dead"), unique("group"));
        let url = k.url(&topic, 1);
        send_published(&url, &["payment_failed", "--id", "evt_doomed"]);
        k.produce_raw(&topic, b"not json at all");
        let recorder = Recorder::start(|_, _| (status_reply(500, &[]), None));
        let dead_topic = format!("{topic}.graveyard");
        let out = hookctl()
            .args([
                "relay",
                &url,
                "--group",
                &group,
                "--to",
                &recorder.url,
                "--retries",
                "1",
                "--backoff",
                "1ms",
                "--count",
                "2",
                "--dead-letter-topic",
                &dead_topic,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(
            err.contains("relay: 0 delivered, 1 dead-lettered, 1 invalid"),
            "{err}"
        );
        assert_eq!(recorder.take(2).len(), 2, "one attempt and one retry");
        let dead = k.read(&dead_topic, 2);
        let doomed = dead
            .iter()
            .find(|r| r.key == b"evt_doomed")
            .expect("the failed event");
        let reason = doomed.header("x-hookctl-error").unwrap();
        assert!(
            reason.contains("500") && reason.contains("after 2 attempts"),
            "{reason}"
        );
        assert_eq!(doomed.header("event-id").as_deref(), Some("evt_doomed"));
        assert_eq!(
            doomed.header("x-hookctl-topic").as_deref(),
            Some(topic.as_str())
        );
        assert_eq!(doomed.header("x-hookctl-offset").as_deref(), Some("0"));
        let original = k.read(&topic, 2);
        assert_eq!(doomed.payload, original[0].payload);
        let junk = dead
            .iter()
            .find(|r| r.payload == b"not json at all")
            .expect("the invalid message");
        let reason = junk.header("x-hookctl-error").unwrap();
        assert!(reason.starts_with("not a hookctl event"), "{reason}");
    }

    #[test]
    fn every_event_answered_2xx_is_in_the_topic_when_the_broker_goes_away_mid_burst() {
        let test = "every_event_answered_2xx_is_in_the_topic_when_the_broker_goes_away";
        let Some(broker) = OwnBroker::start(test) else {
            return;
        };
        let topic = unique("loss");
        let listen = Listen::start(&["--publish", &broker.url(&topic), "--quiet"]);
        let url = listen.url.clone();
        let post = move |id: String| -> (String, bool) {
            let body = format!("{{\"id\":\"{id}\",\"type\":\"burst\"}}");
            let head = raw_request(
                &url,
                format!(
                    "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
            (id, head.starts_with("HTTP/1.1 2"))
        };
        let mut answered = Vec::new();
        for i in 0..10 {
            answered.push(post(format!("evt_before_{i}")));
        }
        // The broker goes away with deliveries on their way in.
        broker.proxy.cut();
        let during: Vec<_> = (0..5)
            .map(|i| {
                let post = post.clone();
                std::thread::spawn(move || post(format!("evt_during_{i}")))
            })
            .collect();
        let refused = broker.proxy.refused();
        let deadline = std::time::Instant::now() + WAIT;
        while broker.proxy.refused() == refused {
            assert!(
                std::time::Instant::now() < deadline,
                "listen never tried to reconnect"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        broker.proxy.restore();
        for handle in during {
            answered.push(handle.join().unwrap());
        }
        for i in 0..10 {
            answered.push(post(format!("evt_after_{i}")));
        }
        let ok: HashSet<String> = answered
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(id, _)| id.clone())
            .collect();
        assert!(ok.len() >= 20, "{answered:?}");
        let records = read_topic(&broker.brokers(), &topic, 0);
        let stored: HashSet<String> = records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.key).into_owned())
            .collect();
        let missing: Vec<_> = ok.difference(&stored).collect();
        assert!(
            missing.is_empty(),
            "answered 2xx but not in the topic: {missing:?}"
        );
    }

    #[test]
    fn routes_fan_out_to_three_apps_by_type_with_a_kafka_route_beside_them() {
        let Some(k) = kafka("routes_fan_out_to_three_apps_by_type_with_a_kafka_route") else {
            return;
        };
        let topic = unique("routed");
        let (pay, order, audit) = (Recorder::ok(), Recorder::ok(), Recorder::ok());
        let bus = k.url(&topic, 1);
        let mut listen = Listen::start(&[
            "--quiet",
            "--route",
            "pay:type=payment_*",
            &pay.url,
            "--route",
            "order:type=order_*",
            &order.url,
            "--route",
            "audit:*",
            &audit.url,
            "--route",
            "bus:*",
            &bus,
        ]);
        for event in ["payment_success", "order_created", "refund_created"] {
            let (code, err) = send(&listen.url, &[event]);
            assert_eq!(code, 0, "{event}: {err}");
        }
        assert_eq!(
            pay.take(1)[0].event.event_type.as_deref(),
            Some("payment_success")
        );
        assert_eq!(
            order.take(1)[0].event.event_type.as_deref(),
            Some("order_created")
        );
        assert_eq!(audit.take(3).len(), 3);
        // Each 2xx came after the broker's acknowledgement of the bus route.
        let types: HashSet<String> = k
            .read(&topic, 3)
            .iter()
            .filter_map(|r| r.header("event-type"))
            .collect();
        assert_eq!(
            types,
            HashSet::from(["payment_success", "order_created", "refund_created"].map(String::from))
        );
        listen.interrupt();
        assert!(pay.drain().is_empty() && order.drain().is_empty());
    }

    #[test]
    fn relay_route_fans_a_topic_out_and_commits_after_every_route_accepted() {
        let Some(k) = kafka("relay_route_fans_a_topic_out") else {
            return;
        };
        let (topic, group) = (unique("relay-route"), unique("group"));
        let url = k.url(&topic, 1);
        send_published(&url, &["payment_success", "--id", "evt_rp"]);
        send_published(&url, &["order_created", "--id", "evt_ro"]);
        let pay = Recorder::ok();
        let dir = tempfile::tempdir().unwrap();
        let all = dir.path().join("all.jsonl");
        let all_target = format!("file:{}", all.display());
        let out = hookctl()
            .args(["relay", &url, "--group", &group, "--count", "2"])
            .args(["--route", "pay:type=payment_*", &pay.url])
            .args(["--route", "all:*", &all_target])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("relay: 2 delivered, 0 dead-lettered"), "{err}");
        assert_eq!(
            pay.take(1)[0].event.event_type.as_deref(),
            Some("payment_success")
        );
        assert!(pay.drain().is_empty());
        let ids: HashSet<String> = read_capture(&all).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, HashSet::from(["evt_rp", "evt_ro"].map(String::from)));
        // A route that fails dead-letters the message with the route's reason.
        let dead = dead_url();
        send_published(&url, &["payment_success", "--id", "evt_rx"]);
        let out = hookctl()
            .args(["relay", &url, "--group", &group, "--count", "1"])
            .args(["--route", "gone:*", &dead])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        let dead_letters = k.read(&format!("{topic}.dead-letter"), 1);
        let reason = dead_letters[0].header("x-hookctl-error").unwrap();
        assert!(
            reason.starts_with("route gone (http://127.0.0.1:"),
            "{reason}"
        );
    }

    #[test]
    fn kafka_errors_are_one_line_with_the_exit_code() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["relay", "kafka://127.0.0.1:9/t", "--to", "http://127.0.0.1:1"],
                "a Kafka relay needs a consumer group: pass --group NAME",
            ),
            (
                &["relay", "kafka://127.0.0.1:9/t", "--group", "g", "--queue", "q"],
                "--queue, --exchange, --binding and --dead-letter-exchange/-queue are for amqp:// relays",
            ),
            (
                &["relay", "kafka://127.0.0.1:9/t", "--group", "g", "--dead-letter-topic", "t"],
                "--dead-letter-topic must differ from the topic the relay consumes",
            ),
            (
                &["relay", "kafka://127.0.0.1:9/t", "--group", "g", "--dead-letter-topic", "a b"],
                "--dead-letter-topic: topic \"a b\" may only hold letters",
            ),
            (
                &["relay", "kafka://127.0.0.1/t", "--group", "g"],
                "invalid Kafka URL \"kafka://127.0.0.1/t\": \"127.0.0.1\" has no port",
            ),
            (
                &["send", "order_created", "--publish", "kafka://127.0.0.1:9/t", "--queue", "q"],
                "--exchange and --queue are for amqp:// brokers",
            ),
        ];
        for (args, message) in cases {
            let out = hookctl().args(args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.starts_with("hookctl: error: "), "{err}");
            assert!(err.contains(message), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let out = hookctl()
            .args(["relay", "nats://x/y", "--group", "g"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            err.contains("invalid broker URL \"nats://x/y\": use amqp://"),
            "{err}"
        );
    }

    #[test]
    fn an_unreachable_cluster_fails_at_start() {
        let out = hookctl()
            .args([
                "listen",
                "--port",
                "0",
                "--publish",
                &format!("kafka://{}/t", authority(&dead_url())),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("cannot reach the Kafka cluster at kafka://127.0.0.1:"),
            "{err}"
        );
        assert!(!err.contains("listening on"), "{err}");
    }
}

/// Without the `kafka` feature, every Kafka command says how to get it.
#[cfg(not(feature = "kafka"))]
#[test]
fn without_the_feature_kafka_urls_say_how_to_build_it() {
    for args in [
        &["relay", "kafka://127.0.0.1:9/t", "--group", "g"][..],
        &[
            "send",
            "order_created",
            "--publish",
            "kafka://127.0.0.1:9/t",
        ][..],
    ] {
        let out = crate::support::hookctl().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(
                "built without Kafka support; rebuild with `cargo build --features kafka`"
            ),
            "{err}"
        );
    }
}

/// A relay says which it needs: a queue for RabbitMQ, a group for Kafka.
#[cfg(feature = "amqp")]
#[test]
fn an_amqp_relay_needs_a_queue_and_takes_no_group() {
    for (args, message) in [
        (
            &["relay", "amqp://u:p@127.0.0.1:1/v"][..],
            "relay needs a queue: pass --queue NAME",
        ),
        (
            &[
                "relay",
                "amqp://u:p@127.0.0.1:1/v",
                "--queue",
                "q",
                "--group",
                "g",
            ][..],
            "--group and --dead-letter-topic are for kafka:// relays",
        ),
    ] {
        let out = crate::support::hookctl().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
