package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"lattice.dev/lattice/compiler"
	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/docker"
	"lattice.dev/lattice/executor/local"
	"lattice.dev/lattice/executor/lockfile"
	"lattice.dev/lattice/executor/wslock"
	"lattice.dev/lattice/lang/spec"
)

// ApplyOptions configures Apply.
type ApplyOptions struct {
	// PlanFile applies a saved plan instead of planning now.
	PlanFile  string
	Jobs      int
	KeepGoing bool
	Targets   []string
	// Locked refuses to change any pin in lattice.lock.
	Locked  bool
	Refresh bool
	Events  func(executor.Event)
	// Reproduce re-runs stages bypassing the cache and compares their
	// outputs with lattice.lock, changing nothing.
	Reproduce bool
	// Command names the command in the workspace lock, for messages.
	Command string
}

// Applied is the result of Apply.
type Applied struct {
	*Planned
	Report *executor.Report
}

// StaleError lists why a saved plan no longer applies.
type StaleError struct {
	File    string
	Reasons []string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the saved plan %s is stale: %s; make a new plan", e.File, strings.Join(e.Reasons, "; "))
}

// LockedError lists the pin changes that apply --locked refuses.
type LockedError struct {
	Changes []string
}

func (e *LockedError) Error() string {
	return "lattice.lock would change, and --locked forbids that:\n  " + strings.Join(e.Changes, "\n  ") +
		"\nrun lattice apply without --locked, and commit the new lattice.lock"
}

// JournalPath is where apply records finished stages until the lockfile
// is rewritten.
func (w *Workspace) JournalPath() string { return w.State("lock.journal") }

// Apply takes the workspace lock, brings in what an interrupted apply left
// in the journal, plans (or loads and checks a saved plan), runs it, and
// rewrites lattice.lock once at the end.
func (w *Workspace) Apply(ctx context.Context, o ApplyOptions) (*Applied, error) {
	lk, err := wslock.Acquire(w.State(), o.Command)
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	if !o.Reproduce {
		if err := lockfile.Commit(w.LockPath(), w.JournalPath()); err != nil {
			return nil, fmt.Errorf("recovering the journal of an interrupted apply: %w", err)
		}
	}
	out := &Applied{}
	if o.PlanFile != "" {
		p, err := w.savedPlan(ctx, o.PlanFile)
		if err != nil {
			return nil, err
		}
		lock, err := w.ReadLock()
		if err != nil {
			return nil, err
		}
		out.Planned = &Planned{Plan: p, Lock: lock}
	} else {
		pl, err := w.Plan(ctx, PlanOptions{Refresh: o.Refresh})
		if err != nil {
			return nil, err
		}
		out.Planned = pl
		if pl.Diags.HasErrors() {
			return out, nil
		}
	}
	p := out.Plan
	if o.Locked {
		if ch := p.PinChanges(out.Lock); len(ch) > 0 {
			return out, &LockedError{Changes: ch}
		}
	}
	if err := w.removeLeftovers(ctx, p); err != nil {
		return out, err
	}
	opts := []executor.Option{
		executor.WithJobs(o.Jobs),
		executor.WithKeepGoing(o.KeepGoing),
		executor.WithTargets(o.Targets...),
	}
	lb, err := local.New()
	if err != nil {
		return out, err
	}
	opts = append(opts, executor.WithBackend(lb))
	if o.Events != nil {
		opts = append(opts, executor.WithEvents(o.Events))
	}
	if o.Reproduce {
		opts = append(opts, executor.WithReproduce(out.Lock))
	}
	// Reproduce runs up-to-date stages too, so it needs the engine for
	// every docker stage, not only for those the plan would run.
	if usesDocker(p) || o.Reproduce && anyDocker(p) {
		b, err := docker.New(docker.WithLabels(w.labels()))
		if err != nil {
			return out, fmt.Errorf("connecting to the Docker engine: %w", err)
		}
		defer b.Close()
		opts = append(opts, executor.WithBackend(b))
	}
	ex := executor.New(w.Dir, w.State(), w.Cache, opts...)
	rep, runErr := ex.Apply(ctx, p, w.JournalPath())
	out.Report = rep
	if o.Reproduce {
		return out, runErr
	}
	// The lockfile is rewritten even after a failure or an interrupt: the
	// stages that finished are pinned, so the next apply does not redo
	// them.
	if err := lockfile.Commit(w.LockPath(), w.JournalPath()); err != nil {
		return out, fmt.Errorf("writing lattice.lock: %w", err)
	}
	if err := w.pinImages(p); err != nil {
		return out, err
	}
	if runErr != nil {
		return out, runErr
	}
	if o.Locked && rep != nil {
		if err := w.checkLocked(out.Lock); err != nil {
			// --locked promises not to move a pin: put the lockfile back
			// as it was, and report the outputs that did not reproduce.
			if werr := lockfile.Write(w.LockPath(), out.Lock); werr != nil {
				return out, fmt.Errorf("%v; restoring lattice.lock: %w", err, werr)
			}
			return out, err
		}
	}
	return out, nil
}

