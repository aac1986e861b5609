package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
)

type diagList = diag.Diagnostics

func nonNil(ds diag.Diagnostics) diag.Diagnostics {
	if ds == nil {
		return diag.Diagnostics{}
	}
	return ds
}

// foldThreshold is the plan size above which up-to-date stages are folded
// into one line unless --all is given: a reviewer of a 10,000-stage plan
// wants the changes, not ten thousand "=" lines.
const foldThreshold = 100

// planSymbol marks a stage's action in human and Markdown renderings.
func planSymbol(s *plan.Stage) string {
	switch s.Action {
	case plan.Run:
		if !s.InLock {
			return "+"
		}
		return "~"
	case plan.Cached:
		return "<"
	case plan.UpToDate:
		return "="
	}
	return "?"
}

func actionWord(s *plan.Stage) string {
	switch s.Action {
	case plan.Cached:
		return "restore"
	case plan.UpToDate:
		return "up-to-date"
	}
	return string(s.Action)
}

// planJSON is the -json form of plan: the plan itself, plus hashing
// statistics when asked for.
type planJSON struct {
	*plan.Plan
	Stats *digest.Stats `json:"stats,omitempty"`
}

func viewPlan(e *env, a planArgs, p *plan.Plan, stats digest.Stats) error {
	switch a.format {
	case "json":
		out := planJSON{Plan: p}
		if a.stats {
			out.Stats = &stats
		}
		p.Fill()
		return writeJSON(e.stdout, out)
	case "markdown":
		renderMarkdown(e.stdout, p)
	default:
		renderHuman(e.stdout, p, a.all)
	}
	if a.stats {
		fmt.Fprintf(e.stderr, "hashing: %d files checked, %d read (%d bytes), %d from the stat cache\n",
			stats.FilesChecked, stats.FilesHashed, stats.BytesHashed, stats.StatCacheHits)
	}
	return nil
}

func renderHuman(w io.Writer, p *plan.Plan, all bool) {
	name := p.Project
	if name == "" {
		name = "project"
	}
	fmt.Fprintf(w, "Plan for %s:\n\n", name)
	fold := !all && len(p.Stages) > foldThreshold
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	folded := 0
	for _, s := range p.Stages {
		if fold && s.Action == plan.UpToDate {
			folded++
			continue
		}
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\n", planSymbol(s), s.Name, actionWord(s), s.Reason)
	}
	for _, r := range p.Removed {
		fmt.Fprintf(tw, "  - %s\tremove\t%s\n", r.Name, r.Reason)
	}
	tw.Flush()
	if folded > 0 {
		fmt.Fprintf(w, "  = … %d up-to-date stages not shown (use --all to list them)\n", folded)
	}
	for _, d := range p.Datasets {
		if d.Changed != nil {
			fmt.Fprintf(w, "\nDataset %s changed: %s → %s", d.Name, shortDigest(d.Changed.Old), shortDigest(d.Digest))
			if len(d.Changed.Files) > 0 {
				fmt.Fprintf(w, " (%s", strings.Join(d.Changed.Files, ", "))
				if d.Changed.Truncated > 0 {
					fmt.Fprintf(w, ", and %d more", d.Changed.Truncated)
				}
				fmt.Fprint(w, ")")
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n%s\n", summaryLine(p.Summary))
}

// summaryLine is the plan's last line: "Plan: 3 to run, 12 up-to-date." or
// "No changes. 15 stages up-to-date."
func summaryLine(s plan.Summary) string {
	if !s.Changes() {
		return fmt.Sprintf("No changes. %s up-to-date.", plural(s.UpToDate, "stage"))
	}
	parts := []string{fmt.Sprintf("%d to run", s.Run)}
	if s.Cached > 0 {
		parts = append(parts, fmt.Sprintf("%d to restore from the cache", s.Cached))
	}
	parts = append(parts, fmt.Sprintf("%d up-to-date", s.UpToDate))
	if s.Remove > 0 {
		parts = append(parts, fmt.Sprintf("%d to remove", s.Remove))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// renderMarkdown writes a plan for a pull-request comment: a summary, a
// table of the stages that change, and a collapsible section per changed
// stage with its field-by-field diff.
func renderMarkdown(w io.Writer, p *plan.Plan) {
	name := p.Project
	if name == "" {
		name = "project"
	}
	fmt.Fprintf(w, "### Lattice plan for `%s`\n\n%s\n\n", name, summaryLine(p.Summary))
	var changed []*plan.Stage
	for _, s := range p.Stages {
		if s.Action != plan.UpToDate {
			changed = append(changed, s)
		}
	}
	if len(changed) == 0 && len(p.Removed) == 0 {
		return
	}
	fmt.Fprintln(w, "| | stage | action | reason |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range changed {
		fmt.Fprintf(w, "| `%s` | `%s` | %s | %s |\n", planSymbol(s), s.Name, actionWord(s), mdEscape(s.Reason))
	}
	for _, r := range p.Removed {
		fmt.Fprintf(w, "| `-` | `%s` | remove | %s |\n", r.Name, mdEscape(r.Reason))
	}
	for _, s := range changed {
		if len(s.Changes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n<details><summary><code>%s</code>: %s</summary>\n\n", htmlEscape(s.Name), htmlEscape(s.Reason))
		fmt.Fprintln(w, "| field | old | new | note |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, c := range s.Changes {
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", c.Field, mdCode(c.Old), mdCode(c.New), mdEscape(c.Note))
		}
		fmt.Fprintln(w, "\n</details>")
	}
}

func mdCode(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func shortDigest(s string) string {
	if d, err := digest.Parse(s); err == nil {
		return d.Short()
	}
	return s
}

// explainJSON is the -json form of plan --explain.
type explainJSON struct {
	FormatVersion string        `json:"format_version"`
	Stage         string        `json:"stage"`
	Action        plan.Action   `json:"action"`
	Reason        string        `json:"reason"`
	Key           string        `json:"key"`
	Preimage      []string      `json:"preimage"`
	Changes       []plan.Change `json:"changes"`
}

func viewExplain(e *env, a planArgs, s *plan.Stage) error {
	lines := s.Preimage.Lines()
	if a.format == "json" {
		ch := s.Changes
		if ch == nil {
			ch = []plan.Change{}
		}
		return writeJSON(e.stdout, explainJSON{FormatVersion: "1", Stage: s.Name, Action: s.Action, Reason: s.Reason,
			Key: s.Key, Preimage: lines, Changes: ch})
	}
	w := e.stdout
	fmt.Fprintf(w, "Stage %s: %s (%s)\n", s.Name, actionWord(s), s.Reason)
	if s.Key != "" {
		fmt.Fprintf(w, "Key: %s\n", s.Key)
	} else {
		fmt.Fprintln(w, "Key: computed when the upstream stages have run (inputs marked pending)")
	}
	fmt.Fprintln(w, "\nKey pre-image:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	switch {
	case !s.InLock:
		fmt.Fprintln(w, "\nNot in lattice.lock: this is a new stage.")
	case len(s.Changes) == 0:
		fmt.Fprintln(w, "\nNo changes from lattice.lock.")
	default:
		fmt.Fprintln(w, "\nChanges from lattice.lock:")
		for _, c := range s.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	return nil
}

// suggestStage returns `; did you mean "x"?` for a near-miss stage name.
func suggestStage(p *plan.Plan, name string) string {
	names := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		names[i] = s.Name
	}
	if m := lang.Suggest(name, names); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}
