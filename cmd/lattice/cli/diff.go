package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor/lockfile"
)

type diffArgs struct {
	a, b string
	dir  string
	json bool
}

func newDiffCmd(e *env) *cobra.Command {
	var a diffArgs
	cmd := &cobra.Command{
		Use:   "diff [A] [B]",
		Short: "Compare two lockfiles, plans or git revisions of lattice.lock",
		Long: `Diff compares two pipeline states stage by stage and field by field. Each
side is a lockfile, a saved plan, or a git revision whose lattice.lock is
read with git:

  lattice diff                  HEAD's lattice.lock against the working one
  lattice diff HEAD~1           that revision against the working lattice.lock
  lattice diff main feature     two revisions
  lattice diff old.lock plan.json

A saved plan is compared as the lockfile it would produce.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			a.a, a.b = "HEAD", ""
			if len(args) >= 1 {
				a.a = args[0]
			}
			if len(args) == 2 {
				a.b = args[1]
			}
			return runDiff(e, a)
		},
	}
	cmd.Flags().StringVarP(&a.dir, "chdir", "C", ".", "the project directory (for its lattice.lock and git repository)")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the difference as JSON")
	return cmd
}

func runDiff(e *env, a diffArgs) error {
	old, oldName, err := loadSide(a.dir, a.a)
	if err != nil {
		return err
	}
	var cur *plan.Lock
	curName := workspace.LockFile
	if a.b == "" {
		cur, err = lockfile.Read(filepath.Join(a.dir, workspace.LockFile))
	} else {
		cur, curName, err = loadSide(a.dir, a.b)
	}
	if err != nil {
		return err
	}
	d := plan.DiffLocks(old, cur)
	if a.json {
		return writeJSON(e.stdout, struct {
			FormatVersion string `json:"format_version"`
			Old           string `json:"old"`
			New           string `json:"new"`
			plan.LockDiff
		}{"1", oldName, curName, d})
	}
	renderLockDiff(e.stdout, oldName, curName, d)
	return nil
}

// loadSide reads one side of a diff: a lockfile or plan file when arg names
// a file, else a git revision's lattice.lock.
func loadSide(dir, arg string) (*plan.Lock, string, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, "", err
		}
		l, err := parseSide(arg, b)
		return l, arg, err
	}
	cmd := exec.Command("git", "show", arg+":./"+workspace.LockFile)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "exists on disk, but not in") {
			// The revision predates the lockfile: compare with nothing.
			return plan.NewLock(), arg + ":" + workspace.LockFile, nil
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, "", fmt.Errorf("%q is neither a file nor a git revision with a %s: %s", arg, workspace.LockFile, msg)
	}
	name := arg + ":" + workspace.LockFile
	l, err := parseSide(name, b)
	return l, name, err
}

func parseSide(name string, b []byte) (*plan.Lock, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		p, err := plan.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return plan.LockOf(p), nil
	}
	return lockfile.Parse(name, b)
}

func renderLockDiff(w io.Writer, oldName, newName string, d plan.LockDiff) {
	if d.Empty() {
		fmt.Fprintf(w, "No differences between %s and %s.\n", oldName, newName)
		return
	}
	fmt.Fprintf(w, "--- %s\n+++ %s\n", oldName, newName)
	sym := map[string]string{"added": "+", "removed": "-", "changed": "~"}
	section := func(kind string, objs []plan.ObjectDiff) {
		for _, o := range objs {
			fmt.Fprintf(w, "%s %s %s", sym[o.Change], kind, o.Name)
			if o.Change != "changed" {
				fmt.Fprintf(w, " (%s)", o.Change)
			}
			fmt.Fprintln(w)
			for _, f := range o.Fields {
				fmt.Fprintf(w, "    %s\n", f)
			}
		}
	}
	section("dataset", d.Datasets)
	section("stage", d.Stages)
	section("image", d.Images)
	fmt.Fprintf(w, "%s, %s, %s differ.\n", plural(len(d.Datasets), "dataset"), plural(len(d.Stages), "stage"), plural(len(d.Images), "image"))
}
