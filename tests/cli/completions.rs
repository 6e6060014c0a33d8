//! Shell completion in real shells: the committed scripts, sourced, with `hookctl` found on
//! PATH, complete sample names (built-in and the user's) in a folder of the test's own. Bash
//! is driven the way readline drives it (COMP_WORDS split at `:` as bash splits them); fish
//! through `complete --do-complete`; zsh with its `_describe` replaced by one that prints the
//! candidates. A shell that is not installed is skipped, and says so.
//! The `HOOKCTL_COMPLETE=SHELL hookctl -- WORDS...` requests the scripts make are tested directly too.

use std::path::{Path, PathBuf};

use crate::support::{bin, hookctl, WAIT};

/// A folder holding `hookctl/samples/acme_order.json`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sample(&dir.path().join("hookctl/samples"), "acme_order");
    dir
}

fn write_sample(folder: &Path, name: &str) {
    std::fs::create_dir_all(folder).unwrap();
    std::fs::write(
        folder.join(format!("{name}.json")),
        r#"{"description": "An Acme order", "body": {"id": "{{uuid}}"}}"#,
    )
    .unwrap();
}

fn script(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(file)
}

fn installed(shell: &str) -> bool {
    let found = std::process::Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("{shell} is not installed: its completion test is skipped");
    }
    found
}

