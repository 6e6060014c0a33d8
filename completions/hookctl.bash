
_clap_complete_hookctl() {
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
        HOOKCTL_COMPLETE="bash" \
        hookctl -- "${words[@]}" \
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
    complete -o nospace -o bashdefault -o nosort -F _clap_complete_hookctl hookctl
else
    complete -o nospace -o bashdefault -F _clap_complete_hookctl hookctl
fi

