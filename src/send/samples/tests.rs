//! Tests of the built-in samples and their templates.

use super::*;

#[test]
fn every_sample_builds_an_envelope_with_data() {
    for sample in generic() {
        let body = sample.build("evt_test1", 1_767_225_601);
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys[..3], ["id", "type", "created"], "{}", sample.name);
        assert_eq!(body["id"], "evt_test1");
        assert_eq!(body["type"], sample.name);
        assert_eq!(body["created"], 1_767_225_601);
        let data = body["data"].as_object().unwrap();
        assert!(data.len() >= 5, "{} has a thin data object", sample.name);
        let text = serde_json::to_vec(&body).unwrap();
        assert!(text.starts_with(br#"{"id":"evt_test1","type":""#));
        assert_eq!(serde_json::from_slice::<Value>(&text).unwrap(), body);
        assert!(!sample.description.is_empty());
    }
    assert_eq!(generic().count(), 8);
}

/// The seed's eight generic samples.
fn generic() -> impl Iterator<Item = &'static Sample> {
    all().iter().filter(|s| s.provider.is_none())
}

#[test]
fn payment_success_has_the_fields_the_seed_app_reads() {
    let body = find("payment_success").unwrap().build("evt_1", 0);
    assert_eq!(body["data"]["amount"], 4200);
    assert_eq!(body["data"]["currency"], "usd");
    assert!(body["data"]["customer"]
        .as_str()
        .unwrap()
        .starts_with("cus_"));
    let failed = find("payment_failed").unwrap().build("evt_1", 0);
    assert_eq!(failed["data"]["failure_code"], "card_declined");
}

#[test]
fn domain_fields_are_present_and_consistent() {
    let order = find("order_created").unwrap().build("evt_1", 0)["data"].clone();
    let items = order["line_items"].as_array().unwrap();
    let subtotal: i64 = items.iter().map(|i| i["total"].as_i64().unwrap()).sum();
    assert_eq!(order["subtotal"], subtotal);
    let total = ["subtotal", "shipping", "tax"].map(|k| order[k].as_i64().unwrap());
    assert_eq!(order["total"], total.iter().sum::<i64>());
    let shipped = find("order_shipped").unwrap().build("evt_1", 0)["data"].clone();
    assert!(shipped["tracking_number"]
        .as_str()
        .unwrap()
        .starts_with("1Z"));
    assert_eq!(shipped["estimated_delivery"], "1970-01-04");
    let sensor = find("sensor_reading").unwrap().build("evt_1", 100)["data"].clone();
    assert_eq!(sensor["reading"]["unit"], "celsius");
    assert_eq!(sensor["recorded_at"], "1970-01-01T00:01:38Z");
    let failed = find("pipeline_failed").unwrap().build("evt_1", 0)["data"].clone();
    assert_eq!(failed["failed_stage"], "test");
    assert_eq!(failed["commit"]["sha"].as_str().unwrap().len(), 40);
    assert!(failed["url"].as_str().unwrap().contains("example.com"));
}

#[test]
fn secondary_ids_follow_the_event_id() {
    let sample = find("refund_created").unwrap();
    let a = sample.build("evt_a", 5);
    assert_eq!(a, sample.build("evt_a", 5));
    let b = sample.build("evt_b", 5);
    assert_ne!(a["data"]["refund_id"], b["data"]["refund_id"]);
    assert_ne!(a["request"]["id"], b["request"]["id"]);
    assert_eq!(a["data"]["amount"], b["data"]["amount"]);
}

#[test]
fn extreme_times_do_not_panic() {
    for created in [i64::MIN, -1, i64::MAX] {
        for sample in all() {
            sample.build("evt_x", created);
        }
    }
}

#[test]
fn unknown_names_suggest_the_closest() {
    let err = find("payment_sucess").unwrap_err().to_string();
    assert!(
        err.starts_with("unknown sample event `payment_sucess`; did you mean `payment_success`? Known events: payment_success, payment_failed, "),
        "{err}"
    );
    assert!(
        err.ends_with("pipeline_failed, and stripe:*, github:*, shopify:*, slack:*, standard:* (see `hookctl send --list`)"),
        "{err}"
    );
    let err = find("github:pull_request.open").unwrap_err().to_string();
    assert!(
        err.contains("did you mean `github:pull_request.opened`?"),
        "{err}"
    );
    assert!(
        err.contains("Known events: github:ping, github:push,"),
        "{err}"
    );
    assert!(!err.contains("stripe:"), "only the provider's names: {err}");
    let err = find("Order-Shipped").unwrap_err().to_string();
    assert!(err.contains("did you mean `order_shipped`?"), "{err}");
    let err = find("zzz").unwrap_err().to_string();
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("Known events: payment_success"), "{err}");
}

