package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor/cache"
)

// runStage runs a stage on its backend, with retries, then stores its
// outputs in the cache, restores them into the workspace and locks it.
func (r *run) runStage(ctx context.Context, s *plan.Stage, pre plan.Preimage, res *StageResult) *StageResult {
	b, ok := r.e.backends[pre.Backend]
	if !ok {
		return r.fail(res, fmt.Errorf("%w %q for stage %q", errNoBackend, pre.Backend, s.Name), 0)
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return r.skip(res, "interrupted")
	}
	defer func() { <-r.sem }()

	start := r.e.now()
	attempts := 1 + s.Retries
	var scratch string
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		res.Attempts = attempt
		if attempt > 1 {
			delay := r.e.backoff << (attempt - 2)
			if delay > 30*time.Second {
				delay = 30 * time.Second
			}
			r.e.emit(Event{Type: EventStageRetrying, Stage: s.Name, Attempt: attempt, Reason: lastErr.Error(), Duration: delay})
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return r.fail(res, ctx.Err(), r.e.now().Sub(start))
			}
		}
		r.e.emit(Event{Type: EventStageStarted, Stage: s.Name, Key: res.Key, Attempt: attempt, Reason: s.Reason})
		var err error
		scratch, err = r.attempt(ctx, b, s, pre, res)
		if err == nil {
			lastErr = nil
			break
		}
		lastErr = err
		if ctx.Err() != nil {
			return r.fail(res, ctx.Err(), r.e.now().Sub(start))
		}
		var be *backendError
		if errors.As(err, &be) {
			// The engine itself failed; retrying the stage will not help.
			break
		}
	}
	res.Duration = r.e.now().Sub(start)
	if lastErr != nil {
		return r.fail(res, lastErr, res.Duration)
	}

	// Store, then restore from the store: the workspace then holds exactly
	// what the cache holds, and a crash between the two leaves a cache
	// entry that the next apply restores.
	var srcs []cache.Source
	for _, o := range s.Outputs {
		srcs = append(srcs, cache.Source{Name: o.Name, Path: o.Path, Kind: o.Kind, HostPath: filepath.Join(scratch, filepath.FromSlash(o.Path))})
	}
	key, _ := digest.Parse(res.Key)
	entry, err := r.e.cache.Put(ctx, key, srcs, map[string]string{"stage": s.Name, "run": r.id}, cache.WithDuration(res.Duration))
	if err != nil {
		return r.fail(res, fmt.Errorf("storing outputs in the cache: %w", err), res.Duration)
	}
	for _, o := range entry.Outputs {
		if _, err := r.e.cache.Restore(ctx, o, r.e.workspacePath(o.Path)); err != nil {
			return r.fail(res, fmt.Errorf("placing output %s in the workspace: %w", o.Path, err), res.Duration)
		}
	}
	os.RemoveAll(scratch)
	res.Outcome = Ran
	if err := r.lock(s, pre, entry, res); err != nil {
		return r.fail(res, err, res.Duration)
	}
	r.e.emit(Event{Type: EventStageFinished, Stage: s.Name, Key: res.Key, Duration: res.Duration, Attempt: res.Attempts})
	return res
}

// backendError marks a failure of the backend itself, as opposed to the
// stage's command.
type backendError struct{ err error }

func (e *backendError) Error() string { return e.err.Error() }
func (e *backendError) Unwrap() error { return e.err }

// attempt runs the stage once in a fresh scratch directory and checks that
// it wrote every declared output. It returns the scratch directory.
func (r *run) attempt(ctx context.Context, b Backend, s *plan.Stage, pre plan.Preimage, res *StageResult) (string, error) {
	scratch, err := os.MkdirTemp(r.e.scratchRoot(), "stage-")
	if err != nil {
		if err := os.MkdirAll(r.e.scratchRoot(), 0o755); err != nil {
			return "", &backendError{fmt.Errorf("creating scratch space: %w", err)}
		}
		if scratch, err = os.MkdirTemp(r.e.scratchRoot(), "stage-"); err != nil {
			return "", &backendError{fmt.Errorf("creating scratch space: %w", err)}
		}
	}
	// Containers run as the invoking user, who must be able to create the
	// output directories inside the scratch directory.
	os.Chmod(scratch, 0o755)
	env, err := r.e.environment(s, pre)
	if err != nil {
		return scratch, err
	}
	logf, err := r.e.openLog(s.Name, res.Attempts)
	if err != nil {
		return scratch, &backendError{err}
	}
	defer logf.Close()
	job := &Job{
		Stage:       s.Name,
		Image:       pre.Image,
		Argv:        pre.Argv,
		Env:         env,
		Outputs:     outputPaths(s),
		Scratch:     scratch,
		Network:     pre.Network,
		CPUs:        s.Resources.CPUs,
		MemoryBytes: s.Resources.MemoryBytes,
		Timeout:     s.Timeout,
		UID:         r.e.uid,
		GID:         r.e.gid,
		Log:         &lineTracker{w: logf, stage: s.Name, emit: r.e.emit},
	}
	for _, in := range pre.Inputs {
		job.Mounts = append(job.Mounts, Mount{Source: r.e.workspacePath(in.Path), Target: in.Path})
	}
	if s.CodePath != "" {
		job.Mounts = append(job.Mounts, Mount{Source: r.e.workspacePath(s.CodePath), Target: s.CodePath})
	}
	result, err := b.Run(ctx, job)
	if err != nil {
		if ctx.Err() != nil {
			return scratch, ctx.Err()
		}
		return scratch, &backendError{fmt.Errorf("running stage %q: %w", s.Name, err)}
	}
	res.ExitCode = result.ExitCode
	switch {
	case result.TimedOut:
		res.LogTail = lastLines(r.e.logPath(s.Name))
		return scratch, fmt.Errorf("timed out after %s and was killed", s.Timeout)
	case result.ExitCode != 0:
		res.LogTail = lastLines(r.e.logPath(s.Name))
		return scratch, fmt.Errorf("command exited with status %d", result.ExitCode)
	}
	res.LogTail = nil
	for _, o := range s.Outputs {
		if _, err := os.Lstat(filepath.Join(scratch, filepath.FromSlash(o.Path))); err != nil {
			return scratch, fmt.Errorf("the command succeeded but did not write output %q at %s; write it there (${outputs.%s} in cmd expands to that path)",
				o.Name, o.Path, o.Name)
		}
	}
	return scratch, nil
}

