//! The project file without a command line: parsing, checks and their lines, value shapes,
//! variables, and the choice of file and profile.

use std::path::{Path, PathBuf};

use super::*;

fn key(name: &str, shape: Shape) -> Key {
    Key {
        name: name.to_owned(),
        shape,
        secret: false,
    }
}

fn schema() -> Schema {
    let secret = Key {
        name: "secret".to_owned(),
        shape: Shape::Many { per_occurrence: 1 },
        secret: true,
    };
    Schema {
        commands: vec![
            CommandKeys {
                command: "listen".to_owned(),
                keys: vec![
                    key("port", Shape::One),
                    key("capture", Shape::One),
                    key("fsync", Shape::Switch),
                    key("expect", Shape::Many { per_occurrence: 1 }),
                    key("route", Shape::Many { per_occurrence: 2 }),
                    key("verify", Shape::One),
                    key("timeout", Shape::One),
                    key("forward-to", Shape::One),
                    secret.clone(),
                ],
            },
            CommandKeys {
                command: "send".to_owned(),
                keys: vec![
                    key("to", Shape::One),
                    key("timeout", Shape::One),
                    key("verbose-ish", Shape::Count),
                    secret,
                ],
            },
        ],
    }
}

fn parse(text: &str) -> Result<ProjectFile, ProfileError> {
    ProjectFile::parse(
        text,
        PathBuf::from("hookctl.toml"),
        "hookctl.toml".to_owned(),
        &schema(),
    )
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn listen_values(file: &ProjectFile, profile: &str) -> Vec<(String, Value)> {
    let schema = schema();
    let listen = schema.command("listen").unwrap();
    file.profile(profile)
        .unwrap()
        .entries_for(listen)
        .into_iter()
        .map(|e| {
            let shape = listen.key(&e.key).unwrap().shape;
            let resolved = e.resolve("hookctl.toml", shape, &no_env).unwrap();
            (e.key.clone(), resolved.value.unwrap())
        })
        .collect()
}

fn one(s: &str) -> Value {
    Value::Occurrences(vec![vec![s.to_owned()]])
}

#[test]
fn shared_keys_apply_where_the_flag_exists_and_command_tables_win() {
    let file = parse(
        r#"
[profile.dev]
timeout = "30s"
to = "http://127.0.0.1:4000/webhook"

[profile.dev.listen]
port = 4000
timeout = "1m"
fsync = true
expect = ["type=a", "type=b"]
"#,
    )
    .unwrap();
    let values = listen_values(&file, "dev");
    assert_eq!(
        values,
        vec![
            ("port".to_owned(), one("4000")),
            ("timeout".to_owned(), one("1m")),
            ("fsync".to_owned(), Value::Switch(true)),
            (
                "expect".to_owned(),
                Value::Occurrences(vec![vec!["type=a".to_owned()], vec!["type=b".to_owned()]])
            ),
        ]
    );
    let schema = schema();
    let send: Vec<&str> = file
        .profile("dev")
        .unwrap()
        .entries_for(schema.command("send").unwrap())
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(send, ["timeout", "to"]);
}

#[test]
fn an_occurrence_of_several_values_is_an_inner_array() {
    let file =
        parse("[profile.p.listen]\nroute = [[\"type=a\", \"http://x\"], [\"type=b\", \"drop\"]]\n")
            .unwrap();
    assert_eq!(
        listen_values(&file, "p"),
        vec![(
            "route".to_owned(),
            Value::Occurrences(vec![
                vec!["type=a".to_owned(), "http://x".to_owned()],
                vec!["type=b".to_owned(), "drop".to_owned()],
            ])
        )]
    );
}

#[test]
fn an_unknown_key_names_its_line_and_the_nearest_key() {
    let err = parse("[profile.dev]\n\nprot = 4000\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hookctl.toml:3: unknown key `prot` in [profile.dev]: no command has a --prot flag (listen, send) (did you mean `port`?)"
    );
    let err = parse("[profile.dev.send]\nport = 4000\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("hookctl.toml:2: unknown key `port` in [profile.dev.send]: `hookctl send` has no --port flag"),
        "{err}"
    );
    let err = parse("[profile.dev.lisen]\nport = 4000\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown table `lisen`")
            && err.to_string().ends_with("(did you mean `listen`?)"),
        "{err}"
    );
    let err = parse("[profiles.dev]\nport = 4000\n").unwrap_err();
    assert!(
        err.to_string().ends_with("(did you mean `profile`?)"),
        "{err}"
    );
}

#[test]
fn a_secret_is_refused_and_its_variable_accepted() {
    let err = parse("[profile.dev]\nsecret = \"whsec_abc\"\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hookctl.toml:2: `secret` would keep a secret in the file; name the environment variable that holds it instead: secret-env = \"WEBHOOK_SECRET\""
    );
    assert!(!err.to_string().contains("whsec_abc"));
    let file = parse("[profile.dev]\nsecret-env = [\"OLD\", \"NEW\", \"GONE\"]\n").unwrap();
    let schema = schema();
    let listen = schema.command("listen").unwrap();
    let entries = file.profile("dev").unwrap().entries_for(listen);
    let env = |name: &str| match name {
        "OLD" => Some("whsec_old".to_owned()),
        "NEW" => Some("whsec_new".to_owned()),
        "GONE" => Some(String::new()),
        _ => None,
    };
    let resolved = entries[0]
        .resolve("hookctl.toml", Shape::Many { per_occurrence: 1 }, &env)
        .unwrap();
    assert_eq!(
        resolved.value,
        Some(Value::Occurrences(vec![
            vec!["whsec_old".to_owned()],
            vec!["whsec_new".to_owned()]
        ]))
    );
    assert_eq!(resolved.unset, ["GONE"]);
}

