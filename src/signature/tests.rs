//! Known-answer, round-trip and failure tests for the signature module.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::provider::rfc3339_utc;
use super::*;

const TS: i64 = 1_700_000_000;
const ID: &str = "msg_2b7Zc9";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A Stripe-style secret whose tail is not base64: Stripe must not decode it.
const STRIPE_SECRET: &str = "whsec_plainstripe";
const TEXT_SECRET: &str = "s3cr\u{e9}t-\u{2603}";
const NON_ASCII: &str = "h\u{e9}llo \u{2603} \u{202e}";

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn request(body: &[u8]) -> SignRequest<'_> {
    SignRequest {
        id: ID,
        timestamp: TS,
        body,
        event_type: None,
    }
}

fn hex_hmac() -> Scheme {
    Scheme::Hmac(HmacOptions {
        header: "X-Signature".to_owned(),
        encoding: Encoding::Hex,
        prefix: "sha256=".to_owned(),
    })
}

fn base64_hmac() -> Scheme {
    Scheme::Hmac(HmacOptions {
        header: "X-Signature".to_owned(),
        encoding: Encoding::Base64,
        prefix: String::new(),
    })
}

/// Every scheme with a secret it accepts.
fn all_schemes() -> Vec<(Scheme, &'static str)> {
    vec![
        (Scheme::Standard, STANDARD_SECRET),
        (Scheme::Stripe, STRIPE_SECRET),
        (Scheme::Github, TEXT_SECRET),
        (Scheme::Shopify, TEXT_SECRET),
        (Scheme::Slack, TEXT_SECRET),
        (hex_hmac(), TEXT_SECRET),
        (base64_hmac(), TEXT_SECRET),
    ]
}

/// A second valid secret for `scheme`, different from the one in [`all_schemes`].
fn other_secret(scheme: &Scheme) -> &'static str {
    match scheme {
        Scheme::Standard => "whsec_b3RoZXIgc2VjcmV0",
        _ => "another secret",
    }
}

fn signed(scheme: &Scheme, secret: &str, req: &SignRequest) -> Vec<(String, String)> {
    sign(scheme, &Secret::new(secret), req).expect("valid secret")
}

fn check_with(
    scheme: &Scheme,
    secrets: &[&str],
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Verdict {
    let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
    verify(scheme, &secrets, &as_headers(headers), body, now, 300)
}

fn as_headers(pairs: &[(String, String)]) -> Headers {
    pairs.iter().map(|(name, value)| (name, value)).collect()
}

fn failure_of(verdict: Verdict) -> Failure {
    match verdict {
        Verdict::Invalid(failure) => failure,
        Verdict::Valid { secret_index } => panic!("unexpectedly valid with secret {secret_index}"),
    }
}

fn value<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn set(headers: &mut [(String, String)], name: &str, new: &str) {
    for (n, v) in headers.iter_mut() {
        if n.eq_ignore_ascii_case(name) {
            *v = new.to_owned();
        }
    }
}

fn malformed_header(failure: &Failure) -> &str {
    match failure {
        Failure::MalformedHeader { header, .. } => header,
        other => panic!("expected MalformedHeader, got {other:?}"),
    }
}

// ---------- published vectors ----------

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    scheme: String,
    secret: String,
    id: Option<String>,
    timestamp: Option<i64>,
    payload: String,
    expected_headers: BTreeMap<String, String>,
}

fn vectors() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signature-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str::<VectorFile>(&text)
        .expect("vector file parses")
        .vectors
}

/// The expected value for a header we produce; Svix vectors spell `webhook-*` as `svix-*`.
fn expected_for<'v>(vector: &'v Vector, name: &str) -> &'v str {
    let svix = name.replace("webhook-", "svix-");
    vector
        .expected_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&svix))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{}: we produce {name}, not expected", vector.name))
}

/// Stripe's published header also carries a legacy `v0=` signature (made with another,
/// unpublished secret) that Stripe's own signing helpers do not produce.
fn without_v0(value: &str) -> String {
    value
        .split(',')
        .filter(|item| !item.starts_with("v0="))
        .collect::<Vec<_>>()
        .join(",")
}

fn vector_request(vector: &Vector) -> SignRequest<'_> {
    SignRequest {
        id: vector.id.as_deref().unwrap_or(""),
        timestamp: vector.timestamp.unwrap_or(0),
        body: vector.payload.as_bytes(),
        event_type: None,
    }
}

