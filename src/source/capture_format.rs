//! hookctl's relay format: each `capture` event's data is the capture line the relay stored,
//! with the channel's sequence number in `seq`. The event is rebuilt from it exactly: method,
//! path, query, headers (their bytes) and body, as the provider sent them.

use serde::Deserialize;

use crate::event::{Event, Notes};

/// Reads one `capture` event's data. The relay's own notes (the status it answered) are not
/// this listen's, so they are cleared.
pub fn decode(data: &str) -> Result<(Event, Option<u64>), String> {
    let mut event = match Event::from_json_line(data.as_bytes()) {
        Ok(Some(event)) => event,
        Ok(None) => return Err("a capture record of another kind".to_owned()),
        Err(e) => return Err(e.to_string()),
    };
    event.notes = Notes::default();
    #[derive(Deserialize)]
    struct Seq {
        seq: Option<u64>,
    }
    let seq = serde_json::from_str::<Seq>(data)
        .map_err(|e| format!("`seq`: {e}"))?
        .seq;
    Ok((event, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_line_becomes_the_same_event_without_the_relays_notes() {
        let line = r#"{"v":1,"kind":"event","id":"evt_1","type":"a.b","received_at":"2026-12-06T07:00:00.000Z","method":"PUT","path":"/sub/x","query":"a=1&b","headers":[["x-hub-signature-256","sha256=ab"],["x",  "\u00e9"]],"body":"{ \"n\": 1.0e2 }","status":200,"seq":42}"#;
        let (event, seq) = decode(line).unwrap();
        assert_eq!(seq, Some(42));
        assert_eq!(event.method, "PUT");
        assert_eq!(event.path, "/sub/x");
        assert_eq!(event.query.as_deref(), Some("a=1&b"));
        assert_eq!(&event.body[..], b"{ \"n\": 1.0e2 }");
        assert_eq!(event.header("x"), Some("\u{e9}"));
        assert_eq!(event.notes, Notes::default());
    }

    #[test]
    fn what_is_not_a_capture_line_says_why() {
        assert!(decode("[1]").unwrap_err().contains("one JSON object"));
        assert!(decode(r#"{"kind":"ready"}"#)
            .unwrap_err()
            .contains("another kind"));
        assert!(decode(r#"{"seq":"x"}"#).unwrap_err().contains("seq"));
    }
}
