package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// Exit codes shared by every subcommand (run passes its command's through).
// The table is in doc.go, usage and the README; exitFor is the one mapping.
const (
	exitOK      = 0
	exitRefused = 1 // the service said no: a hold refuses (423) or a conflict (409)
	exitUnsure  = 2 // could not decide: unreachable, timeout, 5xx, 408/429, unexpected answer
	exitMisuse  = 3 // the caller's mistake: bad flags, unknown scope, 400, 401, 403, 404, 413, 422
)

const (
	defaultURL     = "http://127.0.0.1:8080"
	defaultTimeout = 2 * time.Second
	// defaultRetryFor is how long a write is retried on no answer or 503.
	defaultRetryFor = 30 * time.Second
)

// cli is one invocation: its streams, environment and global flags.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time

	url      string
	config   fileConfig
	creds    *credentials
	timeout  time.Duration
	retryFor time.Duration

	http *http.Client
}

// commandFn runs one subcommand with its own arguments and returns the exit code.
type commandFn func(ctx context.Context, c *cli, args []string) int

type command struct {
	run      commandFn
	synopsis string
}

// commands maps subcommand names to their implementation, one file each.
// It is filled in init because the commands' usage texts read it.
var commands map[string]command

func init() {
	commands = map[string]command{
		"status":      {cmdStatus, "show holds, overrides, gate and health, and whether deploys are allowed"},
		"history":     {cmdHistory, "list past changes, newest first"},
		"lock":        {cmdLock, "put a manual hold on a scope (SRE); prints its id"},
		"unlock":      {cmdUnlock, "release a manual hold (SRE)"},
		"amend":       {cmdAmend, "change a manual hold's reason or expiry (SRE)"},
		"override":    {cmdOverride, "let deploys past the automatic gate for a while, or cancel that (SRE)"},
		"preflight":   {cmdPreflight, "exit 0 if deploys are allowed, 1 if refused, 2 if it cannot tell, 3 on a mistake"},
		"run":         {cmdRun, "hold the exclusive deploy lock on a scope while a command runs (deployer)"},
		"token":       {cmdToken, "mint a token: HS256 from the service's secret file, or with a private key"},
		"completion":  {cmdCompletion, "print a bash or zsh completion script: source <(scaplock completion bash)"},
		"scap-bridge": {cmdBridge, "hold scap's own lock file while scaplock refuses, so unmodified scap obeys (deploy hosts)"},
		"window":      {cmdWindow, "add, list or remove deployment windows: freezes and the deploy calendar (SRE to change)"},
		"report":      {cmdReport, "what deploys did to each control plane, week by week, and whether it creeps"},
	}
}

// interrupted is the cancel cause main sets when a signal arrives.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return i.sig.String() + " received" }

