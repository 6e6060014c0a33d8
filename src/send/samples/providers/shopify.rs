//! Shopify: headers, ids and events (`data/shopify/`).

use super::Provider;
use crate::send::samples::IdFormat;

pub static SHOPIFY: Provider = Provider {
    name: "shopify",
    title: "Shopify",
    scheme: Some("shopify"),
    id_format: IdFormat::Uuid,
    headers: &[
        ("User-Agent", "Shopify-Captain-Hook"),
        ("Content-Type", "application/json"),
        ("Accept", "*/*"),
        ("X-Shopify-Topic", "{{topic}}"),
        ("X-Shopify-Shop-Domain", "hookctl-demo.myshopify.com"),
        ("X-Shopify-API-Version", "2025-07"),
        ("X-Shopify-Webhook-Id", "{{event_id}}"),
        ("X-Shopify-Event-Id", "{{uuid \"shopify_event\"}}"),
        ("X-Shopify-Triggered-At", "{{time}}"),
    ],
    events: &[
        (
            "orders/create",
            include_str!("../data/shopify/orders_create.json"),
        ),
        (
            "orders/paid",
            include_str!("../data/shopify/orders_paid.json"),
        ),
        (
            "products/update",
            include_str!("../data/shopify/products_update.json"),
        ),
        (
            "customers/create",
            include_str!("../data/shopify/customers_create.json"),
        ),
        (
            "app/uninstalled",
            include_str!("../data/shopify/app_uninstalled.json"),
        ),
    ],
    fragments: &[],
};