#[test]
fn vectors_cover_every_provider() {
    let names: Vec<String> = vectors().into_iter().map(|v| v.scheme).collect();
    for scheme in [
        "standard-webhooks",
        "svix",
        "stripe",
        "github",
        "shopify",
        "slack",
    ] {
        assert!(names.iter().any(|n| n == scheme), "no {scheme} vector");
    }
}

#[test]
fn sign_reproduces_published_vectors() {
    for vector in vectors() {
        let scheme = Scheme::from_name(&vector.scheme, None).expect("known scheme");
        let produced = signed(&scheme, &vector.secret, &vector_request(&vector));
        for (name, value) in &produced {
            let mut expected = expected_for(&vector, name).to_owned();
            if scheme == Scheme::Stripe {
                expected = without_v0(&expected);
            }
            assert_eq!(value, &expected, "{}: {name}", vector.name);
        }
        for name in vector.expected_headers.keys() {
            // The legacy SHA-1 `X-Hub-Signature` is not produced (no SHA-1 here).
            if name.eq_ignore_ascii_case("x-hub-signature") {
                continue;
            }
            let ours = name.replace("svix-", "webhook-");
            assert!(
                produced.iter().any(|(n, _)| n.eq_ignore_ascii_case(&ours)),
                "{}: {name} not produced",
                vector.name
            );
        }
    }
}

#[test]
fn verify_accepts_published_vectors() {
    for vector in vectors() {
        let scheme = Scheme::from_name(&vector.scheme, None).expect("known scheme");
        let headers: Vec<(String, String)> = vector.expected_headers.clone().into_iter().collect();
        let secrets = [Secret::new(vector.secret.as_str())];
        let now = vector.timestamp.unwrap_or(0);
        let verdict = verify(
            &scheme,
            &secrets,
            &as_headers(&headers),
            vector.payload.as_bytes(),
            now,
            300,
        );
        assert_eq!(
            verdict,
            Verdict::Valid { secret_index: 0 },
            "{}",
            vector.name
        );
    }
}

// ---------- own known answers: empty and non-ASCII bodies ----------

/// (scheme, secret, body, header, value) computed independently with Python's `hmac` module.
fn own_vectors() -> Vec<(
    Scheme,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    vec![
        (
            Scheme::Standard,
            STANDARD_SECRET,
            "",
            "webhook-signature",
            "v1,o9D4hskBbyZtlrvdfgAvPLjnESrOGRK1vMucFk65oDY=",
        ),
        (
            Scheme::Standard,
            STANDARD_SECRET,
            NON_ASCII,
            "webhook-signature",
            "v1,O35R4sCLVWR3PbX73z3aR02w8uammL1CiuWAEa2AIiQ=",
        ),
        (
            Scheme::Stripe,
            STRIPE_SECRET,
            "",
            "Stripe-Signature",
            "t=1700000000,v1=3a8880ccca125ffb327760de4dafa82d98ab9c5243581fe5892f90b9e6a277bb",
        ),
        (
            Scheme::Stripe,
            STRIPE_SECRET,
            NON_ASCII,
            "Stripe-Signature",
            "t=1700000000,v1=125dc6ba2f596b50d77f6370b8397e7fe086d5280d7d81bf2005cda3b2516aea",
        ),
        (
            Scheme::Github,
            TEXT_SECRET,
            "",
            "X-Hub-Signature-256",
            "sha256=a83103baeb6d23548196b2b2f007d2d2cf6edf822b98d2b1171039361ca7fc8d",
        ),
        (
            Scheme::Github,
            TEXT_SECRET,
            NON_ASCII,
            "X-Hub-Signature-256",
            "sha256=a4663ce2d26c829b217a97d8381bea871e47b6ab656832a7d07c0a10976fc20d",
        ),
        (
            Scheme::Shopify,
            TEXT_SECRET,
            "",
            "X-Shopify-Hmac-Sha256",
            "qDEDuuttI1SBlrKy8AfS0s9u34IrmNKxFxA5Nhyn/I0=",
        ),
        (
            Scheme::Shopify,
            TEXT_SECRET,
            NON_ASCII,
            "X-Shopify-Hmac-Sha256",
            "pGY84tJsgpshepfYOBvqhx5HtqtlaDKn0HwKEJdvwg0=",
        ),
        (
            Scheme::Slack,
            TEXT_SECRET,
            "",
            "X-Slack-Signature",
            "v0=b765eee733b588f3fcb13ec39486a898a3c931138a1ceeebd8bda687e2ef8204",
        ),
        (
            Scheme::Slack,
            TEXT_SECRET,
            NON_ASCII,
            "X-Slack-Signature",
            "v0=e105641c3e9cc33047edb4b03883f53052e918874cabd255921d11f2c32077fe",
        ),
        (
            hex_hmac(),
            TEXT_SECRET,
            "",
            "X-Signature",
            "sha256=a83103baeb6d23548196b2b2f007d2d2cf6edf822b98d2b1171039361ca7fc8d",
        ),
        (
            hex_hmac(),
            TEXT_SECRET,
            NON_ASCII,
            "X-Signature",
            "sha256=a4663ce2d26c829b217a97d8381bea871e47b6ab656832a7d07c0a10976fc20d",
        ),
        (
            base64_hmac(),
            TEXT_SECRET,
            "",
            "X-Signature",
            "qDEDuuttI1SBlrKy8AfS0s9u34IrmNKxFxA5Nhyn/I0=",
        ),
        (
            base64_hmac(),
            TEXT_SECRET,
            NON_ASCII,
            "X-Signature",
            "pGY84tJsgpshepfYOBvqhx5HtqtlaDKn0HwKEJdvwg0=",
        ),
    ]
}