func outputPaths(s *plan.Stage) []string {
	out := make([]string, len(s.Outputs))
	for i, o := range s.Outputs {
		out[i] = o.Path
	}
	return out
}

// environment builds the stage's complete environment: its plain
// variables, its secrets from the invoking environment, and for the local
// backend the few variables a host process needs to work at all.
func (e *Executor) environment(s *plan.Stage, pre plan.Preimage) ([]string, error) {
	var env []string
	if pre.Backend == "local" {
		env = append(env, "PATH="+e.getenv("PATH"), "HOME="+e.getenv("HOME"), "LANG=C.UTF-8")
	} else {
		env = append(env, "HOME=/tmp")
	}
	for _, v := range pre.Env {
		env = append(env, v.Name+"="+v.Value)
	}
	for _, name := range pre.Secrets {
		v := e.getenv(name)
		if v == "" {
			return nil, fmt.Errorf("secret %s is not set in the environment; export it before lattice apply", name)
		}
		env = append(env, name+"="+v)
	}
	return env, nil
}

// reproduceStage re-runs a stage, bypassing the cache, and compares its
// outputs with the digests the lockfile records. Nothing is written to the
// workspace, the cache or the lockfile.
func (r *run) reproduceStage(ctx context.Context, s *plan.Stage, pre plan.Preimage, res *StageResult) *StageResult {
	ls := r.e.locked.Stages[s.Name]
	if ls == nil {
		return r.skip(res, "not in lattice.lock; run lattice apply first")
	}
	b, ok := r.e.backends[pre.Backend]
	if !ok {
		return r.fail(res, fmt.Errorf("%w %q", errNoBackend, pre.Backend), 0)
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return r.skip(res, "interrupted")
	}
	defer func() { <-r.sem }()
	start := r.e.now()
	r.e.emit(Event{Type: EventStageStarted, Stage: s.Name, Key: res.Key, Attempt: 1, Reason: "reproducing"})
	res.Attempts = 1
	scratch, err := r.attempt(ctx, b, s, pre, res)
	defer os.RemoveAll(scratch)
	res.Duration = r.e.now().Sub(start)
	if err != nil {
		return r.fail(res, err, res.Duration)
	}
	h := digest.NewHasher()
	det := true
	res.Outputs = map[string]string{}
	for _, o := range s.Outputs {
		got, err := h.Path(ctx, filepath.Join(scratch, filepath.FromSlash(o.Path)))
		if err != nil {
			return r.fail(res, fmt.Errorf("hashing output %s: %w", o.Path, err), res.Duration)
		}
		res.Outputs[o.Name] = got.Digest.String()
		if lo := ls.Outputs[o.Name]; lo == nil || lo.Digest != got.Digest.String() {
			det = false
			want := "(none)"
			if lo != nil {
				want = lo.Digest
			}
			res.Mismatches = append(res.Mismatches, fmt.Sprintf("%s: locked %s, reproduced %s", o.Path, shortDigest(want), got.Digest.Short()))
		}
	}
	res.Deterministic = &det
	res.Outcome = Ran
	r.setOutputs(s.Name, res.Outputs)
	r.e.emit(Event{Type: EventStageFinished, Stage: s.Name, Key: res.Key, Duration: res.Duration, Attempt: 1, Deterministic: &det})
	return res
}

func shortDigest(s string) string {
	if d, err := digest.Parse(s); err == nil {
		return d.Short()
	}
	return s
}

// lineTracker passes a stage's log through and reports its last complete
// line as a progress event, for the live display.
type lineTracker struct {
	w     io.Writer
	stage string
	emit  func(Event)
	mu    sync.Mutex
	buf   []byte
	last  time.Time
}

func (t *lineTracker) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if i := strings.LastIndexByte(string(t.buf), '\n'); i >= 0 {
		lines := strings.Split(strings.TrimRight(string(t.buf[:i]), "\r"), "\n")
		line := strings.TrimSpace(lines[len(lines)-1])
		t.buf = append(t.buf[:0], t.buf[i+1:]...)
		// Throttle: a chatty stage must not flood the event stream.
		if line != "" && time.Since(t.last) > 200*time.Millisecond {
			t.last = time.Now()
			t.emit(Event{Type: EventStageLog, Stage: t.stage, Line: line})
		}
	}
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return n, err
}

// lastLines returns the end of a stage's log, for failure reports.
func lastLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return lines
}
