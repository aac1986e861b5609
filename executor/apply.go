package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor/cache"
	"lattice.dev/lattice/executor/lockfile"
)

// Outcomes of a stage in an apply.
const (
	Ran      = "ran"
	Restored = "restored"
	UpToDate = "up-to-date"
	Failed   = "failed"
	Skipped  = "skipped"
)

// Executor applies plans to one workspace.
type Executor struct {
	dir       string
	state     string
	cache     *cache.Cache
	backends  map[string]Backend
	jobs      int
	keepGoing bool
	targets   []string
	events    func(Event)
	getenv    func(string) string
	uid, gid  int
	now       func() time.Time
	reproduce bool
	locked    *plan.Lock
	backoff   time.Duration
}

// Option configures an Executor.
type Option func(*Executor)

// WithBackend registers a backend under its name.
func WithBackend(b Backend) Option { return func(e *Executor) { e.backends[b.Name()] = b } }

// WithJobs sets how many stages run at once; default: the number of CPUs.
func WithJobs(n int) Option { return func(e *Executor) { e.jobs = n } }

// WithKeepGoing keeps running independent stages after a failure.
func WithKeepGoing(b bool) Option { return func(e *Executor) { e.keepGoing = b } }

// WithTargets limits the apply to these stages and the stages they need.
func WithTargets(names ...string) Option { return func(e *Executor) { e.targets = names } }

// WithEvents sets the receiver of progress events. It is called from many
// goroutines, one event at a time.
func WithEvents(f func(Event)) Option { return func(e *Executor) { e.events = f } }

// WithGetenv sets where secret values come from; default os.Getenv.
func WithGetenv(f func(string) string) Option { return func(e *Executor) { e.getenv = f } }

// WithUser runs stages as uid:gid; default: the invoking user.
func WithUser(uid, gid int) Option { return func(e *Executor) { e.uid, e.gid = uid, gid } }

// WithClock sets the clock for records and events.
func WithClock(now func() time.Time) Option { return func(e *Executor) { e.now = now } }

// WithRetryBackoff sets the first retry delay (doubling per attempt);
// default one second.
func WithRetryBackoff(d time.Duration) Option { return func(e *Executor) { e.backoff = d } }

// New returns an Executor for the workspace in dir, keeping its state in
// stateDir and its outputs in c.
func New(dir, stateDir string, c *cache.Cache, opts ...Option) *Executor {
	e := &Executor{
		dir: dir, state: stateDir, cache: c,
		backends: map[string]Backend{},
		jobs:     runtime.NumCPU(),
		events:   func(Event) {},
		getenv:   os.Getenv,
		uid:      os.Getuid(),
		gid:      os.Getgid(),
		now:      time.Now,
		backoff:  time.Second,
	}
	for _, o := range opts {
		o(e)
	}
	if e.jobs < 1 {
		e.jobs = 1
	}
	return e
}