// savedPlan reads a plan file and refuses it when the workspace moved on.
func (w *Workspace) savedPlan(ctx context.Context, file string) (*plan.Plan, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the saved plan: %w", err)
	}
	p, err := plan.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	reasons, err := w.Stale(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(reasons) > 0 {
		return nil, &StaleError{File: file, Reasons: reasons}
	}
	return p, nil
}

// Stale lists what moved in the workspace since a saved plan was made.
func (w *Workspace) Stale(ctx context.Context, p *plan.Plan) ([]string, error) {
	lock, err := w.ReadLock()
	if err != nil {
		return nil, err
	}
	return compiler.Stale(ctx, p, w.Dir, lock.Digest, w.hasher)
}

// pinImages records the images the plan resolved in lattice.lock, so the
// next plan does not ask the engine or registry again.
func (w *Workspace) pinImages(p *plan.Plan) error {
	lock, err := w.ReadLock()
	if err != nil {
		return err
	}
	changed := false
	for _, s := range p.Stages {
		if s.Image == "" || s.Preimage.Image == "" {
			continue
		}
		if lock.Images[s.Image] != s.Preimage.Image {
			lock.Images[s.Image] = s.Preimage.Image
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return lockfile.Write(w.LockPath(), lock)
}

// checkLocked verifies, after apply --locked, that re-run stages
// reproduced the locked outputs.
func (w *Workspace) checkLocked(before *plan.Lock) error {
	after, err := w.ReadLock()
	if err != nil {
		return err
	}
	var diffs []string
	for name, b := range before.Stages {
		a := after.Stages[name]
		if a == nil {
			continue
		}
		for on, bo := range b.Outputs {
			if ao := a.Outputs[on]; ao != nil && ao.Digest != bo.Digest {
				diffs = append(diffs, fmt.Sprintf("stage %s output %s: %s → %s", name, on, bo.Digest, ao.Digest))
			}
		}
	}
	if len(diffs) > 0 {
		return &LockedError{Changes: diffs}
	}
	return nil
}

// ID identifies the workspace on this machine, for container labels.
func (w *Workspace) ID() string { return digest.String(w.Dir).Hex()[:16] }

func usesDocker(p *plan.Plan) bool {
	for _, s := range p.Stages {
		if s.Preimage.Backend == spec.BackendDocker && s.Action != plan.UpToDate {
			return true
		}
	}
	return false
}

// anyDocker reports whether any stage of the plan runs on the docker
// backend, whatever its action.
func anyDocker(p *plan.Plan) bool {
	for _, s := range p.Stages {
		if s.Preimage.Backend == spec.BackendDocker {
			return true
		}
	}
	return false
}

// removeLeftovers removes containers that an interrupted apply of this
// workspace left running, before anything writes to the same places.
func (w *Workspace) removeLeftovers(ctx context.Context, p *plan.Plan) error {
	if !usesDocker(p) {
		return nil
	}
	b, err := docker.New()
	if err != nil {
		return nil
	}
	defer b.Close()
	if _, err := b.RemoveLabelled(ctx, w.labels()); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("removing containers left by an interrupted apply: %w", err)
	}
	return nil
}

// labels mark this workspace's containers.
func (w *Workspace) labels() map[string]string {
	return map[string]string{"lattice.workspace": w.ID()}
}
