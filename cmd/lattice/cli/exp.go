package cli

import (
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

func newExpCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exp",
		Short: "Compare the trials of experiments",
		Long: `An experiment runs a stage template once per point of its parameter space;
each trial is a stage named EXPERIMENT[param=value,...]. Its metrics are
read from the trial's metrics output in the workspace, or from its latest
run record when that output is not there.

  lattice exp show [EXPERIMENT]   rank the trials and judge the winner
  lattice exp diff A B            compare two trials side by side`,
		// Runnable with no arguments, so that a mistyped subcommand is an
		// error rather than a help page and exit status 0.
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	cmd.AddCommand(newExpShowCmd(e), newExpDiffCmd(e))
	return cmd
}

// expShowTarget splits the optional EXPERIMENT and DIR arguments of exp
// show. A lone argument naming an existing directory is the project
// directory; anything else is an experiment name.
func expShowTarget(args []string) (name, dir string) {
	switch len(args) {
	case 0:
		return "", "."
	case 1:
		if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
			return "", args[0]
		}
		return args[0], "."
	}
	return args[0], projectDir(args[1:])
}

// formatMetric formats a metric for a table: six significant digits, which
// hides the noise of binary floating point (0.30000000000000004) without
// hiding differences anyone acts on.
func formatMetric(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
