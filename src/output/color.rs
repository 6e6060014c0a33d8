//! Deciding whether to colour output: `--color`, `NO_COLOR`, `TERM=dumb`, then "is it a terminal".

use std::ffi::OsStr;
use std::fmt;
use std::str::FromStr;

/// The `--color` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and the environment does not say otherwise.
    #[default]
    Auto,
    /// Always colour, whatever the environment says.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Every accepted spelling, in help order.
    pub const VARIANTS: [&'static str; 3] = ["auto", "always", "never"];

    /// The spelling used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

impl fmt::Display for ColorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ColorChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!(
                "invalid colour choice {s:?} (expected auto, always or never)"
            )),
        }
    }
}

/// Whether to colour a stream, reading `NO_COLOR` and `TERM` from the process environment.
///
/// `is_terminal` is whether the stream being written is a terminal
/// (`std::io::IsTerminal::is_terminal(&std::io::stdout())`).
pub fn should_color(choice: ColorChoice, is_terminal: bool) -> bool {
    should_color_with(
        choice,
        is_terminal,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    )
}

/// The decision behind [`should_color`], with the environment passed in.
///
/// Precedence: `--color always|never`, then `NO_COLOR` set and non-empty (no colour), then
/// `TERM=dumb` (no colour), then whether the stream is a terminal.
pub fn should_color_with(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&OsStr>,
    term: Option<&OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = no_color.is_some_and(|v| !v.is_empty());
            let dumb = term.is_some_and(|t| t == "dumb");
            !no_color && !dumb && is_terminal
        }
    }
}

/// Switches colouring on or off for the whole process (every [`super::style`] function).
///
/// Call it once at start-up with the result of [`should_color`]; it overrides whatever the
/// `colored` crate would have guessed from the environment.
pub fn apply(enabled: bool) {
    colored::control::set_override(enabled);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(choice: ColorChoice, tty: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
        should_color_with(choice, tty, no_color.map(OsStr::new), term.map(OsStr::new))
    }

    #[test]
    fn parses_and_displays() {
        for s in ColorChoice::VARIANTS {
            let c: ColorChoice = s.parse().unwrap();
            assert_eq!(c.to_string(), s);
        }
        assert_eq!("ALWAYS".parse::<ColorChoice>(), Ok(ColorChoice::Always));
        assert!("yes"
            .parse::<ColorChoice>()
            .unwrap_err()
            .contains("\"yes\""));
        assert_eq!(ColorChoice::default(), ColorChoice::Auto);
    }

    #[test]
    fn explicit_choice_wins() {
        assert!(decide(ColorChoice::Always, false, Some("1"), Some("dumb")));
        assert!(!decide(ColorChoice::Never, true, None, Some("xterm")));
    }

    #[test]
    fn no_color_then_dumb_then_terminal() {
        assert!(!decide(ColorChoice::Auto, true, Some("1"), Some("xterm")));
        // An empty NO_COLOR does not count.
        assert!(decide(ColorChoice::Auto, true, Some(""), Some("xterm")));
        assert!(!decide(ColorChoice::Auto, true, None, Some("dumb")));
        assert!(decide(ColorChoice::Auto, true, None, None));
        assert!(!decide(
            ColorChoice::Auto,
            false,
            None,
            Some("xterm-256color")
        ));
    }
}
