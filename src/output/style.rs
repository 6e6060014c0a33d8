//! Semantic styles: every coloured piece of output is named here, so call sites say *what* a
//! piece of text is and never pick colours themselves.
//!
//! Colour is switched on or off for the whole process by [`super::color::apply`]; with colour
//! off each function returns the text unchanged. The text is not sanitised here: pass
//! untrusted text through [`super::sanitize`] first.

use colored::{ColoredString, Colorize};

/// Whether styles currently produce colour (decided once, in `color::apply`).
pub fn enabled() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// An HTTP method (`POST`).
pub fn method(text: &str) -> ColoredString {
    text.bold()
}

/// A request path with its query.
pub fn path(text: &str) -> ColoredString {
    text.normal()
}

/// An HTTP status, coloured by class: 2xx green, 3xx cyan, 4xx yellow, 5xx red.
pub fn status(code: u16) -> ColoredString {
    status_text(code, &code.to_string())
}

/// `text` (a status, possibly padded or with its reason) coloured by the class of `code`.
pub fn status_text(code: u16, text: &str) -> ColoredString {
    match code {
        200..=299 => text.green(),
        300..=399 => text.cyan(),
        400..=499 => text.yellow(),
        500..=599 => text.red(),
        _ => text.normal(),
    }
}

/// An event type (`payment_intent.succeeded`).
pub fn event_type(text: &str) -> ColoredString {
    text.magenta()
}

/// An event id (`evt_…`).
pub fn id(text: &str) -> ColoredString {
    text.blue()
}

/// Secondary information: times, sizes, placeholders.
pub fn dim(text: &str) -> ColoredString {
    text.dimmed()
}

/// A header name in `name: value`.
pub fn header_name(text: &str) -> ColoredString {
    text.cyan()
}

/// An object key in JSON, quotes included.
pub fn json_key(text: &str) -> ColoredString {
    text.blue().bold()
}

/// A string value in JSON, quotes included.
pub fn json_string(text: &str) -> ColoredString {
    text.green()
}

/// A number in JSON.
pub fn json_number(text: &str) -> ColoredString {
    text.cyan()
}

/// `true`, `false` or `null` in JSON.
pub fn json_literal(text: &str) -> ColoredString {
    text.yellow()
}

/// A good outcome (signature verified).
pub fn ok(text: &str) -> ColoredString {
    text.green()
}

/// Something worth noticing that is not a failure.
pub fn warn(text: &str) -> ColoredString {
    text.yellow()
}

/// A failure (signature rejected, forwarding failed).
pub fn error(text: &str) -> ColoredString {
    text.red().bold()
}

#[cfg(test)]
mod tests {
    use super::*;
    use colored::{Color, Styles};

    #[test]
    fn status_colour_follows_class() {
        assert_eq!(status(204).fgcolor, Some(Color::Green));
        assert_eq!(status(301).fgcolor, Some(Color::Cyan));
        assert_eq!(status(404).fgcolor, Some(Color::Yellow));
        assert_eq!(status(503).fgcolor, Some(Color::Red));
        assert_eq!(status(99).fgcolor, None);
        assert_eq!(status(503).input, "503");
    }

    #[test]
    fn styles_keep_their_text() {
        assert_eq!(method("POST").input, "POST");
        assert!(method("POST").style.contains(Styles::Bold));
        assert!(dim("x").style.contains(Styles::Dimmed));
        assert_ne!(json_key("\"a\"").fgcolor, json_string("\"a\"").fgcolor);
        assert_eq!(error("bad").fgcolor, Some(Color::Red));
    }
}
