package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
)

type fmtArgs struct {
	paths []string
	check bool
	json  bool
}

func newFmtCmd(e *env) *cobra.Command {
	var a fmtArgs
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite CUE and HCL spec files in canonical form",
		Long: `Fmt formats the CUE and HCL spec files of the given files or project
directories (default: the current directory) in place, in the canonical
style of cue fmt and of HCL. YAML and JSON files are left alone.

With --check nothing is written: fmt lists the files that are not formatted
and exits 1 if there are any, for use in CI.`,
		RunE: func(c *cobra.Command, args []string) error {
			a.paths = args
			if len(a.paths) == 0 {
				a.paths = []string{"."}
			}
			return runFmt(e, a)
		},
	}
	cmd.Flags().BoolVar(&a.check, "check", false, "list unformatted files and exit 1 if any, without writing")
	cmd.Flags().BoolVar(&a.json, "json", false, "print the result as JSON")
	return cmd
}

type fmtFile struct {
	Path    string `json:"path"`
	Changed bool   `json:"changed"`
}

type fmtJSON struct {
	FormatVersion string           `json:"format_version"`
	Check         bool             `json:"check"`
	Files         []fmtFile        `json:"files"`
	Diagnostics   diag.Diagnostics `json:"diagnostics"`
}

func runFmt(e *env, a fmtArgs) error {
	files, err := fmtTargets(a.paths)
	if err != nil {
		return err
	}
	out := fmtJSON{FormatVersion: "1", Check: a.check, Files: []fmtFile{}, Diagnostics: diag.Diagnostics{}}
	sources := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		sources[f] = src
		formatted, ds := lang.Format(f, src)
		if len(ds) > 0 {
			out.Diagnostics = append(out.Diagnostics, ds...)
			continue
		}
		changed := lang.Changed(src, formatted)
		out.Files = append(out.Files, fmtFile{Path: f, Changed: changed})
		if changed && !a.check {
			st, err := os.Stat(f)
			if err != nil {
				return err
			}
			if err := digest.WriteFileAtomic(f, formatted, st.Mode().Perm()); err != nil {
				return fmt.Errorf("writing %s: %w", f, err)
			}
		}
	}
	return viewFmt(e, a, out, func(name string) []byte { return sources[name] })
}

// fmtTargets expands directories into their formattable spec files.
func fmtTargets(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if !lang.Formattable(p) {
				return nil, fmt.Errorf("%s is not a CUE or HCL file", p)
			}
			out = append(out, p)
			continue
		}
		names, err := lang.SpecFiles(p)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if lang.Formattable(n) {
				out = append(out, filepath.Join(p, filepath.Base(n)))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func viewFmt(e *env, a fmtArgs, out fmtJSON, src diag.Sources) error {
	changed := 0
	for _, f := range out.Files {
		if f.Changed {
			changed++
		}
	}
	if a.json {
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		renderDiags(e, out.Diagnostics, src)
		for _, f := range out.Files {
			if !f.Changed {
				continue
			}
			if a.check {
				fmt.Fprintln(e.stdout, f.Path)
			} else {
				fmt.Fprintf(e.stdout, "formatted %s\n", f.Path)
			}
		}
		if a.check && changed > 0 {
			fmt.Fprintf(e.stderr, "%s not formatted; run `lattice fmt` to fix.\n", plural(changed, "file"))
		}
	}
	if len(out.Diagnostics) > 0 || (a.check && changed > 0) {
		return exit(ExitError)
	}
	return nil
}
