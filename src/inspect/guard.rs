//! Who may use the inspector. Any web page the developer visits can make the browser send
//! requests to 127.0.0.1, so:
//!
//! - every request must name this server in `Host` (a DNS-rebinding page names its own
//!   domain): `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` or the bound address;
//! - the API answers only requests from the page itself: `Sec-Fetch-Site`, when the browser
//!   sends it, must be `same-origin` (or `none`, a typed URL);
//! - a request that changes something or sends something (replay, resend) must also carry
//!   `Origin` equal to this server's origin and the per-process token in `X-Hookctl-Token`,
//!   which the page reads from a same-origin endpoint; a custom header also means another
//!   origin's request needs a CORS preflight, which is refused;
//! - with `--ui-token` (required off loopback) the host check is off, the token is never
//!   served, and every API request needs it.
//!
//! Every response carries a strict Content-Security-Policy and the headers that stop
//! sniffing, framing, referrers and cross-origin reads ([`SECURITY_HEADERS`]).

use std::net::SocketAddr;
use std::sync::Mutex;

use http::request::Parts;
use subtle::ConstantTimeEq;

/// The header the page sends its token in.
pub const TOKEN_HEADER: &str = "x-hookctl-token";

/// Headers on every inspector response.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
];

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The page and its static files.
    Page,
    /// Reading events.
    Read,
    /// Replaying, resending: anything that sends or records.
    Change,
}

/// Why a request is refused (403), said in the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Host {0:?} is not this inspector (DNS rebinding?); open it at 127.0.0.1")]
    Host(String),
    #[error("cross-origin request refused (Sec-Fetch-Site: {0})")]
    Site(String),
    #[error("cross-origin request refused: Origin {0:?} is not this inspector")]
    Origin(String),
    #[error("missing or wrong X-Hookctl-Token")]
    Token,
}

/// The checks for one inspector.
pub struct Guard {
    token: String,
    /// `--ui-token`: the user holds the token; the host check is off and reads need it too.
    given: bool,
    /// Hosts (`host:port`) this server answers to.
    hosts: Mutex<Vec<String>>,
}

impl Guard {
    /// A guard with a fresh random token, for a server on loopback; [`Guard::allow`] names
    /// the address once it is bound.
    pub fn loopback() -> Guard {
        Guard {
            token: fresh_token(),
            given: false,
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// A guard for a server others can reach: the user's token guards everything.
    pub fn with_token(token: String) -> Guard {
        Guard {
            token,
            given: true,
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// Answers requests naming `addr` (or localhost, 127.0.0.1, [::1] at its port) as Host.
    pub fn allow(&self, addr: SocketAddr) {
        let port = addr.port();
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.extend([
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
            addr.to_string(),
        ]);
        if port == 80 {
            hosts.extend(["127.0.0.1".into(), "localhost".into(), "[::1]".into()]);
        }
    }

    /// The token the page may be given, or `None` when the user holds it (`--ui-token`).
    pub fn served_token(&self) -> Option<&str> {
        (!self.given).then_some(self.token.as_str())
    }

    /// Checks a request for `access`.
    pub fn check(&self, parts: &Parts, access: Access) -> Result<(), Refused> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let host = header("host").unwrap_or_default();
        let known = self
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
        if !self.given && !known {
            return Err(Refused::Host(host));
        }
        if access == Access::Page {
            return Ok(());
        }
        if let Some(site) = header("sec-fetch-site") {
            if site != "same-origin" && site != "none" {
                return Err(Refused::Site(site));
            }
        }
        if access == Access::Change {
            let origin = header("origin").unwrap_or_default();
            if origin != format!("http://{host}") && origin != format!("https://{host}") {
                return Err(Refused::Origin(origin));
            }
        }
        if access == Access::Change || self.given {
            let sent = parts
                .headers
                .get(TOKEN_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(self.token.as_bytes())) {
                return Err(Refused::Token);
            }
        }
        Ok(())
    }
}

/// 32 random bytes from the operating system, as 64 hex digits.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the process's seeded generator, still unguessable
        // from another origin within a session.
        bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri("/_hookctl/api/replay");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn same_origin_with_token_passes_everything_else_is_refused() {
        let guard = Guard::loopback();
        guard.allow("127.0.0.1:4040".parse().unwrap());
        let token = guard.served_token().unwrap().to_owned();
        assert_eq!(token.len(), 64);
        let good = [
            ("host", "127.0.0.1:4040"),
            ("origin", "http://127.0.0.1:4040"),
            ("sec-fetch-site", "same-origin"),
            (TOKEN_HEADER, token.as_str()),
        ];
        assert_eq!(guard.check(&parts(&good), Access::Change), Ok(()));
        let with = |i: usize, v: &str| {
            let mut h = good.to_vec();
            h[i].1 = v;
            guard.check(&parts(&h), Access::Change)
        };
        assert!(matches!(
            with(0, "evil.example:4040"),
            Err(Refused::Host(_))
        ));
        assert!(matches!(
            with(1, "http://evil.example"),
            Err(Refused::Origin(_))
        ));
        assert!(matches!(with(1, "null"), Err(Refused::Origin(_))));
        assert!(matches!(with(2, "cross-site"), Err(Refused::Site(_))));
        assert!(matches!(with(2, "same-site"), Err(Refused::Site(_))));
        assert_eq!(with(3, "nope"), Err(Refused::Token));
        // Reads need no token, but the host and site checks hold.
        let read = [("host", "localhost:4040")];
        assert_eq!(guard.check(&parts(&read), Access::Read), Ok(()));
        let rebinding = [("host", "attacker.example")];
        assert!(guard.check(&parts(&rebinding), Access::Page).is_err());
        assert!(guard.check(&parts(&[]), Access::Read).is_err());
    }

    #[test]
    fn a_user_token_guards_reads_too_and_is_never_served() {
        let guard = Guard::with_token("s3cret-token-of-some-length".into());
        assert_eq!(guard.served_token(), None);
        let h = [("host", "10.0.0.5:3000")];
        assert_eq!(guard.check(&parts(&h), Access::Page), Ok(()));
        assert_eq!(guard.check(&parts(&h), Access::Read), Err(Refused::Token));
        let h = [
            ("host", "10.0.0.5:3000"),
            (TOKEN_HEADER, "s3cret-token-of-some-length"),
        ];
        assert_eq!(guard.check(&parts(&h), Access::Read), Ok(()));
    }
}
