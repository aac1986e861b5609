package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// FormatVersion is the version of the JSON rendering of diagnostics.
const FormatVersion = "1"

// Sources returns the text of a file named in a Range, or nil when it is not
// available; the renderer then omits the excerpt.
type Sources func(filename string) []byte

// RenderOptions controls the human rendering.
type RenderOptions struct {
	// Color wraps severities and carets in ANSI colour codes.
	Color bool
}

// Render writes ds in human form: for each diagnostic a
// "file:line:col: error: summary" line, the source line with a caret under
// the spot, then the detail, notes and hint.
func Render(w io.Writer, ds Diagnostics, src Sources, opts RenderOptions) {
	for i, d := range ds {
		if i > 0 {
			fmt.Fprintln(w)
		}
		renderOne(w, d, src, opts)
	}
}

func renderOne(w io.Writer, d *Diagnostic, src Sources, opts RenderOptions) {
	sev := d.Severity.String()
	if opts.Color {
		code := "31"
		if d.Severity == Warning {
			code = "33"
		}
		sev = "\x1b[1;" + code + "m" + sev + "\x1b[0m"
	}
	if d.Subject.IsZero() {
		fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
	} else {
		fmt.Fprintf(w, "%s: %s: %s\n", d.Subject, sev, d.Summary)
		excerpt(w, d.Subject, src, opts)
	}
	if d.Detail != "" {
		for _, line := range strings.Split(d.Detail, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	for _, n := range d.Notes {
		if n.Range.IsZero() {
			fmt.Fprintf(w, "  note: %s\n", n.Message)
		} else {
			fmt.Fprintf(w, "  %s: note: %s\n", n.Range, n.Message)
		}
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "  hint: %s\n", d.Hint)
	}
}

// excerpt prints the source line of r with carets under the range, or under
// the token that starts there when the range is a single spot.
func excerpt(w io.Writer, r Range, src Sources, opts RenderOptions) {
	if src == nil || r.Start.Line <= 0 {
		return
	}
	text := src(r.Filename)
	if text == nil {
		return
	}
	line, ok := lineOf(text, r.Start.Line)
	if !ok {
		return
	}
	col := r.Start.Column - 1
	if col < 0 || col > len(line) {
		return
	}
	width := 0
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		width = r.End.Column - r.Start.Column
	} else {
		width = tokenWidth(line[col:])
	}
	if col+width > len(line) {
		width = len(line) - col
	}
	if width < 1 {
		width = 1
	}
	num := fmt.Sprint(r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	// Tabs in the prefix are kept so the caret lines up in any tab width.
	var prefix strings.Builder
	for _, c := range string(line[:col]) {
		if c == '\t' {
			prefix.WriteByte('\t')
		} else {
			prefix.WriteByte(' ')
		}
	}
	caret := strings.Repeat("^", utf8.RuneCount(line[col:col+width]))
	if opts.Color {
		caret = "\x1b[1;31m" + caret + "\x1b[0m"
	}
	fmt.Fprintf(w, " %s | %s\n", num, line)
	fmt.Fprintf(w, " %s | %s%s\n", pad, prefix.String(), caret)
}

func lineOf(text []byte, n int) ([]byte, bool) {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(text, '\n')
		if j < 0 {
			return nil, false
		}
		text = text[j+1:]
	}
	if j := bytes.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return bytes.TrimRight(text, "\r"), true
}

// tokenWidth guesses the length of the token at the start of s: a quoted
// string, an identifier or number, or a single character.
func tokenWidth(s []byte) int {
	if len(s) == 0 {
		return 0
	}
	if s[0] == '"' || s[0] == '\'' {
		q := s[0]
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == q {
				return i + 1
			}
		}
		return len(s)
	}
	n := 0
	for n < len(s) {
		c := s[n]
		if c == '_' || c == '-' || c == '.' || c == '#' || c == '$' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80 {
			n++
			continue
		}
		break
	}
	if n == 0 {
		return 1
	}
	return n
}

// JSONReport is the -json form of a validation result.
type JSONReport struct {
	FormatVersion string      `json:"format_version"`
	Valid         bool        `json:"valid"`
	ErrorCount    int         `json:"error_count"`
	WarningCount  int         `json:"warning_count"`
	Diagnostics   Diagnostics `json:"diagnostics"`
}

// Report summarises ds for JSON output. Diagnostics is never nil so that it
// renders as [] rather than null.
func Report(ds Diagnostics) JSONReport {
	r := JSONReport{FormatVersion: FormatVersion, Diagnostics: Diagnostics{}}
	for _, d := range ds {
		if d.Severity == Error {
			r.ErrorCount++
		} else {
			r.WarningCount++
		}
		r.Diagnostics = append(r.Diagnostics, d)
	}
	r.Valid = r.ErrorCount == 0
	return r
}

// RenderJSON writes the report for ds as indented JSON.
func RenderJSON(w io.Writer, ds Diagnostics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report(ds))
}
