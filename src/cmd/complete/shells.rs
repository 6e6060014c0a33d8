//! Two shells need more than clap_complete's registration scripts:
//!
//! - **bash** splits the word under the cursor at the characters of `COMP_WORDBREAKS`, `:`
//!   and `=` among them, so `github:pu` reaches a completion function as `github`, `:`, `pu`.
//!   Our script joins the pieces the line holds together around `:` and `=` before asking
//!   hookctl, and strips from each answer the part before the piece bash will replace (what
//!   bash-completion's `__ltrim_colon_completions` does, without needing bash-completion).
//! - **zsh** autoloads `_hookctl` from fpath as a function whose body is the script: the body
//!   registers the real completion function, so without a call at its end the first Tab of a
//!   session completes nothing.
//!
//! Both answer a request the way clap_complete does ([`EnvCompleter::write_complete`]).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use clap_complete::env::EnvCompleter;

/// Bash, with words split at `:` and `=` joined again.
#[derive(Debug, Clone, Copy)]
pub struct Bash;

/// The bash script. It passes the same variables as clap_complete's, which its
/// `write_complete` reads.
const BASH: &str = r#"
_clap_complete_NAME() {
    local IFS=$'\013'
    local _CLAP_COMPLETE_COMP_TYPE=${COMP_TYPE}
    if compopt +o nospace 2> /dev/null; then
        local _CLAP_COMPLETE_SPACE=false
    else
        local _CLAP_COMPLETE_SPACE=true
    fi
    # The words up to the cursor, with the pieces bash split at `:` or `=` joined again
    # (`github`, `:`, `pu` is `github:pu`), found by walking COMP_LINE.
    local words=() word i n=0 pos=0 gap joined=true
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        gap=false
        while (( pos < COMP_POINT )) && [[ ${COMP_LINE:pos:1} == [[:space:]] ]]; do
            pos=$(( pos + 1 ))
            gap=true
        done
        word=${COMP_WORDS[i]}
        if (( i == COMP_CWORD )); then
            word=${COMP_LINE:pos:COMP_POINT-pos}
        elif [[ ${COMP_LINE:pos:${#word}} != "$word" ]]; then
            joined=false
            break
        fi
        pos=$(( pos + ${#word} ))
        if (( n > 0 )) && [[ $gap == false ]] && [[ $word == [=:]* || ${words[n-1]} == *[=:] ]]; then
            words[n-1]+=$word
        else
            words[n]=$word
            n=$(( n + 1 ))
        fi
    done
    # Bash replaces only the piece after the last break ($2): each answer is given without
    # the part before it.
    local keep=
    if [[ $joined == true ]] && [[ ${words[n-1]} == *"$2" ]]; then
        keep=${words[n-1]%"$2"}
    else
        words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
        if [[ ${BASH_VERSINFO[0]} -ge 4 ]]; then
            words[COMP_CWORD]=$2
        fi
        n=${#words[@]}
    fi
    COMPREPLY=( $( \
        _CLAP_IFS="$IFS" \
        _CLAP_COMPLETE_INDEX="$(( n - 1 ))" \
        _CLAP_COMPLETE_COMP_TYPE="$_CLAP_COMPLETE_COMP_TYPE" \
        _CLAP_COMPLETE_SPACE="$_CLAP_COMPLETE_SPACE" \
        VAR="bash" \
        COMPLETER -- "${words[@]}" \
    ) )
    if [[ $? != 0 ]]; then
        unset COMPREPLY
        return
    fi
    if [[ -n $keep ]]; then
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$keep"}
        done
    fi
    if [[ $_CLAP_COMPLETE_SPACE == false ]] && [[ "${COMPREPLY-}" =~ [=/:]$ ]]; then
        compopt -o nospace
    fi
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_NAME BIN
else
    complete -o nospace -o bashdefault -F _clap_complete_NAME BIN
fi
"#;

impl EnvCompleter for Bash {
    fn name(&self) -> &'static str {
        "bash"
    }

    fn is(&self, name: &str) -> bool {
        name == "bash"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        let script = BASH
            .replace("NAME", &name.replace('-', "_"))
            .replace("BIN", &sh_quote(bin))
            .replace("COMPLETER", &sh_quote(completer))
            .replace("VAR", var);
        writeln!(buf, "{script}")
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Bash.write_complete(cmd, args, current_dir, buf)
    }
}

/// Zsh, completing on the first Tab when the script is autoloaded from fpath.
#[derive(Debug, Clone, Copy)]
pub struct Zsh;

impl EnvCompleter for Zsh {
    fn name(&self) -> &'static str {
        "zsh"
    }

    fn is(&self, name: &str) -> bool {
        name == "zsh"
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_registration(var, name, bin, completer, buf)?;
        // Autoloaded as `_BIN`, the script has only just registered the function: call it.
        // Sourced, the script runs outside any function and this does nothing.
        let function = format!("_clap_dynamic_completer_{}", name.replace('-', "_"));
        writeln!(
            buf,
            "[[ ${{funcstack[1]}} == _{bin} ]] && {function} \"$@\""
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<OsString>,
        current_dir: Option<&Path>,
        buf: &mut dyn Write,
    ) -> std::io::Result<()> {
        clap_complete::env::Zsh.write_complete(cmd, args, current_dir, buf)
    }
}

/// `text` as one word for sh: as it is when it holds only safe characters, else in single
/// quotes.
fn sh_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}
