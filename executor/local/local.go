package local

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lattice.dev/lattice/executor"
)

// DefaultKillGrace is how long a job has between SIGTERM and SIGKILL when
// it is stopped; see WithKillGrace.
const DefaultKillGrace = 3 * time.Second

// logDrainTimeout bounds how long Run waits for the job's output pipe to
// close once its process group is dead. Only a process that left the group
// (with setsid, say) can hold the pipe open that long; its output is then
// cut off rather than Run hanging.
const logDrainTimeout = 2 * time.Second

// Backend runs jobs as host processes. It is safe for concurrent use.
type Backend struct {
	killGrace time.Duration
}

var _ executor.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*options)

type options struct {
	killGrace time.Duration
}

// WithKillGrace sets how long a job that timed out or was cancelled may take
// to exit after SIGTERM before its process group gets SIGKILL. The default
// is DefaultKillGrace; zero sends SIGKILL at once.
func WithKillGrace(d time.Duration) Option {
	return func(o *options) { o.killGrace = d }
}

// New returns a local backend.
func New(opts ...Option) (*Backend, error) {
	o := options{killGrace: DefaultKillGrace}
	for _, opt := range opts {
		opt(&o)
	}
	if o.killGrace < 0 {
		return nil, fmt.Errorf("negative kill grace %s", o.killGrace)
	}
	return &Backend{killGrace: o.killGrace}, nil
}

// Name returns "local".
func (b *Backend) Name() string { return "local" }

// Run runs job as a process in job.Scratch. See the package documentation
// for what it does and does not isolate.
func (b *Backend) Run(ctx context.Context, job *executor.Job) (*executor.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(job.Argv) == 0 {
		return nil, fmt.Errorf("stage %q has no command", job.Stage)
	}
	if err := layOut(job); err != nil {
		return nil, fmt.Errorf("laying out files for stage %q: %w", job.Stage, err)
	}
	prog, err := lookPath(job.Argv[0], job.Env, job.Scratch)
	if err != nil {
		return nil, fmt.Errorf("stage %q: %w", job.Stage, err)
	}

	// The job writes to a pipe of our own rather than to job.Log through
	// os/exec's copying goroutines: Wait would block on those until every
	// process holding the pipe is gone, and the process group is killed
	// only after the leader has exited.
	logR, logW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating log pipe for stage %q: %w", job.Stage, err)
	}
	cmd := &exec.Cmd{
		Path: prog,
		Args: job.Argv,
		// Non-nil even when empty: a nil Env would inherit ours.
		Env:         append(make([]string, 0, len(job.Env)), job.Env...),
		Dir:         job.Scratch,
		Stdout:      logW,
		Stderr:      logW,
		SysProcAttr: newGroupAttr(),
	}
	start := time.Now()
	err = cmd.Start()
	logW.Close()
	if err != nil {
		logR.Close()
		return nil, fmt.Errorf("starting stage %q: %w", job.Stage, err)
	}
	pid := cmd.Process.Pid

	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		w := job.Log
		if w == nil {
			w = io.Discard
		}
		// A read error here means Run closed the pipe to stop waiting
		// for output; there is nothing more to copy either way.
		io.Copy(w, logR)
	}()
	defer func() {
		select {
		case <-logDone:
		case <-time.After(logDrainTimeout):
			logR.Close()
			<-logDone
		}
		logR.Close()
	}()

	exited := make(chan error, 1)
	go func() { exited <- reap(cmd, pid) }()

	var timeout <-chan time.Time
	if job.Timeout > 0 {
		t := time.NewTimer(job.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	res := &executor.Result{}
	select {
	case err = <-exited:
	case <-timeout:
		select {
		case err = <-exited:
			// It finished just in time; once reaped, its group id may
			// belong to someone else, so it must not be signalled.
		default:
			res.TimedOut = true
			err = b.stop(pid, exited)
		}
	case <-ctx.Done():
		if err := b.stop(pid, exited); err != nil {
			return nil, fmt.Errorf("stopping stage %q: %w", job.Stage, err)
		}
		return nil, ctx.Err()
	}
	res.Duration = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("waiting for stage %q: %w", job.Stage, err)
	}
	res.ExitCode = exitCode(cmd.ProcessState)
	return res, nil
}

// stop ends a job's process group: SIGTERM, then SIGKILL if the leader has
// not exited within the grace period. It returns reap's result.
func (b *Backend) stop(pid int, exited <-chan error) error {
	if b.killGrace > 0 {
		signalGroup(pid, syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(b.killGrace):
		}
	}
	signalGroup(pid, syscall.SIGKILL)
	return <-exited
}

// exitCode reports an exit by signal as a shell (and Docker) does: 128 plus
// the signal number.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// lookPath finds the program argv0 names, as a shell with environment env
// and working directory dir would: a name with a slash is a path (relative
// to dir), any other is searched for on env's PATH. The invoking process's
// own PATH plays no part, so that a job finds the same programs whoever
// runs it.
func lookPath(argv0 string, env []string, dir string) (string, error) {
	if strings.Contains(argv0, "/") {
		p := argv0
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("command %q: %w", argv0, err)
		}
		return p, nil
	}
	pathVar, ok := "", false
	for _, kv := range env {
		if v, found := strings.CutPrefix(kv, "PATH="); found {
			// As in a shell, the last definition wins.
			pathVar, ok = v, true
		}
	}
	if !ok {
		return "", fmt.Errorf("command %q not found: the job's environment sets no PATH", argv0)
	}
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, argv0)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found on the job's PATH (%s)", argv0, pathVar)
}

// executable checks that p is a regular file with an execute bit set.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: %w", p, fs.ErrPermission)
	}
	return nil
}
