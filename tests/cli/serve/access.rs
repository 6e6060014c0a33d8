//! Who may do what: subscribe tokens, unguessable ids, signatures checked at the edge, the
//! rate limit, TLS and cross-site refusal.

use std::time::Duration;

use base64::Engine as _;

use super::harness::*;
use crate::support::*;

#[test]
fn subscribing_needs_the_channel_token() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let (other, _) = serve.channel();
    let sse = [("accept", "text/event-stream")];
    let no_token = request(&serve.url, "GET", &format!("/{id}"), &sse, b"");
    assert_eq!(no_token.status, 401, "{no_token:?}");
    assert!(no_token
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert!(
        no_token.text().contains("needs the channel's token"),
        "{}",
        no_token.text()
    );
    let wrong = request(
        &serve.url,
        "GET",
        &format!("/{id}?token={}", token.to_ascii_uppercase()),
        &sse,
        b"",
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("wrong token"));
    // Another channel's token does not open this one.
    let crossed = request(
        &serve.url,
        "GET",
        &format!("/{other}/events"),
        &[("authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(crossed.status, 401);
    // Unknown channels: 401 without a token (nothing revealed), 404 with one.
    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    let hidden = request(&serve.url, "GET", &format!("/{unknown}/events"), &[], b"");
    assert_eq!(hidden.status, 401);
    let missing = request(
        &serve.url,
        "GET",
        &format!("/{unknown}/events?token={token}"),
        &[],
        b"",
    );
    assert_eq!(missing.status, 404);
    // Posting needs no token, but the channel must exist.
    let post = request(&serve.url, "POST", &format!("/{unknown}"), &[], b"{}");
    assert_eq!(post.status, 404);
    assert_eq!(
        request(&serve.url, "POST", "/not-a-channel", &[], b"{}").status,
        404
    );
    // A plain GET of a channel is not a subscription.
    let get = request(&serve.url, "GET", &format!("/{id}"), &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST, PUT, PATCH, DELETE"));
    // A bad resume point is refused.
    let bad = request(
        &serve.url,
        "GET",
        &format!("/{id}/events?since=yesterday&token={token}"),
        &[],
        b"",
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("sequence number"), "{}", bad.text());
}

#[test]
fn channel_ids_and_tokens_are_unguessable() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let mut ids = std::collections::HashSet::new();
    for _ in 0..50 {
        let (id, token) = serve.channel();
        for (text, bytes) in [(&id, 16), (&token, 32)] {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .unwrap_or_else(|e| panic!("{text} is not URL-safe base64: {e}"));
            assert_eq!(decoded.len(), bytes, "{text}");
        }
        assert!(ids.insert(id));
    }
    // The token is not stored: only its hash is.
    let (id, token) = serve.channel();
    let meta = std::fs::read_to_string(data.path().join("channels").join(&id).join("channel.json"))
        .unwrap();
    assert!(!meta.contains(&token));
}

#[test]
fn channels_cannot_be_created_cross_site() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--max-channels", "1"]);
    let refused = request(
        &serve.url,
        "POST",
        "/new",
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        b"",
    );
    assert_eq!(refused.status, 403);
    serve.channel();
    let full = request(&serve.url, "POST", "/new", &[], b"");
    assert_eq!(full.status, 503);
    assert!(full.text().contains("--max-channels"), "{}", full.text());
}

/// Headers that sign `body` with `scheme` and `secret` at `timestamp`.
fn signed(
    scheme: &str,
    secret: &str,
    body: &str,
    id: &str,
    timestamp: i64,
) -> Vec<(String, String)> {
    use hookctl::signature::{sign, Scheme, Secret, SignRequest};
    let scheme = Scheme::from_name(scheme, None).unwrap();
    let request = SignRequest {
        id,
        timestamp,
        body: body.as_bytes(),
        event_type: None,
    };
    sign(&scheme, &Secret::new(secret.to_owned()), &request).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn edge_verification_refuses_forged_and_replayed_deliveries() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &[]);
    let (github, token) = serve.channel();
    let (stripe, _) = serve.channel();
    let (open, _) = serve.channel();
    serve.kill();
    let serve = Serve::spawn_with(
        data.path(),
        &[
            "--verify",
            &format!("{github}=github:GH_SECRET"),
            "--verify",
            &format!("{stripe}=stripe:STRIPE_SECRET"),
        ],
        |cmd| {
            cmd.env("GH_SECRET", "gh-s3cret")
                .env("STRIPE_SECRET", "whsec_test");
        },
    );
    let post = |channel: &str, headers: &[(String, String)], body: &str| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(
            &serve.url,
            "POST",
            &format!("/{channel}"),
            &headers,
            body.as_bytes(),
        )
    };
    let body = r#"{"zen":"Keep it logically awesome."}"#;
    // Signed right: stored.
    let mut good = signed("github", "gh-s3cret", body, "", now());
    good.push(("x-github-delivery".into(), "delivery-1".into()));
    let stored = post(&github, &good, body);
    assert_eq!(
        (stored.status, stored.text().as_str()),
        (200, "{\"seq\":1}")
    );
    // The same delivery again (a retry, or a replay): answered with the first copy, not stored.
    let again = post(&github, &good, body);
    assert_eq!(again.status, 200);
    assert_eq!(again.text(), "{\"seq\":1,\"duplicate\":true}");
    // Forged: wrong secret, tampered body, no signature.
    let forged = signed("github", "guess", body, "", now());
    let refused = post(&github, &forged, body);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        refused.text().contains("signature verification failed"),
        "{}",
        refused.text()
    );
    assert_eq!(post(&github, &good, "{\"zen\":\"tampered\"}").status, 401);
    assert_eq!(post(&github, &[], body).status, 401);
    // Stripe: a valid signature from an hour ago is a replay.
    let old = signed("stripe", "whsec_test", body, "", now() - 3600);
    let replay = post(&stripe, &old, body);
    assert_eq!(replay.status, 401);
    assert!(replay.text().contains("timestamp"), "{}", replay.text());
    let fresh = signed("stripe", "whsec_test", body, "", now());
    assert_eq!(post(&stripe, &fresh, body).status, 200);
    // A channel without --verify takes anything.
    assert_eq!(post(&open, &[], "anything").status, 200);
    // Only the good delivery reached the github channel's subscribers.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{github}?since=0&format=capture&token={token}"),
        &[],
    );
    let got = captured(&mut sse, 1);
    assert_eq!(got[0].1.body.as_ref(), body.as_bytes());
    assert_eq!(sse.next_within(Duration::from_millis(300)), None);
    let metrics = request(&serve.url, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("hookctl_serve_rejected_total{reason=\"signature\"} 4"),
        "{metrics}"
    );
}

