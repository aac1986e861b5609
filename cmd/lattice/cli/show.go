package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/cmd/lattice/workspace"
	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

type showArgs struct {
	file string
	dir  string
	json bool
}

func newShowCmd(e *env) *cobra.Command {
	var a showArgs
	cmd := &cobra.Command{
		Use:   "show PLANFILE",
		Short: "Print a saved plan, after checking it is not stale",
		Long: `Show prints a plan saved by 'lattice plan -out FILE'. It first checks the
plan against the workspace (-C, default: the current directory): if
lattice.lock or any input changed since the plan was made, show names what
changed and exits 1, as 'lattice apply FILE' would refuse it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			a.file = args[0]
			b, err := os.ReadFile(a.file)
			if err != nil {
				return fmt.Errorf("reading the saved plan: %w", err)
			}
			p, err := plan.Unmarshal(b)
			if err != nil {
				return fmt.Errorf("%s: %w", a.file, err)
			}
			ws, err := workspace.Open(a.dir)
			if err != nil {
				return err
			}
			reasons, err := ws.Stale(c.Context(), p)
			ws.Close()
			if err != nil {
				return err
			}
			return viewShow(e, a, p, reasons)
		},
	}
	cmd.Flags().StringVarP(&a.dir, "chdir", "C", ".", "the project directory the plan was made for")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the plan and its staleness as JSON")
	return cmd
}

func viewShow(e *env, a showArgs, p *plan.Plan, stale []string) error {
	if a.json {
		if stale == nil {
			stale = []string{}
		}
		err := writeJSON(e.stdout, struct {
			*plan.Plan
			Stale []string `json:"stale"`
		}{p, stale})
		if err != nil {
			return err
		}
	} else {
		if len(stale) > 0 {
			fmt.Fprintf(e.stderr, "The saved plan %s is stale and would be refused:\n  %s\nMake a new plan with lattice plan -out %s\n",
				a.file, strings.Join(stale, "\n  "), a.file)
		} else {
			fmt.Fprintf(e.stdout, "Saved plan %s, made by %s %s against lattice.lock %s.\n\n", a.file, p.Tool.Name, p.Tool.Version, lockName(p.Lock))
			renderHuman(e.stdout, p, false)
		}
	}
	if len(stale) > 0 {
		return exit(ExitError)
	}
	return nil
}

func lockName(d string) string {
	if d == "" {
		return "(none)"
	}
	if x, err := digest.Parse(d); err == nil {
		return x.Short()
	}
	return d
}
