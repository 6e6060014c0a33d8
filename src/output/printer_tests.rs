//! Tests of [`super`]: printer.rs.

use super::*;
use std::sync::mpsc::{channel, Receiver, Sender};

/// A writer appending to a buffer the test can read.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer whose every write waits until its gate is dropped, like a pipe nobody reads.
struct Gated {
    gate: Receiver<()>,
    inner: Shared,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.gate.recv();
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that always fails with `kind`.
struct Failing(io::ErrorKind);

impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(self.0.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn line(n: &u32, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{n}\n").as_bytes());
}

/// A printer of `line`s into `writer` whose queue holds `items` (and 1 MiB).
fn spawn(writer: Box<dyn Write + Send>, items: usize, notices: &Shared) -> Printer<u32> {
    let limit = QueueLimit {
        items,
        bytes: 1 << 20,
    };
    let notices = Diag::to_writer(notices.clone());
    Printer::spawn(writer, limit, notices, |_| 4, line)
}

#[test]
fn the_queue_is_bounded_in_bytes_too() {
    let (gate_tx, gate) = channel();
    let out = Shared::default();
    let writer = Gated {
        gate,
        inner: out.clone(),
    };
    let limit = QueueLimit {
        items: 1000,
        bytes: 100,
    };
    let notices = Diag::to_writer(Shared::default());
    // Each item weighs 30 bytes: three fit, then the queue is full.
    let printer = Printer::spawn(Box::new(writer), limit, notices, |_| 30, line);
    let accepted = (0..1000).filter(|&n| printer.print(n)).count() as u64;
    // The queue, plus at most one batch the thread took before it got stuck.
    assert!(accepted <= 6, "{accepted} accepted");
    assert_eq!(printer.dropped(), 1000 - accepted);
    drop(gate_tx);
    assert_eq!(printer.finish(), 1000 - accepted);
    assert_eq!(out.text().lines().count() as u64, accepted);
}

fn gated(capacity: usize) -> (Printer<u32>, Sender<()>, Shared, Shared) {
    let (gate_tx, gate) = channel();
    let (out, notices) = (Shared::default(), Shared::default());
    let writer = Gated {
        gate,
        inner: out.clone(),
    };
    let printer = spawn(Box::new(writer), capacity, &notices);
    (printer, gate_tx, out, notices)
}

#[test]
fn every_item_arrives_in_order() {
    let (out, notices) = (Shared::default(), Shared::default());
    let printer = spawn(Box::new(out.clone()), 2000, &notices);
    for n in 0..1000 {
        assert!(printer.print(n));
    }
    assert_eq!(printer.finish(), 0);
    let expected: String = (0..1000).map(|n| format!("{n}\n")).collect();
    assert_eq!(out.text(), expected);
    assert_eq!(notices.text(), "");
}

#[test]
fn a_stuck_writer_never_blocks_print() {
    let (printer, gate, out, notices) = gated(16);
    let started = Instant::now();
    let accepted = (0..10_000).filter(|&n| printer.print(n)).count() as u64;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(printer.dropped(), 10_000 - accepted);
    // The queue, plus at most one batch the thread took before it got stuck.
    assert!(accepted <= 32, "{accepted} accepted");

    drop(gate);
    let dropped = printer.finish();
    assert_eq!(dropped, 10_000 - accepted);
    let printed: Vec<u32> = out.text().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(printed.len() as u64, accepted);
    assert!(printed.windows(2).all(|w| w[0] < w[1]), "{printed:?}");
    let notices = notices.text();
    let reported: u64 = notices
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("hookctl: output too slow: ").unwrap();
            assert!(l.ends_with(" not printed (capture unaffected)"), "{l}");
            rest.split(' ').next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(reported, dropped, "{notices}");
}

#[test]
fn finish_timeout_gives_up_on_a_stuck_writer() {
    let (printer, gate, _, _) = gated(4);
    printer.print(1);
    let started = Instant::now();
    assert_eq!(printer.finish_timeout(Duration::from_millis(50)), None);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(gate);

    let printer = spawn(Box::new(Shared::default()), 4, &Shared::default());
    printer.print(1);
    assert_eq!(printer.finish_timeout(Duration::from_secs(5)), Some(0));
}

#[test]
fn broken_pipe_stops_output_quietly() {
    let notices = Shared::default();
    let writer = Box::new(Failing(io::ErrorKind::BrokenPipe));
    let printer = spawn(writer, 8, &notices);
    let signal = printer.broken_signal();
    assert!(printer.print(1));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !signal.load(Ordering::Relaxed) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    assert!(printer.is_broken());
    assert!(!printer.print(2));
    assert_eq!(printer.finish(), 0);
    assert_eq!(notices.text(), "");
}

#[test]
fn other_write_errors_are_reported_once() {
    let notices = Shared::default();
    let writer = Box::new(Failing(io::ErrorKind::StorageFull));
    let printer = spawn(writer, 8, &notices);
    let other = printer.clone();
    printer.print(1);
    assert_eq!(printer.finish(), 0);
    assert!(!other.is_broken());
    assert!(!other.print(2), "printing after finish");
    assert_eq!(notices.text().lines().count(), 1);
    assert!(notices
        .text()
        .starts_with("hookctl: error: cannot write output: "));
}

#[test]
fn a_note_comes_after_the_output_before_it_and_before_its_own() {
    // Output and notes go to one buffer, so their order shows.
    let both = Shared::default();
    let limit = QueueLimit {
        items: 100,
        bytes: 1 << 20,
    };
    let mut seen = 0;
    let printer = Printer::spawn_with_notes(
        Box::new(both.clone()),
        limit,
        Diag::to_writer(both.clone()),
        |_| 4,
        move |n: &u32, out: &mut Vec<u8>| {
            line(n, out);
            seen += 1;
            (seen == 3).then(|| "switched".to_owned())
        },
    );
    // Queued at once, so they are formatted in one batch.
    for n in 1..=5 {
        assert!(printer.print(n));
    }
    assert_eq!(printer.finish(), 0);
    assert_eq!(both.text(), "1\n2\nhookctl: switched\n3\n4\n5\n");
}
