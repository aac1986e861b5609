package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/executor/wslock"
)

type forceUnlockArgs struct {
	id   string
	dir  string
	json bool
}

func newForceUnlockCmd(e *env) *cobra.Command {
	var a forceUnlockArgs
	cmd := &cobra.Command{
		Use:   "force-unlock ID [DIR]",
		Short: "Break a workspace lock whose holder is gone",
		Long: `Force-unlock removes the lock that keeps two applies from working on the
project in DIR (default: the current directory) at once, provided the lock
has the given ID: the one an apply that found the workspace locked named.
Asking for the ID keeps a stale command line from breaking a newer lock.

The operating system drops the lock of a process that dies on this
machine, so this is only needed when the holder was on another machine
sharing the workspace over a network filesystem. A holder that is still
running is not stopped: it carries on as if it held the lock, and a second
apply could then write the same files.

Exit status: 0 when the lock was removed; 1 when the workspace is not
locked or its lock has another ID.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			a.id = args[0]
			a.dir = projectDir(args[1:])
			ws, err := workspace.Open(a.dir)
			if err != nil {
				return err
			}
			h, err := ws.ForceUnlock(a.id)
			if err != nil {
				return fmt.Errorf("cannot force-unlock: %w", err)
			}
			return viewForceUnlock(e, a, h)
		},
	}
	cmd.Flags().BoolVar(&a.json, "json", false, "print the former holder of the lock as JSON")
	return cmd
}

func viewForceUnlock(e *env, a forceUnlockArgs, h wslock.Holder) error {
	if a.json {
		return writeJSON(e.stdout, struct {
			FormatVersion string        `json:"format_version"`
			Unlocked      bool          `json:"unlocked"`
			Holder        wslock.Holder `json:"holder"`
		}{"1", true, h})
	}
	cmdName := h.Command
	if cmdName == "" {
		cmdName = "apply"
	}
	fmt.Fprintf(e.stdout, "Removed the workspace lock: %s (lattice %s).\n", h, cmdName)
	return nil
}
