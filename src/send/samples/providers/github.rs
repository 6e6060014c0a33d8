//! GitHub: headers, ids and events (`data/github/`).

use super::Provider;
use crate::send::samples::IdFormat;

pub static GITHUB: Provider = Provider {
    name: "github",
    title: "GitHub",
    scheme: Some("github"),
    id_format: IdFormat::Uuid,
    headers: &[
        ("User-Agent", "GitHub-Hookshot/6b02022"),
        ("Content-Type", "application/json"),
        ("Accept", "*/*"),
        ("X-GitHub-Event", "{{topic_base}}"),
        ("X-GitHub-Delivery", "{{event_id}}"),
        ("X-GitHub-Hook-ID", "512345678"),
        ("X-GitHub-Hook-Installation-Target-Type", "repository"),
        ("X-GitHub-Hook-Installation-Target-ID", "718273645"),
    ],
    events: &[
        ("ping", include_str!("../data/github/ping.json")),
        ("push", include_str!("../data/github/push.json")),
        (
            "pull_request.opened",
            include_str!("../data/github/pull_request.opened.json"),
        ),
        (
            "pull_request.synchronize",
            include_str!("../data/github/pull_request.synchronize.json"),
        ),
        (
            "pull_request.closed",
            include_str!("../data/github/pull_request.closed.json"),
        ),
        (
            "issues.opened",
            include_str!("../data/github/issues.opened.json"),
        ),
        (
            "issue_comment.created",
            include_str!("../data/github/issue_comment.created.json"),
        ),
        (
            "release.published",
            include_str!("../data/github/release.published.json"),
        ),
        (
            "workflow_run.completed",
            include_str!("../data/github/workflow_run.completed.json"),
        ),
        (
            "check_run.completed",
            include_str!("../data/github/check_run.completed.json"),
        ),
    ],
    fragments: &[
        (
            "repository",
            include_str!("../data/github/_repository.json"),
        ),
        (
            "push_repository",
            include_str!("../data/github/_push_repository.json"),
        ),
        ("sender", include_str!("../data/github/_sender.json")),
        (
            "organization",
            include_str!("../data/github/_organization.json"),
        ),
    ],
};
