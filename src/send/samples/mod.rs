//! Built-in sample events for `hookctl send`.
//!
//! Every sample uses the same Stripe-like envelope: `id`, `type` (the sample name) and `created`
//! (unix seconds) come first, then `api_version`, `livemode`, the domain-specific `data` object
//! and a `request` object. Building is a pure function of the event id and the creation time:
//! amounts, quantities and names are fixed, while secondary ids (payment ids, commit shas,
//! tracking numbers) are derived from the event id, so a fresh event id gives fresh secondary ids
//! and the same inputs always give the same document.
//!
//! For bulk sending, [`Sample::placeholder_body`] gives the body with placeholders where those
//! derived values go, and a [`Template`] compiled from it renders each event's body by
//! splicing them into fixed JSON text.

mod template;

use crate::error::ConfigError;
use serde_json::{json, Value};

pub use template::Template;

/// The `api_version` every sample carries.
pub const API_VERSION: &str = "2025-01-01";

/// One built-in sample event.
#[derive(Debug)]
pub struct Sample {
    /// The name given to `send`, also the body's `type`.
    pub name: &'static str,
    /// One line for `send --list`.
    pub description: &'static str,
    data: fn(&Ctx<'_>) -> Value,
}

static SAMPLES: &[Sample] = &[
    Sample {
        name: "payment_success",
        description: "A card payment succeeded (payments)",
        data: payment_success,
    },
    Sample {
        name: "payment_failed",
        description: "A card payment was declined (payments)",
        data: payment_failed,
    },
    Sample {
        name: "refund_created",
        description: "A partial refund was issued for a payment (payments)",
        data: refund_created,
    },
    Sample {
        name: "order_created",
        description: "A customer placed an order (e-commerce)",
        data: order_created,
    },
    Sample {
        name: "order_shipped",
        description: "An order left the warehouse with a tracking number (e-commerce)",
        data: order_shipped,
    },
    Sample {
        name: "sensor_reading",
        description: "A device reported a temperature reading (IoT)",
        data: sensor_reading,
    },
    Sample {
        name: "pipeline_succeeded",
        description: "A CI/CD pipeline passed and deployed (CI/CD)",
        data: pipeline_succeeded,
    },
    Sample {
        name: "pipeline_failed",
        description: "A CI/CD pipeline failed in its test stage (CI/CD)",
        data: pipeline_failed,
    },
];

/// Every built-in sample, in the order `send --list` shows them.
pub fn all() -> &'static [Sample] {
    SAMPLES
}

/// The sample called `name`. An unknown name gives a message listing the known names and, when
/// one is close, suggesting it.
pub fn find(name: &str) -> Result<&'static Sample, ConfigError> {
    if let Some(sample) = SAMPLES.iter().find(|s| s.name == name) {
        return Ok(sample);
    }
    let known = SAMPLES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ");
    let wanted = name.to_ascii_lowercase().replace(['-', ' '], "_");
    let closest = SAMPLES
        .iter()
        .map(|s| (strsim::jaro_winkler(&wanted, s.name), s.name))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= 0.8);
    Err(ConfigError::UnknownSample {
        name: name.to_owned(),
        suggestion: closest.map(|(_, best)| best.to_owned()),
        known,
    })
}

impl Sample {
    /// The body of this sample with the given event id and creation time (unix seconds).
    pub fn build(&self, id: &str, created_unix: i64) -> Value {
        self.envelope(&Ctx::Real {
            id,
            created: created_unix,
        })
    }

    /// The body with placeholders where the id, the creation time and what derives from them
    /// go; [`Template::compile`] turns it (with any `--set` applied) into a template.
    pub fn placeholder_body(&self) -> Value {
        self.envelope(&Ctx::Placeholders)
    }

    fn envelope(&self, ctx: &Ctx<'_>) -> Value {
        json!({
            "id": ctx.id(),
            "type": self.name,
            "created": ctx.created(),
            "api_version": API_VERSION,
            "livemode": false,
            "data": (self.data)(ctx),
            "request": {
                "id": format!("req_{}", ctx.hex("request", 12)),
                "idempotency_key": ctx.hex("idempotency", 16),
            },
        })
    }
}

