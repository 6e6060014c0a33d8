//! Tests of the built-in samples and their templates.

use super::*;

#[test]
fn every_sample_builds_an_envelope_with_data() {
    for sample in all() {
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
    assert_eq!(all().len(), 8);
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
        err.ends_with("pipeline_failed (see `hookctl send --list`)"),
        "{err}"
    );
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
