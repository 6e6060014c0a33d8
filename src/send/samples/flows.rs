//! Flows: the sequence of events one real action produces (a checkout, a merged pull request),
//! with ids carried from step to step and realistic gaps between them.
//!
//! Every step of one run derives its secondary ids from the same key, so `{{id "pi"}}` is the
//! same PaymentIntent in `checkout.session.completed` and `payment_intent.succeeded`; each
//! step still gets its own event id. A step can also read an earlier step's body with
//! `{{ref "STEP" "PATH"}}`.

use std::time::Duration;

use serde_json::Value;

use super::expr::EvalError;
use super::Sample;

/// A named sequence of samples.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
}

/// One step of a flow.
#[derive(Debug)]
pub struct Step {
    /// What `{{ref}}` calls it: the sample's name unless the flow names it.
    pub name: String,
    pub sample: &'static Sample,
    /// How long after the previous step it happens (0 for the first).
    pub gap: Duration,
}

/// One step, built: its event id, creation time and body.
#[derive(Debug, Clone)]
pub struct BuiltStep {
    pub sample: &'static Sample,
    pub id: String,
    pub created: i64,
    pub body: Value,
    /// The pause before sending it.
    pub gap: Duration,
}

/// `(flow, description, [(sample, gap in milliseconds)])`.
type BuiltinFlow = (&'static str, &'static str, &'static [(&'static str, u64)]);

const BUILTIN: &[BuiltinFlow] = &[
    (
        "stripe:checkout",
        "a paid Checkout Session: checkout.session.completed, payment_intent.succeeded, charge.succeeded, invoice.paid",
        &[
            ("stripe:checkout.session.completed", 0),
            ("stripe:payment_intent.succeeded", 400),
            ("stripe:charge.succeeded", 150),
            ("stripe:invoice.paid", 1200),
        ],
    ),
    (
        "stripe:subscription",
        "a new subscription: customer.created, customer.subscription.created, invoice.paid",
        &[
            ("stripe:customer.created", 0),
            ("stripe:customer.subscription.created", 800),
            ("stripe:invoice.paid", 1500),
        ],
    ),
    (
        "github:pr-merged",
        "a merged pull request: pull_request.closed (merged), then the push of its merge commit",
        &[("github:pull_request.closed", 0), ("github:push", 700)],
    ),
    (
        "shopify:order",
        "a new customer's order: customers/create, orders/create, orders/paid",
        &[
            ("shopify:customers/create", 0),
            ("shopify:orders/create", 2000),
            ("shopify:orders/paid", 1500),
        ],
    ),
];

/// The built-in flows.
pub(super) fn builtin() -> Vec<Flow> {
    BUILTIN
        .iter()
        .map(|(name, description, steps)| Flow {
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            steps: steps
                .iter()
                .map(|(sample, gap_ms)| Step {
                    name: (*sample).to_owned(),
                    // The names above are tested to exist.
                    sample: super::all()
                        .iter()
                        .find(|s| s.name == *sample)
                        .unwrap_or_else(|| panic!("flow {name}: no sample {sample}")),
                    gap: Duration::from_millis(*gap_ms),
                })
                .collect(),
        })
        .collect()
}

impl Flow {
    /// Builds every step: `ids` gives each step's event id (in its sample's format), `key` is
    /// shared by all, the first step happens at `start` and each later one its gap after the
    /// one before (`gap` replaces the flow's gaps).
    pub fn build(
        &self,
        key: &str,
        start: i64,
        gap: Option<Duration>,
        mut ids: impl FnMut(&Sample) -> String,
    ) -> Result<Vec<BuiltStep>, EvalError> {
        let mut earlier: Vec<(String, Value)> = Vec::with_capacity(self.steps.len());
        let mut built = Vec::with_capacity(self.steps.len());
        let mut at_ms: i64 = start.saturating_mul(1000);
        for (i, step) in self.steps.iter().enumerate() {
            let pause = if i == 0 {
                Duration::ZERO
            } else {
                gap.unwrap_or(step.gap)
            };
            at_ms = at_ms.saturating_add(pause.as_millis().min(i64::MAX as u128) as i64);
            let created = at_ms.div_euclid(1000);
            let id = ids(step.sample);
            let body = step.sample.build_step(&id, key, created, &earlier)?;
            earlier.push((step.name.clone(), body.clone()));
            built.push(BuiltStep {
                sample: step.sample,
                id,
                created,
                body,
                gap: pause,
            });
        }
        Ok(built)
    }
}