#[test]
fn sign_matches_independent_known_answers() {
    for (scheme, secret, body, header, expected) in own_vectors() {
        let produced = signed(&scheme, secret, &request(body.as_bytes()));
        assert_eq!(
            value(&produced, header),
            expected,
            "{} {body:?}",
            scheme.name()
        );
    }
}

#[test]
fn sign_then_verify_round_trips() {
    for (scheme, secret, body, _, _) in own_vectors() {
        let produced = signed(&scheme, secret, &request(body.as_bytes()));
        let verdict = check_with(&scheme, &[secret], &produced, body.as_bytes(), TS);
        assert_eq!(
            verdict,
            Verdict::Valid { secret_index: 0 },
            "{}",
            scheme.name()
        );
    }
}

#[test]
fn sign_writes_id_and_timestamp_headers() {
    let produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    assert_eq!(value(&produced, "webhook-id"), ID);
    assert_eq!(value(&produced, "webhook-timestamp"), "1700000000");
    let produced = signed(&Scheme::Slack, TEXT_SECRET, &request(b"{}"));
    assert_eq!(value(&produced, "X-Slack-Request-Timestamp"), "1700000000");
}

#[test]
fn standard_secret_prefix_is_optional() {
    let bare = STANDARD_SECRET.trim_start_matches("whsec_");
    let req = request(b"{}");
    assert_eq!(
        signed(&Scheme::Standard, bare, &req),
        signed(&Scheme::Standard, STANDARD_SECRET, &req)
    );
}

// ---------- header lookup ----------

#[test]
fn header_lookup_is_case_insensitive_and_takes_the_first_duplicate() {
    let produced = signed(&Scheme::Github, TEXT_SECRET, &request(b"x"));
    let good = value(&produced, "X-Hub-Signature-256").to_owned();
    let upper = owned(&[("X-HUB-SIGNATURE-256", &good)]);
    assert!(matches!(
        check_with(&Scheme::Github, &[TEXT_SECRET], &upper, b"x", TS),
        Verdict::Valid { .. }
    ));

    let bad = format!("sha256={}", "0".repeat(64));
    let first_good = owned(&[
        ("x-hub-signature-256", &good),
        ("X-Hub-Signature-256", &bad),
    ]);
    assert!(matches!(
        check_with(&Scheme::Github, &[TEXT_SECRET], &first_good, b"x", TS),
        Verdict::Valid { .. }
    ));
    let first_bad = owned(&[
        ("x-hub-signature-256", &bad),
        ("X-Hub-Signature-256", &good),
    ]);
    assert!(matches!(
        failure_of(check_with(
            &Scheme::Github,
            &[TEXT_SECRET],
            &first_bad,
            b"x",
            TS
        )),
        Failure::Mismatch { reserialized: None }
    ));
}

#[test]
fn svix_header_names_are_accepted() {
    let produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    let svix: Vec<(String, String)> = produced
        .into_iter()
        .map(|(n, v)| (n.replace("webhook-", "svix-"), v))
        .collect();
    assert_eq!(
        check_with(&Scheme::Standard, &[STANDARD_SECRET], &svix, b"{}", TS),
        Verdict::Valid { secret_index: 0 }
    );
}

// ---------- rotation and multiple signatures ----------

