//! An incremental Server-Sent Events parser, following the WHATWG "event stream
//! interpretation": lines end in CRLF, LF or CR; `data` lines are joined with `\n`; `event`,
//! `id` and `retry` set the event's fields; lines starting with `:` are comments; a blank line
//! dispatches the event. Bytes are fed as they arrive, in chunks of any size.
//!
//! Memory is bounded: an event whose data grows past `max_event` bytes is still parsed to its
//! end (so its `id` is known), but its data is dropped and the event is marked `oversize`.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field; `message` when none was given.
    pub name: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The last event id after this event (ids carry over from earlier events, as in
    /// EventSource), when any was set.
    pub id: Option<String>,
    /// The data went past the limit and was dropped.
    pub oversize: bool,
}

/// What the parser hands back besides events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(SseEvent),
    /// A `retry: MS` field: the reconnection time the server asks for.
    Retry(u64),
    /// A comment line (`: ping`): proof the connection is alive.
    Comment,
}

/// The parser's state between chunks.
#[derive(Debug)]
pub struct Parser {
    max_event: usize,
    /// The current line, not yet ended.
    line: Vec<u8>,
    /// The line is longer than the limit: the rest of it is skipped.
    line_oversize: bool,
    /// The previous chunk ended in CR, so an LF starting the next one ends nothing.
    after_cr: bool,
    /// Whether the stream's leading byte-order mark has been checked.
    started: bool,
    name: String,
    data: String,
    has_data: bool,
    oversize: bool,
    last_id: Option<String>,
}

impl Parser {
    /// A parser that keeps at most `max_event` bytes of one event's data.
    pub fn new(max_event: usize) -> Parser {
        Parser {
            max_event,
            line: Vec::new(),
            line_oversize: false,
            after_cr: false,
            started: false,
            name: String::new(),
            data: String::new(),
            has_data: false,
            oversize: false,
            last_id: None,
        }
    }

    /// The last event id seen, to resume from (`Last-Event-ID`).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Feeds one chunk; appends what it completes to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Item>) {
        if !self.started && !chunk.is_empty() {
            // A UTF-8 byte-order mark may start the stream; it is not part of the first line.
            let bom = b"\xEF\xBB\xBF";
            let n = self.line.len() + chunk.len();
            if n < bom.len() && bom.starts_with(&[&self.line[..], chunk].concat()) {
                self.line.extend_from_slice(chunk);
                return;
            }
            self.started = true;
            let mut head = std::mem::take(&mut self.line);
            head.extend_from_slice(chunk);
            let rest = head.strip_prefix(bom).unwrap_or(&head).to_vec();
            return self.feed_lines(&rest, out);
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        self.feed_lines(chunk, out);
    }

