//! Load for `bench/serve.py`, on one thread (pin it to its own core).
//!
//! `serve-load fanout ADDR CHANNEL TOKEN SUBSCRIBERS RATE SECONDS`: opens SUBSCRIBERS
//! subscriptions (`?format=capture`), waits until each got `ready`, then posts RATE events a
//! second for SECONDS over one keep-alive connection, and measures for every subscriber and
//! event the time from just before the POST to the event's arrival. Prints one JSON line: how
//! many deliveries were expected, received, missing, duplicated or out of order, and the
//! latency percentiles.
//!
//! `serve-load idle ADDR CHANNEL TOKEN SUBSCRIBERS`: opens SUBSCRIBERS subscriptions, waits
//! until each got `ready`, prints `{"connected":N}` and holds them until stdin closes.

use std::rc::Rc;
use std::cell::RefCell;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Shared {
    start: Instant,
    /// Microseconds since start at which event `seq` (index seq-1) was posted.
    sent: RefCell<Vec<Option<u64>>>,
    latencies: RefCell<Vec<u32>>,
    received: RefCell<u64>,
    errors: RefCell<u64>,
    ready: RefCell<usize>,
    ready_notify: tokio::sync::Notify,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        match args.get(1).map(String::as_str) {
            Some("fanout") => fanout(&args[2..]).await,
            Some("idle") => idle(&args[2..]).await,
            _ => {
                eprintln!("usage: serve-load fanout ADDR CHANNEL TOKEN SUBSCRIBERS RATE SECONDS | idle ADDR CHANNEL TOKEN SUBSCRIBERS");
                std::process::exit(2);
            }
        }
    });
}

fn shared(events: usize) -> Rc<Shared> {
    Rc::new(Shared {
        start: Instant::now(),
        sent: RefCell::new(vec![None; events]),
        latencies: RefCell::new(Vec::with_capacity(1 << 20)),
        received: RefCell::new(0),
        errors: RefCell::new(0),
        ready: RefCell::new(0),
        ready_notify: tokio::sync::Notify::new(),
    })
}

async fn connect(addr: &str, channel: &str, token: &str) -> TcpStream {
    let mut tries = 0;
    loop {
        match TcpStream::connect(addr).await {
            Ok(mut stream) => {
                let request = format!(
                    "GET /{channel}?format=capture&token={token} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).await.unwrap();
                return stream;
            }
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("connect: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }
}

/// Reads a subscription: counts `ready`, and for each `id: N` records the latency.
async fn subscriber(mut stream: TcpStream, shared: Rc<Shared>, measure: bool) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut ready = false;
    let mut expected = 1u64;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = shared.start.elapsed().as_micros() as u64;
        carry.extend_from_slice(&buf[..n]);
        if !ready {
            if find(&carry, b"event: ready").is_some() {
                ready = true;
                *shared.ready.borrow_mut() += 1;
                shared.ready_notify.notify_waiters();
            } else {
                continue;
            }
        }
        if !measure {
            carry.clear();
            continue;
        }
        // Every complete `id: N\n` in what arrived.
        let mut at = 0;
        let mut consumed = 0;
        while let Some(pos) = find(&carry[at..], b"id: ") {
            let start = at + pos + 4;
            let Some(end) = carry[start..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let seq: u64 = std::str::from_utf8(&carry[start..start + end])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if seq != expected {
                *shared.errors.borrow_mut() += 1;
            }
            expected = seq + 1;
            if let Some(Some(sent)) = shared.sent.borrow().get(seq as usize - 1) {
                shared
                    .latencies
                    .borrow_mut()
                    .push(now.saturating_sub(*sent).min(u32::MAX as u64) as u32);
            }
            *shared.received.borrow_mut() += 1;
            at = start + end;
            consumed = at;
        }
        // Keep a tail that may hold the start of the next `id:` line.
        let keep_from = consumed.max(carry.len().saturating_sub(32));
        carry.drain(..keep_from);
    }
}

async fn open_all(addr: &str, channel: &str, token: &str, n: usize, shared: &Rc<Shared>, measure: bool) {
    for _ in 0..n {
        let stream = connect(addr, channel, token).await;
        tokio::task::spawn_local(subscriber(stream, shared.clone(), measure));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while *shared.ready.borrow() < n {
        if Instant::now() > deadline {
            panic!("only {} of {n} subscribers got ready", shared.ready.borrow());
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), shared.ready_notify.notified()).await;
    }
}

async fn fanout(args: &[String]) {
    let (addr, channel, token) = (&args[0], &args[1], &args[2]);
    let subscribers: usize = args[3].parse().unwrap();
    let rate: f64 = args[4].parse().unwrap();
    let seconds: f64 = args[5].parse().unwrap();
    let events = (rate * seconds) as usize;
    let shared = shared(events);
    open_all(addr, channel, token, subscribers, &shared, true).await;
    let mut poster = TcpStream::connect(addr.as_str()).await.unwrap();
    poster.set_nodelay(true).unwrap();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut answer = vec![0u8; 4096];
    for i in 0..events {
        tick.tick().await;
        let body = format!("{{\"type\":\"bench.event\",\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(400));
        let request = format!(
            "POST /{channel} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        shared.sent.borrow_mut()[i] = Some(shared.start.elapsed().as_micros() as u64);
        poster.write_all(request.as_bytes()).await.unwrap();
        // Read the whole (small, content-length) answer.
        let mut got = Vec::new();
        loop {
            let n = poster.read(&mut answer).await.unwrap();
            assert!(n > 0, "serve closed the poster's connection");
            got.extend_from_slice(&answer[..n]);
            if let Some(head_end) = find(&got, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "post answered: {head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if got.len() >= head_end + 4 + len {
                    break;
                }
            }
        }
    }
    let expected = (events * subscribers) as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while *shared.received.borrow() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut lat = shared.latencies.borrow().clone();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    let received = *shared.received.borrow();
    println!(
        "{{\"subscribers\":{subscribers},\"events\":{events},\"expected\":{expected},\"received\":{received},\"missing\":{},\"out_of_order\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        expected.saturating_sub(received),
        shared.errors.borrow(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

async fn idle(args: &[String]) {
    let (addr, channel, token) = (&args[0], &args[1], &args[2]);
    let subscribers: usize = args[3].parse().unwrap();
    let shared = shared(0);
    open_all(addr, channel, token, subscribers, &shared, false).await;
    println!("{{\"connected\":{subscribers}}}");
    // Hold until stdin closes.
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 64];
    while let Ok(n) = stdin.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
