//! Tests of [`super`]: json_color.rs.

use super::*;

/// Lays out `json` with each token tagged by kind, e.g. `<k"a">`.
fn tagged(json: &str, sanitize: bool) -> String {
    let mut out = Vec::new();
    let mut budget = Budget::new(&out, usize::MAX, usize::MAX);
    reindent(
        json,
        "",
        sanitize,
        &mut budget,
        &mut out,
        &mut |out, kind, text| {
            let tag = match kind {
                Kind::Key => "k",
                Kind::String => "s",
                Kind::Number => "n",
                Kind::Literal => "l",
                Kind::Other => "?",
            };
            out.extend_from_slice(format!("<{tag}{text}>").as_bytes());
        },
    );
    String::from_utf8(out).unwrap()
}

fn plain(json: &str) -> String {
    let mut out = Vec::new();
    let mut budget = Budget::new(&out, usize::MAX, usize::MAX);
    reindent(
        json,
        "  ",
        false,
        &mut budget,
        &mut out,
        &mut |out, _, text| {
            out.extend_from_slice(text.as_bytes());
        },
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn validates_any_json_value() {
    assert!(is_json(br#" {"a": [1, 2]} "#));
    assert!(is_json(b"42"));
    assert!(is_json(br#""text""#));
    assert!(!is_json(b""));
    assert!(!is_json(b"{\"a\":1"));
    assert!(!is_json(b"{} {}"));
    assert!(!is_json(b"hello"));
}

#[test]
fn indents_nested_documents() {
    let json = r#"{"a":1,"b":[true,null,{"c":"d"}],"e":{}, "f" : [ ] }"#;
    let expected = concat!(
        "  {\n",
        "    \"a\": 1,\n",
        "    \"b\": [\n",
        "      true,\n",
        "      null,\n",
        "      {\n",
        "        \"c\": \"d\"\n",
        "      }\n",
        "    ],\n",
        "    \"e\": {},\n",
        "    \"f\": []\n",
        "  }\n",
    );
    assert_eq!(plain(json), expected);
}

#[test]
fn existing_layout_is_replaced() {
    let json = "{\n\t\"a\" :\r\n [1,\n\n2]}";
    assert_eq!(
        plain(json),
        "  {\n    \"a\": [\n      1,\n      2\n    ]\n  }\n"
    );
}

#[test]
fn numbers_and_escapes_keep_their_spelling() {
    let json = r#"{"n":[1.0e10,12345678901234567890,-0.50,1E-7],"s":"a\"b\\n\u00e9\/"}"#;
    let out = tagged(json, false);
    for token in [
        "<n1.0e10>",
        "<n12345678901234567890>",
        "<n-0.50>",
        "<n1E-7>",
    ] {
        assert!(out.contains(token), "{token} in {out}");
    }
    assert!(out.contains(r#"<s"a\"b\\n\u00e9\/">"#), "{out}");
}

#[test]
fn keys_are_told_apart_from_values() {
    let out = tagged(r#"{"k":"v","l":["x"],"t":false}"#, false);
    assert_eq!(
        out,
        "{\n  <k\"k\">: <s\"v\">,\n  <k\"l\">: [\n    <s\"x\">\n  ],\n  <k\"t\">: <lfalse>\n}\n"
    );
    // A string containing an escaped quote followed by a colon is still one value.
    assert_eq!(tagged(r#"["a\":"]"#, false), "[\n  <s\"a\\\":\">\n]\n");
}

#[test]
fn scalars_stand_alone() {
    assert_eq!(tagged(" 42 ", false), "<n42>\n");
    assert_eq!(tagged("\"x\"", false), "<s\"x\">\n");
    assert_eq!(tagged("null", false), "<lnull>\n");
}

#[test]
fn raw_unsafe_characters_in_strings_are_neutralised() {
    let json = "{\"name\u{202e}\":\"ad\u{200b}min\u{9b}\"}";
    assert!(is_json(json.as_bytes()));
    let out = tagged(json, true);
    assert!(out.contains(r#"<k"name\u{202e}">"#), "{out}");
    assert!(out.contains(r#"<s"ad\u{200b}min\u{9b}">"#), "{out}");
    assert!(tagged(json, false).contains('\u{202e}'));
}

#[test]
fn never_panics_on_text_that_is_not_json() {
    for text in [
        "",
        "{\"a",
        "]]]}}",
        "\"\\",
        "é{[ü",
        "{,:}",
        "tru",
        "\u{1b}[2J",
    ] {
        let mut out = Vec::new();
        write_json(
            text,
            " ",
            true,
            &mut Budget::new(&[], usize::MAX, usize::MAX),
            &mut out,
        );
        assert!(out.ends_with(b"\n"));
    }
}