    fn feed_lines(&mut self, mut chunk: &[u8], out: &mut Vec<Item>) {
        while let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) {
            self.push_line_bytes(&chunk[..end]);
            let line = std::mem::take(&mut self.line);
            let oversize = std::mem::take(&mut self.line_oversize);
            self.line_done(&line, oversize, out);
            self.line = line;
            self.line.clear();
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.push_line_bytes(chunk);
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if self.line_oversize {
            return;
        }
        // A line may hold the whole event's data, plus its field name.
        if self.line.len() + bytes.len() > self.max_event + 16 {
            self.line_oversize = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn line_done(&mut self, line: &[u8], line_oversize: bool, out: &mut Vec<Item>) {
        if line_oversize {
            // Only a data line can legitimately be this long.
            self.oversize = true;
            self.has_data = true;
            return;
        }
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line[0] == b':' {
            out.push(Item::Comment);
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"data" => {
                self.has_data = true;
                if self.oversize {
                    return;
                }
                let extra = value.len() + usize::from(!self.data.is_empty());
                if self.data.len() + extra > self.max_event {
                    self.oversize = true;
                    self.data = String::new();
                    return;
                }
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
            }
            b"event" => self.name = value.into_owned(),
            b"id" if !value.contains('\0') => self.last_id = Some(value.into_owned()),
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    out.push(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Item>) {
        let name = std::mem::take(&mut self.name);
        let data = std::mem::take(&mut self.data);
        let oversize = std::mem::take(&mut self.oversize);
        if !std::mem::take(&mut self.has_data) {
            // No data field: nothing is dispatched (but the id stands).
            return;
        }
        out.push(Item::Event(SseEvent {
            name: if name.is_empty() {
                "message".to_owned()
            } else {
                name
            },
            data,
            id: self.last_id.clone(),
            oversize,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]], max: usize) -> Vec<Item> {
        let mut parser = Parser::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out);
        }
        out
    }

    fn events(items: Vec<Item>) -> Vec<SseEvent> {
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn event(name: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            name: name.into(),
            data: data.into(),
            id: id.map(Into::into),
            oversize: false,
        }
    }

    #[test]
    fn fields_comments_and_multi_line_data() {
        let stream = b": ping\n\nid: 7\nevent: capture\ndata: {\"a\":1}\n\ndata: one\ndata:two\n\n";
        let items = parse_chunks(&[stream], 1024);
        assert_eq!(items[0], Item::Comment);
        assert_eq!(
            events(items),
            vec![
                event("capture", "{\"a\":1}", Some("7")),
                // The id carries over; no event name means `message`.
                event("message", "one\ntwo", Some("7")),
            ]
        );
    }

    #[test]
    fn every_line_ending_and_any_split_give_the_same_events() {
        let lf = "id: 1\nevent: capture\ndata: x y\n\nid: 2\ndata: z\n\n";
        let expected = events(parse_chunks(&[lf.as_bytes()], 1024));
        assert_eq!(expected.len(), 2);
        for ending in ["\r\n", "\r"] {
            let text = lf.replace('\n', ending);
            let bytes = text.as_bytes();
            // Every split point, including between CR and LF.
            for cut in 0..=bytes.len() {
                let got = events(parse_chunks(&[&bytes[..cut], &bytes[cut..]], 1024));
                assert_eq!(got, expected, "ending {ending:?}, cut at {cut}");
            }
        }
        // One byte at a time.
        let bytes = lf.replace('\n', "\r\n");
        let singles: Vec<&[u8]> = bytes.as_bytes().chunks(1).collect();
        assert_eq!(events(parse_chunks(&singles, 1024)), expected);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_even_when_split() {
        let stream = b"\xEF\xBB\xBFdata: a\n\n";
        let got = events(parse_chunks(
            &[&stream[..1], &stream[1..2], &stream[2..]],
            64,
        ));
        assert_eq!(got, vec![event("message", "a", None)]);
    }

    #[test]
    fn retry_and_fields_without_values() {
        let items = parse_chunks(&[b"retry: 2500\nretry: x\ndata\n\nevent\n\n"], 64);
        assert_eq!(items[0], Item::Retry(2500));
        // `data` with no colon is an empty data line; an event with no data is not dispatched.
        assert_eq!(events(items), vec![event("message", "", None)]);
    }

    #[test]
    fn an_id_with_nul_is_ignored_and_events_without_data_are_not_dispatched() {
        let items = parse_chunks(&[b"id: 5\n\nid: a\0b\ndata: x\n\n"], 64);
        assert_eq!(events(items), vec![event("message", "x", Some("5"))]);
    }

    #[test]
    fn an_oversize_event_is_marked_with_its_id_and_memory_stays_bounded() {
        let big = "x".repeat(1000);
        let stream = format!("id: 9\ndata: {big}\n\nid: 10\ndata: small\n\n");
        let mut parser = Parser::new(100);
        let mut out = Vec::new();
        for chunk in stream.as_bytes().chunks(7) {
            parser.feed(chunk, &mut out);
            assert!(parser.line.len() <= 116 && parser.data.len() <= 100);
        }
        let got = events(out);
        assert_eq!(got.len(), 2);
        assert!(got[0].oversize && got[0].data.is_empty());
        assert_eq!(got[0].id.as_deref(), Some("9"));
        assert_eq!(got[1], event("message", "small", Some("10")));
        // Many data lines that together pass the limit.
        let lines = "data: 0123456789\n".repeat(20) + "\n";
        let got = events(parse_chunks(&[lines.as_bytes()], 100));
        assert!(got[0].oversize);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let got = events(parse_chunks(&[b"data: a\xffb\n\n"], 64));
        assert_eq!(got[0].data, "a\u{fffd}b");
    }
}
