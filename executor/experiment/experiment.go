package experiment

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"

	"lattice.dev/lattice/compiler/plan"
)

// Goals of a metric: whether larger or smaller values are better.
const (
	Max = "max"
	Min = "min"
)

// Trial is one trial of an experiment and what it reported.
type Trial struct {
	// Name is the trial's stage name, such as "sweep[lr=0.1]".
	Name string
	// Params are the trial's point in the parameter space.
	Params []plan.Param
	// Metrics are the values the trial reported, by metric name. It is nil
	// for a trial that has reported nothing: not run yet, or failed.
	Metrics map[string]float64
	// Status is the caller's word on where the trial stands ("done",
	// "failed", ...). Rank does not read it; it only carries it along
	// with the trial as the trials are reordered.
	Status string
}

// Ranking is an experiment's trials ordered best first by its select
// metric, with the winner checked against the experiment's gates.
type Ranking struct {
	Experiment *plan.Experiment
	// Goal is the goal of the select metric, max or min.
	Goal string
	// Trials are ordered best first; see the package documentation for
	// ties and trials without the select metric.
	Trials []Trial
	// Winner is the index in Trials of the winning trial, or -1 when no
	// trial reports the select metric. The winner, when there is one, is
	// always Trials[0].
	Winner int
	// Gates are the experiment's gates, in declared order, checked against
	// the winner. Without a winner none of them has passed.
	Gates []GateResult
	// Passed reports whether there is a winner and it passes every gate.
	Passed bool
}

// GateResult is one gate checked against the winner.
type GateResult struct {
	Gate plan.Gate
	// Value is the winner's value of the gate's metric, when Known.
	Value float64
	Known bool
	// Passed reports whether the value is known and passes the gate.
	Passed bool
}

// Goal returns the goal declared for metric in e, defaulting to max for a
// metric the experiment does not declare (the compiler rejects selecting
// by one, so this only matters for hand-built plans).
func Goal(e *plan.Experiment, metric string) string {
	for _, m := range e.Metrics {
		if m.Name == metric {
			if m.Goal == Min {
				return Min
			}
			return Max
		}
	}
	return Max
}

// Better reports whether a is strictly better than b under goal.
func Better(goal string, a, b float64) bool {
	if goal == Min {
		return a < b
	}
	return a > b
}

// Rank orders the trials of e best first by e's select metric, picks the
// winner and checks it against e's gates. The trials are copied, not
// modified.
func Rank(e *plan.Experiment, trials []Trial) *Ranking {
	r := &Ranking{Experiment: e, Goal: Goal(e, e.SelectBy), Winner: -1, Gates: []GateResult{}}
	r.Trials = slices.Clone(trials)
	if r.Trials == nil {
		r.Trials = []Trial{}
	}
	// A stable sort keeps the declared order among ties and among the
	// trials that did not report the select metric.
	sort.SliceStable(r.Trials, func(i, j int) bool {
		a, aok := r.Trials[i].Metrics[e.SelectBy]
		b, bok := r.Trials[j].Metrics[e.SelectBy]
		if aok != bok {
			return aok
		}
		return aok && Better(r.Goal, a, b)
	})
	if len(r.Trials) > 0 {
		if _, ok := r.Trials[0].Metrics[e.SelectBy]; ok {
			r.Winner = 0
		}
	}
	r.Passed = r.Winner >= 0
	for _, g := range e.Gates {
		gr := GateResult{Gate: g}
		if r.Winner >= 0 {
			gr.Value, gr.Known = r.Trials[r.Winner].Metrics[g.Metric]
			gr.Passed = gr.Known && g.Pass(gr.Value)
		}
		if !gr.Passed {
			r.Passed = false
		}
		r.Gates = append(r.Gates, gr)
	}
	return r
}

// WinnerTrial returns the winning trial, or nil when there is none.
func (r *Ranking) WinnerTrial() *Trial {
	if r.Winner < 0 {
		return nil
	}
	return &r.Trials[r.Winner]
}

// FailedGates returns the gates the winner did not pass.
func (r *Ranking) FailedGates() []GateResult {
	var out []GateResult
	for _, g := range r.Gates {
		if !g.Passed {
			out = append(out, g)
		}
	}
	return out
}

// ParamValue returns a parameter's value as the JSON value it stands for:
// a number, a boolean or a string.
func ParamValue(p plan.Param) any {
	switch p.Kind {
	case "number":
		if _, err := strconv.ParseFloat(p.Value, 64); err == nil {
			return json.Number(p.Value)
		}
	case "bool":
		if b, err := strconv.ParseBool(p.Value); err == nil {
			return b
		}
	}
	return p.Value
}

// Comparison is two trials side by side.
type Comparison struct {
	A, B    string
	Params  []ParamDiff
	Metrics []MetricDiff
}

// ParamDiff is one parameter of two trials.
type ParamDiff struct {
	Name string
	// A and B are the values, when InA and InB.
	A, B     plan.Param
	InA, InB bool
	Differs  bool
}

// MetricDiff is one metric of two trials.
type MetricDiff struct {
	Name string
	// Goal is the declared goal, or empty for a metric a trial reports but
	// its experiment does not declare.
	Goal string
	// A and B are the values, when InA and InB.
	A, B     float64
	InA, InB bool
	Differs  bool
	// Better is "a" or "b" when both are known, they differ and the goal
	// says which is better; empty otherwise.
	Better string
}

// Compare puts two trials side by side. Parameters come in a's order, then
// those only b has; metrics in the order declared, then any others the
// trials report, sorted by name.
func Compare(a, b Trial, declared []plan.Metric) Comparison {
	c := Comparison{A: a.Name, B: b.Name, Params: []ParamDiff{}, Metrics: []MetricDiff{}}
	seen := map[string]bool{}
	for _, list := range [][]plan.Param{a.Params, b.Params} {
		for _, p := range list {
			if seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			d := ParamDiff{Name: p.Name}
			d.A, d.InA = findParam(a.Params, p.Name)
			d.B, d.InB = findParam(b.Params, p.Name)
			d.Differs = d.InA != d.InB || d.A.Value != d.B.Value || d.A.Kind != d.B.Kind
			c.Params = append(c.Params, d)
		}
	}
	goals := map[string]string{}
	var names []string
	for _, m := range declared {
		if _, ok := goals[m.Name]; !ok {
			goals[m.Name] = m.Goal
			names = append(names, m.Name)
		}
	}
	var extra []string
	for _, ms := range []map[string]float64{a.Metrics, b.Metrics} {
		for n := range ms {
			if _, ok := goals[n]; !ok && !slices.Contains(extra, n) {
				extra = append(extra, n)
			}
		}
	}
	sort.Strings(extra)
	for _, n := range append(names, extra...) {
		d := MetricDiff{Name: n, Goal: goals[n]}
		d.A, d.InA = a.Metrics[n]
		d.B, d.InB = b.Metrics[n]
		d.Differs = d.InA != d.InB || d.A != d.B
		if d.InA && d.InB && d.Differs && d.Goal != "" {
			d.Better = "b"
			if Better(d.Goal, d.A, d.B) {
				d.Better = "a"
			}
		}
		c.Metrics = append(c.Metrics, d)
	}
	return c
}

func findParam(ps []plan.Param, name string) (plan.Param, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return plan.Param{}, false
}