#[test]
fn templates_render_what_building_from_scratch_gives() {
    for sample in all() {
        let template = Template::compile(&sample.placeholder_body()).unwrap();
        for (id, created) in [
            ("evt_1", 0),
            ("evt_kddSXunEco1ApCOMnDX0A8di", 1_767_225_601),
            ("odd \"id\" \\ \u{1}é", -5),
            ("x", i64::MAX),
        ] {
            let expected = serde_json::to_vec(&sample.build(id, created)).unwrap();
            let got = template.render(id, created);
            assert_eq!(got.len(), got.capacity(), "sized exactly");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected),
                "{}",
                sample.name
            );
        }
    }
}

#[test]
fn placeholders_must_stay_whole_strings() {
    let mut body = find("payment_success").unwrap().placeholder_body();
    body["created"] = Value::String("\u{0}C\u{0}x".into());
    assert!(Template::compile(&body).is_none());
    body["created"] = Value::String("\u{0}Q\u{0}".into());
    assert!(Template::compile(&body).is_none());
}

#[test]
fn every_provider_has_the_events_the_issue_asks_for() {
    let names: Vec<&str> = all().iter().map(|s| s.name.as_str()).collect();
    for wanted in [
        "stripe:payment_intent.succeeded",
        "stripe:payment_intent.payment_failed",
        "stripe:charge.succeeded",
        "stripe:charge.refunded",
        "stripe:checkout.session.completed",
        "stripe:customer.created",
        "stripe:customer.subscription.created",
        "stripe:customer.subscription.updated",
        "stripe:customer.subscription.deleted",
        "stripe:invoice.paid",
        "stripe:invoice.payment_failed",
        "github:ping",
        "github:push",
        "github:pull_request.opened",
        "github:pull_request.synchronize",
        "github:pull_request.closed",
        "github:issues.opened",
        "github:issue_comment.created",
        "github:release.published",
        "github:workflow_run.completed",
        "github:check_run.completed",
        "shopify:orders/create",
        "shopify:orders/paid",
        "shopify:products/update",
        "shopify:customers/create",
        "shopify:app/uninstalled",
        "slack:url_verification",
        "slack:event_callback.app_mention",
        "slack:event_callback.message",
        "slack:slash_command",
        "standard:user.created",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing");
    }
    for sample in all() {
        assert!(!sample.description.is_empty(), "{}", sample.name);
    }
}

