//! Stripe: headers, ids and events (`data/stripe/`).

use super::Provider;
use crate::send::samples::IdFormat;

pub static STRIPE: Provider = Provider {
    name: "stripe",
    title: "Stripe",
    scheme: Some("stripe"),
    id_format: IdFormat::Event,
    headers: &[
        (
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        ),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Accept", "*/*; q=0.5, application/xml"),
        ("Cache-Control", "no-cache"),
    ],
    events: &[
        (
            "payment_intent.succeeded",
            include_str!("../data/stripe/payment_intent.succeeded.json"),
        ),
        (
            "payment_intent.payment_failed",
            include_str!("../data/stripe/payment_intent.payment_failed.json"),
        ),
        (
            "charge.succeeded",
            include_str!("../data/stripe/charge.succeeded.json"),
        ),
        (
            "charge.refunded",
            include_str!("../data/stripe/charge.refunded.json"),
        ),
        (
            "checkout.session.completed",
            include_str!("../data/stripe/checkout.session.completed.json"),
        ),
        (
            "customer.created",
            include_str!("../data/stripe/customer.created.json"),
        ),
        (
            "customer.subscription.created",
            include_str!("../data/stripe/customer.subscription.created.json"),
        ),
        (
            "customer.subscription.updated",
            include_str!("../data/stripe/customer.subscription.updated.json"),
        ),
        (
            "customer.subscription.deleted",
            include_str!("../data/stripe/customer.subscription.deleted.json"),
        ),
        (
            "invoice.paid",
            include_str!("../data/stripe/invoice.paid.json"),
        ),
        (
            "invoice.payment_failed",
            include_str!("../data/stripe/invoice.payment_failed.json"),
        ),
    ],
    fragments: &[],
};