#[test]
fn second_of_two_secrets_matches() {
    for (scheme, secret) in all_schemes() {
        let produced = signed(&scheme, secret, &request(b"body"));
        let verdict = check_with(
            &scheme,
            &[other_secret(&scheme), secret],
            &produced,
            b"body",
            TS,
        );
        assert_eq!(
            verdict,
            Verdict::Valid { secret_index: 1 },
            "{}",
            scheme.name()
        );
    }
}

#[test]
fn second_of_two_standard_signatures_matches() {
    let mut produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    let good = value(&produced, "webhook-signature").to_owned();
    let wrong = signed(
        &Scheme::Standard,
        other_secret(&Scheme::Standard),
        &request(b"{}"),
    );
    let combined = format!("v1a,ignored {} {good}", value(&wrong, "webhook-signature"));
    set(&mut produced, "webhook-signature", &combined);
    assert_eq!(
        check_with(&Scheme::Standard, &[STANDARD_SECRET], &produced, b"{}", TS),
        Verdict::Valid { secret_index: 0 }
    );
}

#[test]
fn second_of_two_stripe_signatures_matches() {
    let produced = signed(&Scheme::Stripe, STRIPE_SECRET, &request(b"{}"));
    let good = value(&produced, "Stripe-Signature").trim_start_matches("t=1700000000,");
    let header = format!("t=1700000000,v0=abc,v1={},x=1,{good}", "ab".repeat(32));
    let headers = owned(&[("Stripe-Signature", &header)]);
    assert_eq!(
        check_with(&Scheme::Stripe, &[STRIPE_SECRET], &headers, b"{}", TS),
        Verdict::Valid { secret_index: 0 }
    );
}

// ---------- timestamps ----------

#[test]
fn old_timestamp_is_reported_with_its_age() {
    let produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    let failure = failure_of(check_with(
        &Scheme::Standard,
        &[STANDARD_SECRET],
        &produced,
        b"{}",
        TS + 3605,
    ));
    assert_eq!(
        failure,
        Failure::TimestampOutside {
            skew_secs: 3605,
            tolerance_secs: 300
        }
    );
    assert_eq!(
        failure.to_string(),
        "timestamp is 1h old (tolerance 5m); re-sign (replay --resign) or check the clock"
    );
    assert_eq!(
        failure.at_arrival(),
        "timestamp was 1h old when the event was received (tolerance 5m); it was sent late \
         (queued or retried without re-signing) or the sender's clock is behind"
    );
}

#[test]
fn future_timestamps_rejected_by_standard_and_slack_but_not_stripe() {
    let now = TS - 600;
    for (scheme, secret) in [
        (Scheme::Standard, STANDARD_SECRET),
        (Scheme::Slack, TEXT_SECRET),
    ] {
        let produced = signed(&scheme, secret, &request(b"{}"));
        let failure = failure_of(check_with(&scheme, &[secret], &produced, b"{}", now));
        assert_eq!(
            failure,
            Failure::TimestampOutside {
                skew_secs: -600,
                tolerance_secs: 300
            }
        );
        assert!(
            failure
                .to_string()
                .starts_with("timestamp is 10m in the future (tolerance 5m); check"),
            "{failure}"
        );
    }
    let produced = signed(&Scheme::Stripe, STRIPE_SECRET, &request(b"{}"));
    assert_eq!(
        check_with(&Scheme::Stripe, &[STRIPE_SECRET], &produced, b"{}", now),
        Verdict::Valid { secret_index: 0 }
    );
}

#[test]
fn old_stripe_and_slack_timestamps_are_rejected() {
    for (scheme, secret) in [
        (Scheme::Stripe, STRIPE_SECRET),
        (Scheme::Slack, TEXT_SECRET),
    ] {
        let produced = signed(&scheme, secret, &request(b"{}"));
        let failure = failure_of(check_with(&scheme, &[secret], &produced, b"{}", TS + 301));
        assert_eq!(
            failure,
            Failure::TimestampOutside {
                skew_secs: 301,
                tolerance_secs: 300
            }
        );
    }
}

#[test]
fn tolerance_boundary_is_inclusive_and_zero_disables_the_check() {
    let secrets = [Secret::new(STANDARD_SECRET)];
    let produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    let headers = as_headers(&produced);
    let at_the_boundary = [TS + 300, TS - 300].map(|now| (now, 300));
    let unchecked = [TS + 1_000_000, TS - 1_000_000, i64::MAX, i64::MIN].map(|now| (now, 0));
    for (now, tolerance) in at_the_boundary.into_iter().chain(unchecked) {
        let verdict = verify(&Scheme::Standard, &secrets, &headers, b"{}", now, tolerance);
        assert_eq!(
            verdict,
            Verdict::Valid { secret_index: 0 },
            "{now} {tolerance}"
        );
    }
}

