//! Tests of [`super`]: expect.rs.

use super::*;
use bytes::Bytes;
use std::time::SystemTime;

fn event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Event {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = Bytes::from(body.to_owned());
    Event::from_parts(method, path, None, headers, body, SystemTime::UNIX_EPOCH)
}

fn payment(id: &str, kind: &str, amount: &str) -> Event {
    let body =
        format!(r#"{{"id":"{id}","type":"{kind}","data":{{"amount":{amount},"currency":"usd"}}}}"#);
    event(
        "POST",
        "/hooks/stripe",
        &[("Stripe-Signature", "t=1,v1=ab")],
        &body,
    )
}

fn expect(text: &str) -> Expectation {
    text.parse().unwrap()
}

#[test]
fn each_predicate_kind_matches_and_misses() {
    let e = payment("evt_1", "payment_success", "4200");
    let hits = [
        "type=payment_success",
        "type=payment_*",
        "path=/hooks/*",
        "method=post",
        "header.stripe-signature=t=*",
        "header.STRIPE-SIGNATURE=*v1=ab",
        "body.data.amount=4200",
        "body.data.currency=usd",
        r#"body.data={"currency":"usd","amount":4200.0}"#,
    ];
    for text in hits {
        assert!(expect(text).matches(&e), "{text} should match");
    }
    let misses = [
        "type=payment_failed",
        "type=refund_*",
        "path=/other",
        "method=GET",
        "header.stripe-signature=v2*",
        "header.x-github-event=*",
        "body.data.amount=4100",
        r#"body.data.amount="4200""#,
        "body.data.currency=eur",
        "body.data.missing=1",
    ];
    for text in misses {
        assert!(!expect(text).matches(&e), "{text} should not match");
    }
}

#[test]
fn numbers_compare_by_value_and_strings_stay_strings() {
    let e = event(
        "POST",
        "/",
        &[],
        r#"{"a":4200.0,"b":"4200","c":[1,2],"d":true}"#,
    );
    assert!(expect("body.a=4200").matches(&e));
    assert!(expect("body.b=\"4200\"").matches(&e));
    assert!(!expect("body.b=4200").matches(&e));
    assert!(expect("body.c=[1,2]").matches(&e));
    assert!(expect("body.c.1=2").matches(&e));
    assert!(expect("body.d=true").matches(&e));
    assert!(!expect("body.d=\"true\"").matches(&e));
}

#[test]
fn untyped_events_have_the_empty_type() {
    let e = event("POST", "/", &[], "not json");
    assert_eq!(e.event_type, None);
    assert!(expect("type=*").matches(&e));
    assert!(expect("type=").matches(&e));
    assert!(!expect("type=?*").matches(&e));
    assert!(!expect("body.a=1").matches(&e));
    let miss = expect("type=push,body.a=1").explain(&e).misses;
    assert_eq!(miss, ["type is missing, not push", "body is not JSON"]);
}

#[test]
fn commas_split_only_before_the_next_key() {
    let e = event(
        "POST",
        "/x",
        &[("x-tag", "a,b")],
        r#"{"items":[1,2],"o":{"k":1,"j":2},"n":"x,y=z"}"#,
    );
    let all =
        expect(r#"body.items=[1,2], body.o={"k":1,"j":2},header.x-tag=a,b,body.n="x,y=z",path=/x"#);
    assert_eq!(all.predicates.len(), 5);
    assert!(all.matches(&e));
    assert_eq!(split("type=a,b"), ["type=a,b"]);
    assert_eq!(split("type=a,method=GET"), ["type=a", "method=GET"]);
    assert_eq!(
        split(r#"body.t=["a","b"],type=x"#),
        [r#"body.t=["a","b"]"#, "type=x"]
    );
}

#[test]
fn parse_errors_name_the_bad_part() {
    let err = "type=x,amount=4"
        .parse::<Expectation>()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "bad --expect `amount=4`: unknown field `amount`; use id=, type=, path=, method=, status=, header.NAME= or body.PATH="
    );
    for (text, part) in [
        ("type", "`type`"),
        ("type=x,", "``: empty predicate"),
        ("type=[", "`type=[`: invalid glob"),
        ("method=P O", "`method=P O`"),
        ("body..a=1", "`body..a=1`"),
        ("header.=x", "unknown field `header.`"),
        ("", "empty"),
    ] {
        let err = text.parse::<Expectation>().unwrap_err().to_string();
        assert!(
            err.starts_with("bad --expect ") && err.contains(part),
            "{text}: {err}"
        );
    }
}

#[test]
fn explain_says_what_the_event_had() {
    let x =
        expect("type=payment_success,body.data.amount=4200,header.x-github-event=push,method=PUT");
    let c = x.explain(&payment("evt_1", "payment_failed", "4100"));
    assert_eq!(c.satisfied, 0);
    assert_eq!(c.total, 4);
    assert_eq!(
        c.misses,
        [
            "type is payment_failed, not payment_success",
            "body.data.amount is 4100, not 4200",
            "header x-github-event is missing",
            "method is POST, not PUT",
        ]
    );
    let c = x.explain(&event(
        "PUT",
        "/",
        &[("X-GitHub-Event", "issues")],
        r#"{"data":{}}"#,
    ));
    assert_eq!(c.satisfied, 1);
    assert_eq!(
        c.misses,
        [
            "type is issues, not payment_success",
            "body.data.amount is missing",
            "header x-github-event is issues, not push",
        ]
    );
    assert_eq!(
        x.text(),
        "type=payment_success,body.data.amount=4200,header.x-github-event=push,method=PUT"
    );
}

#[test]
fn each_event_meets_the_first_unmet_expectation() {
    let twice = vec![
        expect("type=payment_success"),
        expect("type=payment_success"),
    ];
    let mut t = Tracker::new(twice, None);
    assert!(!t.observe(&payment("evt_1", "payment_success", "1")));
    let report = t.unmet_report();
    assert_eq!(
        report[0],
        "expectation #2 `type=payment_success` was not met; closest events:"
    );
    assert!(
        report[1].contains("evt_1 (payment_success): 1/1") && report[1].contains("earlier"),
        "{report:?}"
    );
    assert!(!t.observe(&payment("evt_2", "refund_created", "1")));
    assert!(t.observe(&payment("evt_3", "payment_success", "1")));
    assert!(t.is_done() && t.unmet_report().is_empty());
    assert_eq!(t.seen(), 3);

    let mut t = Tracker::new(vec![expect("type=a*"), expect("type=ab")], Some(1));
    assert!(
        !t.observe(&payment("evt_1", "ab", "1")),
        "ab meets type=a* first"
    );
    assert!(!t.observe(&payment("evt_2", "ac", "1")));
    assert!(t.observe(&payment("evt_3", "ab", "1")));
}

#[test]
fn report_keeps_the_closest_few_events() {
    let mut t = Tracker::new(
        vec![expect("type=payment_success,body.data.amount=4200")],
        None,
    );
    assert_eq!(t.unmet_report(), ["expectation #1 `type=payment_success,body.data.amount=4200` was not met; no events arrived"]);
    for (i, (kind, amount)) in [
        ("x", "1"),
        ("payment_success", "4100"),
        ("y", "2"),
        ("z", "4200"),
        ("w", "3"),
    ]
    .iter()
    .enumerate()
    {
        assert!(!t.observe(&payment(&format!("evt_{i}"), kind, amount)));
    }
    let report = t.unmet_report();
    assert_eq!(report.len(), 1 + CANDIDATES);
    assert_eq!(
        report[1],
        "  evt_1 (payment_success): 1/2 predicates held; body.data.amount is 4100, not 4200"
    );
    assert!(report[2].starts_with("  evt_3 (z): 1/2"), "{report:?}");
    assert!(report[3].starts_with("  evt_0 (x): 0/2"), "{report:?}");
}

#[test]
fn count_mode_without_expectations() {
    let mut t = Tracker::new(Vec::new(), Some(2));
    assert!(!t.observe(&payment("evt_1", "a", "1")));
    assert_eq!(t.unmet_report(), ["expected 2 events, received 1"]);
    assert!(t.observe(&payment("evt_2", "b", "1")));
    assert!(t.unmet_report().is_empty());
    let mut forever = Tracker::new(Vec::new(), None);
    assert!(!forever.observe(&payment("evt_1", "a", "1")));
    assert!(Tracker::new(Vec::new(), Some(0)).is_done());
}
