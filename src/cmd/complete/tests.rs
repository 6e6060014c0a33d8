use std::ffi::OsString;

use super::{command, script};

/// What the completion engine offers for the last of `words`.
fn complete(words: &[&str]) -> Vec<String> {
    let mut cmd = command();
    let args: Vec<OsString> = words.iter().map(OsString::from).collect();
    let index = args.len() - 1;
    clap_complete::engine::complete(&mut cmd, args, index, None)
        .unwrap()
        .into_iter()
        .map(|c| c.get_value().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_completers_attach_to_the_cli() {
    command().debug_assert();
}

#[test]
fn send_completes_built_in_samples_and_flows() {
    let offered = complete(&["hookctl", "send", "git"]);
    assert!(offered.contains(&"github:push".to_owned()), "{offered:?}");
    assert!(
        offered.contains(&"github:pr-merged".to_owned()),
        "{offered:?}"
    );
    assert!(offered.iter().all(|o| o.starts_with("git")), "{offered:?}");
    let offered = complete(&["hookctl", "send", ""]);
    assert!(
        offered.contains(&"payment_success".to_owned()),
        "{offered:?}"
    );
    assert!(
        offered.contains(&"stripe:checkout".to_owned()),
        "{offered:?}"
    );
}

#[test]
fn list_completes_providers_and_sign_completes_schemes() {
    // The providers come first; the sample names after them are left out only in a real
    // request, whose words the completer reads from the process arguments (tests/cli).
    let offered = complete(&["hookctl", "send", "--list", "st"]);
    assert_eq!(offered[..2], ["stripe", "standard"]);
    let offered = complete(&["hookctl", "send", "github:push", "--sign", "s"]);
    assert_eq!(offered, ["standard", "stripe", "shopify", "slack"]);
    let offered = complete(&["hookctl", "verify", "x.jsonl", "--scheme", "gi"]);
    assert_eq!(offered, ["github"]);
}

#[test]
fn every_shell_has_a_script_that_calls_hookctl_from_path() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
        clap_complete::Shell::PowerShell,
        clap_complete::Shell::Elvish,
    ] {
        let text = String::from_utf8(script(shell).unwrap()).unwrap();
        assert!(text.contains("HOOKCTL_COMPLETE"), "{shell}: {text}");
        assert!(text.contains("hookctl"), "{shell}: {text}");
    }
}