#[test]
fn mismatch_wins_over_an_out_of_tolerance_timestamp() {
    let produced = signed(&Scheme::Standard, STANDARD_SECRET, &request(b"{}"));
    let failure = failure_of(check_with(
        &Scheme::Standard,
        &[STANDARD_SECRET],
        &produced,
        b"other",
        TS + 9999,
    ));
    assert_eq!(failure, Failure::Mismatch { reserialized: None });
}

// ---------- mismatch and re-serialisation ----------

#[test]
fn wrong_secret_or_changed_body_is_a_mismatch() {
    for (scheme, secret) in all_schemes() {
        let produced = signed(&scheme, secret, &request(b"original"));
        let wrong = check_with(
            &scheme,
            &[other_secret(&scheme)],
            &produced,
            b"original",
            TS,
        );
        let changed = check_with(&scheme, &[secret], &produced, b"originaL", TS);
        for verdict in [wrong, changed] {
            let failure = failure_of(verdict);
            assert_eq!(
                failure,
                Failure::Mismatch { reserialized: None },
                "{}",
                scheme.name()
            );
            assert_eq!(
                failure.to_string(),
                "signature does not match: wrong secret, or the body was changed after signing; \
                 check the secret and pass the raw body through byte for byte"
            );
        }
    }
}

#[test]
fn signature_over_reserialised_json_is_diagnosed() {
    let raw = br#"{"b": 1,   "a": [1, 2], "s": "h\u00e9"}"#;
    let value: serde_json::Value = serde_json::from_slice(raw).expect("json");
    let compact = serde_json::to_vec(&value).expect("json");
    let pretty = serde_json::to_vec_pretty(&value).expect("json");
    for (scheme, secret) in all_schemes() {
        for (signed_body, kind) in [
            (&compact, Reserialized::Compact),
            (&pretty, Reserialized::Pretty),
        ] {
            let produced = signed(&scheme, secret, &request(signed_body));
            let failure = failure_of(check_with(
                &scheme,
                &[other_secret(&scheme), secret],
                &produced,
                raw,
                TS,
            ));
            assert_eq!(
                failure,
                Failure::Mismatch {
                    reserialized: Some(kind)
                },
                "{}",
                scheme.name()
            );
            assert!(failure
                .to_string()
                .contains(&format!("matches its {kind} JSON re-serialisation")));
        }
    }
}

#[test]
fn pretty_json_with_a_trailing_newline_is_diagnosed() {
    // Stripe signs pretty JSON that ends in a newline; a compacted copy must still be explained.
    let compact = br#"{"id":"evt_1","data":{"n":[1,2]}}"#;
    let value: serde_json::Value = serde_json::from_slice(compact).expect("json");
    let mut signed_body = serde_json::to_vec_pretty(&value).expect("json");
    signed_body.push(b'\n');
    let produced = signed(&Scheme::Stripe, TEXT_SECRET, &request(&signed_body));
    let failure = failure_of(check_with(
        &Scheme::Stripe,
        &[TEXT_SECRET],
        &produced,
        compact,
        TS,
    ));
    assert_eq!(
        failure,
        Failure::Mismatch {
            reserialized: Some(Reserialized::Pretty)
        }
    );
}

#[test]
fn reserialisation_identical_to_the_body_is_not_reported() {
    // The compact form equals this body, so only a plain mismatch can be reported.
    let body = br#"{"a":1}"#;
    let produced = signed(&Scheme::Github, TEXT_SECRET, &request(body));
    let failure = failure_of(check_with(
        &Scheme::Github,
        &[other_secret(&Scheme::Github)],
        &produced,
        body,
        TS,
    ));
    assert_eq!(failure, Failure::Mismatch { reserialized: None });
    assert_eq!(
        Reserialized::detect(body, |_| true),
        Some(Reserialized::Pretty)
    );
    assert_eq!(Reserialized::detect(b"not json", |_| true), None);
}

// ---------- missing and malformed headers ----------