#[test]
fn a_url_with_a_password_is_refused() {
    let err = parse("[profile.dev]\nforward-to = \"http://user:pw@127.0.0.1:8080\"\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hookctl.toml:2: `forward-to` holds a URL with a password; put the URL in an environment variable and name it instead: forward-to-env = \"VARIABLE\""
    );
    parse("[profile.dev]\nforward-to = \"http://user@127.0.0.1:8080\"\n").unwrap();
    parse("[profile.dev]\nforward-to-env = \"APP_URL\"\n").unwrap();
}

#[test]
fn both_forms_of_one_key_are_refused() {
    let err = parse("[profile.dev]\nport = 1\nport-env = \"PORT\"\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hookctl.toml:3: `port` and `port-env` both set it; keep one"
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let err = parse("[profile.dev]\nport = 4000\ncapture = \n").unwrap_err();
    assert!(err.to_string().starts_with("hookctl.toml:3: "), "{err}");
}

#[test]
fn values_of_the_wrong_shape_are_refused_with_their_line() {
    let file = parse(
        "[profile.a]\nfsync = \"yes\"\n[profile.b]\nport = [1, 2]\n[profile.c]\nexpect = [[\"x\"]]\n[profile.d]\nport = 1979-05-27\n",
    )
    .unwrap();
    let schema = schema();
    let listen = schema.command("listen").unwrap();
    let first_error = |profile: &str| {
        let entry = file.profile(profile).unwrap().entries_for(listen)[0];
        entry
            .resolve(
                "hookctl.toml",
                listen.key(&entry.key).unwrap().shape,
                &no_env,
            )
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        first_error("a"),
        "hookctl.toml:2: `fsync` is a switch: write fsync = true or false, not \"yes\""
    );
    assert_eq!(
        first_error("b"),
        "hookctl.toml:4: `port` takes one value, not an array"
    );
    assert_eq!(
        first_error("c"),
        "hookctl.toml:6: `expect` takes a value or an array of values"
    );
    assert_eq!(
        first_error("d"),
        "hookctl.toml:8: `port` takes one value, not a date"
    );
}

#[test]
fn a_variable_name_must_be_one() {
    let file = parse("[profile.a]\nport-env = \"NOT A NAME\"\n").unwrap();
    let schema = schema();
    let listen = schema.command("listen").unwrap();
    let entry = file.profile("a").unwrap().entries_for(listen)[0];
    let err = entry
        .resolve("hookctl.toml", Shape::One, &no_env)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hookctl.toml:2: `port-env` \"NOT A NAME\" is not an environment variable name"
    );
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_default_profile_applies_when_none_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "[profile.default]\nport = 1\n[profile.other]\nport = 2\n",
    );
    let chosen = choose(&Request::default(), dir.path(), &schema())
        .unwrap()
        .unwrap();
    assert_eq!(chosen.file_origin, FileOrigin::WorkingDir);
    let (profile, origin) = chosen.profile.unwrap();
    assert_eq!(
        (profile.name.as_str(), origin),
        ("default", ProfileOrigin::Default)
    );

    let named = Request {
        file: None,
        profile: Some(("other".to_owned(), ProfileOrigin::Env)),
    };
    let (profile, origin) = choose(&named, dir.path(), &schema())
        .unwrap()
        .unwrap()
        .profile
        .unwrap();
    assert_eq!(
        (profile.name.as_str(), origin),
        ("other", ProfileOrigin::Env)
    );
}

#[test]
fn an_unknown_profile_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "[profile.stripe-dev]\n[profile.github]\n");
    let request = Request {
        file: None,
        profile: Some(("stripe-deb".to_owned(), ProfileOrigin::Flag)),
    };
    let err = choose(&request, dir.path(), &schema()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no profile `stripe-deb` in hookctl.toml (did you mean `stripe-dev`?); available: stripe-dev, github"
    );
}

#[test]
fn no_file_is_fine_until_a_profile_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    assert!(choose(&Request::default(), dir.path(), &schema())
        .unwrap()
        .is_none());
    let request = Request {
        file: None,
        profile: Some(("dev".to_owned(), ProfileOrigin::Flag)),
    };
    let err = choose(&request, dir.path(), &schema()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "profile `dev` was asked for (--profile), but there is no hookctl.toml in"
        ),
        "{err}"
    );
}

#[test]
fn a_named_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let request = Request {
        file: Some((dir.path().join("missing.toml"), FileOrigin::Env)),
        profile: None,
    };
    let err = choose(&request, dir.path(), &schema()).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing.toml (from HOOKCTL_CONFIG)"),
        "{err}"
    );
}
