package workspace

import (
	"context"
	"fmt"
	"strings"

	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor"
)

// What reproducing a stage found, as ReproducedStage.Result.
const (
	// Deterministic: every output matched lattice.lock.
	Deterministic = "deterministic"
	// NonDeterministic: some output differed from lattice.lock.
	NonDeterministic = "non-deterministic"
	// ReproduceFailed: the stage did not run to completion.
	ReproduceFailed = "failed"
	// ReproduceSkipped: the stage did not run: it is not in lattice.lock,
	// or a stage it needs failed.
	ReproduceSkipped = "skipped"
	// ReproduceChanged: the stage ran, but its key differs from the locked
	// one (the spec, code or inputs moved since lattice.lock was written),
	// so its outputs could not be expected to match.
	ReproduceChanged = "changed"
)

// ReproduceOptions configures Reproduce.
type ReproduceOptions struct {
	Jobs    int
	Targets []string
	Events  func(executor.Event)
}

// Reproduced is the result of Reproduce.
type Reproduced struct {
	*Applied
	// Stages are the selected stages in plan order.
	Stages []ReproducedStage
	// Counts by result.
	Deterministic, NonDeterministic, Failed, Skipped, Changed int
}

// OK reports whether every stage reproduced its locked outputs.
func (r *Reproduced) OK() bool {
	return r.NonDeterministic+r.Failed+r.Skipped+r.Changed == 0
}

// ReproducedStage is what reproducing one stage found.
type ReproducedStage struct {
	Name   string
	Result string
	// Mismatches lists the outputs that differ from lattice.lock, in the
	// stage's declared order.
	Mismatches []Mismatch
	// Error says why a stage failed, Reason why it was skipped or changed.
	Error  string
	Reason string
	// Run is the executor's account of the stage, for durations and exit
	// codes.
	Run *executor.StageResult
}

// Mismatch is one output whose reproduced content differs from the locked
// content.
type Mismatch struct {
	Output     string
	Path       string
	Locked     string
	Reproduced string
}

// Reproduce re-runs the selected stages, bypassing the cache, and compares
// each one's outputs with what lattice.lock records. Nothing in the
// workspace, the cache or the lockfile changes. Stages read their inputs
// from the workspace, which, after an apply, holds the locked outputs of
// the stages they need; each stage is therefore checked on its own, with
// exactly the inputs it was locked with.
//
// Reproduce refuses, with a *NotUpToDateError, a workspace where a
// selected stage is not up to date: its upstream outputs may be missing or
// differ from the locked ones, and its own key may no longer be the
// locked one, so no comparison would mean anything.
func (w *Workspace) Reproduce(ctx context.Context, o ReproduceOptions) (*Reproduced, error) {
	pl, err := w.Plan(ctx, PlanOptions{})
	if err != nil {
		return nil, err
	}
	if pl.Diags.HasErrors() || pl.Plan == nil {
		return &Reproduced{Applied: &Applied{Planned: pl}, Stages: []ReproducedStage{}}, nil
	}
	if err := checkReproducible(pl, o.Targets); err != nil {
		return &Reproduced{Applied: &Applied{Planned: pl}, Stages: []ReproducedStage{}}, err
	}
	res, err := w.Apply(ctx, ApplyOptions{
		Jobs:      o.Jobs,
		Targets:   o.Targets,
		Events:    o.Events,
		Reproduce: true,
		Command:   "reproduce",
	})
	out := &Reproduced{Applied: res, Stages: []ReproducedStage{}}
	if res == nil || res.Report == nil {
		return out, err
	}
	for _, sr := range res.Report.Stages {
		rs := ReproducedStage{Name: sr.Name, Mismatches: []Mismatch{}, Run: sr}
		var locked map[string]string
		var lockedKey string
		if ls := res.Lock.Stages[sr.Name]; ls != nil {
			lockedKey = ls.Key
			locked = map[string]string{}
			for name, lo := range ls.Outputs {
				locked[name] = lo.Digest
			}
		}
		switch {
		case sr.Outcome == executor.Failed:
			rs.Result, rs.Error = ReproduceFailed, sr.Error
			out.Failed++
		case sr.Outcome == executor.Skipped || sr.Deterministic == nil:
			rs.Result, rs.Reason = ReproduceSkipped, sr.Reason
			out.Skipped++
		case sr.Key != lockedKey:
			rs.Result = ReproduceChanged
			rs.Reason = "the stage changed since lattice.lock was written (its action key differs), so its outputs cannot be compared; run lattice apply first"
			out.Changed++
		default:
			if s := res.Plan.Stage(sr.Name); s != nil {
				for _, po := range s.Outputs {
					if got, want := sr.Outputs[po.Name], locked[po.Name]; got != want {
						rs.Mismatches = append(rs.Mismatches, Mismatch{Output: po.Name, Path: po.Path, Locked: want, Reproduced: got})
					}
				}
			}
			// The executor's verdict decides; the list above only
			// details it.
			if *sr.Deterministic {
				rs.Result = Deterministic
				out.Deterministic++
			} else {
				rs.Result = NonDeterministic
				out.NonDeterministic++
			}
		}
		out.Stages = append(out.Stages, rs)
	}
	return out, err
}

// NotUpToDateError lists the stages that keep a workspace from being
// reproduced.
type NotUpToDateError struct {
	// NoLock is set when there is no lattice.lock at all.
	NoLock bool
	// Stages are "name: reason" lines.
	Stages []string
}

func (e *NotUpToDateError) Error() string {
	if e.NoLock {
		return "there is no lattice.lock to reproduce; run lattice apply first, and commit lattice.lock"
	}
	return "reproduce compares each stage with lattice.lock and reads its inputs from the workspace, " +
		"so the workspace must be up to date, and these stages are not:\n  " + strings.Join(e.Stages, "\n  ") +
		"\nrun lattice apply first"
}

// checkReproducible refuses a plan where a stage that reproduce would run
// (the targets and the stages they need, or all) is not up to date.
func checkReproducible(pl *Planned, targets []string) error {
	p := pl.Plan
	if len(pl.Lock.Stages) == 0 {
		return &NotUpToDateError{NoLock: true}
	}
	need := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if need[name] {
			return nil
		}
		s := p.Stage(name)
		if s == nil {
			return unknownStage(p, name)
		}
		need[name] = true
		for _, d := range s.Deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range targets {
		if err := visit(t); err != nil {
			return fmt.Errorf("--target: %w", err)
		}
	}
	var stale []string
	for _, s := range p.Stages {
		if (len(targets) == 0 || need[s.Name]) && s.Action != plan.UpToDate {
			stale = append(stale, fmt.Sprintf("%s: %s", s.Name, s.Reason))
		}
	}
	if len(stale) > 0 {
		return &NotUpToDateError{Stages: stale}
	}
	return nil
}
