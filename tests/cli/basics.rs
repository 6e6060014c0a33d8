//! Version, help, completions drift, and the clap definition.

use crate::support::hookctl;

#[test]
fn version_and_help() {
    hookctl()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicates::str::starts_with("hookctl "));
    hookctl()
        .args(["listen", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("--capture"));
}

#[test]
fn committed_completions_match_the_cli() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "hookctl.bash"),
        ("zsh", "_hookctl"),
        ("fish", "hookctl.fish"),
        ("powershell", "_hookctl.ps1"),
        ("elvish", "hookctl.elv"),
    ] {
        let out = hookctl().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is out of date; regenerate with: cargo run -- completions {shell} > completions/{file}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    hookctl()
        .args(["listen", "--port", "notaport"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid value"));
}