/// What a sample's `data` is built from: a real id and time, or placeholders for a template.
enum Ctx<'a> {
    Real { id: &'a str, created: i64 },
    Placeholders,
}

impl Ctx<'_> {
    fn id(&self) -> Value {
        match self {
            Ctx::Real { id, .. } => json!(id),
            Ctx::Placeholders => json!(template::placeholder("I")),
        }
    }

    fn created(&self) -> Value {
        match self {
            Ctx::Real { created, .. } => json!(created),
            Ctx::Placeholders => json!(template::placeholder("C")),
        }
    }

    /// `len` lowercase hex digits derived from the event id and `salt`.
    fn hex(&self, salt: &str, len: usize) -> String {
        match self {
            Ctx::Real { id, .. } => template::hex(id, salt, len),
            Ctx::Placeholders => template::placeholder(&format!("h{len}:{salt}")),
        }
    }

    /// Like [`Ctx::hex`], in upper case.
    fn hex_upper(&self, salt: &str, len: usize) -> String {
        match self {
            Ctx::Real { id, .. } => template::hex(id, salt, len).to_ascii_uppercase(),
            Ctx::Placeholders => template::placeholder(&format!("H{len}:{salt}")),
        }
    }

    /// `created + offset_secs` as RFC 3339 in UTC, clamped to years 1970 to 9999.
    fn time(&self, offset_secs: i64) -> String {
        match self {
            Ctx::Real { created, .. } => template::time(*created, offset_secs),
            Ctx::Placeholders => template::placeholder(&format!("T{offset_secs}")),
        }
    }

    /// The date part (`YYYY-MM-DD`) of [`Ctx::time`].
    fn date(&self, offset_secs: i64) -> String {
        match self {
            Ctx::Real { created, .. } => template::date(*created, offset_secs),
            Ctx::Placeholders => template::placeholder(&format!("D{offset_secs}")),
        }
    }
}

const CUSTOMER: &str = "cus_000912A";
const ORDER_NUMBER: &str = "100001";

fn billing() -> Value {
    json!({
        "email": "cus_000912a@example.com",
        "name": "Jane Q. Customer",
        "country": "DE",
        "postal_code": "98696",
    })
}

fn shipping_address() -> Value {
    json!({
        "name": "Jane Q. Customer",
        "line1": "Musterstraße 12",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
        "phone": "+49 30 1234567",
    })
}

fn card() -> Value {
    json!({"type": "card", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030})
}

fn payment_success(ctx: &Ctx<'_>) -> Value {
    json!({
        "payment_id": format!("pay_{}", ctx.hex("payment", 16)),
        "amount": 4200,
        "currency": "usd",
        "status": "succeeded",
        "customer": CUSTOMER,
        "description": format!("Order #{ORDER_NUMBER} for {CUSTOMER}"),
        "payment_method": card(),
        "metadata": {"order_id": ORDER_NUMBER, "sku": "PRO-MONTHLY"},
        "billing": billing(),
    })
}

fn payment_failed(ctx: &Ctx<'_>) -> Value {
    json!({
        "payment_id": format!("pay_{}", ctx.hex("payment", 16)),
        "amount": 4200,
        "currency": "usd",
        "status": "failed",
        "customer": CUSTOMER,
        "description": format!("Order #{ORDER_NUMBER} for {CUSTOMER}"),
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "decline_code": "insufficient_funds",
        "payment_method": card(),
        "metadata": {"order_id": ORDER_NUMBER, "sku": "PRO-MONTHLY"},
        "billing": billing(),
    })
}

fn refund_created(ctx: &Ctx<'_>) -> Value {
    json!({
        "refund_id": format!("re_{}", ctx.hex("refund", 16)),
        "payment_id": format!("pay_{}", ctx.hex("payment", 16)),
        "amount": 1500,
        "currency": "usd",
        "status": "succeeded",
        "reason": "requested_by_customer",
        "customer": CUSTOMER,
        "metadata": {"order_id": ORDER_NUMBER, "ticket": "SUP-4821"},
    })
}

