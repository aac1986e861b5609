package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes, documented in the README and in `lattice --help`.
const (
	// ExitOK means success, and for plan and status: nothing to do.
	ExitOK = 0
	// ExitError means the command failed: invalid spec, failed stage,
	// unreachable engine.
	ExitError = 1
	// ExitChanges is returned by `plan --detailed-exitcode` and `status`
	// when there is work to do.
	ExitChanges = 2
)

// exitError carries an exit code out of a command after its view has
// already told the user what happened.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exit returns an error that makes Run return code without printing more.
func exit(code int) error {
	if code == ExitOK {
		return nil
	}
	return exitError{code}
}

// env is what every command gets from outside: its streams, working
// directory and environment, so that tests run Main in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// color is true when stderr is a terminal and NO_COLOR is unset.
	color bool
	// tty is true when stderr is a terminal, for live progress.
	tty bool
}

// Main runs the lattice command with the process's arguments and streams
// and returns its exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := isTerminal(os.Stderr)
	e := &env{
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		tty:    tty,
		color:  tty && os.Getenv("NO_COLOR") == "",
	}
	if path := os.Getenv("LATTICE_CPUPROFILE"); path != "" {
		// A CPU profile of one command, for performance work.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	return Run(ctx, e, os.Args[1:])
}

// Run runs the command line args and returns the exit code.
func Run(ctx context.Context, e *env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(normalizeArgs(root, args))
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(e.stderr, "lattice: interrupted")
		return ExitError
	}
	fmt.Fprintf(e.stderr, "lattice: %v\n", err)
	return ExitError
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "lattice",
		Short: "Compile and run reproducible machine-learning pipelines",
		Long: `Lattice compiles pipeline specs (CUE, HCL or YAML) into a hashed execution
plan and runs each stage in a container with cached, reproducible outputs.

Exit codes:
  0  success (for plan --detailed-exitcode and status: no changes)
  1  error
  2  changes pending (plan --detailed-exitcode, status)

Flags may be written with one dash or two: -json and --json are the same.
Colour output follows NO_COLOR.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newValidateCmd(e),
		newFmtCmd(e),
		newSchemaCmd(e),
		newInitCmd(e),
		newVersionCmd(e),
		newPlanCmd(e),
		newApplyCmd(e),
		newStatusCmd(e),
		newGraphCmd(e),
		newShowCmd(e),
		newDiffCmd(e),
		newReproduceCmd(e),
		newLogsCmd(e),
		newExpCmd(e),
		newCacheCmd(e),
		newForceUnlockCmd(e),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v\nRun '%s --help' for usage", err, c.CommandPath())
	})
	return root
}

// normalizeArgs lets long flags be written with a single dash, as in
// `lattice plan -json`, by doubling the dash of any argument that names a
// long flag of some command. Single-letter flags are left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
	long["help"] = true
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if long[name] {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// projectDir returns the directory argument of a command, or ".".
func projectDir(args []string) string {
	if len(args) > 0 && args[0] != "" {
		return args[0]
	}
	return "."
}
