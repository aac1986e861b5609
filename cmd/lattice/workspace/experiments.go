package workspace

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/experiment"
	"lattice.dev/lattice/lang"
)

// Where a trial stands, as experiment.Trial.Status.
const (
	// TrialDone: the trial's metrics belong to its current key.
	TrialDone = "done"
	// TrialStale: the metrics come from an earlier run; the spec, code or
	// inputs changed since, and apply would run the trial again.
	TrialStale = "stale"
	// TrialFailed: the trial's latest run, with its current key, failed.
	TrialFailed = "failed"
	// TrialNotRun: the trial has neither run nor been restored here.
	TrialNotRun = "not run"
)

// Experiments is the result of Workspace.Experiments.
type Experiments struct {
	*Planned
	// Rankings holds one ranking per experiment shown, in declared order.
	Rankings []*experiment.Ranking
}

// Experiments plans the project and ranks the trials of the experiment
// called name, or of every experiment when name is empty, by the metrics
// they left in the workspace. When Planned.Diags has errors, Rankings is
// empty.
func (w *Workspace) Experiments(ctx context.Context, name string) (*Experiments, error) {
	pl, err := w.Plan(ctx, PlanOptions{})
	if err != nil {
		return nil, err
	}
	out := &Experiments{Planned: pl, Rankings: []*experiment.Ranking{}}
	if pl.Diags.HasErrors() || pl.Plan == nil {
		return out, nil
	}
	p := pl.Plan
	if name != "" && findExperiment(p, name) == nil {
		names := make([]string, len(p.Experiments))
		for i, e := range p.Experiments {
			names[i] = e.Name
		}
		msg := fmt.Sprintf("no experiment %q in the project", name)
		if s := lang.Suggest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(names) == 0 {
			msg += "; it declares no experiments"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	for _, e := range p.Experiments {
		if name != "" && e.Name != name {
			continue
		}
		trials := make([]experiment.Trial, 0, len(e.Trials))
		for _, tn := range e.Trials {
			s := p.Stage(tn)
			if s == nil {
				continue
			}
			t := w.trial(s, e.Metrics)
			t.Params = s.TrialParams
			trials = append(trials, t)
		}
		out.Rankings = append(out.Rankings, experiment.Rank(e, trials))
	}
	return out, nil
}

// Compared is the result of Workspace.CompareTrials.
type Compared struct {
	*Planned
	Comparison experiment.Comparison
	// StatusA and StatusB say where each trial stands (TrialDone, ...).
	StatusA, StatusB string
}

// CompareTrials plans the project and puts two stages, usually trials of
// one experiment, side by side: every parameter and every metric they
// report. The declared metrics come first, with their goals. When
// Planned.Diags has errors, the comparison is empty.
func (w *Workspace) CompareTrials(ctx context.Context, a, b string) (*Compared, error) {
	pl, err := w.Plan(ctx, PlanOptions{})
	if err != nil {
		return nil, err
	}
	out := &Compared{Planned: pl}
	if pl.Diags.HasErrors() || pl.Plan == nil {
		return out, nil
	}
	p := pl.Plan
	var trials [2]experiment.Trial
	var declared []plan.Metric
	for i, name := range []string{a, b} {
		s := p.Stage(name)
		if s == nil {
			return nil, unknownStage(p, name)
		}
		if e := findExperiment(p, s.Experiment); e != nil {
			declared = append(declared, e.Metrics...)
		}
		// Every metric the stage reports, declared or not: a comparison
		// is where an undeclared one (a run time, a second score) helps.
		trials[i] = w.trial(s, nil)
		// Every parameter, not only the trial's point in the space: a
		// difference in a template parameter matters as much.
		trials[i].Params = s.Preimage.Params
	}
	out.Comparison = experiment.Compare(trials[0], trials[1], declared)
	out.StatusA, out.StatusB = trials[0].Status, trials[1].Status
	return out, nil
}

// trial gathers what a stage reported: the declared metrics (or, with none
// declared, every metric) from its metrics outputs in the workspace, or,
// when those are missing, from its latest run record.
func (w *Workspace) trial(s *plan.Stage, declared []plan.Metric) experiment.Trial {
	t := experiment.Trial{Name: s.Name}
	rec, _ := executor.ReadRecord(w.State(), s.Name)
	fromWorkspace := w.readMetrics(s, declared)
	metrics := fromWorkspace
	if metrics == nil && rec != nil && len(rec.Metrics) > 0 {
		metrics = pick(rec.Metrics, declared)
	}
	current := s.Action == plan.UpToDate && fromWorkspace != nil ||
		rec != nil && rec.Key == s.Key && rec.Outcome != executor.Failed
	switch {
	case rec != nil && rec.Key == s.Key && rec.Outcome == executor.Failed:
		// Whatever metrics an earlier run left are not this trial's: its
		// current version failed, and must not win.
		t.Status = TrialFailed
	case metrics != nil && current:
		t.Status, t.Metrics = TrialDone, metrics
	case metrics != nil:
		t.Status, t.Metrics = TrialStale, metrics
	case current:
		t.Status = TrialDone
	default:
		t.Status = TrialNotRun
	}
	return t
}

// readMetrics reads a stage's metrics outputs in the workspace: for each
// declared metric the output the experiment names, or with none declared
// every output of kind metrics. It returns nil when nothing could be read.
func (w *Workspace) readMetrics(s *plan.Stage, declared []plan.Metric) map[string]float64 {
	files := map[string]map[string]float64{}
	read := func(o plan.Output) map[string]float64 {
		if m, ok := files[o.Name]; ok {
			return m
		}
		m, err := executor.ReadMetrics(filepath.Join(w.Dir, filepath.FromSlash(o.Path)))
		if err != nil {
			m = nil
		}
		files[o.Name] = m
		return m
	}
	var out map[string]float64
	set := func(k string, v float64) {
		if out == nil {
			out = map[string]float64{}
		}
		out[k] = v
	}
	if len(declared) == 0 {
		for _, o := range s.Outputs {
			if o.Kind != "metrics" {
				continue
			}
			for k, v := range read(o) {
				set(k, v)
			}
		}
		return out
	}
	for _, m := range declared {
		for _, o := range s.Outputs {
			if o.Name != m.Output {
				continue
			}
			if v, ok := read(o)[m.Name]; ok {
				set(m.Name, v)
			}
		}
	}
	return out
}

// pick keeps the declared metrics of a run record's metrics, or all of
// them when none are declared. It returns nil when none is left.
func pick(all map[string]float64, declared []plan.Metric) map[string]float64 {
	if len(declared) == 0 {
		return all
	}
	var out map[string]float64
	for _, m := range declared {
		if v, ok := all[m.Name]; ok {
			if out == nil {
				out = map[string]float64{}
			}
			out[m.Name] = v
		}
	}
	return out
}

func findExperiment(p *plan.Plan, name string) *plan.Experiment {
	for _, e := range p.Experiments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// unknownStage is the error for a stage name the plan lacks, suggesting
// the closest stage.
func unknownStage(p *plan.Plan, name string) error {
	names := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		names[i] = s.Name
	}
	sort.Strings(names)
	if s := lang.Suggest(name, names); s != "" {
		return fmt.Errorf("no stage %q in the plan; did you mean %q?", name, s)
	}
	return fmt.Errorf("no stage %q in the plan", name)
}
