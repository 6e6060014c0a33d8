//! What the serve tests need: a `hookctl serve` child on a free port, a small HTTP/1.1
//! client, and an SSE reader. Every read is bounded by [`WAIT`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A running `hookctl serve`, killed on drop.
pub struct Serve {
    pub child: Child,
    pub url: String,
    pub stderr: Lines,
}

impl Serve {
    /// `hookctl serve --port 0 --data DATA ARGS...`, once it announced its address.
    pub fn spawn(data: &Path, args: &[&str]) -> Serve {
        Serve::spawn_with(data, args, |_| {})
    }

    pub fn spawn_with(
        data: &Path,
        args: &[&str],
        adjust: impl FnOnce(&mut std::process::Command),
    ) -> Serve {
        let mut cmd = hookctl_std();
        cmd.args(["serve", "--port", "0", "--data"])
            .arg(data)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        adjust(&mut cmd);
        let mut child = cmd.spawn().expect("spawn hookctl serve");
        let mut stderr = Lines::spawn(child.stderr.take().expect("stderr"));
        let line = stderr.wait_for("the listening announcement", |l| {
            l.starts_with("listening on http") || l.contains("\"msg\":\"listening\"")
        });
        let url = match line.strip_prefix("listening on ") {
            Some(url) => url.trim().to_owned(),
            None => serde_json::from_str::<serde_json::Value>(&line).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_owned(),
        };
        Serve { child, url, stderr }
    }

    /// Creates a channel; returns its id and token.
    pub fn channel(&self) -> (String, String) {
        let response = request(&self.url, "POST", "/new", &[], b"");
        assert_eq!(response.status, 201, "{response:?}");
        let created: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        let id = created["channel"].as_str().unwrap().to_owned();
        assert_eq!(created["url"], format!("{}/{id}", self.url));
        (id, created["token"].as_str().unwrap().to_owned())
    }

    /// Posts `body` to the channel and returns the sequence number it was stored as.
    pub fn post(&self, id: &str, headers: &[(&str, &str)], body: &[u8]) -> u64 {
        let response = request(&self.url, "POST", &format!("/{id}"), headers, body);
        assert_eq!(response.status, 200, "{response:?}");
        let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        answer["seq"].as_u64().expect("a sequence number")
    }

    /// Kills the process with SIGKILL, without a chance to flush anything.
    pub fn kill(&mut self) {
        signal(self.child.id(), "KILL");
        wait_child(&mut self.child);
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`connection: close`), and its whole response.
pub fn request(
    url: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = connect(url);
    send_head(&mut stream, url, method, target, headers, Some(body.len()));
    stream.write_all(body).expect("write body");
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    let mut body = Vec::new();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        Chunked::new(reader)
            .read_to_end(&mut body)
            .expect("read body");
    } else {
        reader.read_to_end(&mut body).expect("read body");
    }
    Response {
        status,
        headers,
        body,
    }
}

fn connect(url: &str) -> TcpStream {
    let stream = TcpStream::connect(authority(url)).expect("connect to serve");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

fn send_head(
    stream: &mut TcpStream,
    url: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    length: Option<usize>,
) {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
        authority(url)
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = length {
        head.push_str(&format!("content-length: {n}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
}

fn read_head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect("a header");
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    (status, headers)
}

/// A chunked body as plain bytes.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Chunked<R> {
        Chunked {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            if line.is_empty() {
                self.done = true;
                return Ok(0);
            }
            self.left = usize::from_str_radix(line.trim(), 16)
                .map_err(|e| std::io::Error::other(format!("chunk size {line:?}: {e}")))?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        self.left -= n;
        Ok(n)
    }
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// A subscription's event stream.
pub struct Sse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<Chunked<BufReader<TcpStream>>>,
    /// Comment lines (`: ping`) seen.
    pub comments: Vec<String>,
}

impl Sse {
    /// `GET TARGET` with `Accept: text/event-stream` and `headers`. Panics unless it is 200;
    /// use [`request`] for the refusals.
    pub fn open(url: &str, target: &str, headers: &[(&str, &str)]) -> Sse {
        let mut stream = connect(url);
        let mut all = vec![("accept", "text/event-stream")];
        all.extend_from_slice(headers);
        send_head(&mut stream, url, "GET", target, &all, None);
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status, 200, "subscribe {target}: {headers:?}");
        Sse {
            status,
            headers,
            reader: BufReader::new(Chunked::new(reader)),
            comments: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The next event (comments are collected, not returned).
    pub fn next(&mut self) -> SseEvent {
        self.next_within(WAIT)
            .unwrap_or_else(|| panic!("no event within {WAIT:?}"))
    }

    /// The next event if one comes within `limit`.
    pub fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + limit;
        let mut event = SseEvent::default();
        let mut has_data = false;
        let mut line = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.reader
                .get_ref()
                .inner
                .get_ref()
                .set_read_timeout(Some(left))
                .unwrap();
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => panic!("the event stream ended"),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("reading the event stream: {e}"),
            }
            let l = line.strip_suffix('\n').unwrap_or(&line);
            if l.is_empty() {
                if has_data || event.event.is_some() {
                    return Some(event);
                }
                continue;
            }
            if let Some(comment) = l.strip_prefix(':') {
                self.comments.push(comment.trim().to_owned());
                continue;
            }
            let (field, value) = l.split_once(':').unwrap_or((l, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => event.id = Some(value.to_owned()),
                "event" => event.event = Some(value.to_owned()),
                "data" => {
                    if has_data {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    has_data = true;
                }
                _ => {}
            }
        }
    }

    /// The next `n` events of type `kind`, skipping others (ready, gap).
    pub fn take(&mut self, kind: &str, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while out.len() < n {
            let e = self.next();
            if e.event.as_deref().unwrap_or("message") == kind {
                out.push(e);
            }
        }
        out
    }
}