#[test]
fn missing_signature_header_names_header_and_scheme() {
    let failure = failure_of(check_with(&Scheme::Github, &[TEXT_SECRET], &[], b"", TS));
    assert_eq!(
        failure,
        Failure::MissingHeader {
            header: "X-Hub-Signature-256".to_owned(),
            scheme: "github".to_owned(),
            looks_like: None
        }
    );
    assert_eq!(
        failure.to_string(),
        "missing the X-Hub-Signature-256 header; is the sender signing with the github scheme?"
    );
}

#[test]
fn missing_header_hints_at_the_scheme_actually_used() {
    let produced = signed(&Scheme::Stripe, STRIPE_SECRET, &request(b"{}"));
    let failure = failure_of(check_with(
        &Scheme::Github,
        &[TEXT_SECRET],
        &produced,
        b"{}",
        TS,
    ));
    assert!(
        matches!(&failure, Failure::MissingHeader { looks_like: Some(s), .. } if s == "stripe")
    );
    assert!(
        failure.to_string().contains("try the stripe scheme"),
        "{failure}"
    );
}

#[test]
fn missing_id_or_timestamp_header_is_reported() {
    let cases = [
        (Scheme::Standard, STANDARD_SECRET, "webhook-id"),
        (Scheme::Standard, STANDARD_SECRET, "webhook-timestamp"),
        (Scheme::Slack, TEXT_SECRET, "X-Slack-Request-Timestamp"),
    ];
    for (scheme, secret, dropped) in cases {
        let mut produced = signed(&scheme, secret, &request(b"{}"));
        produced.retain(|(n, _)| n != dropped);
        let failure = failure_of(check_with(&scheme, &[secret], &produced, b"{}", TS));
        assert!(
            matches!(&failure, Failure::MissingHeader { header, looks_like: None, .. } if header == dropped),
            "{failure:?}"
        );
    }
    let svix = owned(&[("svix-id", ID), ("svix-signature", "v1,AAAA")]);
    let failure = failure_of(check_with(
        &Scheme::Standard,
        &[STANDARD_SECRET],
        &svix,
        b"{}",
        TS,
    ));
    assert!(
        matches!(&failure, Failure::MissingHeader { header, .. } if header == "svix-timestamp")
    );
}

/// (scheme, headers, header reported, text the explanation contains)
type MalformedCase = (Scheme, Vec<(String, String)>, &'static str, &'static str);

#[test]
fn malformed_headers_are_explained() {
    let sig = "ab".repeat(32);
    let b64 = "A".repeat(43) + "=";
    let cases: Vec<MalformedCase> = vec![
        (
            Scheme::Standard,
            owned(&[
                ("webhook-id", ID),
                ("webhook-timestamp", "soon"),
                ("webhook-signature", &format!("v1,{b64}")),
            ]),
            "webhook-timestamp",
            "not a Unix timestamp",
        ),
        (
            Scheme::Standard,
            owned(&[
                ("webhook-id", ID),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1a,abc v2,def"),
            ]),
            "webhook-signature",
            "no v1 signature",
        ),
        (
            Scheme::Standard,
            owned(&[
                ("webhook-id", ID),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1,@@@"),
            ]),
            "webhook-signature",
            "not valid base64",
        ),
        (
            Scheme::Stripe,
            owned(&[("Stripe-Signature", &format!("v1={sig}"))]),
            "Stripe-Signature",
            "no t=<timestamp>",
        ),
        (
            Scheme::Stripe,
            owned(&[("Stripe-Signature", &format!("t=12x,v1={sig}"))]),
            "Stripe-Signature",
            "not a Unix timestamp",
        ),
        (
            Scheme::Stripe,
            owned(&[("Stripe-Signature", &format!("t=1700000000,v0={sig}"))]),
            "Stripe-Signature",
            "no v1= signature",
        ),
        (
            Scheme::Github,
            owned(&[(
                "X-Hub-Signature-256",
                "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
            )]),
            "X-Hub-Signature-256",
            "SHA-1",
        ),
        (
            Scheme::Github,
            owned(&[("X-Hub-Signature-256", "sha256=zz")]),
            "X-Hub-Signature-256",
            "not valid hex",
        ),
        (
            Scheme::Shopify,
            owned(&[("X-Shopify-Hmac-Sha256", "AAAA")]),
            "X-Shopify-Hmac-Sha256",
            "decodes to 3 bytes",
        ),
        (
            Scheme::Slack,
            owned(&[
                ("X-Slack-Signature", &sig),
                ("X-Slack-Request-Timestamp", "1700000000"),
            ]),
            "X-Slack-Signature",
            "start with `v0=`",
        ),
        (
            Scheme::Slack,
            owned(&[
                ("X-Slack-Signature", &format!("v0={sig}")),
                ("X-Slack-Request-Timestamp", ""),
            ]),
            "X-Slack-Request-Timestamp",
            "not a Unix timestamp",
        ),
        (
            hex_hmac(),
            owned(&[("x-signature", &sig)]),
            "X-Signature",
            "start with `sha256=`",
        ),
    ];
    for (scheme, headers, header, detail) in cases {
        let secret = if scheme == Scheme::Standard {
            STANDARD_SECRET
        } else {
            TEXT_SECRET
        };
        let failure = failure_of(check_with(&scheme, &[secret], &headers, b"{}", TS));
        assert_eq!(malformed_header(&failure), header, "{failure:?}");
        let text = failure.to_string();
        assert!(
            text.starts_with(&format!("malformed {header} header: ")),
            "{text}"
        );
        assert!(text.contains(detail), "{text}");
    }
}

