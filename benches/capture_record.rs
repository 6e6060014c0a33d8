//! The capture record: writing one line and reading one line for a realistic delivery (the
//! 511-byte payment event in `payload.json`, with the headers a load generator sends), and
//! building the event from a request, which reads the body's `id` and `type`.
//!
//! `cargo bench --features bench --bench capture_record`

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use hookctl::event::{Event, Headers};

const PAYLOAD: &[u8] = include_bytes!("payload.json");

fn headers() -> Headers {
    [
        ("content-type", "application/json"),
        ("content-length", "511"),
        ("user-agent", "oha/1.4.6"),
        ("accept", "*/*"),
        ("host", "127.0.0.1:18091"),
    ]
    .into_iter()
    .collect()
}

fn event() -> Event {
    let mut event = Event::from_parts(
        "POST",
        "/webhook",
        None,
        headers(),
        Bytes::from_static(PAYLOAD),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123),
    );
    event.notes.status = Some(200);
    event
}

fn capture_record(c: &mut Criterion) {
    let event = event();
    let mut out = Vec::with_capacity(4096);
    c.bench_function("write_json_line", |b| {
        b.iter(|| {
            out.clear();
            std::hint::black_box(&event).write_json_line(&mut out);
            std::hint::black_box(&out);
        })
    });
    let line = event.to_json_line();
    c.bench_function("from_json_line", |b| {
        b.iter(|| Event::from_json_line(std::hint::black_box(line.as_bytes())))
    });
    c.bench_function("from_parts", |b| {
        b.iter(|| {
            Event::from_parts(
                "POST",
                "/webhook",
                None,
                headers(),
                Bytes::from_static(std::hint::black_box(PAYLOAD)),
                SystemTime::UNIX_EPOCH,
            )
        })
    });
}

criterion_group!(benches, capture_record);
criterion_main!(benches);
