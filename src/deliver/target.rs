//! Where events go, and the exact request target each one is sent with.
//!
//! The request line carries the event's path and query byte for byte, over `http://` and
//! `https://` alike, so a replay reaches the app the way the capture saw it (`/p{q}`,
//! `x='1'`). The only exception is a byte that [`http::Uri`] refuses, or would read as the
//! start of a query or fragment: those few bytes (controls, space, `#`, `<`, `>`, DEL; in the
//! path also `` ` `` and `?`; in the query also `"`) are percent-encoded, and nothing else is.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::Uri;

use super::DeliveryError;
use crate::event::Event;

/// Where events go: an origin, and optionally a path that replaces each event's own.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http` or `https`.
    scheme: Scheme,
    /// `host:port`, the port left out when it is the scheme's default; also the `Host` header.
    authority: Authority,
    path: Option<String>,
    /// `Authorization: Basic …` from a `user:password@` in the URL.
    credentials: Option<http::HeaderValue>,
}

/// `url` with any `user:password@` shown as `***@`: what capture lines, `--json` and messages
/// say instead of the URL as given.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            match url.split_once("://") {
                Some((scheme, rest)) => {
                    let after = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
                    format!("{scheme}://***@{after}")
                }
                None => "***".to_owned(),
            }
        }
        Ok(_) => url.to_owned(),
        // Unparsable: hide anything that could be userinfo.
        Err(_) => match url.rfind('@') {
            Some(at) => format!("***@{}", &url[at + 1..]),
            None => url.to_owned(),
        },
    }
}

impl Target {
    /// Parses an http(s) URL. A path other than `/` replaces the events' paths.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let shown = redact_url(url);
        let parsed = url::Url::parse(url).map_err(|e| {
            anyhow::anyhow!("invalid URL {shown:?}: {e}; use e.g. http://127.0.0.1:3000/webhook")
        })?;
        let scheme = match (parsed.scheme(), parsed.host_str()) {
            ("http", Some(_)) => Scheme::HTTP,
            ("https", Some(_)) => Scheme::HTTPS,
            _ => anyhow::bail!(
                "invalid URL {shown:?}: only http:// and https:// URLs with a host are supported"
            ),
        };
        let origin = parsed.origin().ascii_serialization();
        let authority = origin
            .split_once("://")
            .and_then(|(_, rest)| rest.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("invalid URL {shown:?}: invalid host"))?;
        let path = match parsed.path() {
            "" | "/" => None,
            p => Some(p.to_owned()),
        };
        let credentials = (!parsed.username().is_empty() || parsed.password().is_some())
            .then(|| {
                use base64::Engine as _;
                let user = percent_decode(parsed.username());
                let password = percent_decode(parsed.password().unwrap_or_default());
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                http::HeaderValue::from_str(&format!("Basic {token}"))
            })
            .transpose()
            .map_err(|_| anyhow::anyhow!("invalid URL {shown:?}: invalid credentials"))?
            .map(|mut value| {
                value.set_sensitive(true);
                value
            });
        Ok(Target {
            scheme,
            authority,
            path,
            credentials,
        })
    }

    /// `Authorization: Basic …` for a URL that carried `user:password@`.
    pub fn credentials(&self) -> Option<&http::HeaderValue> {
        self.credentials.as_ref()
    }

    /// The URL an event is sent to, as shown in messages.
    pub fn url_for(&self, event: &Event) -> String {
        let path = self.path.as_deref().unwrap_or(&event.path);
        match &event.query {
            Some(q) => format!("{}://{}{}?{}", self.scheme, self.authority, path, q),
            None => format!("{}://{}{}", self.scheme, self.authority, path),
        }
    }

    /// The path this target imposes, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The `Host` header: `host:port`, the port left out when it is the scheme's default.
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    /// The absolute URI for `event`: the target's scheme and authority, and the event's exact
    /// request target (see the module docs), which goes on the request line as it is.
    pub fn uri_for(&self, event: &Event) -> Result<Uri, DeliveryError> {
        let path = self.path.as_deref().unwrap_or(&event.path);
        let path_and_query = request_target(path, event.query.as_deref())?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|e| DeliveryError::InvalidRequest(format!("cannot send to {path:?}: {e}")))
    }
}

/// `path?query` as a [`PathAndQuery`], percent-encoding only what it would refuse or misread.
fn request_target(path: &str, query: Option<&str>) -> Result<PathAndQuery, DeliveryError> {
    let clean = path.starts_with('/')
        && path.bytes().all(path_byte_ok)
        && query.is_none_or(|q| q.bytes().all(query_byte_ok));
    // Sized exactly when clean, so the text becomes the target's bytes without copying.
    let exact = path.len() + query.map_or(0, |q| q.len() + 1);
    let mut target = String::with_capacity(if clean { exact } else { exact + 16 });
    if clean {
        target.push_str(path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(q);
        }
    } else {
        if !path.starts_with('/') {
            target.push('/');
        }
        escape_into(&mut target, path, path_byte_ok);
        if let Some(q) = query {
            target.push('?');
            escape_into(&mut target, q, query_byte_ok);
        }
    }
    PathAndQuery::from_maybe_shared(target)
        .map_err(|e| DeliveryError::InvalidRequest(format!("cannot send to path {path:?}: {e}")))
}

fn escape_into(out: &mut String, text: &str, ok: fn(u8) -> bool) {
    for c in text.chars() {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() && !ok(b) => out.push_str(&format!("%{b:02X}")),
            _ => out.push(c),
        }
    }
}

/// `%XX` escapes in a URL's user or password, as text.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bytes [`http::Uri`] takes as they are in a path (besides non-ASCII UTF-8, which it takes too).
fn path_byte_ok(b: u8) -> bool {
    matches!(b, 0x21..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7E | 0x80..=0xFF) && b != b'#'
}

/// Bytes [`http::Uri`] takes as they are in a query.
fn query_byte_ok(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E | 0x80..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_tables_match_what_http_uri_keeps() {
        for b in 0u8..0x80 {
            let c = b as char;
            let path = format!("/a{c}b");
            let kept = PathAndQuery::try_from(path.as_str()).is_ok_and(|p| p.path() == path);
            assert_eq!(path_byte_ok(b), kept, "path byte {b:#04x}");
            let query = format!("/a?x{c}y");
            let kept = PathAndQuery::try_from(query.as_str())
                .is_ok_and(|p| p.query() == Some(&query[3..]));
            assert_eq!(query_byte_ok(b), kept, "query byte {b:#04x}");
        }
    }

    #[test]
    fn targets_are_exact_unless_a_byte_cannot_be_carried() {
        let t = |p, q| request_target(p, q).unwrap().as_str().to_owned();
        assert_eq!(t("/p{q}'|^\"", None), "/p{q}'|^\"");
        assert_eq!(t("/q", Some("x='1'&z={}|^`%20")), "/q?x='1'&z={}|^`%20");
        assert_eq!(
            t("/a b#c`d?e", Some("f g\"#h")),
            "/a%20b%23c%60d%3Fe?f%20g%22%23h"
        );
        assert_eq!(t("/é\u{1}", Some("ü<")), "/é%01?ü%3C");
        assert_eq!(t("rel", None), "/rel");
    }
}
