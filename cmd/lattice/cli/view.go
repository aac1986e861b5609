package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"golang.org/x/term"

	"lattice.dev/lattice/lang/diag"
)

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// renderDiags prints diagnostics in human form on stderr, followed by a
// count, and returns whether any was an error.
func renderDiags(e *env, ds diag.Diagnostics, src diag.Sources) bool {
	if len(ds) == 0 {
		return false
	}
	diag.Render(e.stderr, ds, src, diag.RenderOptions{Color: e.color})
	r := diag.Report(ds)
	fmt.Fprintln(e.stderr)
	switch {
	case r.ErrorCount > 0 && r.WarningCount > 0:
		fmt.Fprintf(e.stderr, "%s and %s.\n", plural(r.ErrorCount, "error"), plural(r.WarningCount, "warning"))
	case r.ErrorCount > 0:
		fmt.Fprintf(e.stderr, "%s.\n", plural(r.ErrorCount, "error"))
	default:
		fmt.Fprintf(e.stderr, "%s.\n", plural(r.WarningCount, "warning"))
	}
	return r.ErrorCount > 0
}

// plural formats a count with its noun: "1 error", "3 errors".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
