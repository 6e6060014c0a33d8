//! Applying a profile to a command line, in-process: what the file sets, what the command
//! line keeps, and where errors point.

use std::ffi::OsString;
use std::path::Path;

use super::{parse_with, Failure, Parsed};
use crate::cli::{Cli, Command};

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Parsed, Failure> {
    let argv: Vec<OsString> = std::iter::once("hookctl")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    parse_with(argv, dir, &lookup)
}

fn with_file(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hookctl.toml"), text).unwrap();
    dir
}

fn cli(dir: &Path, args: &[&str]) -> Cli {
    match run(dir, args, &[]) {
        Ok(parsed) => parsed.cli,
        Err(Failure::Clap(e)) => panic!("{args:?}: clap: {e}"),
        Err(Failure::Profile(e)) => panic!("{args:?}: {e}"),
    }
}

fn profile_error(dir: &Path, args: &[&str]) -> String {
    match run(dir, args, &[]) {
        Err(Failure::Profile(e)) => e.to_string(),
        Err(Failure::Clap(e)) => panic!("{args:?}: a clap error: {e}"),
        Ok(parsed) => panic!("{args:?} parsed: {:?}", parsed.cli),
    }
}

#[test]
fn the_profile_sets_what_the_command_line_leaves_out() {
    let dir = with_file(
        "[profile.dev.listen]\nport = 4000\ncapture = \"events.jsonl\"\nexpect = [\"type=a\", \"type=b,path=/x\"]\nfsync = true\nprefix = \"-x\"\n",
    );
    let Command::Listen(args) = cli(dir.path(), &["--profile", "dev", "listen"]).command else {
        panic!("listen")
    };
    assert_eq!(args.port, 4000);
    assert_eq!(args.capture.as_deref(), Some(Path::new("events.jsonl")));
    assert_eq!(args.expect, ["type=a", "type=b,path=/x"]);
    assert!(args.fsync);
    assert_eq!(args.verify.secrets.prefix, "-x");
}

#[test]
fn a_flag_wins_over_the_file_and_a_repeated_flag_replaces_the_list() {
    let dir = with_file("[profile.dev.listen]\nport = 4000\nexpect = [\"type=a\", \"type=b\"]\n");
    let Command::Listen(args) = cli(
        dir.path(),
        &[
            "--color",
            "never",
            "--profile",
            "dev",
            "listen",
            "-p",
            "5000",
            "--expect",
            "type=c",
        ],
    )
    .command
    else {
        panic!("listen")
    };
    assert_eq!(args.port, 5000);
    assert_eq!(args.expect, ["type=c"]);
}

#[test]
fn the_default_profile_applies_without_a_name() {
    let dir = with_file("[profile.default]\nport = 4001\n[profile.other]\nport = 4002\n");
    let Command::Listen(args) = cli(dir.path(), &["listen"]).command else {
        panic!("listen")
    };
    assert_eq!(args.port, 4001);
}

#[test]
fn a_flag_the_user_gave_pushes_out_a_conflicting_one_from_the_file() {
    let dir = with_file("[profile.dev.listen]\nstatus = 503\n");
    let Command::Listen(args) = cli(
        dir.path(),
        &["--profile", "dev", "listen", "--respond", "500,200"],
    )
    .command
    else {
        panic!("listen")
    };
    assert_eq!(args.respond.status, None);
    assert_eq!(args.respond.respond, [500, 200]);
}

#[test]
fn an_exclusive_flag_takes_nothing_from_the_file() {
    let dir = with_file("[profile.dev.send]\nto = \"http://127.0.0.1:9/hook\"\n");
    let Command::Send(args) = cli(dir.path(), &["--profile", "dev", "send", "--list"]).command
    else {
        panic!("send")
    };
    assert!(args.list);
}

