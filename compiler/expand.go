package compiler

import (
	"math"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"

	"lattice.dev/lattice/lang/spec"
)

// trial is one point of an experiment's parameter space.
type trial struct {
	params []spec.Param
}

// expand lists an experiment's trials, in a deterministic order: grid
// points in odometer order over the axes as declared, list entries as
// written, random draws in draw order.
func expand(e *spec.Experiment) []trial {
	switch e.Space.Kind {
	case spec.SpaceGrid:
		return gridTrials(e.Space.Grid)
	case spec.SpaceList:
		out := make([]trial, 0, len(e.Space.List))
		for _, ps := range e.Space.List {
			out = append(out, trial{params: ps})
		}
		return out
	case spec.SpaceRandom:
		return randomTrials(e.Space.Random)
	}
	return nil
}

func gridTrials(axes []spec.GridAxis) []trial {
	if len(axes) == 0 {
		return nil
	}
	n := 1
	for _, ax := range axes {
		n *= len(ax.Values)
	}
	out := make([]trial, 0, n)
	idx := make([]int, len(axes))
	for {
		t := trial{params: make([]spec.Param, len(axes))}
		for i, ax := range axes {
			t.params[i] = spec.Param{Name: ax.Name, Value: ax.Values[idx[i]]}
		}
		out = append(out, t)
		// Advance the last axis fastest, so trials read like nested loops.
		i := len(axes) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(axes[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out
		}
	}
}

// randomTrials draws with a PCG generator seeded from the spec, whose
// output is specified by the algorithm, so the same seed gives the same
// trials on every machine and Go version. Draws are rounded to four
// significant digits: readable trial names, and no false precision.
func randomTrials(r spec.Random) []trial {
	rng := rand.New(rand.NewPCG(uint64(r.Seed), 0x6c617474696365))
	out := make([]trial, 0, r.Trials)
	seen := map[string]bool{}
	for attempts := 0; len(out) < r.Trials && attempts < r.Trials*20; attempts++ {
		t := trial{}
		for _, d := range r.Params {
			t.params = append(t.params, spec.Param{Name: d.Name, Value: draw(rng, d)})
		}
		name := trialSuffix(t.params)
		if seen[name] {
			// Small discrete spaces repeat; a repeated point would be the
			// same stage twice.
			continue
		}
		seen[name] = true
		out = append(out, t)
	}
	return out
}

func draw(rng *rand.Rand, d spec.Distribution) spec.Value {
	if len(d.Values) > 0 {
		return d.Values[rng.IntN(len(d.Values))]
	}
	u := rng.Float64()
	var x float64
	if d.Log {
		lo, hi := math.Log(d.Min), math.Log(d.Max)
		x = math.Exp(lo + u*(hi-lo))
	} else {
		x = d.Min + u*(d.Max-d.Min)
	}
	if d.Int {
		return spec.NumberValue(math.Round(x))
	}
	return spec.NumberValue(roundSig(x, 4))
}

func roundSig(x float64, digits int) float64 {
	if x == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', digits, 64), 64)
	return f
}

// trialSuffix renders a trial's parameters as "lr=0.1,l2=0.01" for its
// stage name. String values that would make the name ambiguous are quoted.
func trialSuffix(params []spec.Param) string {
	parts := make([]string, len(params))
	for i, p := range params {
		v := p.Value.String()
		if p.Value.Kind == spec.String && (v == "" || strings.ContainsAny(v, ",=[]\" /")) {
			v = strconv.Quote(v)
		}
		parts[i] = p.Name + "=" + v
	}
	return strings.Join(parts, ",")
}

// trialName is the stage name of a trial: "sweep[lr=0.1,l2=0.01]".
func trialName(exp string, params []spec.Param) string {
	return exp + "[" + trialSuffix(params) + "]"
}

// trialPath places a trial's output in a directory of its own next to the
// declared path: out/sweep/metrics.json becomes
// out/sweep/lr=0.1,l2=0.01/metrics.json. Trials then never overwrite each
// other, and the template's cmd finds its output through
// ${outputs.NAME}.
func trialPath(declared string, params []spec.Param) string {
	dir, base := path.Split(declared)
	suffix := strings.NewReplacer("/", "_", "\"", "").Replace(trialSuffix(params))
	return path.Join(dir, suffix, base)
}

// trialStage builds the stage for one trial: the template with the trial's
// parameters set (added to or overriding the template's params) and its
// outputs moved to the trial's directory.
func trialStage(e *spec.Experiment, t trial) *spec.Stage {
	tmpl := e.Stage
	s := *tmpl
	s.Name = trialName(e.Name, t.params)
	s.Params = nil
	set := map[string]spec.Value{}
	for _, p := range t.params {
		set[p.Name] = p.Value
	}
	for _, p := range tmpl.Params {
		if v, ok := set[p.Name]; ok {
			p.Value = v
			delete(set, p.Name)
		}
		s.Params = append(s.Params, p)
	}
	for _, p := range t.params {
		if _, ok := set[p.Name]; ok {
			s.Params = append(s.Params, p)
		}
	}
	s.Outputs = make([]*spec.Output, len(tmpl.Outputs))
	for i, o := range tmpl.Outputs {
		c := *o
		c.Path = trialPath(o.Path, t.params)
		s.Outputs[i] = &c
	}
	return &s
}
