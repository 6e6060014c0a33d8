//! Simulated responses for `listen`: fixed statuses, sequences, a seeded failure rate, delays,
//! Retry-After, custom bodies and headers. Lets a sender's retry logic be tested.

use crate::error::ConfigError;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderName, HeaderValue};

use crate::event::Event;
use crate::listen::server::Reply;

/// How `listen` answers deliveries when it is not forwarding.
#[derive(Debug, Clone, Default)]
pub struct ResponseConfig {
    /// Answer every delivery with this status.
    pub status: Option<u16>,
    /// Answer deliveries with these statuses in order; the last one repeats.
    pub sequence: Vec<u16>,
    /// Answer this fraction of deliveries with 500.
    pub fail_rate: Option<f64>,
    /// Seed for the fail-rate choice.
    pub seed: Option<u64>,
    /// Hold each response this long.
    pub delay: Option<Duration>,
    /// Retry-After value on 429 and 503 answers.
    pub retry_after: String,
    /// A fixed response body; by default a small JSON acknowledgement.
    pub body: Option<Bytes>,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

/// What to answer one delivery with, and how long to wait first.
pub struct Planned {
    pub reply: Reply,
    pub delay: Option<Duration>,
}

/// Plays a [`ResponseConfig`], one delivery at a time.
pub struct Responder {
    config: ResponseConfig,
    /// `config.headers` and `config.retry_after`, parsed once.
    headers: Vec<(HeaderName, HeaderValue)>,
    retry_after: Option<HeaderValue>,
    state: Mutex<State>,
}

struct State {
    answered: usize,
    rng: fastrand::Rng,
}

impl Responder {
    pub fn new(config: ResponseConfig) -> Responder {
        let rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let headers = config
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect();
        let retry_after = HeaderValue::from_str(&config.retry_after).ok();
        Responder {
            config,
            headers,
            retry_after,
            state: Mutex::new(State { answered: 0, rng }),
        }
    }

    /// The status the next delivery gets.
    fn next_status(&self) -> u16 {
        // A fixed answer needs no count and no dice: no lock on every delivery's path.
        if self.config.fail_rate.is_none() && self.config.sequence.is_empty() {
            return self.config.status.unwrap_or(200);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let n = state.answered;
        state.answered += 1;
        if let Some(rate) = self.config.fail_rate {
            if state.rng.f64() < rate {
                return 500;
            }
        }
        if let Some(status) = self.config.status {
            return status;
        }
        match self.config.sequence.as_slice() {
            [] => 200,
            seq => seq[n.min(seq.len() - 1)],
        }
    }

    /// Plans the answer for `event`.
    pub fn plan(&self, event: &Event) -> Planned {
        let status = self.next_status();
        Planned {
            reply: self.reply(event, status),
            delay: self.config.delay,
        }
    }

    /// The reply for `event` with a given status, with the configured body and headers.
    pub fn reply(&self, event: &Event, status: u16) -> Reply {
        let mut reply = match &self.config.body {
            Some(body) => Reply::bytes(status, body.clone()),
            None if (200..300).contains(&status) => ack(status, &event.id),
            None => Reply::json(
                status,
                &serde_json::json!({ "received": false, "id": event.id, "error": format!("simulated {status}") }),
            ),
        };
        if matches!(status, 429 | 503) {
            if let Some(value) = &self.retry_after {
                reply.headers.insert(RETRY_AFTER, value.clone());
            }
        }
        // A configured header replaces the default one of the same name; repeated names
        // are all sent.
        for (i, (name, value)) in self.headers.iter().enumerate() {
            if self.headers[..i].iter().any(|(earlier, _)| earlier == name) {
                reply.headers.append(name.clone(), value.clone());
            } else {
                reply.headers.insert(name.clone(), value.clone());
            }
        }
        reply
    }
}

/// The default acknowledgement, `{"received":true,"id":"…"}`.
fn ack(status: u16, id: &str) -> Reply {
    #[derive(serde::Serialize)]
    struct Ack<'a> {
        received: bool,
        id: &'a str,
    }
    let body = serde_json::to_vec(&Ack { received: true, id }).expect("serialising an ack");
    Reply::json_bytes(status, Bytes::from(body))
}

/// Parses `Name: value`.
pub fn parse_header(text: &str) -> Result<(String, String), ConfigError> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| ConfigError::Header(text.to_owned()))?;
    let name = name.trim();
    if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(ConfigError::HeaderName {
            name: name.to_owned(),
            text: text.to_owned(),
        });
    }
    let value = value.trim();
    if http::HeaderValue::from_str(value).is_err() {
        return Err(ConfigError::HeaderValue {
            value: value.to_owned(),
            text: text.to_owned(),
        });
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::from_parts(
            "POST",
            "/",
            None,
            crate::event::Headers::new(),
            Bytes::new(),
            std::time::SystemTime::now(),
        )
    }

    fn statuses(config: ResponseConfig, n: usize) -> Vec<u16> {
        let r = Responder::new(config);
        (0..n).map(|_| r.plan(&event()).reply.status).collect()
    }

    #[test]
    fn sequence_repeats_its_last_status() {
        let config = ResponseConfig {
            sequence: vec![500, 500, 200],
            ..Default::default()
        };
        assert_eq!(statuses(config, 5), [500, 500, 200, 200, 200]);
    }

    #[test]
    fn seeded_fail_rate_is_repeatable() {
        let config = || ResponseConfig {
            fail_rate: Some(0.3),
            seed: Some(7),
            ..Default::default()
        };
        let a = statuses(config(), 1000);
        assert_eq!(a, statuses(config(), 1000));
        let failures = a.iter().filter(|s| **s == 500).count();
        assert!((200..400).contains(&failures), "{failures}");
    }

    #[test]
    fn retry_after_on_429() {
        let r = Responder::new(ResponseConfig {
            status: Some(429),
            retry_after: "7".into(),
            ..Default::default()
        });
        let reply = r.plan(&event()).reply;
        assert_eq!(reply.headers["retry-after"], "7");
    }

    #[test]
    fn headers_parse() {
        assert_eq!(
            parse_header("X-A:  b ").unwrap(),
            ("X-A".into(), "b".into())
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name: x").is_err());
        let err = parse_header("X-A: a\u{1}b").unwrap_err().to_string();
        assert!(err.starts_with("invalid header value"), "{err}");
    }

    #[test]
    fn configured_headers_replace_the_default_and_repeat() {
        let r = Responder::new(ResponseConfig {
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("x-a".into(), "1".into()),
                ("X-A".into(), "2".into()),
            ],
            ..Default::default()
        });
        let reply = r.plan(&event()).reply;
        let types: Vec<_> = reply.headers.get_all("content-type").iter().collect();
        assert_eq!(types, ["text/plain"]);
        let xs: Vec<_> = reply.headers.get_all("x-a").iter().collect();
        assert_eq!(xs, ["1", "2"]);
        let id = serde_json::to_string(&event().id).unwrap();
        let body = String::from_utf8(reply.body.to_vec()).unwrap();
        assert!(body.starts_with(r#"{"received":true,"id":"evt_"#) && body.ends_with('}'));
        assert_eq!(body.len(), 23 + id.len());
    }
}
