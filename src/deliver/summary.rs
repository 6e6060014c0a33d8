//! Counting outcomes of a send or replay run, and printing the summary.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use crate::deliver::Outcome;
use crate::output::human_duration;

/// Counts by outcome, latency percentiles and rate for one run.
pub struct Summary {
    /// Events handed to the engine.
    pub sent: u64,
    /// Answered 2xx.
    pub succeeded: u64,
    /// Answered, but not 2xx.
    pub rejected: u64,
    /// Never answered: connection error or timeout.
    pub failed: u64,
    /// Not sent: filtered out, or invalid lines skipped with --skip-invalid.
    pub skipped: u64,
    /// Of the skipped, those `--filter` or `--id` left out.
    pub filtered: u64,
    /// Attempts beyond the first.
    pub retries: u64,
    latencies: Histogram<u64>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            sent: 0,
            succeeded: 0,
            rejected: 0,
            failed: 0,
            skipped: 0,
            filtered: 0,
            retries: 0,
            // Microseconds from 1µs to 1h, 3 significant figures.
            latencies: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }
}

impl Summary {
    /// Counts one outcome.
    pub fn record(&mut self, outcome: &Outcome) {
        self.sent += 1;
        self.retries += u64::from(outcome.attempts.saturating_sub(1));
        match outcome.status {
            Some(_) if outcome.is_success() => self.succeeded += 1,
            Some(_) => self.rejected += 1,
            None => self.failed += 1,
        }
        let micros = outcome.latency.as_micros().clamp(1, 3_600_000_000) as u64;
        let _ = self.latencies.record(micros);
    }

    /// True when every event sent got a 2xx.
    pub fn all_succeeded(&self) -> bool {
        self.rejected == 0 && self.failed == 0
    }

    fn percentile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latencies.value_at_quantile(q))
    }

    fn max(&self) -> Duration {
        Duration::from_micros(self.latencies.max())
    }

    /// The human summary, for stderr.
    pub fn render(&self, elapsed: Duration, concurrency: usize, interrupted: bool) -> String {
        let rate = self.sent as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut text = format!(
            "{}sent {} event{} in {} ({}): {} 2xx, {} non-2xx, {} failed, {} skipped",
            if interrupted { "interrupted: " } else { "" },
            self.sent,
            if self.sent == 1 { "" } else { "s" },
            human_duration(elapsed),
            crate::deliver::progress::rate(rate),
            self.succeeded,
            self.rejected,
            self.failed,
            self.skipped,
        );
        if self.filtered > 0 {
            text.push_str(&format!(
                " ({} not selected by --filter/--id)",
                self.filtered
            ));
        }
        if self.sent > 0 {
            text.push_str(&format!(
                "\nlatency p50 {}, p90 {}, p99 {}, max {}",
                human_duration(self.percentile(0.5)),
                human_duration(self.percentile(0.9)),
                human_duration(self.percentile(0.99)),
                human_duration(self.max()),
            ));
            if self.retries > 0 {
                text.push_str(&format!(
                    "; {} retr{}",
                    self.retries,
                    if self.retries == 1 { "y" } else { "ies" }
                ));
            }
        }
        if concurrency > 1 && self.sent > 1 {
            text.push_str(&format!(
                "\nconcurrency {concurrency}: events may have arrived out of order"
            ));
        }
        text
    }

    /// The `summary` NDJSON record.
    pub fn to_json(
        &self,
        elapsed: Duration,
        concurrency: usize,
        interrupted: bool,
    ) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        json!({
            "kind": "summary",
            "sent": self.sent,
            "succeeded": self.succeeded,
            "rejected": self.rejected,
            "failed": self.failed,
            "skipped": self.skipped,
            "filtered": self.filtered,
            "retries": self.retries,
            "elapsed_ms": ms(elapsed),
            "rate_per_s": self.sent as f64 / elapsed.as_secs_f64().max(1e-9),
            "concurrency": concurrency,
            "in_order": concurrency <= 1,
            "interrupted": interrupted,
            "latency_ms": {
                "p50": ms(self.percentile(0.5)),
                "p90": ms(self.percentile(0.9)),
                "p99": ms(self.percentile(0.99)),
                "max": ms(self.max()),
            }
        })
    }
}
