package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/executor/cache"
)

type cacheVerifyArgs struct {
	repair bool
	json   bool
}

func newCacheVerifyCmd(e *env) *cobra.Command {
	var a cacheVerifyArgs
	cmd := &cobra.Command{
		Use:   "verify [--repair]",
		Short: "Re-hash the output cache and report corrupt files",
		Long: `Verify re-hashes every file in the output cache and checks that every
entry is well formed and that everything it refers to is present and
sound. Apply never restores from an entry it can see is broken, but it
does not re-hash blobs on every restore, so a file changed on disk after
it was stored goes unnoticed until verify.

--repair removes every bad file, and every entry that needs one, so those
stages run again at the next apply instead of restoring bad outputs.

Exit status: 0 when the cache is sound (or everything bad was removed),
1 when problems remain.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ca, err := openCache()
			if err != nil {
				return err
			}
			rep, err := ca.Verify(c.Context(), cache.VerifyOptions{Repair: a.repair})
			if err != nil {
				return err
			}
			return viewCacheVerify(e, a, ca.Dir(), rep)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.repair, "repair", false, "remove the bad files and the entries that need them")
	f.BoolVar(&a.json, "json", false, "print the report as JSON")
	return cmd
}

type verifyProblem struct {
	Path    string `json:"path"`
	Detail  string `json:"detail"`
	Removed bool   `json:"removed"`
}

type cacheVerifyJSON struct {
	FormatVersion string          `json:"format_version"`
	Dir           string          `json:"dir"`
	OK            bool            `json:"ok"`
	Entries       int             `json:"entries"`
	Trees         int             `json:"trees"`
	Blobs         int             `json:"blobs"`
	Bytes         int64           `json:"bytes"`
	Problems      []verifyProblem `json:"problems"`
}

func viewCacheVerify(e *env, a cacheVerifyArgs, dir string, rep cache.VerifyReport) error {
	remaining := 0
	out := cacheVerifyJSON{FormatVersion: "1", Dir: dir, Entries: rep.Entries, Trees: rep.Trees, Blobs: rep.Blobs,
		Bytes: rep.Bytes, Problems: []verifyProblem{}}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, verifyProblem{p.Path, p.Detail, p.Removed})
		if !p.Removed {
			remaining++
		}
	}
	out.OK = remaining == 0
	if a.json {
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "Checked %s, %s and %s (%s) in %s.\n",
			entryCount(rep.Entries), plural(rep.Trees, "tree"), plural(rep.Blobs, "blob"), formatBytes(rep.Bytes), dir)
		for _, p := range rep.Problems {
			mark := ""
			if p.Removed {
				mark = " (removed)"
			}
			fmt.Fprintf(e.stdout, "  %s: %s%s\n", p.Path, p.Detail, mark)
		}
		switch {
		case len(rep.Problems) == 0:
			fmt.Fprintln(e.stdout, "No problems found.")
		case remaining == 0:
			fmt.Fprintf(e.stdout, "Repaired %s: the bad files are gone, and the stages that needed them will run again.\n",
				plural(len(rep.Problems), "problem"))
		default:
			fmt.Fprintf(e.stdout, "Found %s. Run lattice cache verify --repair to remove the bad files.\n",
				plural(remaining, "problem"))
		}
	}
	if remaining > 0 {
		return exit(ExitError)
	}
	return nil
}
