//! Tests of the channel log.

use super::*;
use crate::event::Headers;
use crate::serve::segment::{numbered, segment_path};

struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn settings(events: u64, age: Duration) -> Arc<LogSettings> {
    Arc::new(LogSettings {
        retention: Retention { age, events },
        fsync: false,
        cache: CacheBudget::new(64 << 20),
        diag: Diag::stderr(),
        sparse: false,
    })
}

fn event(body: &str) -> Event {
    Event::from_parts(
        "POST",
        "/hook",
        None,
        Headers::new(),
        Bytes::from(body.to_owned()),
        SystemTime::now(),
    )
}

async fn all_after(log: &ChannelLog, mut after: u64) -> (Option<Gap>, Vec<u64>) {
    let mut seqs = Vec::new();
    let mut first_gap = None;
    loop {
        let batch = log.read_after(after).await.unwrap();
        first_gap = first_gap.or(batch.gap);
        if let Some(gap) = batch.gap {
            after = gap.next - 1;
        }
        if batch.events.is_empty() {
            return (first_gap, seqs);
        }
        for e in batch.events {
            assert_eq!(seq_of(&e.line), Some(e.seq));
            seqs.push(e.seq);
            after = e.seq;
        }
    }
}

#[test]
fn lines_carry_their_sequence_number_second() {
    let line = numbered(b"{\"v\":1,\"kind\":\"event\"}\n", 42);
    assert_eq!(line, b"{\"v\":1,\"seq\":42,\"kind\":\"event\"}\n");
    assert_eq!(seq_of(&line), Some(42));
    assert_eq!(seq_of(b"{\"kind\":\"event\",\"seq\":7}"), Some(7));
    assert_eq!(seq_of(b"{\"kind\":\"event\"}"), None);
}

#[tokio::test]
async fn sequence_numbers_survive_a_reopen_and_reads_cross_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = ChannelLog::open(dir.path(), settings(10_000, Duration::from_secs(3600))).unwrap();
    for i in 0..2500 {
        assert_eq!(
            log.append(&event(&format!("{{\"n\":{i}}}"))).await.unwrap(),
            i + 1
        );
    }
    log.close().await;
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 3, "1000 events a segment");
    let log = ChannelLog::open(dir.path(), settings(10_000, Duration::from_secs(3600))).unwrap();
    assert_eq!(log.last(), 2500);
    assert_eq!(log.append(&event("{}")).await.unwrap(), 2501);
    let (gap, seqs) = all_after(&log, 0).await;
    assert_eq!(gap, None);
    assert_eq!(seqs, (1..=2501).collect::<Vec<_>>());
    let (_, seqs) = all_after(&log, 1999).await;
    assert_eq!(seqs, (2000..=2501).collect::<Vec<_>>());
}

#[tokio::test]
async fn retention_by_count_gives_a_gap_and_deletes_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = ChannelLog::open(dir.path(), settings(1500, Duration::from_secs(3600))).unwrap();
    for _ in 0..3000 {
        log.append(&event("{}")).await.unwrap();
    }
    log.expire(SystemTime::now()).await.unwrap();
    assert_eq!(log.stored(), 1500);
    let (gap, seqs) = all_after(&log, 10).await;
    assert_eq!(
        gap,
        Some(Gap {
            after: 10,
            next: 1501,
            missed: Some(1490)
        })
    );
    assert_eq!(seqs, (1501..=3000).collect::<Vec<_>>());
    // Segments 1 (1..=1000) is gone; 1001.. still holds 1501..=2000.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("00000000000000001001"), "{names:?}");
}

#[tokio::test]
async fn retention_by_age_keeps_the_numbering_after_everything_expired() {
    let dir = tempfile::tempdir().unwrap();
    let log = ChannelLog::open(dir.path(), settings(10_000, Duration::from_secs(60))).unwrap();
    for _ in 0..5 {
        log.append(&event("{}")).await.unwrap();
    }
    let later = SystemTime::now() + Duration::from_secs(120);
    assert_eq!(log.expire(later).await.unwrap(), 5);
    assert_eq!(log.stored(), 0);
    let (gap, seqs) = all_after(&log, 2).await;
    assert_eq!(
        gap,
        Some(Gap {
            after: 2,
            next: 6,
            missed: Some(3)
        })
    );
    assert!(seqs.is_empty());
    drop(log);
    let log = ChannelLog::open(dir.path(), settings(10_000, Duration::from_secs(60))).unwrap();
    assert_eq!(log.append(&event("{}")).await.unwrap(), 6);
}

#[tokio::test]
async fn a_line_cut_short_by_a_crash_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let log = ChannelLog::open(dir.path(), settings(100, Duration::from_secs(60))).unwrap();
    log.append(&event("{}")).await.unwrap();
    log.close().await;
    let path = segment_path(dir.path(), 1);
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"v\":1,\"seq\":2,\"kind\":\"ev");
    std::fs::write(&path, text).unwrap();
    let diag_out = Arc::new(Mutex::new(Vec::new()));
    let diag = Diag::to_writer(Buffer(diag_out.clone()));
    let settings = Arc::new(LogSettings {
        retention: Retention {
            age: Duration::from_secs(60),
            events: 100,
        },
        fsync: false,
        cache: CacheBudget::new(1 << 20),
        diag,
        sparse: false,
    });
    let log = ChannelLog::open(dir.path(), settings).unwrap();
    assert_eq!(log.append(&event("{}")).await.unwrap(), 2);
    let (_, seqs) = all_after(&log, 0).await;
    assert_eq!(seqs, vec![1, 2]);
    assert!(String::from_utf8(diag_out.lock().unwrap().clone())
        .unwrap()
        .contains(":2: cutting off a line that was never finished"));
}

#[tokio::test]
async fn numbers_given_from_outside_may_skip_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = || {
        Arc::new(LogSettings {
            retention: Retention {
                age: Duration::from_secs(3600),
                events: 2,
            },
            fsync: false,
            cache: CacheBudget::new(1 << 20),
            diag: Diag::stderr(),
            sparse: true,
        })
    };
    let log = ChannelLog::open(dir.path(), sparse()).unwrap();
    let mut plain = Vec::new();
    event("{\"a\":1}").write_json_line(&mut plain);
    let now = millis(SystemTime::now());
    assert!(log.append_at(&plain, 5, now).await.unwrap());
    assert!(log.append_at(&plain, 9, now).await.unwrap());
    // Applied again (after a reconnect or a restart): not stored twice.
    assert!(!log.append_at(&plain, 9, now).await.unwrap());
    assert!(!log.append_at(&plain, 7, now).await.unwrap());
    assert_eq!(log.last(), 9);
    assert_eq!(all_after(&log, 0).await, (None, vec![5, 9]));
    assert_eq!(all_after(&log, 5).await, (None, vec![9]));
    assert!(log.append_at(&plain, 20, now).await.unwrap());
    // Retention keeps 2: a subscriber after 0 is told of a gap whose size is unknown.
    let (gap, seqs) = all_after(&log, 0).await;
    assert_eq!(
        gap,
        Some(Gap {
            after: 0,
            next: 9,
            missed: None
        })
    );
    assert_eq!(seqs, vec![9, 20]);
    log.close().await;
    let log = ChannelLog::open(dir.path(), sparse()).unwrap();
    assert_eq!(log.last(), 20);
    assert!(!log.append_at(&plain, 20, now).await.unwrap());
    assert!(log.append_at(&plain, 21, now).await.unwrap());
    assert_eq!(all_after(&log, 9).await, (None, vec![20, 21]));
}