/// `shell ARGS...` in `dir`, hermetic, with the binary under test first on PATH; its stdout
/// lines (it must succeed and print nothing on stderr).
fn run_shell(dir: &Path, shell: &str, args: &[&str]) -> Vec<String> {
    let bin_dir = bin().parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = assert_cmd::Command::new(shell)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(args)
        .timeout(WAIT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{shell} failed: {stderr}");
    assert!(stderr.is_empty(), "{shell} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What the bash script offers for `line` (the cursor at its end): COMP_WORDS and `$2` are
/// set as bash sets them, splitting at `:` and `=`.
fn bash(dir: &Path, line: &str) -> Vec<String> {
    let program = format!(
        r#"source {script}
line={line:?}
COMP_LINE=$line
COMP_POINT=${{#line}}
COMP_WORDS=()
word=
for (( i = 0; i < ${{#line}}; i++ )); do
    c=${{line:i:1}}
    if [[ $c == ' ' ]]; then
        [[ -n $word ]] && COMP_WORDS+=("$word")
        word=
    elif [[ $c == [:=] ]]; then
        [[ -n $word ]] && COMP_WORDS+=("$word")
        COMP_WORDS+=("$c")
        word=
    else
        word+=$c
    fi
done
COMP_WORDS+=("$word")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
cur=${{COMP_WORDS[COMP_CWORD]}}
[[ $cur == [:=] ]] && cur=
_clap_complete_hookctl hookctl "$cur" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script("hookctl.bash").display(),
    );
    run_shell(dir, "bash", &["--norc", "--noprofile", "-c", &program])
}

fn has(offered: &[String], name: &str) -> bool {
    offered.iter().any(|o| o == name)
}

#[test]
fn bash_completes_built_in_samples_flows_and_your_own() {
    let dir = project();
    let offered = bash(dir.path(), "hookctl send ");
    for name in [
        "github:push",
        "stripe:payment_intent.succeeded",
        "stripe:checkout",
        "acme_order",
    ] {
        assert!(has(&offered, name), "{name} not in {offered:?}");
    }
    let offered = bash(dir.path(), "hookctl send git");
    assert!(has(&offered, "github:push"), "{offered:?}");
    assert!(has(&offered, "github:pr-merged"), "{offered:?}");
    assert!(!has(&offered, "acme_order"), "{offered:?}");
    assert_eq!(bash(dir.path(), "hookctl send acme"), ["acme_order"]);
}

#[test]
fn bash_completes_after_a_colon_and_an_equals_sign() {
    let dir = project();
    // Bash replaces only what follows the `:`, so that is what the answers hold.
    let offered = bash(dir.path(), "hookctl send github:pu");
    assert_eq!(
        offered,
        [
            "push",
            "pull_request.opened",
            "pull_request.synchronize",
            "pull_request.closed"
        ]
    );
    let offered = bash(dir.path(), "hookctl send github:");
    assert!(
        has(&offered, "push") && has(&offered, "pr-merged"),
        "{offered:?}"
    );
    assert_eq!(
        bash(dir.path(), "hookctl send stripe:payment_intent.su"),
        ["payment_intent.succeeded"]
    );
    assert_eq!(bash(dir.path(), "hookctl send x --sign=gi"), ["github"]);
}

#[test]
fn bash_completes_the_folder_named_in_hookctl_toml_and_by_samples() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(&dir.path().join("fixtures/hooks"), "from_toml");
    write_sample(&dir.path().join("other"), "from_flag");
    std::fs::write(
        dir.path().join("hookctl.toml"),
        "[profile.default.send]\nsamples = \"fixtures/hooks\"\n",
    )
    .unwrap();
    let offered = bash(dir.path(), "hookctl send from_");
    assert_eq!(offered, ["from_toml"]);
    let offered = bash(dir.path(), "hookctl send --samples other from_");
    assert_eq!(offered, ["from_flag"]);
}

#[test]
fn a_broken_sample_file_leaves_the_built_in_names() {
    let dir = project();
    std::fs::write(dir.path().join("hookctl/samples/bad.json"), "{ not json").unwrap();
    let offered = bash(dir.path(), "hookctl send github:pu");
    assert!(has(&offered, "push"), "{offered:?}");
}

#[test]
fn zsh_completes_samples_with_descriptions() {
    if !installed("zsh") {
        return;
    }
    let dir = project();
    // _describe only runs inside a completion widget: this one prints what it was given.
    let program = format!(
        r#"autoload -Uz compinit && compinit -u -D
source {}
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
words=(hookctl send "")
CURRENT=3
_clap_dynamic_completer_hookctl"#,
        script("_hookctl").display()
    );
    let offered = run_shell(dir.path(), "zsh", &["-f", "-c", &program]);
    assert!(has(&offered, r"acme_order:An Acme order"), "{offered:?}");
    assert!(
        offered.iter().any(|o| o.starts_with(r"github\:push:")),
        "{offered:?}"
    );
}

#[test]
fn zsh_completes_on_the_first_tab_when_autoloaded_from_fpath() {
    if !installed("zsh") {
        return;
    }
    let dir = project();
    let functions = dir.path().join("zfunc");
    std::fs::create_dir_all(&functions).unwrap();
    std::fs::copy(script("_hookctl"), functions.join("_hookctl")).unwrap();
    // compinit binds hookctl to the autoloaded _hookctl; its first call must complete.
    let program = format!(
        r#"fpath=({} $fpath)
autoload -Uz compinit && compinit -u -D
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
words=(hookctl send acme)
CURRENT=3
$_comps[hookctl]"#,
        functions.display()
    );
    let offered = run_shell(dir.path(), "zsh", &["-f", "-c", &program]);
    assert_eq!(offered, ["acme_order:An Acme order"]);
}

#[test]
fn fish_completes_samples_with_descriptions() {
    if !installed("fish") {
        return;
    }
    let dir = project();
    let program = format!(
        "source {}; complete --do-complete 'hookctl send '; complete --do-complete 'hookctl send github:pu'",
        script("hookctl.fish").display()
    );
    let offered = run_shell(dir.path(), "fish", &["--no-config", "-c", &program]);
    assert!(has(&offered, "acme_order\tAn Acme order"), "{offered:?}");
    assert!(
        offered.iter().any(|o| o.starts_with("github:push\t")),
        "{offered:?}"
    );
    assert!(
        offered
            .iter()
            .any(|o| o.starts_with("github:pull_request.opened\t")),
        "{offered:?}"
    );
}

/// `HOOKCTL_COMPLETE=SHELL hookctl -- WORDS...` in `dir`: what the scripts run.
fn request(dir: &Path, shell: &str, words: &[&str]) -> Vec<String> {
    let out = hookctl()
        .current_dir(dir)
        .env("HOOKCTL_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .arg("--")
        .args(words)
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn completion_requests_answer_from_the_binary() {
    let dir = project();
    let offered = request(dir.path(), "bash", &["hookctl", "send", "a"]);
    assert_eq!(offered, ["acme_order"]);
    // fish and zsh get the descriptions.
    let offered = request(dir.path(), "fish", &["hookctl", "send", "stripe:checkout"]);
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(offered[0].starts_with("stripe:checkout.session.completed\t"));
    assert!(offered[1].starts_with("stripe:checkout\t"));
    // After --list, the providers, not the sample names.
    let offered = request(dir.path(), "fish", &["hookctl", "send", "--list", "s"]);
    let names: Vec<&str> = offered
        .iter()
        .map(|o| o.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["stripe", "shopify", "slack", "standard"]);
    let offered = request(dir.path(), "bash", &["hookctl", "listen", "--verify", "s"]);
    assert_eq!(offered, ["standard", "stripe", "shopify", "slack"]);
}

#[test]
fn complete_prints_the_registration_script() {
    // `HOOKCTL_COMPLETE=SHELL hookctl` prints what `hookctl completions SHELL` prints, calling the
    // binary it was run as.
    let out = hookctl()
        .env("HOOKCTL_COMPLETE", "fish")
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("HOOKCTL_COMPLETE=fish {} --", bin().display())),
        "{text}"
    );
    // Unset, empty or 0: an ordinary run.
    for value in ["", "0"] {
        hookctl()
            .env("HOOKCTL_COMPLETE", value)
            .arg("--version")
            .assert()
            .success()
            .stdout(predicates::str::starts_with("hookctl "));
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    hookctl()
        .env("HOOKCTL_COMPLETE", "tcsh")
        .arg("--version")
        .timeout(WAIT)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "unknown shell `tcsh`, expected one of `bash`, `elvish`, `fish`, `powershell`, `zsh`",
        ));
}

#[test]
#[cfg(unix)]
fn a_word_that_is_not_utf8_does_not_stop_completion() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = project();
    let out = hookctl()
        .current_dir(dir.path())
        .env("HOOKCTL_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "4")
        .arg("--")
        .args(["hookctl", "send", "--samples"])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .arg("github:pi")
        .timeout(WAIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "github:ping");
}
