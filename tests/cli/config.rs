//! hookctl.toml profiles, end to end through the binary: a profile configures listen, flags
//! and variables win over it, the file is found in the working directory or named by
//! --config / HOOKCTL_CONFIG, secrets stay out of it, and `config show` says where each
//! setting came from. Every error is one line with exit code 2.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::support::{hookctl, hookctl_std, read_capture, Lines, Spawned};

/// A temporary project folder with a hookctl.toml.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(toml: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hookctl.toml"), toml).unwrap();
        Project { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `hookctl ARGS` run in the project folder.
    fn run(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = hookctl();
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }

    /// `hookctl ARGS` started in the project folder; waits for listen's announcement.
    fn listen(&self, args: &[&str]) -> (Spawned, String) {
        let mut child = hookctl_std()
            .current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Lines::spawn(child.stdout.take().unwrap());
        let mut stderr = Lines::spawn(child.stderr.take().unwrap());
        let line = stderr.wait_for("the listening line", |l| l.starts_with("listening on "));
        let url = line.trim_start_matches("listening on ").trim().to_owned();
        (
            Spawned {
                child,
                stdout,
                stderr,
            },
            url,
        )
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn send_one(url: &str) {
    hookctl()
        .args([
            "send",
            "payment_success",
            "-q",
            "--to",
            &format!("{url}/webhook"),
        ])
        .assert()
        .success();
}

/// The one-line error of a failed run, checking it exits 2 and prints nothing on stdout.
fn usage_error(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_owned()
}

fn show_json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one NDJSON record: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The `config show --json` row of `key` for `command`.
fn row<'v>(record: &'v Value, command: &str, key: &str) -> &'v Value {
    record["commands"][command]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no {command} {key} in {record}"))
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path).unwrap().display().to_string()
}

#[test]
fn a_profile_sets_the_port_and_capture_that_listen_uses() {
    let port = free_port();
    let project = Project::new(&format!(
        "[profile.dev]\nverify-mode = \"warn\"\n\n[profile.dev.listen]\nport = {port}\ncapture = \"events.jsonl\"\n"
    ));
    let (mut listen, url) = project.listen(&["--profile", "dev", "listen"]);
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    send_one(&url);
    assert_eq!(read_capture(&project.path("events.jsonl")).len(), 1);
    assert!(listen.interrupt().success());
}

#[test]
fn a_flag_overrides_the_file() {
    // The file's port is taken: listen only starts if --port wins.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let project = Project::new(&format!(
        "[profile.default.listen]\nport = {port}\ncapture = \"from-file.jsonl\"\n"
    ));
    let (mut listen, url) =
        project.listen(&["listen", "--port", "0", "--capture", "from-flag.jsonl"]);
    assert_ne!(url, format!("http://127.0.0.1:{port}"));
    send_one(&url);
    assert!(listen.interrupt().success());
    assert_eq!(read_capture(&project.path("from-flag.jsonl")).len(), 1);
    assert!(!project.path("from-file.jsonl").exists());
    // Without the flag, the file's port is the one tried.
    let err = run_error(project.run(&["listen"]));
    assert!(
        err.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{err}"
    );
    drop(taken);
}