// ---------- secrets ----------

#[test]
fn empty_secret_is_rejected_by_every_scheme() {
    for (scheme, _) in all_schemes() {
        let error = sign(&scheme, &Secret::new(""), &request(b"")).expect_err("empty secret");
        assert_eq!(error.to_string(), "the secret is empty");
        let failure = failure_of(check_with(&scheme, &[""], &[], b"", TS));
        assert_eq!(
            failure,
            Failure::BadSecret {
                detail: "the secret is empty".to_owned()
            }
        );
    }
}

#[test]
fn standard_secret_must_be_base64() {
    let cases = [
        ("whsec_not base64!", "secret starts with whsec_ but the rest is not valid base64, as the standard scheme requires"),
        ("not base64!", "the standard scheme needs a base64 secret (optionally prefixed with whsec_), and this one is not valid base64"),
        ("whsec_", "the secret is empty after its whsec_ prefix"),
    ];
    for (secret, message) in cases {
        let error = sign(&Scheme::Standard, &Secret::new(secret), &request(b"")).expect_err(secret);
        assert_eq!(error.to_string(), message);
        let failure = failure_of(check_with(&Scheme::Standard, &[secret], &[], b"", TS));
        assert_eq!(
            failure,
            Failure::BadSecret {
                detail: message.to_owned()
            }
        );
        assert_eq!(failure.to_string(), format!("unusable secret: {message}"));
    }
    // Other schemes use the secret as text, so the same strings are fine there.
    assert!(sign(
        &Scheme::Stripe,
        &Secret::new("whsec_not base64!"),
        &request(b"")
    )
    .is_ok());
}

#[test]
fn bad_secret_among_several_is_numbered_and_no_secret_is_an_error() {
    let failure = failure_of(check_with(
        &Scheme::Standard,
        &[STANDARD_SECRET, "whsec_!!"],
        &[],
        b"",
        TS,
    ));
    assert!(matches!(&failure, Failure::BadSecret { detail } if detail.starts_with("secret #2: ")));
    let failure = failure_of(verify(&Scheme::Github, &[], &Headers::new(), b"", TS, 300));
    assert!(matches!(failure, Failure::BadSecret { .. }));
}

#[test]
fn secrets_never_appear_in_output() {
    let secret = "whsec_c3VwZXJzZWNyZXRrZXk=";
    let wrapped = Secret::new(secret);
    assert!(!format!("{wrapped:?} {wrapped}").contains("c3VwZXJzZWNyZXRrZXk"));
    let produced = signed(&Scheme::Standard, secret, &request(b"{\"a\": 1}"));
    let mut failures = vec![
        failure_of(check_with(
            &Scheme::Standard,
            &[secret],
            &produced,
            b"{\"a\":2}",
            TS,
        )),
        failure_of(check_with(
            &Scheme::Standard,
            &[secret],
            &produced,
            b"{\"a\": 1}",
            TS + 999,
        )),
        failure_of(check_with(&Scheme::Standard, &[secret], &[], b"", TS)),
        failure_of(check_with(
            &Scheme::Standard,
            &["whsec_c3VwZXJ!zZWNyZXRrZXk="],
            &[],
            b"",
            TS,
        )),
        failure_of(check_with(
            &Scheme::Standard,
            &["c3VwZXJ!zZWNyZXRrZXk="],
            &[],
            b"",
            TS,
        )),
        failure_of(check_with(&Scheme::Github, &[secret], &produced, b"", TS)),
    ];
    let reserialized = signed(&Scheme::Stripe, secret, &request(b"{\"a\":1}"));
    failures.push(failure_of(check_with(
        &Scheme::Stripe,
        &[secret],
        &reserialized,
        b"{\"a\": 1}",
        TS,
    )));
    for failure in failures {
        let shown = format!("{failure} {failure:?}");
        assert!(!shown.contains("c3VwZXJ"), "{shown}");
    }
}