#[test]
fn the_file_can_supply_what_a_required_argument_needs() {
    let dir = with_file("[profile.dev.send]\ndata = '{\"type\":\"ping\"}'\n");
    let Command::Send(args) = cli(dir.path(), &["--profile", "dev", "send"]).command else {
        panic!("send")
    };
    assert_eq!(args.data.as_deref(), Some("{\"type\":\"ping\"}"));
    // Without the profile it is the usual usage error.
    match run(dir.path(), &["send"], &[]) {
        Err(Failure::Clap(e)) => {
            assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn values_go_before_a_double_dash() {
    let dir = with_file("[profile.dev.replay]\nto = \"http://127.0.0.1:9\"\n");
    let Command::Replay(args) = cli(
        dir.path(),
        &["--profile", "dev", "replay", "--", "-odd.jsonl"],
    )
    .command
    else {
        panic!("replay")
    };
    assert_eq!(args.to, "http://127.0.0.1:9");
    assert_eq!(args.file, Path::new("-odd.jsonl"));
}

#[test]
fn a_bad_value_is_reported_at_its_line_with_the_flags_message() {
    let dir = with_file("[profile.dev.listen]\ncapture = \"x\"\nport = \"abc\"\n");
    assert_eq!(
        profile_error(dir.path(), &["--profile", "dev", "listen"]),
        "hookctl.toml:3: invalid value 'abc' for '--port <PORT>': invalid digit found in string"
    );
    let dir = with_file("[profile.dev.listen]\nmax-connections = 0\n");
    assert_eq!(
        profile_error(dir.path(), &["--profile", "dev", "listen"]),
        "hookctl.toml:2: invalid value '0' for '--max-connections <N>': 0 is not in 1..=1000000"
    );
    let dir = with_file("[profile.dev]\nverify-mode = \"strict\"\n");
    let err = profile_error(dir.path(), &["--profile", "dev", "listen"]);
    assert!(
        err.starts_with("hookctl.toml:2: invalid value 'strict' for '--verify-mode <VERIFY_MODE>'")
            && err.contains("[possible values: reject, warn]"),
        "{err}"
    );
}

#[test]
fn a_value_the_user_overrides_is_not_checked() {
    let dir = with_file("[profile.dev.listen]\nport = \"abc\"\n");
    let Command::Listen(args) =
        cli(dir.path(), &["--profile", "dev", "listen", "--port", "1"]).command
    else {
        panic!("listen")
    };
    assert_eq!(args.port, 1);
}

#[test]
fn flags_of_the_file_that_clash_are_reported_with_the_profile() {
    let dir = with_file("[profile.dev.listen]\nstatus = 503\nrespond = [500]\n");
    let err = profile_error(dir.path(), &["--profile", "dev", "listen"]);
    assert!(
        err.starts_with(
            "hookctl.toml [profile.dev]: the argument '--status <STATUS>' cannot be used with"
        ),
        "{err}"
    );
}

#[test]
fn secret_env_reads_the_variable_and_warns_when_it_is_unset() {
    let dir =
        with_file("[profile.dev]\nverify = \"stripe\"\nsecret-env = \"STRIPE_WEBHOOK_SECRET\"\n");
    let parsed = run(
        dir.path(),
        &["--profile", "dev", "listen"],
        &[("STRIPE_WEBHOOK_SECRET", "whsec_from_env")],
    )
    .unwrap();
    let Command::Listen(args) = parsed.cli.command else {
        panic!("listen")
    };
    assert_eq!(args.verify.secrets.secret, ["whsec_from_env"]);
    assert_eq!(args.verify.verify.as_deref(), Some("stripe"));
    assert!(parsed.warnings.is_empty());

    let parsed = run(dir.path(), &["--profile", "dev", "listen"], &[]).unwrap();
    assert_eq!(
        parsed.warnings,
        ["hookctl.toml:3: secret-env names STRIPE_WEBHOOK_SECRET, which is not set; --secret is not taken from the file"]
    );
}

#[test]
fn commands_a_profile_does_not_set_ignore_the_file() {
    let dir = with_file("this is not toml");
    let Command::Completions { .. } = cli(dir.path(), &["completions", "bash"]).command else {
        panic!("completions")
    };
    assert!(profile_error(dir.path(), &["listen"]).starts_with("hookctl.toml:1: "));
}

#[test]
fn relative_paths_in_a_file_elsewhere_are_relative_to_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("ci");
    std::fs::create_dir(&project).unwrap();
    let file = project.join("hookctl.toml");
    std::fs::write(
        &file,
        "[profile.default.listen]\ncapture = \"events.jsonl\"\nready-file = \"/abs/url\"\nresponse-body = \"@body.json\"\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let Command::Listen(args) = cli(dir.path(), &["--config", config, "listen"]).command else {
        panic!("listen")
    };
    assert_eq!(args.capture, Some(project.join("events.jsonl")));
    assert_eq!(args.ready_file.as_deref(), Some(Path::new("/abs/url")));
    // Not a path flag: taken as written.
    assert_eq!(args.respond.response_body.as_deref(), Some("@body.json"));
}

/// A command with flags hookctl does not have yet, as other work adds them: the mapping is by
/// flag name and shape, with no list to update.
fn future_listen() -> clap::Command {
    use clap::{Arg, ArgAction};
    let mut top = clap::Command::new("hookctl").subcommand(
        clap::Command::new("listen")
            .arg(
                Arg::new("route")
                    .long("route")
                    .num_args(2)
                    .value_names(["EXPR", "TARGET"])
                    .action(ArgAction::Append),
            )
            .arg(
                Arg::new("compact")
                    .long("compact")
                    .action(ArgAction::SetTrue),
            ),
    );
    top.build();
    top
}

fn future_plan(text: &str) -> Result<super::Plan, crate::config::ProfileError> {
    use crate::config::{Chosen, FileOrigin, ProfileOrigin, ProjectFile};
    let top = future_listen();
    let file = ProjectFile::parse(
        text,
        "hookctl.toml".into(),
        "hookctl.toml".to_owned(),
        &super::schema(&top),
    )?;
    let profile = file.profile("p").unwrap().clone();
    let chosen = Chosen {
        file,
        file_origin: FileOrigin::WorkingDir,
        profile: Some((profile, ProfileOrigin::Flag)),
    };
    let sub = top.find_subcommand("listen").unwrap();
    let matches = sub.clone().try_get_matches_from(["listen"]).unwrap();
    super::plan(sub, &matches, &chosen, &|_| None)
}

#[test]
fn a_flag_taking_several_values_at_a_time_takes_an_array_per_use() {
    let plan = future_plan(
        "[profile.p.listen]\nroute = [[\"type=a\", \"http://127.0.0.1:1\"], [\"type=b\", \"drop\"]]\ncompact = true\n",
    )
    .unwrap();
    let tokens: Vec<String> = plan
        .tokens()
        .iter()
        .map(|t| t.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        tokens,
        [
            "--route",
            "type=a",
            "http://127.0.0.1:1",
            "--route",
            "type=b",
            "drop",
            "--compact"
        ]
    );
    let top = future_listen();
    let matches = top
        .find_subcommand("listen")
        .unwrap()
        .clone()
        .try_get_matches_from(std::iter::once(OsString::from("listen")).chain(plan.tokens()))
        .unwrap();
    let routes: Vec<Vec<&String>> = matches
        .get_occurrences::<String>("route")
        .unwrap()
        .map(Iterator::collect)
        .collect();
    assert_eq!(
        routes,
        [vec!["type=a", "http://127.0.0.1:1"], vec!["type=b", "drop"]]
    );
    assert!(matches.get_flag("compact"));

    let err = future_plan("[profile.p.listen]\n\nroute = [[\"type=a\"]]\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("hookctl.toml:3: 2 values required for '--route <EXPR> <TARGET>'"),
        "{err}"
    );
}

#[test]
fn a_flag_the_file_sets_that_needs_another_says_which() {
    let dir = with_file("[profile.default.listen]\nfsync = true\n");
    assert_eq!(
        profile_error(dir.path(), &["listen"]),
        "hookctl.toml [profile.default]: the following required arguments were not provided: --capture <FILE>"
    );
}
