# Bash completion for gemma4. Commands and flags are read from the binary's own CLI11 help
# (`gemma4 --help`, `gemma4 COMMAND --help`), so they never drift from the build.
#   source deploy/completions/gemma4.bash
# (the .deb installs it into /usr/share/bash-completion/completions/gemma4)

_gemma4_commands() {
  "$1" --help 2>/dev/null | sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

_gemma4_flags() {
  "$1" "$2" --help 2>/dev/null | grep -o -- '\(^\|[ ,]\)--\?[a-zA-Z][a-zA-Z0-9-]*' | tr -d ' ,' | grep '^-' | sort -u
}

# The values a flag takes, from its "{a,b,c}" set in the help text.
_gemma4_choices() {
  "$1" "$2" --help 2>/dev/null | grep -- "$3 TEXT:{" | sed 's/.*:{\([^}]*\)}.*/\1/' | tr ',' ' '
}

_gemma4() {
  local bin=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local cmd=${COMP_WORDS[1]:-}
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_gemma4_commands "$bin") --help --version" -- "$cur")
    return
  fi
  case $prev in
    --model|-m|--out)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --input|--output|--messages|--tools|--json|--api-key-file|--json-schema|--schema|--grammar|--text|--json-text)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
  esac
  if [[ $prev == --* ]]; then
    local choices
    choices=$(_gemma4_choices "$bin" "$cmd" "$prev")
    if [ -n "$choices" ]; then
      mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur"); return
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_gemma4_flags "$bin" "$cmd")" -- "$cur")
  fi
}

complete -F _gemma4 gemma4
