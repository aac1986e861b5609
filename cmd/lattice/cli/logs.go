package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/executor"
)

type logsArgs struct {
	stage  string
	dir    string
	record bool
	tail   int
	json   bool
}

func newLogsCmd(e *env) *cobra.Command {
	var a logsArgs
	cmd := &cobra.Command{
		Use:   "logs STAGE [DIR]",
		Short: "Print the log of a stage's latest run",
		Long: `Logs prints what STAGE wrote to stdout and stderr in its latest run in the
project in DIR (default: the current directory). Every attempt of the run
is in the log, one after the other. Quote trial names for the shell:

  lattice logs 'sweep[lr=0.1]'

--record prints the run record instead: the outcome, when it finished,
how long it took, its attempts and exit code, its outputs and the metrics
it reported. A stage whose latest apply restored it from the cache has a
record but did not run, so its log, if any, is from an earlier run.

-json prints {format_version, stage, log_path, record}; log_path is null
when the stage has no log.

Exit status: 0 on success, 1 when the stage has no run record or no log.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			a.stage = args[0]
			a.dir = projectDir(args[1:])
			if a.tail < 0 {
				return fmt.Errorf("--tail must be at least 0, not %d", a.tail)
			}
			ws, err := workspace.Open(a.dir)
			if err != nil {
				return err
			}
			rec, err := ws.Record(a.stage)
			if err != nil {
				return err
			}
			return viewLogs(e, a, rec, ws.LogPath(a.stage))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.record, "record", false, "print the run record (outcome, duration, attempts, exit code, metrics) instead of the log")
	f.IntVarP(&a.tail, "tail", "n", 0, "print only the last `N` lines of the log (0: all of it)")
	f.BoolVar(&a.json, "json", false, "print the log's path and the run record as JSON")
	return cmd
}

type logsJSON struct {
	FormatVersion string           `json:"format_version"`
	Stage         string           `json:"stage"`
	LogPath       *string          `json:"log_path"`
	Record        *executor.Record `json:"record"`
}

func viewLogs(e *env, a logsArgs, rec *executor.Record, logPath string) error {
	_, statErr := os.Stat(logPath)
	hasLog := statErr == nil
	if a.json {
		out := logsJSON{FormatVersion: "1", Stage: a.stage, Record: rec}
		if hasLog {
			p := relPath(logPath)
			out.LogPath = &p
		}
		if out.Record.Outputs == nil {
			out.Record.Outputs = map[string]string{}
		}
		return writeJSON(e.stdout, out)
	}
	if a.record {
		renderRecord(e.stdout, rec, logPath, hasLog)
		return nil
	}
	if !hasLog {
		if rec.Outcome == executor.Restored || rec.Outcome == executor.UpToDate {
			return fmt.Errorf("stage %q has no log in this workspace: its latest apply restored its outputs from the cache without running it (lattice logs --record %s shows the record)",
				a.stage, quoteArg(a.stage))
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			return fmt.Errorf("stage %q has no log: its latest run (%s) wrote none", a.stage, rec.Outcome)
		}
		return fmt.Errorf("reading the log of stage %q: %w", a.stage, statErr)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		return fmt.Errorf("reading the log of stage %q: %w", a.stage, err)
	}
	if rec.Outcome == executor.Restored {
		// The note goes to stderr so that the log itself can still be
		// piped or saved as it is.
		fmt.Fprintf(e.stderr, "note: the latest apply restored stage %s from the cache; this log is from an earlier run\n", a.stage)
	}
	if a.tail > 0 {
		b = lastLinesOf(b, a.tail)
	}
	_, err = e.stdout.Write(b)
	return err
}

// renderRecord prints a run record as aligned fields.
func renderRecord(w io.Writer, rec *executor.Record, logPath string, hasLog bool) {
	tw := newTable(w)
	field := func(name, value string) {
		// Continuation lines of a multi-line value, such as an error
		// quoting the end of the log, line up under its first line.
		fmt.Fprintf(tw, "%s:\t%s\n", name, strings.ReplaceAll(value, "\n", "\n\t"))
	}
	field("Stage", rec.Stage)
	field("Outcome", rec.Outcome)
	if !rec.Finished.IsZero() {
		field("Finished", rec.Finished.UTC().Format(time.RFC3339))
	}
	field("Duration", time.Duration(rec.DurationS*float64(time.Second)).Round(time.Millisecond).String())
	field("Attempts", fmt.Sprint(rec.Attempts))
	field("Exit code", fmt.Sprint(rec.ExitCode))
	if rec.Error != "" {
		field("Error", rec.Error)
	}
	field("Key", rec.Key)
	field("Run", rec.Run)
	if hasLog {
		field("Log", relPath(logPath))
	} else {
		field("Log", "(none)")
	}
	tw.Flush()
	if len(rec.Outputs) > 0 {
		fmt.Fprintln(w, "Outputs:")
		tw = newTable(w)
		for _, name := range sortedKeys(rec.Outputs) {
			fmt.Fprintf(tw, "  %s\t%s\n", name, rec.Outputs[name])
		}
		tw.Flush()
	}
	if len(rec.Metrics) > 0 {
		fmt.Fprintln(w, "Metrics:")
		tw = newTable(w)
		for _, name := range sortedKeys(rec.Metrics) {
			fmt.Fprintf(tw, "  %s\t%s\n", name, formatMetric(rec.Metrics[name]))
		}
		tw.Flush()
	}
}

// lastLinesOf returns the last n lines of b.
func lastLinesOf(b []byte, n int) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	i := end
	for ; n > 0; n-- {
		j := bytes.LastIndexByte(b[:i], '\n')
		if j < 0 {
			return b
		}
		i = j
	}
	return b[i+1:]
}

// relPath shows a path relative to the working directory when it is
// inside it, and as it is otherwise.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	r, err := filepath.Rel(wd, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return p
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