fn line_items() -> Value {
    json!([
        {"sku": "MUG-BLUE-350", "name": "Ceramic mug, blue, 350 ml", "quantity": 2, "unit_price": 1299, "total": 2598},
        {"sku": "BEANS-ETH-1KG", "name": "Ethiopian coffee beans, 1 kg", "quantity": 1, "unit_price": 2499, "total": 2499},
    ])
}

fn order_created(ctx: &Ctx<'_>) -> Value {
    json!({
        "order_id": format!("ord_{}", ctx.hex("order", 12)),
        "order_number": ORDER_NUMBER,
        "status": "pending",
        "customer": {"id": CUSTOMER, "email": "cus_000912a@example.com", "name": "Jane Q. Customer"},
        "currency": "eur",
        "line_items": line_items(),
        "subtotal": 5097,
        "shipping": 495,
        "tax": 1062,
        "total": 6654,
        "shipping_address": shipping_address(),
        "placed_at": ctx.time(0),
    })
}

fn order_shipped(ctx: &Ctx<'_>) -> Value {
    let tracking = format!("1Z{}", ctx.hex_upper("tracking", 16));
    json!({
        "order_id": format!("ord_{}", ctx.hex("order", 12)),
        "order_number": ORDER_NUMBER,
        "status": "shipped",
        "shipment_id": format!("shp_{}", ctx.hex("shipment", 12)),
        "carrier": "UPS",
        "service": "Standard",
        "tracking_number": tracking,
        "tracking_url": format!("https://tracking.example.com/ups/{tracking}"),
        "line_items": [
            {"sku": "MUG-BLUE-350", "quantity": 2},
            {"sku": "BEANS-ETH-1KG", "quantity": 1},
        ],
        "package": {"weight_grams": 1840, "dimensions_cm": [30, 20, 15]},
        "shipping_address": shipping_address(),
        "shipped_at": ctx.time(0),
        "estimated_delivery": ctx.date(3 * 86_400),
    })
}

fn sensor_reading(ctx: &Ctx<'_>) -> Value {
    json!({
        "device_id": "dev_greenhouse-07",
        "sensor": "temperature",
        "reading": {"value": 21.7, "unit": "celsius"},
        "battery": {"percent": 87, "voltage": 3.71},
        "firmware": "2.4.1",
        "location": {"site": "greenhouse-2", "lat": 52.5163, "lon": 13.3777},
        "sequence": 18342,
        "recorded_at": ctx.time(-2),
    })
}

fn pipeline(ctx: &Ctx<'_>, status: &str, stages: Value) -> Value {
    json!({
        "pipeline_id": 48213,
        "project": "acme/storefront",
        "branch": "main",
        "commit": {
            "sha": ctx.hex("commit", 40),
            "message": "Add express checkout for returning customers",
            "author": "Jane Q. Developer <jane@example.com>",
        },
        "status": status,
        "trigger": "push",
        "duration_seconds": 312,
        "stages": stages,
        "url": "https://ci.example.com/acme/storefront/pipelines/48213",
        "started_at": ctx.time(-312),
        "finished_at": ctx.time(0),
    })
}

fn pipeline_succeeded(ctx: &Ctx<'_>) -> Value {
    let mut data = pipeline(
        ctx,
        "success",
        json!([
            {"name": "build", "status": "success", "duration_seconds": 95},
            {"name": "test", "status": "success", "duration_seconds": 171},
            {"name": "deploy", "status": "success", "duration_seconds": 46},
        ]),
    );
    data["environment"] = json!({"name": "production", "url": "https://shop.example.com"});
    data
}

fn pipeline_failed(ctx: &Ctx<'_>) -> Value {
    let mut data = pipeline(
        ctx,
        "failed",
        json!([
            {"name": "build", "status": "success", "duration_seconds": 95},
            {"name": "test", "status": "failed", "duration_seconds": 217},
            {"name": "deploy", "status": "skipped", "duration_seconds": 0},
        ]),
    );
    data["failed_stage"] = json!("test");
    data["failed_job"] = json!({
        "name": "unit-tests",
        "exit_code": 1,
        "log_url": "https://ci.example.com/acme/storefront/jobs/902117/log",
        "summary": "3 failed, 412 passed: checkout::express::applies_saved_card",
    });
    data
}

#[cfg(test)]
mod tests;
