//! Slack: headers, ids and events (`data/slack/`).

use super::Provider;
use crate::send::samples::IdFormat;

pub static SLACK: Provider = Provider {
    name: "slack",
    title: "Slack",
    scheme: Some("slack"),
    id_format: IdFormat::Prefixed {
        prefix: "Ev",
        len: 9,
        upper: true,
    },
    headers: &[
        ("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)"),
        ("Content-Type", "application/json"),
        ("Accept", "*/*"),
        ("X-Slack-Request-Timestamp", "{{now}}"),
    ],
    events: &[
        (
            "url_verification",
            include_str!("../data/slack/url_verification.json"),
        ),
        (
            "event_callback.app_mention",
            include_str!("../data/slack/event_callback.app_mention.json"),
        ),
        (
            "event_callback.message",
            include_str!("../data/slack/event_callback.message.json"),
        ),
        (
            "slash_command",
            include_str!("../data/slack/slash_command.json"),
        ),
    ],
    fragments: &[],
};
