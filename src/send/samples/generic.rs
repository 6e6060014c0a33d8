//! The seed's eight generic samples: a Stripe-like envelope (`id`, `type`, `created`,
//! `api_version`, `livemode`, `data`, `request`) around a domain-specific `data` object.
//! Building is a pure function of the event id and the creation time: amounts, quantities and
//! names are fixed, while secondary ids (payment ids, commit shas, tracking numbers) are
//! derived from the event id.

use serde_json::{json, Value};

use super::{Ctx, Sample, Source};

/// The `api_version` every generic sample carries.
pub const API_VERSION: &str = "2025-01-01";

/// `(name, description, data)` of each generic sample, in `send --list` order.
type Generic = (&'static str, &'static str, fn(&Ctx<'_>) -> Value);

const GENERIC: &[Generic] = &[
    (
        "payment_success",
        "A card payment succeeded (payments)",
        payment_success,
    ),
    (
        "payment_failed",
        "A card payment was declined (payments)",
        payment_failed,
    ),
    (
        "refund_created",
        "A partial refund was issued for a payment (payments)",
        refund_created,
    ),
    (
        "order_created",
        "A customer placed an order (e-commerce)",
        order_created,
    ),
    (
        "order_shipped",
        "An order left the warehouse with a tracking number (e-commerce)",
        order_shipped,
    ),
    (
        "sensor_reading",
        "A device reported a temperature reading (IoT)",
        sensor_reading,
    ),
    (
        "pipeline_succeeded",
        "A CI/CD pipeline passed and deployed (CI/CD)",
        pipeline_succeeded,
    ),
    (
        "pipeline_failed",
        "A CI/CD pipeline failed in its test stage (CI/CD)",
        pipeline_failed,
    ),
];

/// The generic samples.
pub(super) fn samples() -> impl Iterator<Item = Sample> {
    GENERIC.iter().map(|(name, description, data)| Sample {
        name: (*name).to_owned(),
        description: (*description).to_owned(),
        provider: None,
        source: Source::Generic(*data),
    })
}

/// The generic envelope around `data`.
pub(super) fn envelope(name: &str, data: fn(&Ctx<'_>) -> Value, ctx: &Ctx<'_>) -> Value {
    json!({
        "id": ctx.id(),
        "type": name,
        "created": ctx.created(),
        "api_version": API_VERSION,
        "livemode": false,
        "data": data(ctx),
        "request": {
            "id": format!("req_{}", ctx.hex("request", 12)),
            "idempotency_key": ctx.hex("idempotency", 16),
        },
    })
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