#[test]
fn verify_flags_are_checked_before_serving() {
    let data = tempfile::tempdir().unwrap();
    for (spec, env, message) in [
        ("github", None, "write it as CHANNEL=SCHEME"),
        ("nope=github", None, "is not a channel id"),
        (
            "*=github:MISSING_SECRET",
            None,
            "set the signing secret in the environment variable MISSING_SECRET",
        ),
        ("*=frobnicate", Some("x"), "frobnicate"),
        (
            "*=standard",
            Some("not base64!"),
            "the secret in HOOKCTL_SECRET",
        ),
    ] {
        let mut cmd = hookctl();
        cmd.args(["serve", "--port", "0", "--data"])
            .arg(data.path())
            .args(["--verify", spec]);
        if let Some(secret) = env {
            cmd.env("HOOKCTL_SECRET", secret);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{spec}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("hookctl: error: --verify"),
            "{spec}: {stderr}"
        );
        assert!(stderr.contains(message), "{spec}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_channel_over_its_rate_limit_gets_429() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--rate-limit", "3/m"]);
    let (id, _) = serve.channel();
    let (other, _) = serve.channel();
    // A burst of one second's worth, at least one event: here one.
    serve.post(&id, &[], b"{}");
    let limited = request(&serve.url, "POST", &format!("/{id}"), &[], b"{}");
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((19..=20).contains(&retry), "{retry}");
    assert!(limited.text().contains("--rate-limit"));
    // Each channel has its own.
    assert_eq!(serve.post(&other, &[], b"{}"), 1);
}

#[test]
fn serves_https_with_a_certificate_made_in_the_test() {
    use std::io::{Read, Write};
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).unwrap();
    std::fs::write(&key_path, pem("PRIVATE KEY", &signing_key.serialize_der())).unwrap();
    let serve = Serve::spawn(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    // channel new trusts the certificate with --cacert.
    let out = hookctl()
        .args([
            "channel", "new", "--json", "--server", &serve.url, "--cacert",
        ])
        .arg(&cert_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["channel"].as_str().unwrap();
    assert_eq!(created["url"], format!("{}/{id}", serve.url));
    // Without it, the certificate is refused.
    let untrusted = hookctl()
        .args(["channel", "new", "--server", &serve.url])
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(1));
    // A post over TLS is stored.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(serve.url.trim_start_matches("https://")).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "POST /{id}/x HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"seq\":1}"), "{answer}");
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = std::net::TcpStream::connect(serve.url.trim_start_matches("https://")).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    plain
        .write_all(b"GET /_hookctl/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert!(!reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
}

/// DER bytes as a PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[test]
fn with_a_create_token_only_its_holder_creates_channels() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn_with(data.path(), &[], |cmd| {
        cmd.env("HOOKCTL_CREATE_TOKEN", "only-me");
    });
    let anonymous = request(&serve.url, "POST", "/new", &[], b"");
    assert_eq!(anonymous.status, 401);
    assert!(
        anonymous.text().contains("--create-token"),
        "{}",
        anonymous.text()
    );
    let wrong = request(
        &serve.url,
        "GET",
        "/new",
        &[("authorization", "Bearer not-me")],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let refused = hookctl()
        .args(["channel", "new", "--server", &serve.url])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.starts_with("hookctl: error: the relay answered 401"),
        "{stderr}"
    );
    let created = hookctl()
        .args(["channel", "new", "--json", "--server", &serve.url])
        .env("HOOKCTL_CREATE_TOKEN", "only-me")
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    // Posting and subscribing are unchanged.
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let (id, token) = (
        created["channel"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    assert_eq!(serve.post(id, &[], b"{}"), 1);
    let mut sse = Sse::open(&serve.url, &format!("/{id}?since=0&token={token}"), &[]);
    assert_eq!(sse.take("message", 1)[0].id.as_deref(), Some("1"));
}

#[test]
fn a_client_that_sends_no_request_is_cut_off_by_the_header_timeout() {
    use std::io::Read;
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--header-timeout", "200ms"]);
    let mut idle = std::net::TcpStream::connect(authority(&serve.url)).unwrap();
    idle.set_read_timeout(Some(WAIT)).unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    // The server closes the connection (with or without a 408) instead of keeping it.
    idle.read_to_end(&mut rest)
        .expect("the server closed the connection");
    assert!(started.elapsed() < WAIT);
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
