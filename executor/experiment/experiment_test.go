package experiment

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/plan"
)

func exp(selectBy string, gates ...plan.Gate) *plan.Experiment {
	return &plan.Experiment{
		Name:     "sweep",
		Metrics:  []plan.Metric{{Name: "auc", Goal: Max}, {Name: "loss", Goal: Min}},
		SelectBy: selectBy,
		Gates:    gates,
	}
}

func trial(name string, metrics map[string]float64) Trial {
	return Trial{Name: name, Metrics: metrics}
}

func names(ts []Trial) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestRankOrder(t *testing.T) {
	trials := []Trial{
		trial("a", map[string]float64{"auc": 0.7, "loss": 0.3}),
		trial("b", nil),
		trial("c", map[string]float64{"auc": 0.9, "loss": 0.5}),
		trial("d", map[string]float64{"auc": 0.7, "loss": 0.1}),
		trial("e", map[string]float64{"loss": 0.05}),
	}
	tests := map[string]struct {
		selectBy string
		want     []string
		winner   string
	}{
		// Ties (a, d) keep their declared order; trials without the
		// metric (b, e) come last in declared order.
		"max": {selectBy: "auc", want: []string{"c", "a", "d", "b", "e"}, winner: "c"},
		"min": {selectBy: "loss", want: []string{"e", "d", "a", "c", "b"}, winner: "e"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := Rank(exp(tt.selectBy), trials)
			if diff := cmp.Diff(names(r.Trials), tt.want); diff != "" {
				t.Errorf("order (-got +want):\n%s", diff)
			}
			if got := r.WinnerTrial(); got == nil || got.Name != tt.winner {
				t.Errorf("winner = %v, want %s", got, tt.winner)
			}
			if !r.Passed {
				t.Errorf("Passed = false with no gates")
			}
		})
	}
	if trials[0].Name != "a" || trials[2].Name != "c" {
		t.Errorf("Rank reordered its argument: %v", names(trials))
	}
}

func TestRankNoWinner(t *testing.T) {
	for name, trials := range map[string][]Trial{
		"none":        nil,
		"not run":     {trial("a", nil), trial("b", nil)},
		"other value": {trial("a", map[string]float64{"loss": 0.1})},
	} {
		t.Run(name, func(t *testing.T) {
			r := Rank(exp("auc", plan.Gate{Metric: "auc", Op: ">=", Value: 0.5}), trials)
			if r.Winner != -1 || r.WinnerTrial() != nil {
				t.Errorf("Winner = %d, want -1", r.Winner)
			}
			if r.Passed {
				t.Errorf("Passed = true without a winner")
			}
			if len(r.Gates) != 1 || r.Gates[0].Passed || r.Gates[0].Known {
				t.Errorf("Gates = %+v, want one unknown, failed gate", r.Gates)
			}
			if r.Trials == nil || r.Gates == nil {
				t.Errorf("nil slices in %+v", r)
			}
		})
	}
}

func TestRankGates(t *testing.T) {
	trials := []Trial{
		trial("a", map[string]float64{"auc": 0.85, "loss": 0.4}),
		trial("b", map[string]float64{"auc": 0.8}),
	}
	aucOK := plan.Gate{Metric: "auc", Op: ">=", Value: 0.8, Text: "auc >= 0.8"}
	aucHigh := plan.Gate{Metric: "auc", Op: ">", Value: 0.9, Text: "auc > 0.9"}
	lossOK := plan.Gate{Metric: "loss", Op: "<", Value: 0.5, Text: "loss < 0.5"}
	other := plan.Gate{Metric: "f1", Op: ">=", Value: 0.1, Text: "f1 >= 0.1"}
	tests := map[string]struct {
		gates  []plan.Gate
		passed bool
		want   []GateResult
	}{
		"all pass": {
			gates:  []plan.Gate{aucOK, lossOK},
			passed: true,
			want: []GateResult{
				{Gate: aucOK, Value: 0.85, Known: true, Passed: true},
				{Gate: lossOK, Value: 0.4, Known: true, Passed: true},
			},
		},
		"one fails": {
			gates:  []plan.Gate{aucHigh, lossOK},
			passed: false,
			want: []GateResult{
				{Gate: aucHigh, Value: 0.85, Known: true, Passed: false},
				{Gate: lossOK, Value: 0.4, Known: true, Passed: true},
			},
		},
		"metric missing": {
			gates:  []plan.Gate{other},
			passed: false,
			want:   []GateResult{{Gate: other}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := Rank(exp("auc", tt.gates...), trials)
			if r.Passed != tt.passed {
				t.Errorf("Passed = %v, want %v", r.Passed, tt.passed)
			}
			if diff := cmp.Diff(r.Gates, tt.want); diff != "" {
				t.Errorf("gates (-got +want):\n%s", diff)
			}
			var failed int
			for _, g := range tt.want {
				if !g.Passed {
					failed++
				}
			}
			if got := len(r.FailedGates()); got != failed {
				t.Errorf("FailedGates has %d gates, want %d", got, failed)
			}
		})
	}
}

func TestGoal(t *testing.T) {
	e := exp("auc")
	for metric, want := range map[string]string{"auc": Max, "loss": Min, "unknown": Max} {
		if got := Goal(e, metric); got != want {
			t.Errorf("Goal(%q) = %q, want %q", metric, got, want)
		}
	}
}

func TestParamValue(t *testing.T) {
	got, err := json.Marshal([]any{
		ParamValue(plan.Param{Name: "lr", Kind: "number", Value: "0.1"}),
		ParamValue(plan.Param{Name: "n", Kind: "number", Value: "1e3"}),
		ParamValue(plan.Param{Name: "on", Kind: "bool", Value: "true"}),
		ParamValue(plan.Param{Name: "method", Kind: "string", Value: "zscore"}),
		ParamValue(plan.Param{Name: "bad", Kind: "number", Value: "x"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[0.1,1e3,true,"zscore","x"]`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCompare(t *testing.T) {
	lr := func(v string) plan.Param { return plan.Param{Name: "lr", Kind: "number", Value: v} }
	epochs := plan.Param{Name: "epochs", Kind: "number", Value: "20"}
	seed := plan.Param{Name: "seed", Kind: "number", Value: "1"}
	a := Trial{Name: "a", Params: []plan.Param{lr("0.1"), epochs},
		Metrics: map[string]float64{"auc": 0.8, "loss": 0.3, "zeta": 1, "extra": 2}}
	b := Trial{Name: "b", Params: []plan.Param{lr("0.3"), epochs, seed},
		Metrics: map[string]float64{"auc": 0.9, "loss": 0.3, "zeta": 2}}
	got := Compare(a, b, exp("auc").Metrics)
	want := Comparison{
		A: "a", B: "b",
		Params: []ParamDiff{
			{Name: "lr", A: lr("0.1"), B: lr("0.3"), InA: true, InB: true, Differs: true},
			{Name: "epochs", A: epochs, B: epochs, InA: true, InB: true},
			{Name: "seed", B: seed, InB: true, Differs: true},
		},
		Metrics: []MetricDiff{
			{Name: "auc", Goal: Max, A: 0.8, B: 0.9, InA: true, InB: true, Differs: true, Better: "b"},
			{Name: "loss", Goal: Min, A: 0.3, B: 0.3, InA: true, InB: true},
			{Name: "extra", A: 2, InA: true, Differs: true},
			{Name: "zeta", A: 1, B: 2, InA: true, InB: true, Differs: true},
		},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Compare (-got +want):\n%s", diff)
	}
}
