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

/// Without the `inspector` feature the command line is the same, and `--ui` and `inspect` say
/// how to get the inspector.
#[cfg(not(feature = "inspector"))]
#[test]
fn without_the_feature_the_inspector_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.jsonl"), "").unwrap();
    for args in [
        &["listen", "--port", "0", "--ui"][..],
        &["inspect", "c.jsonl", "--port", "0"][..],
    ] {
        hookctl()
            .args(args)
            .current_dir(dir.path())
            .assert()
            .code(1)
            .stderr("hookctl: error: this hookctl was built without the web inspector; rebuild with `cargo build --features inspector`\n");
    }
}
