package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic stops the command.
type Severity int

const (
	// Error marks a problem that makes the spec unusable.
	Error Severity = iota
	// Warning marks something suspicious that does not stop the command.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText renders the severity as "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Pos is a position in a source file. Line and Column count from 1; Column
// counts bytes. Byte is the offset from the start of the file, or -1 when the
// front end does not know it.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Range is a span of source text. End is exclusive. A range whose End equals
// its Start marks a single spot; renderers then underline the token there.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// IsZero reports whether r is the zero Range, meaning "no position known".
func (r Range) IsZero() bool { return r.Filename == "" && r.Start.Line == 0 }

// String formats r as file:line:col, the form editors and terminals link.
func (r Range) String() string {
	if r.IsZero() {
		return "<unknown>"
	}
	if r.Start.Line == 0 {
		return r.Filename
	}
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// Before orders ranges by file, then line, then column.
func (r Range) Before(o Range) bool {
	if r.Filename != o.Filename {
		return r.Filename < o.Filename
	}
	if r.Start.Line != o.Start.Line {
		return r.Start.Line < o.Start.Line
	}
	return r.Start.Column < o.Start.Column
}

// Note is a secondary position attached to a diagnostic, such as the other
// definition of a duplicate name or one edge of a dependency cycle.
type Note struct {
	Range   Range  `json:"range"`
	Message string `json:"message"`
}

// Diagnostic is one problem found in the user's input.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	// Summary is one line in plain words, without a trailing period.
	Summary string `json:"summary"`
	// Detail adds context on further lines; may be empty.
	Detail string `json:"detail,omitempty"`
	// Hint tells how to fix the problem, e.g. `did you mean "outputs"?`.
	Hint string `json:"hint,omitempty"`
	// Path is the dotted spec path of the offending value, such as
	// "stages.train.params.lr"; empty for file-level problems.
	Path string `json:"path,omitempty"`
	// Subject is where the problem is; zero when no position is known.
	Subject Range `json:"range"`
	// Notes point at related places.
	Notes []Note `json:"notes,omitempty"`
}

// Error makes a Diagnostic usable as an error: file:line:col: summary.
func (d *Diagnostic) Error() string {
	if d.Subject.IsZero() {
		return d.Summary
	}
	return d.Subject.String() + ": " + d.Summary
}

// Diagnostics is a list of problems. A nil list means "no problems".
type Diagnostics []*Diagnostic

// Errorf builds an error diagnostic at r.
func Errorf(r Range, path, format string, args ...any) *Diagnostic {
	return &Diagnostic{Severity: Error, Subject: r, Path: path, Summary: fmt.Sprintf(format, args...)}
}

// WithHint sets the hint and returns d, for chaining.
func (d *Diagnostic) WithHint(format string, args ...any) *Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// WithDetail sets the detail and returns d, for chaining.
func (d *Diagnostic) WithDetail(format string, args ...any) *Diagnostic {
	d.Detail = fmt.Sprintf(format, args...)
	return d
}

// WithNote appends a related position and returns d, for chaining.
func (d *Diagnostic) WithNote(r Range, format string, args ...any) *Diagnostic {
	d.Notes = append(d.Notes, Note{Range: r, Message: fmt.Sprintf(format, args...)})
	return d
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns ds as an error when it holds an error, else nil.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

// Error joins the diagnostics one per line.
func (ds Diagnostics) Error() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Sort orders diagnostics by position, then by summary, and drops exact
// duplicates (same position and summary), which arise when two checks see
// the same mistake.
func (ds Diagnostics) Sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Subject != b.Subject {
			if a.Subject.IsZero() != b.Subject.IsZero() {
				return b.Subject.IsZero()
			}
			return a.Subject.Before(b.Subject)
		}
		return a.Summary < b.Summary
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d.Subject == ds[i-1].Subject && d.Summary == ds[i-1].Summary {
			continue
		}
		out = append(out, d)
	}
	return out
}