// ---------- scheme metadata ----------

#[test]
fn from_name_knows_names_and_aliases() {
    for name in Scheme::NAMES.iter().filter(|n| **n != "hmac") {
        assert_eq!(Scheme::from_name(name, None).expect("known").name(), *name);
    }
    for alias in ["svix", "Standard-Webhooks", " STANDARD "] {
        assert_eq!(Scheme::from_name(alias, None), Ok(Scheme::Standard));
    }
    let options = HmacOptions {
        header: "X-Sig".to_owned(),
        encoding: Encoding::Hex,
        prefix: String::new(),
    };
    assert_eq!(
        Scheme::from_name("hmac", Some(options.clone())),
        Ok(Scheme::Hmac(options.clone()))
    );
    assert_eq!(
        Scheme::from_name("github", Some(options)),
        Ok(Scheme::Github)
    );
    assert!(Scheme::from_name("hmac", None)
        .expect_err("needs options")
        .to_string()
        .contains("header name"));
    let bad_header = HmacOptions {
        header: "X Sig".to_owned(),
        encoding: Encoding::Hex,
        prefix: String::new(),
    };
    assert!(Scheme::from_name("hmac", Some(bad_header)).is_err());
    let error = Scheme::from_name("gitlab", None)
        .expect_err("unknown")
        .to_string();
    assert!(
        error.contains("gitlab")
            && error.contains("standard, stripe, github, shopify, slack, hmac"),
        "{error}"
    );
}

#[test]
fn encoding_parses_from_text() {
    assert_eq!("hex".parse(), Ok(Encoding::Hex));
    assert_eq!("Base64".parse(), Ok(Encoding::Base64));
    assert!("base32".parse::<Encoding>().is_err());
}

#[test]
fn signature_headers_cover_everything_sign_writes() {
    for (scheme, secret) in all_schemes() {
        let listed = scheme.signature_headers();
        assert!(listed.iter().all(|h| *h == h.to_ascii_lowercase()));
        for (name, _) in signed(&scheme, secret, &request(b"")) {
            assert!(
                listed.contains(&name.to_ascii_lowercase()),
                "{} lacks {name}",
                scheme.name()
            );
        }
    }
    assert!(Scheme::Standard
        .signature_headers()
        .contains(&"svix-signature".to_owned()));
    assert!(Scheme::Github
        .signature_headers()
        .contains(&"x-hub-signature".to_owned()));
}

#[test]
fn uses_timestamp_for_standard_stripe_and_slack() {
    for (scheme, _) in all_schemes() {
        let expected = matches!(scheme, Scheme::Standard | Scheme::Stripe | Scheme::Slack);
        assert_eq!(scheme.uses_timestamp(), expected, "{}", scheme.name());
    }
}

#[test]
fn provider_headers_follow_each_provider() {
    let mut req = request(b"{}");
    assert_eq!(
        provider_headers(&Scheme::Github, &req),
        owned(&[("X-GitHub-Event", "ping"), ("X-GitHub-Delivery", ID)])
    );
    assert_eq!(
        provider_headers(&Scheme::Shopify, &req),
        owned(&[
            ("X-Shopify-Webhook-Id", ID),
            ("X-Shopify-Triggered-At", "2023-11-14T22:13:20Z")
        ])
    );
    req.event_type = Some("orders/create");
    assert_eq!(
        value(&provider_headers(&Scheme::Github, &req), "X-GitHub-Event"),
        "orders/create"
    );
    assert_eq!(
        value(&provider_headers(&Scheme::Shopify, &req), "X-Shopify-Topic"),
        "orders/create"
    );
    for scheme in [Scheme::Standard, Scheme::Stripe, Scheme::Slack, hex_hmac()] {
        assert!(provider_headers(&scheme, &req).is_empty());
    }
}

#[test]
fn rfc3339_formats_unix_seconds() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339_utc(4_102_444_800), "2100-01-01T00:00:00Z");
    // Outside what RFC 3339 with a four-digit year holds, clamped rather than failing.
    assert_eq!(rfc3339_utc(-1), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(i64::MAX), "9999-12-31T23:59:59Z");
}
