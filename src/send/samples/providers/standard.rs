//! Standard Webhooks (Svix): headers, ids and events (`data/standard/`).

use super::Provider;
use crate::send::samples::IdFormat;

pub static STANDARD: Provider = Provider {
    name: "standard",
    title: "Standard Webhooks (Svix)",
    scheme: Some("standard"),
    id_format: IdFormat::Prefixed {
        prefix: "msg_",
        len: 27,
        upper: false,
    },
    headers: &[
        ("Content-Type", "application/json"),
        ("webhook-id", "{{event_id}}"),
        ("webhook-timestamp", "{{now}}"),
    ],
    events: &[
        (
            "user.created",
            include_str!("../data/standard/user.created.json"),
        ),
        (
            "invoice.paid",
            include_str!("../data/standard/invoice.paid.json"),
        ),
        (
            "subscription.canceled",
            include_str!("../data/standard/subscription.canceled.json"),
        ),
    ],
    fragments: &[],
};