// StageResult is how one stage ended.
type StageResult struct {
	Name     string             `json:"name"`
	Outcome  string             `json:"outcome"`
	Key      string             `json:"key,omitempty"`
	Reason   string             `json:"reason,omitempty"`
	Error    string             `json:"error,omitempty"`
	ExitCode int                `json:"exit_code"`
	Attempts int                `json:"attempts"`
	Duration time.Duration      `json:"duration_ns"`
	Outputs  map[string]string  `json:"outputs,omitempty"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	// Deterministic is set by reproduce: whether every output matched the
	// lockfile.
	Deterministic *bool `json:"deterministic,omitempty"`
	// Mismatches lists outputs that differed under reproduce.
	Mismatches []string `json:"mismatches,omitempty"`
	// LogTail holds the last lines of a failed command's log.
	LogTail []string `json:"log_tail,omitempty"`

	locked *plan.LockedStage
}

// Report summarises an apply.
type Report struct {
	Ran, Restored, UpToDate, Failed, Skipped int
	Stages                                   []*StageResult
	Duration                                 time.Duration
}

// Failures lists the stages that failed.
func (r *Report) Failures() []*StageResult {
	var out []*StageResult
	for _, s := range r.Stages {
		if s.Outcome == Failed {
			out = append(out, s)
		}
	}
	return out
}

// run is the state of one apply.
type run struct {
	e       *Executor
	p       *plan.Plan
	id      string
	journal *lockfile.Journal
	results map[string]*StageResult
	done    map[string]chan struct{}
	sem     chan struct{}
	mu      sync.Mutex
	stopped string // set when a failure stops the apply
	outs    map[string]map[string]string
}

// Apply runs the plan: it restores cached stages, runs the others in
// dependency order, at most Jobs at a time, and records every finished
// stage in the journal next to the lockfile at once, so an interrupted
// apply loses nothing. The lockfile itself is rewritten once, at the end.
func (e *Executor) Apply(ctx context.Context, p *plan.Plan, journalPath string) (*Report, error) {
	start := e.now()
	stages, err := e.selected(p)
	if err != nil {
		return nil, err
	}
	r := &run{e: e, p: p, id: runID(start), results: map[string]*StageResult{}, done: map[string]chan struct{}{},
		sem: make(chan struct{}, e.jobs), outs: map[string]map[string]string{}}
	if !e.reproduce {
		if r.journal, err = lockfile.OpenJournal(journalPath); err != nil {
			return nil, err
		}
		defer r.journal.Close()
		for _, d := range p.Datasets {
			if err := r.journal.RecordDataset(d.Name, &plan.LockedDataset{Path: d.Path, Digest: d.Digest}); err != nil {
				return nil, err
			}
		}
	}
	if err := os.RemoveAll(e.scratchRoot()); err != nil {
		return nil, fmt.Errorf("clearing scratch space: %w", err)
	}
	e.emit(Event{Type: EventApplyStarted, Stages: len(stages)})
	for _, s := range stages {
		r.done[s.Name] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for _, s := range stages {
		wg.Add(1)
		go func(s *plan.Stage) {
			defer wg.Done()
			defer close(r.done[s.Name])
			res := r.stage(ctx, s)
			r.mu.Lock()
			r.results[s.Name] = res
			if res.Outcome == Failed && !e.keepGoing && r.stopped == "" {
				r.stopped = s.Name
			}
			r.mu.Unlock()
		}(s)
	}
	wg.Wait()
	if !e.reproduce {
		for _, rm := range p.Removed {
			if len(e.targets) == 0 {
				if err := r.journal.RemoveStage(rm.Name); err != nil {
					return nil, err
				}
			}
		}
	}
	rep := &Report{Duration: e.now().Sub(start)}
	for _, s := range stages {
		res := r.results[s.Name]
		rep.Stages = append(rep.Stages, res)
		switch res.Outcome {
		case Ran:
			rep.Ran++
		case Restored:
			rep.Restored++
		case UpToDate:
			rep.UpToDate++
		case Failed:
			rep.Failed++
		case Skipped:
			rep.Skipped++
		}
	}
	os.RemoveAll(e.scratchRoot())
	e.emit(Event{Type: EventApplyFinished, Duration: rep.Duration, Counts: &Counts{
		Ran: rep.Ran, Restored: rep.Restored, UpToDate: rep.UpToDate, Failed: rep.Failed, Skipped: rep.Skipped}})
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// selected returns the plan's stages limited to the targets and what they
// need, in plan order.
func (e *Executor) selected(p *plan.Plan) ([]*plan.Stage, error) {
	if len(e.targets) == 0 {
		return p.Stages, nil
	}
	need := map[string]bool{}
	var visit func(n string) error
	visit = func(n string) error {
		if need[n] {
			return nil
		}
		s := p.Stage(n)
		if s == nil {
			return fmt.Errorf("no stage %q in the plan", n)
		}
		need[n] = true
		for _, d := range s.Deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range e.targets {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	var out []*plan.Stage
	for _, s := range p.Stages {
		if need[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// stage waits for a stage's dependencies and then brings it up to date.
func (r *run) stage(ctx context.Context, s *plan.Stage) *StageResult {
	res := &StageResult{Name: s.Name}
	for _, d := range s.Deps {
		ch, ok := r.done[d]
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return r.skip(res, "interrupted")
		}
		r.mu.Lock()
		dr := r.results[d]
		r.mu.Unlock()
		if dr.Outcome == Failed || dr.Outcome == Skipped {
			return r.skip(res, fmt.Sprintf("upstream stage %s %s", d, dr.Outcome))
		}
	}
	if err := ctx.Err(); err != nil {
		return r.skip(res, "interrupted")
	}
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped != "" {
		return r.skip(res, fmt.Sprintf("apply stopped after stage %s failed (use --keep-going to continue past failures)", stopped))
	}

	pre, err := r.complete(s)
	if err != nil {
		return r.fail(res, err, 0)
	}
	key := pre.Key()
	res.Key = key.String()

	if r.e.reproduce {
		return r.reproduceStage(ctx, s, pre, res)
	}
	if s.Action == plan.UpToDate && s.Key == res.Key {
		res.Outcome = UpToDate
		res.Outputs = map[string]string{}
		for _, o := range s.Outputs {
			res.Outputs[o.Name] = o.Digest
		}
		r.setOutputs(s.Name, res.Outputs)
		r.e.emit(Event{Type: EventStageUpToDate, Stage: s.Name, Key: res.Key})
		return res
	}
	if s.Cache {
		if entry, ok := r.e.cache.Get(key); ok {
			reason := "outputs restored from the cache"
			if s.Action == plan.Run {
				reason = "early cutoff: upstream outputs are unchanged, so the cache has this key"
			}
			return r.restore(ctx, s, pre, entry, res, reason)
		}
	}
	return r.runStage(ctx, s, pre, res)
}

// complete fills pending input digests with what upstream stages produced
// in this apply.
func (r *run) complete(s *plan.Stage) (plan.Preimage, error) {
	pre := s.Preimage
	pre.Inputs = append([]plan.KeyIO(nil), s.Preimage.Inputs...)
	for i, in := range pre.Inputs {
		if in.Digest != plan.Pending {
			continue
		}
		d, err := r.producedDigest(s, in)
		if err != nil {
			return pre, err
		}
		pre.Inputs[i].Digest = d
	}
	return pre, nil
}

// producedDigest finds the digest of an input that an upstream stage
// produced: the output itself, or for a path inside outputs, a fresh hash
// of the workspace path (which now holds those outputs).
func (r *run) producedDigest(s *plan.Stage, in plan.KeyIO) (string, error) {
	if d, ok := r.knownOutput(s, in); ok {
		return d, nil
	}
	// Hashing may take a while for a large directory; other stages go on.
	h := digest.NewHasher()
	res, err := h.Path(context.Background(), filepath.Join(r.e.dir, filepath.FromSlash(in.Path)))
	if err != nil {
		return "", fmt.Errorf("input %q (%s): %w", in.Name, in.Path, err)
	}
	return res.Digest.String(), nil
}

// knownOutput returns the digest of an input that is exactly one output of
// an upstream stage that finished in this apply.
func (r *run) knownOutput(s *plan.Stage, in plan.KeyIO) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pi := range s.Inputs {
		if pi.Name != in.Name {
			continue
		}
		for _, up := range strings.Split(pi.Stage, ",") {
			ups := r.p.Stage(up)
			if ups == nil {
				continue
			}
			for _, o := range ups.Outputs {
				if o.Path == in.Path {
					if d, ok := r.outs[up][o.Name]; ok && d != "" {
						return d, true
					}
				}
			}
		}
	}
	return "", false
}

func (r *run) setOutputs(stage string, outs map[string]string) {
	r.mu.Lock()
	r.outs[stage] = outs
	r.mu.Unlock()
}

func (r *run) skip(res *StageResult, reason string) *StageResult {
	res.Outcome = Skipped
	res.Reason = reason
	r.e.emit(Event{Type: EventStageSkipped, Stage: res.Name, Reason: reason})
	return res
}

func (r *run) fail(res *StageResult, err error, d time.Duration) *StageResult {
	res.Outcome = Failed
	res.Error = err.Error()
	if errors.Is(err, context.Canceled) {
		res.Error = "interrupted; the stage was stopped and nothing of it was kept"
	}
	res.Duration = d
	if !r.e.reproduce {
		// The record of a failure is what `lattice logs --record` shows;
		// failing to write it must not hide the failure itself.
		if s := r.p.Stage(res.Name); s != nil {
			r.e.writeRecord(s, res, r.id)
		}
	}
	r.e.emit(Event{Type: EventStageFailed, Stage: res.Name, Error: res.Error, Duration: d, ExitCode: res.ExitCode, Attempt: res.Attempts, LogTail: res.LogTail})
	return res
}

// restore materialises a cache entry's outputs in the workspace and locks
// the stage.
func (r *run) restore(ctx context.Context, s *plan.Stage, pre plan.Preimage, entry *cache.Entry, res *StageResult, reason string) *StageResult {
	start := r.e.now()
	for _, o := range entry.Outputs {
		if _, err := r.e.cache.Restore(ctx, o, r.e.workspacePath(o.Path)); err != nil {
			return r.fail(res, fmt.Errorf("restoring output %s from the cache: %w", o.Path, err), r.e.now().Sub(start))
		}
	}
	res.Outcome = Restored
	res.Reason = reason
	res.Duration = r.e.now().Sub(start)
	if err := r.lock(s, pre, entry, res); err != nil {
		return r.fail(res, err, res.Duration)
	}
	r.e.emit(Event{Type: EventStageRestored, Stage: s.Name, Key: res.Key, Reason: reason, Duration: res.Duration})
	return res
}

// lock records a finished stage in the journal and in the run's state.
func (r *run) lock(s *plan.Stage, pre plan.Preimage, entry *cache.Entry, res *StageResult) error {
	ls := &plan.LockedStage{Key: res.Key, Preimage: pre, Outputs: map[string]*plan.LockedOutput{}}
	res.Outputs = map[string]string{}
	for _, o := range entry.Outputs {
		ls.Outputs[o.Name] = &plan.LockedOutput{Path: o.Path, Kind: o.Kind, Digest: o.Digest.String()}
		res.Outputs[o.Name] = o.Digest.String()
	}
	r.setOutputs(s.Name, res.Outputs)
	res.Metrics = r.e.readMetrics(s)
	res.locked = ls
	if err := r.e.writeRecord(s, res, r.id); err != nil {
		return err
	}
	if err := r.journal.RecordStage(s.Name, ls); err != nil {
		return fmt.Errorf("recording stage %q in the journal: %w", s.Name, err)
	}
	return nil
}

func (e *Executor) workspacePath(rel string) string {
	return filepath.Join(e.dir, filepath.FromSlash(rel))
}

func (e *Executor) scratchRoot() string { return filepath.Join(e.state, "tmp") }

func (e *Executor) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	e.events(ev)
}

func runID(t time.Time) string {
	return t.UTC().Format("20060102T150405.000000000Z")
}

// sortedNames returns a map's keys in order.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errNoBackend is returned for a stage whose backend is not registered.
var errNoBackend = errors.New("no such backend")

// WithReproduce makes Apply re-run every selected stage, bypassing the
// cache, and compare its outputs with lock instead of recording them.
// Nothing in the workspace, the cache or the lockfile changes.
func WithReproduce(lock *plan.Lock) Option {
	return func(e *Executor) { e.reproduce, e.locked = true, lock }
}