// run is the whole CLI: it parses args, runs one subcommand and returns the
// exit code. Cancelling ctx abandons waits and, for run, stops its command.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Asked-for help is output, not an error: it goes to stdout.
	if helpRequested(args) {
		stderr = stdout
	}
	c := &cli{
		stdin: stdin, stdout: serialized(stdout), stderr: serialized(stderr), getenv: getenv, now: time.Now,
		http: &http.Client{},
	}
	var err error
	if c.config, err = loadConfig(getenv); err != nil {
		fmt.Fprintln(stderr, "scaplock:", err)
		return exitMisuse
	}
	fs := flag.NewFlagSet("scaplock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.globalFlags(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() { c.usage(stderr) }
	if stop, code := parseFlags(fs, args); stop {
		return code
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if fs.NArg() == 0 {
		c.usage(stderr)
		return exitMisuse
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		return c.help(rest)
	}
	cmd, ok := commands[name]
	if !ok {
		return usageError(fs, "unknown command %q", name)
	}
	return cmd.run(ctx, c, rest)
}

// globalFlags registers --url, --token and --timeout on fs. Every
// subcommand registers them too, so they may come before or after its name.
func (c *cli) globalFlags(fs *flag.FlagSet) {
	if c.url == "" {
		c.url = cmp(c.getenv("SCAPLOCK_URL"), cmp(c.config.URL, defaultURL))
		c.creds = &credentials{envToken: c.getenv("SCAPLOCK_TOKEN"), envFile: c.getenv("SCAPLOCK_TOKEN_FILE"),
			configFile: c.config.TokenFile, configFrom: c.config.path + ": token_file"}
		c.timeout = defaultTimeout
		c.retryFor = defaultRetryFor
	}
	fs.StringVar(&c.url, "url", c.url, "scaplockd base URL (env SCAPLOCK_URL)")
	// The token's default is never printed: it would land in deploy logs.
	fs.Var(&c.creds.flag, "token", "bearer `token` (env SCAPLOCK_TOKEN; prefer --token-file, which keeps it out of ps)")
	fs.Var(&c.creds.file, "token-file", "`file` holding the bearer token, mode 0600 (env SCAPLOCK_TOKEN_FILE)")
	fs.Var(durationFlag{&c.timeout}, "timeout", "how long to wait for each answer from the service")
	fs.Var(durationFlag{&c.retryFor}, "retry-for", "how long to retry a write (same Idempotency-Key) on no answer or 503; 0 never retries")
}

// helpRequested reports a -h or --help among the flags (not after "--",
// where they belong to run's command).
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

func cmp(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `usage: scaplock [--url URL] [--token-file F] [--timeout D] [--retry-for D] <command> [flags]
       scaplock --version

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%s\n", n, commands[n].synopsis)
	}
	tw.Flush()
	fmt.Fprint(w, `
global flags (before or after the command):
  --url URL       scaplockd base URL (env SCAPLOCK_URL, default `+defaultURL+`)
  --token-file F  file holding the bearer token, mode 0600 (env SCAPLOCK_TOKEN_FILE)
  --token TOKEN   bearer token (env SCAPLOCK_TOKEN); visible in ps, prefer --token-file
  --timeout D     how long to wait for each answer (default 2s)
  --retry-for D   how long to retry a write on no answer or 503, with the same
                  Idempotency-Key so it is never done twice (default 30s)

configuration: url and token_file may be set in $SCAPLOCK_CONFIG, else
~/.config/scaplock/config.yaml, else /etc/scaplock/cli.yaml ("url: ...",
"token_file: ..."); flags and SCAPLOCK_* variables win over it.

exit codes:
  0  done; preflight: deploys allowed
  1  refused: a hold refuses the deploy (423) or a conflict (409)
  2  could not decide: unreachable, no answer within --timeout, 503/5xx,
     an unexpected answer; preflight --fail-open turns only this into 0
  3  misuse: bad flags, unknown scope or bad input (400), no, bad or
     unreadable token (401), role missing (403), no such hold or wrong URL
     (404), 413, 422
run passes its command's status through unchanged and keeps 121-127 for
its own outcomes (121 refused, 122 could not decide, 123 misuse, 124 lost
its deploy hold, 125 failed, 126 cannot execute, 127 not found): see
"scaplock help run".

durations: Go syntax (90s, 2h, 1h30m) or whole days (30d).
"scaplock help <command>" (or "scaplock <command> --help") shows a
command's flags.
`)
}

func (c *cli) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "scaplock: unknown command %q\n", args[0])
		return exitMisuse
	}
	// A command's -h prints its usage on stderr; help sends it to stdout.
	h := *c
	h.stderr = c.stdout
	return cmd.run(context.Background(), &h, []string{"-h"})
}

// newFlagSet makes a subcommand's flag set with the global flags and a
// usage text of synopsis and notes around the flags.
func (c *cli) newFlagSet(name, synopsis, notes string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	c.globalFlags(fs)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: scaplock %s\n\n%s\n\nflags:\n", synopsis, commands[name].synopsis)
		printFlags(w, fs)
		if notes != "" {
			fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(notes))
		}
	}
	return fs
}

// printFlags lists fs's flags the way the docs write them: --name VALUE,
// its usage indented below, and its default when it has one.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		switch _, isDuration := f.Value.(durationFlag); {
		case isDuration:
			value = "D"
		case value == "value" || value == "string":
			value = f.Name[strings.LastIndex(f.Name, "-")+1:] // --lock-file FILE
		case value == "int":
			value = "N"
		}
		line := "  --" + f.Name
		if value != "" {
			line += " " + strings.ToUpper(value)
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" {
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, strings.ReplaceAll(usage, "\n", "\n        "))
	})
}

// parseFlags parses args with fs and reports how to stop: a bad flag is
// one line naming it, and where to look, instead of the whole usage; -h
// prints the usage.
func parseFlags(fs *flag.FlagSet, args []string) (stop bool, code int) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case err == nil:
		return false, 0
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return true, exitOK
	}
	return true, usageError(fs, "%s", flagError(err))
}

// flagError rewords the flag package's errors with the --name the docs
// and the usage use.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		value, rest, _ := strings.Cut(rest, " for -")
		name, _, _ := strings.Cut(rest, ":")
		return "--" + name + " takes no value, or true or false, not " + value
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		value, rest, _ := strings.Cut(rest, " for flag -")
		name, why, _ := strings.Cut(rest, ": ")
		if strings.Contains(why, value) {
			return "--" + name + ": " + why
		}
		return "--" + name + ": invalid value " + value + ": " + why
	}
	return msg
}

// parse parses args, allowing flags after positional arguments
// ("unlock ID --reason R"); everything after "--" is positional. It
// returns the positional arguments, or an exit code when it should stop.
func parse(fs *flag.FlagSet, args []string) (positional []string, stop bool, code int) {
	for {
		if stop, code := parseFlags(fs, args); stop {
			return nil, true, code
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), false, 0
		}
		if len(rest) == 0 {
			return positional, false, 0
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs is parse for a command that takes only flags: an argument
// is a usage error.
func parseNoArgs(fs *flag.FlagSet, args []string) (stop bool, code int) {
	pos, stop, code := parse(fs, args)
	if !stop && len(pos) > 0 {
		return true, usageError(fs, "unexpected argument %q", pos[0])
	}
	return stop, code
}

// usageError reports a bad invocation: one line, and where to read more.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	cmd := "scaplock"
	if fs.Name() != "scaplock" {
		cmd += " " + fs.Name()
	}
	fmt.Fprintf(fs.Output(), "%s: %s\nsee %s --help\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitMisuse
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// serialized makes w safe for concurrent writes (run's command output and
// its keepalive warnings). Files already are, and must stay files so that
// run's command sees the terminal itself.
func serialized(w io.Writer) io.Writer {
	if _, ok := w.(*os.File); ok {
		return w
	}
	return &lockedWriter{w: w}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
