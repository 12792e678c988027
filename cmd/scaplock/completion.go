package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// cmdCompletion prints a completion script for bash or zsh: commands, and
// each command's flags as its own usage lists them, so it never goes stale.
func cmdCompletion(_ context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("completion", "completion bash|zsh",
		`bash:  source <(scaplock completion bash)   (or install it in /usr/share/bash-completion/completions/scaplock)
zsh:   source <(scaplock completion zsh)    (or install it as _scaplock on $fpath)`)
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	if len(pos) != 1 || (pos[0] != "bash" && pos[0] != "zsh") {
		return usageError(fs, "say which shell: bash or zsh")
	}
	if pos[0] == "zsh" {
		// zsh runs the bash function through its bashcompinit layer.
		fmt.Fprint(c.stdout, "#compdef scaplock\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	writeBashCompletion(c.stdout, c.commandFlags())
	return exitOK
}

var flagLineRE = regexp.MustCompile(`(?m)^  --([a-z][a-z0-9-]*)`)

// commandFlags asks every command for its usage and reads its flags.
func (c *cli) commandFlags() map[string][]string {
	out := map[string][]string{}
	for name, cmd := range commands {
		var buf bytes.Buffer
		h := *c
		h.stdout, h.stderr = io.Discard, &buf
		h.url, h.creds = "", nil
		cmd.run(context.Background(), &h, []string{"-h"})
		var flags []string
		for _, m := range flagLineRE.FindAllStringSubmatch(buf.String(), -1) {
			flags = append(flags, "--"+m[1])
		}
		slices.Sort(flags)
		out[name] = slices.Compact(flags)
	}
	return out
}

func writeBashCompletion(w io.Writer, flags map[string][]string) {
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	slices.Sort(names)
	var cases strings.Builder
	for _, n := range names {
		fmt.Fprintf(&cases, "    %s) words=%q ;;\n", n, strings.Join(flags[n], " "))
	}
	fmt.Fprintf(w, `# scaplock completion for bash (and zsh through bashcompinit)
_scaplock() {
  local cur prev cmd="" i words
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --url|--token|--token-file|--timeout|-url|-token|-token-file|-timeout) ((i++)) ;;
      -*) ;;
      *) cmd="${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    --token-file|--secret-file|--private-key-file|--lock-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$cmd" in
    "") words="%s --url --token-file --token --timeout --version --help" ;;
%s    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _scaplock scaplock
`, strings.Join(names, " "), cases.String())
}