fn run_error(mut cmd: assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn hookctl_config_and_config_name_a_file_elsewhere() {
    let elsewhere = Project::new("[profile.default.listen]\nport = 4100\ncapture = \"c.jsonl\"\n");
    let file = elsewhere.path("hookctl.toml");
    let file_arg = file.to_str().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let show = |cmd: &mut assert_cmd::Command| {
        cmd.current_dir(cwd.path());
        show_json(cmd)
    };

    let from_env = show(
        hookctl()
            .env("HOOKCTL_CONFIG", &file)
            .args(["config", "show", "--json", "listen"]),
    );
    assert_eq!(from_env["file"]["origin"], "env");
    assert_eq!(from_env["file"]["path"], canonical(&file));
    let port = row(&from_env, "listen", "port");
    assert_eq!(port["value"], "4100");
    assert_eq!(port["source"]["kind"], "file");
    assert_eq!(port["source"]["path"], canonical(&file));
    assert_eq!(port["source"]["line"], 2);
    // A relative path in that file is relative to the file.
    assert_eq!(
        row(&from_env, "listen", "capture")["value"],
        elsewhere.path("c.jsonl").display().to_string()
    );

    // --config wins over HOOKCTL_CONFIG, which here names no file.
    let from_flag = show(
        hookctl()
            .env("HOOKCTL_CONFIG", cwd.path().join("missing.toml"))
            .args(["--config", file_arg, "config", "show", "--json", "listen"]),
    );
    assert_eq!(from_flag["file"]["origin"], "flag");
    assert_eq!(row(&from_flag, "listen", "port")["value"], "4100");

    // A file named but missing is an error, not silently skipped.
    let err = usage_error(
        hookctl()
            .current_dir(cwd.path())
            .env("HOOKCTL_CONFIG", cwd.path().join("missing.toml"))
            .args(["listen"]),
    );
    assert!(
        err.starts_with("hookctl: error: cannot read ")
            && err.contains("missing.toml (from HOOKCTL_CONFIG)"),
        "{err}"
    );

    // And listen really uses --config.
    let (mut listen, url) = {
        let port = free_port();
        let other = Project::new(&format!("[profile.ci.listen]\nport = {port}\n"));
        let config = other.path("hookctl.toml");
        let started = Project::new("").listen(&[
            "--config",
            config.to_str().unwrap(),
            "--profile",
            "ci",
            "listen",
        ]);
        assert_eq!(started.1, format!("http://127.0.0.1:{port}"));
        started
    };
    send_one(&url);
    assert!(listen.interrupt().success());
}

#[test]
fn an_unknown_profile_names_the_available_ones() {
    let project = Project::new("[profile.stripe-dev]\nport = 1\n[profile.github]\nport = 2\n");
    assert_eq!(
        usage_error(&mut project.run(&["--profile", "stripe-deb", "listen"])),
        "hookctl: error: no profile `stripe-deb` in hookctl.toml (did you mean `stripe-dev`?); available: stripe-dev, github"
    );
    assert_eq!(
        usage_error(project.run(&["listen"]).env("HOOKCTL_PROFILE", "nope")),
        "hookctl: error: no profile `nope` in hookctl.toml; available: stripe-dev, github"
    );
    let empty = tempfile::tempdir().unwrap();
    let err = usage_error(hookctl().current_dir(empty.path()).args([
        "--profile",
        "dev",
        "send",
        "payment_success",
    ]));
    assert!(
        err.starts_with("hookctl: error: profile `dev` was asked for (--profile), but there is no hookctl.toml in "),
        "{err}"
    );
}

#[test]
fn an_unknown_key_names_the_nearest_one() {
    let project = Project::new(
        "[profile.dev]\n\n[profile.dev.listen]\nport = 1\nforward_to = \"http://127.0.0.1:8080\"\n",
    );
    assert_eq!(
        usage_error(&mut project.run(&["--profile", "dev", "listen"])),
        "hookctl: error: hookctl.toml:5: unknown key `forward_to` in [profile.dev.listen]: `hookctl listen` has no --forward_to flag (did you mean `forward-to`?)"
    );
    // A flag of another command, in a command's table, is unknown there too.
    let project = Project::new("[profile.dev.send]\nport = 1\n");
    let err = usage_error(&mut project.run(&["send", "payment_success"]));
    assert!(
        err.starts_with("hookctl: error: hookctl.toml:2: unknown key `port` in [profile.dev.send]: `hookctl send` has no --port flag"),
        "{err}"
    );
}

#[test]
fn a_secret_in_the_file_is_refused() {
    let project =
        Project::new("[profile.dev]\nverify = \"stripe\"\nsecret = \"whsec_in_the_file\"\n");
    let err = usage_error(&mut project.run(&["--profile", "dev", "listen"]));
    assert_eq!(
        err,
        "hookctl: error: hookctl.toml:3: `secret` would keep a secret in the file; name the environment variable that holds it instead: secret-env = \"WEBHOOK_SECRET\""
    );
    let project = Project::new(
        "[profile.dev.listen]\npublish = \"amqp://hookctl:hunter2@127.0.0.1:5672/%2f\"\n",
    );
    let err = usage_error(&mut project.run(&["--profile", "dev", "listen"]));
    assert!(
        err.contains("hookctl.toml:2: `publish` holds a URL with a password")
            && !err.contains("hunter2"),
        "{err}"
    );
}

/// `send --dry-run` signed with a pinned id and timestamp: the exact capture line.
fn signed_line(cmd: &mut assert_cmd::Command, extra: &[&str]) -> String {
    let out = cmd
        .args([
            "send",
            "payment_success",
            "--dry-run",
            "--id",
            "evt_1",
            "--timestamp",
            "1700000000",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8(out.stdout).unwrap();
    let record: Value = serde_json::from_str(&line).unwrap();
    record["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "Stripe-Signature")
        .unwrap_or_else(|| panic!("signed: {line}"))[1]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn secret_env_is_read_and_hookctl_secret_still_wins() {
    let project =
        Project::new("[profile.stripe]\nsign = \"stripe\"\nsecret-env = \"MY_STRIPE_SECRET\"\n");
    // The same command with everything on the command line, in a folder without a file.
    let elsewhere = tempfile::tempdir().unwrap();
    let expected = |secret: &str| {
        signed_line(
            hookctl().current_dir(elsewhere.path()),
            &["--sign", "stripe", "--secret", secret],
        )
    };
    assert_ne!(expected("whsec_a"), expected("whsec_b"));
    let from_profile = signed_line(
        project
            .run(&["--profile", "stripe"])
            .env("MY_STRIPE_SECRET", "whsec_from_the_profile"),
        &[],
    );
    assert_eq!(from_profile, expected("whsec_from_the_profile"));

    // flag > env > file: HOOKCTL_SECRET (clap's own variable) beats secret-env.
    let from_env = signed_line(
        project
            .run(&["--profile", "stripe"])
            .env("MY_STRIPE_SECRET", "whsec_from_the_profile")
            .env("HOOKCTL_SECRET", "whsec_from_hookctl_secret"),
        &[],
    );
    assert_eq!(from_env, expected("whsec_from_hookctl_secret"));

    // Unset: a warning that names the line, then the usual missing-secret error.
    let out = project
        .run(&[
            "--profile",
            "stripe",
            "send",
            "payment_success",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "hookctl: warning: hookctl.toml:3: secret-env names MY_STRIPE_SECRET, which is not set"
        ),
        "{stderr}"
    );
}

#[test]
fn config_show_says_where_each_setting_came_from() {
    let project = Project::new(
        "[profile.dev]\nverify = \"stripe\"\nsecret-env = \"STRIPE_WEBHOOK_SECRET\"\n\n[profile.dev.listen]\nport = 4000\nexpect = [\"type=a\", \"type=b\"]\n",
    );
    let file = canonical(&project.path("hookctl.toml"));
    let args = [
        "--profile",
        "dev",
        "config",
        "show",
        "--json",
        "listen",
        "--capture",
        "x.jsonl",
    ];
    let record = show_json(
        project
            .run(&args)
            .env("STRIPE_WEBHOOK_SECRET", "whsec_never_printed")
            .env("HOOKCTL_PROFILE", "ignored-because-the-flag-wins"),
    );
    assert_eq!(record["kind"], "config");
    assert_eq!(record["profile"]["name"], "dev");
    assert_eq!(record["profile"]["origin"], "flag");
    assert_eq!(record["profiles"], serde_json::json!(["dev"]));
    let port = row(&record, "listen", "port");
    assert_eq!(port["value"], "4000");
    assert_eq!(
        port["source"],
        serde_json::json!({"kind": "file", "path": file, "line": 6, "table": "[profile.dev.listen]"})
    );
    assert_eq!(
        row(&record, "listen", "expect")["value"],
        serde_json::json!(["type=a", "type=b"])
    );
    assert_eq!(
        row(&record, "listen", "verify")["source"]["table"],
        "[profile.dev]"
    );
    let secret = row(&record, "listen", "secret");
    assert_eq!(secret["value"], serde_json::json!(["***"]));
    assert_eq!(
        secret["source"]["env"],
        serde_json::json!(["STRIPE_WEBHOOK_SECRET"])
    );
    assert_eq!(
        row(&record, "listen", "capture")["source"],
        serde_json::json!({"kind": "flag"})
    );
    assert_eq!(
        row(&record, "listen", "host")["source"],
        serde_json::json!({"kind": "default"})
    );

    // HOOKCTL_SECRET is clap's own variable: it shows as env, and the file's is not used.
    let record = show_json(
        project
            .run(&["--profile", "dev", "config", "show", "--json", "listen"])
            .env("HOOKCTL_SECRET", "whsec_x"),
    );
    assert_eq!(
        row(&record, "listen", "secret")["source"],
        serde_json::json!({"kind": "env", "var": "HOOKCTL_SECRET"})
    );

    // The global flags may follow the command, as they may in a real run.
    let record =
        show_json(&mut project.run(&["config", "show", "--json", "listen", "--profile", "dev"]));
    assert_eq!(record["profile"]["name"], "dev");
    assert_eq!(row(&record, "listen", "port")["value"], "4000");

    // The text form: the file, the profile, then one aligned line per setting.
    let out = project
        .run(&["config", "show", "listen", "--port", "5000"])
        .env("HOOKCTL_PROFILE", "dev")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_never_printed")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("whsec_never_printed"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("file:    {file} (found in the working directory)")
    );
    assert_eq!(lines[1], "profile: dev (from HOOKCTL_PROFILE)");
    let setting = |key: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        line.split_whitespace().map(str::to_owned).collect()
    };
    assert_eq!(setting("port"), ["port", "5000", "flag"]);
    assert_eq!(
        setting("verify"),
        ["verify", "stripe", "hookctl.toml:2", "[profile.dev]"]
    );
    assert_eq!(
        setting("secret"),
        [
            "secret",
            "[\"***\"]",
            "env",
            "STRIPE_WEBHOOK_SECRET",
            "named",
            "at",
            "hookctl.toml:3",
            "[profile.dev]"
        ]
    );
    assert_eq!(setting("host"), ["host", "127.0.0.1", "default"]);
    let record = show_json(&mut project.run(&["config", "show", "--json", "replay", "x.jsonl"]));
    assert_eq!(row(&record, "replay", "file")["source"]["kind"], "argument");
    // Columns line up: every value starts at the same place.
    let port_line = lines
        .iter()
        .find(|l| l.trim_start().starts_with("port "))
        .unwrap();
    let host_line = lines
        .iter()
        .find(|l| l.trim_start().starts_with("host "))
        .unwrap();
    assert_eq!(port_line.find("5000"), host_line.find("127.0.0.1"));
}

#[test]
fn a_bad_value_reports_its_file_and_line() {
    let project = Project::new("[profile.dev]\n\n[profile.dev.listen]\nport = 70000\n");
    assert_eq!(
        usage_error(&mut project.run(&["--profile", "dev", "listen"])),
        "hookctl: error: hookctl.toml:4: invalid value '70000' for '--port <PORT>': 70000 is not in 0..=65535"
    );
    let project = Project::new("[profile.default.send]\ntimeout = \"soon\"\n");
    let err = usage_error(&mut project.run(&["send", "payment_success"]));
    assert!(
        err.starts_with(
            "hookctl: error: hookctl.toml:2: invalid value 'soon' for '--timeout <DURATION>'"
        ),
        "{err}"
    );
    let project = Project::new("[profile.default]\nport = \n");
    let err = usage_error(&mut project.run(&["listen"]));
    assert!(err.starts_with("hookctl: error: hookctl.toml:2: "), "{err}");
}

#[test]
fn values_of_the_wrong_type_and_unknown_commands_are_usage_errors() {
    let project =
        Project::new("[profile.default.listen]\nfsync = \"yes\"\ncapture = \"c.jsonl\"\n");
    assert_eq!(
        usage_error(&mut project.run(&["listen"])),
        "hookctl: error: hookctl.toml:2: `fsync` is a switch: write fsync = true or false, not \"yes\""
    );
    // Other commands may join the list; these are there today.
    let err = usage_error(&mut project.run(&["config", "show", "lisen"]));
    assert!(
        err.starts_with("hookctl: error: config show: `lisen` is not a command a profile can set (did you mean `listen`?); use one of listen, send, replay, verify, relay"),
        "{err}"
    );
    let project = Project::new("[profile.default.listen]\nstatus = 503\nrespond = [500]\n");
    let err = usage_error(&mut project.run(&["listen"]));
    assert!(
        err.starts_with("hookctl: error: hookctl.toml [profile.default]: the argument '--status <STATUS>' cannot be used with"),
        "{err}"
    );
}