#[test]
fn provider_documents_are_consistent() {
    let pi = find("stripe:payment_intent.succeeded")
        .unwrap()
        .build("evt_1", 100);
    let charge = find("stripe:charge.succeeded").unwrap().build("evt_1", 100);
    assert_eq!(pi["object"], "event");
    assert_eq!(pi["type"], "payment_intent.succeeded");
    assert_eq!(pi["id"], "evt_1");
    assert_eq!(pi["created"], 100);
    assert_eq!(pi["data"]["object"]["object"], "payment_intent");
    assert_eq!(charge["data"]["object"]["object"], "charge");
    // With the same key, the PaymentIntent's charge is the charge and vice versa.
    assert_eq!(
        pi["data"]["object"]["latest_charge"],
        charge["data"]["object"]["id"]
    );
    assert_eq!(
        charge["data"]["object"]["payment_intent"],
        pi["data"]["object"]["id"]
    );
    let pi_id = pi["data"]["object"]["id"].as_str().unwrap();
    assert!(pi_id.starts_with("pi_") && pi_id.len() == 27, "{pi_id}");
    let refunded = find("stripe:charge.refunded").unwrap().build("evt_1", 100);
    assert_eq!(refunded["data"]["previous_attributes"]["refunded"], false);
    let push = find("github:push").unwrap().build("evt_1", 100);
    let last = push["commits"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(push["after"], last["id"]);
    assert_eq!(push["head_commit"]["id"], push["after"]);
    let opened = find("github:pull_request.opened")
        .unwrap()
        .build("evt_1", 100);
    let head = &opened["pull_request"]["head"]["sha"];
    assert_eq!(
        push["commits"][0]["id"], *head,
        "the PR's head sha is in the push"
    );
    assert!(opened["pull_request"]["id"].is_u64());
    let order = find("shopify:orders/create").unwrap().build("evt_1", 100);
    assert!(order["id"].is_u64());
    assert!(order["admin_graphql_api_id"]
        .as_str()
        .unwrap()
        .ends_with(&order["id"].to_string()));
}

#[test]
fn provider_headers_name_the_event() {
    let push = find("github:pull_request.opened").unwrap();
    let headers = push.headers("0d9f7a2e-1111-4222-8333-444455556666", "k", 0);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("X-GitHub-Event"), Some("pull_request"));
    assert_eq!(
        get("X-GitHub-Delivery"),
        Some("0d9f7a2e-1111-4222-8333-444455556666")
    );
    assert!(get("User-Agent").unwrap().starts_with("GitHub-Hookshot/"));
    let shop = find("shopify:orders/create").unwrap().headers("id", "k", 0);
    assert!(shop.contains(&("X-Shopify-Topic".to_owned(), "orders/create".to_owned())));
    assert!(shop.contains(&(
        "X-Shopify-Triggered-At".to_owned(),
        "1970-01-01T00:00:00Z".to_owned()
    )));
}

#[test]
fn the_slash_command_is_form_encoded() {
    let sample = find("slack:slash_command").unwrap();
    let body = sample.encode(&sample.build("Ev1", 0));
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.starts_with("token="), "{text}");
    assert!(text.contains("&command=%2Fdeploy&"), "{text}");
    assert!(!text.contains('{'), "{text}");
}

#[test]
fn builtin_flows_carry_ids_between_steps() {
    let catalogue = Catalogue::builtin();
    let Entry::Flow(flow) = catalogue.find("stripe:checkout").unwrap() else {
        panic!("not a flow")
    };
    let mut n = 0;
    let steps = flow
        .build("key", 1000, None, |s| {
            n += 1;
            format!("{}-{n}", s.name)
        })
        .unwrap();
    let types: Vec<_> = steps.iter().map(|s| s.body["type"].clone()).collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "payment_intent.succeeded",
            "charge.succeeded",
            "invoice.paid"
        ]
    );
    let session = &steps[0].body["data"]["object"];
    assert_eq!(
        session["payment_intent"],
        steps[1].body["data"]["object"]["id"]
    );
    assert_eq!(
        steps[2].body["data"]["object"]["payment_intent"],
        session["payment_intent"]
    );
    assert_eq!(session["invoice"], steps[3].body["data"]["object"]["id"]);
    assert_ne!(
        steps[0].body["id"], steps[1].body["id"],
        "each step is its own event"
    );
    assert!(steps.windows(2).all(|w| w[0].created <= w[1].created));
    assert!(
        steps[1..].iter().all(|s| !s.gap.is_zero()),
        "realistic gaps"
    );
    let at_once = flow
        .build("key", 1000, Some(std::time::Duration::ZERO), |_| {
            "evt".into()
        })
        .unwrap();
    assert!(at_once.iter().all(|s| s.gap.is_zero() && s.created == 1000));
    let Entry::Flow(merged) = catalogue.find("github:pr-merged").unwrap() else {
        panic!("not a flow")
    };
    let steps = merged.build("key", 0, None, |_| "id".into()).unwrap();
    assert_eq!(steps[0].body["pull_request"]["merged"], true);
    assert_eq!(
        steps[0].body["pull_request"]["merge_commit_sha"],
        steps[1].body["after"]
    );
}

#[test]
fn a_closed_pipe_under_the_list_is_recognised() {
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = crate::send::list(&Catalogue::builtin(), None, false, &mut Closed).unwrap_err();
    assert!(crate::exit::is_broken_pipe(&err), "{err:#}");
    let err = crate::send::list(&Catalogue::builtin(), Some("nope"), false, &mut Closed)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("no samples for `nope`; providers: generic, stripe"),
        "{err}"
    );
}
