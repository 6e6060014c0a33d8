//! A `--source` URL: where to subscribe, how to show it, and which token goes with it.
//!
//! The token never appears in a message: a `?token=` in the URL is taken out of it (and sent
//! as `Authorization: Bearer`), and a `user:password@` is shown as `***@`.

use url::Url;

/// Hosts that are smee.io: their channels speak smee's format and never get a token.
const SMEE_HOSTS: &[&str] = &["smee.io", "www.smee.io"];

/// One source, parsed.
#[derive(Clone)]
pub struct SourceUrl {
    /// The URL to subscribe to, without the token.
    url: Url,
    /// The URL as messages and the state file show it.
    shown: String,
    token: Option<String>,
    smee: bool,
}

impl std::fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_tuple("SourceUrl").field(&self.shown).finish()
    }
}

impl SourceUrl {
    /// Parses `--source URL`; `token` (from `--token` or the environment) is used unless the
    /// URL carries its own `?token=`. smee.io channels get no token: it is not theirs.
    pub fn parse(text: &str, token: Option<&str>) -> anyhow::Result<SourceUrl> {
        let shown_input = crate::deliver::redact_url(&strip_token(text));
        let mut url = Url::parse(text).map_err(|e| {
            anyhow::anyhow!(
                "invalid --source {shown_input:?}: {e}; use e.g. https://relay.example.com/CHANNEL"
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            anyhow::bail!(
                "invalid --source {shown_input:?}: only http:// and https:// URLs with a host are supported"
            );
        }
        if url.fragment().is_some() {
            url.set_fragment(None);
        }
        let mut own_token = None;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter_map(|(k, v)| {
                if k == "token" {
                    own_token = Some(v.into_owned());
                    None
                } else {
                    Some((k.into_owned(), v.into_owned()))
                }
            })
            .collect();
        if own_token.is_some() {
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept);
            }
        }
        let smee = url
            .host_str()
            .is_some_and(|h| SMEE_HOSTS.iter().any(|s| h.eq_ignore_ascii_case(s)));
        let token = if smee {
            None
        } else {
            own_token.or_else(|| token.map(str::to_owned))
        };
        if token.as_deref() == Some("") {
            anyhow::bail!("the token for --source {shown_input} is empty");
        }
        let shown = crate::deliver::redact_url(url.as_str());
        Ok(SourceUrl {
            url,
            shown,
            token,
            smee,
        })
    }

    /// The URL as messages show it: no token, no password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The token to send as `Authorization: Bearer`.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A smee.io channel (known by its host).
    pub fn is_smee(&self) -> bool {
        self.smee
    }

    /// The URL to request: hookctl's format asked for (`format=capture`) unless this is
    /// smee.io, and the events after `since` when resuming.
    pub fn request_url(&self) -> Url {
        let mut url = self.url.clone();
        if !self.smee && !url.query_pairs().any(|(k, _)| k == "format") {
            url.query_pairs_mut().append_pair("format", "capture");
        }
        url
    }
}

/// `text` without a `token=` query parameter, for messages about a URL that did not parse.
fn strip_token(text: &str) -> String {
    match text.split_once('?') {
        Some((base, query)) => {
            let rest: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("token="))
                .collect();
            if rest.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", rest.join("&"))
            }
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_url_is_taken_out_and_wins() {
        let s =
            SourceUrl::parse("https://relay.test/ch_1?token=SECRET&x=1", Some("other")).unwrap();
        assert_eq!(s.token(), Some("SECRET"));
        assert_eq!(s.shown(), "https://relay.test/ch_1?x=1");
        assert!(!format!("{s:?}").contains("SECRET"));
        assert_eq!(
            s.request_url().as_str(),
            "https://relay.test/ch_1?x=1&format=capture"
        );
        let s = SourceUrl::parse("http://relay.test/ch_1?token=SECRET", None).unwrap();
        assert_eq!(s.shown(), "http://relay.test/ch_1");
        let s = SourceUrl::parse("http://relay.test/ch_1", Some("T")).unwrap();
        assert_eq!(s.token(), Some("T"));
    }

    #[test]
    fn smee_is_known_by_its_host_and_never_gets_the_token() {
        let s = SourceUrl::parse("https://smee.io/abc", Some("T")).unwrap();
        assert!(s.is_smee());
        assert_eq!(s.token(), None);
        assert_eq!(s.request_url().as_str(), "https://smee.io/abc");
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_token() {
        let e = SourceUrl::parse("ftp://relay.test/x?token=SECRET", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only http:// and https://"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
        let e = SourceUrl::parse("not a url?token=SECRET", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid --source \"not a url\""), "{e}");
        let e = SourceUrl::parse("https://u:pw@relay.test/x", Some(""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty") && !e.contains("pw"), "{e}");
    }
}
