package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lattice.dev/lattice/executor/jobtest"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/local"
)

// hostPath is the PATH jobs get: enough for /bin/sh and coreutils.
const hostPath = "PATH=/usr/local/bin:/usr/bin:/bin"

func newBackend(t *testing.T, opts ...local.Option) *local.Backend {
	t.Helper()
	b, err := local.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newJob returns a job running the shell script sh, with one input file at
// in/data.txt and one output at out/result.txt.
func newJob(t *testing.T, sh string) *executor.Job {
	t.Helper()
	input := filepath.Join(t.TempDir(), "data.txt")
	mustWrite(t, input, "input data\n")
	return &executor.Job{
		Stage:   t.Name(),
		Argv:    []string{"sh", "-c", sh},
		Env:     []string{hostPath, "LATTICE_TEST=1"},
		Mounts:  []executor.Mount{{Source: input, Target: "in/data.txt"}},
		Outputs: []string{"out/result.txt"},
		Scratch: t.TempDir(),
		Timeout: time.Minute,
	}
}

func TestRunWritesOutputs(t *testing.T) {
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "a.csv"), "1,2\n")
	mustWrite(t, filepath.Join(src, "sub", "b.csv"), "3,4\n")
	input := filepath.Join(src, "a.csv")

	tests := []struct {
		name    string
		mounts  []executor.Mount
		outputs []string
		sh      string
		want    map[string]string // output path → content
		// wantScratch lists Scratch after the run: links are "name -> source".
		wantScratch []string
		// wantSource lists src after the run: nothing may be written there.
		wantSource []string
	}{
		{
			name:        "output in a directory",
			outputs:     []string{"out/b.csv"},
			sh:          "echo hi > out/b.csv",
			want:        map[string]string{"out/b.csv": "hi\n"},
			wantScratch: []string{"out/", "out/b.csv"},
		},
		{
			name:        "output at the top level",
			outputs:     []string{"metrics.json"},
			sh:          `echo '{}' > metrics.json`,
			want:        map[string]string{"metrics.json": "{}\n"},
			wantScratch: []string{"metrics.json"},
		},
		{
			name:        "input inside the output directory",
			mounts:      []executor.Mount{{Source: input, Target: "out/a.csv"}},
			outputs:     []string{"out/b.csv"},
			sh:          "cp out/a.csv out/b.csv",
			want:        map[string]string{"out/b.csv": "1,2\n"},
			wantScratch: []string{"out/", "out/a.csv -> " + input, "out/b.csv"},
		},
		{
			name:    "output inside an input directory",
			mounts:  []executor.Mount{{Source: src, Target: "data"}},
			outputs: []string{"data/sub/clean.csv"},
			sh:      "cat data/a.csv data/sub/b.csv > data/sub/clean.csv",
			want:    map[string]string{"data/sub/clean.csv": "1,2\n3,4\n"},
			wantScratch: []string{
				"data/",
				"data/a.csv -> " + input,
				"data/sub/",
				"data/sub/b.csv -> " + filepath.Join(src, "sub", "b.csv"),
				"data/sub/clean.csv",
			},
		},
		{
			name:    "input at the workspace root",
			mounts:  []executor.Mount{{Source: src, Target: "."}},
			outputs: []string{"out/x"},
			sh:      "cat a.csv > out/x",
			want:    map[string]string{"out/x": "1,2\n"},
			wantScratch: []string{
				"a.csv -> " + input,
				"out/",
				"out/x",
				"sub -> " + filepath.Join(src, "sub"),
			},
		},
		{
			name:    "output with the name of an input's entry",
			mounts:  []executor.Mount{{Source: src, Target: "data"}},
			outputs: []string{"data/a.csv"},
			sh:      "echo new > data/a.csv",
			want:    map[string]string{"data/a.csv": "new\n"},
			wantScratch: []string{
				"data/",
				"data/a.csv",
				"data/sub -> " + filepath.Join(src, "sub"),
			},
		},
		{
			name:        "directory output",
			outputs:     []string{"model"},
			sh:          "mkdir model && echo w > model/weights",
			want:        map[string]string{"model/weights": "w\n"},
			wantScratch: []string{"model/", "model/weights"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(t, tt.sh)
			job.Mounts, job.Outputs = tt.mounts, tt.outputs
			var log bytes.Buffer
			job.Log = &log
			res, err := newBackend(t).Run(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 {
				t.Fatalf("exit code %d, log:\n%s", res.ExitCode, log.String())
			}
			for p, want := range tt.want {
				got, err := os.ReadFile(filepath.Join(job.Scratch, p))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, string(got)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", p, diff)
				}
			}
			if diff := cmp.Diff(tt.wantScratch, jobtest.Tree(t, job.Scratch)); diff != "" {
				t.Errorf("scratch directory (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"a.csv", "sub/", "sub/b.csv"}, jobtest.Tree(t, src)); diff != "" {
				t.Errorf("input source changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunLayoutErrors(t *testing.T) {
	src := t.TempDir()
	input := filepath.Join(src, "a.csv")
	mustWrite(t, input, "a")
	tests := []struct {
		name    string
		mounts  []executor.Mount
		outputs []string
		wantErr string
	}{
		{name: "escaping output", outputs: []string{"../x"}, wantErr: `output "../x": path leaves the workspace`},
		{name: "absolute output", outputs: []string{"/tmp/x"}, wantErr: "must be relative"},
		{
			name:    "input inside an output",
			mounts:  []executor.Mount{{Source: input, Target: "model/a.csv"}},
			outputs: []string{"model"},
			wantErr: `input "model/a.csv" overlaps output "model"`,
		},
		{
			name:    "output inside an input file",
			mounts:  []executor.Mount{{Source: input, Target: "a"}},
			outputs: []string{"a/b"},
			wantErr: "not a directory",
		},
		{
			name:    "missing source",
			mounts:  []executor.Mount{{Source: filepath.Join(src, "nope"), Target: "x"}},
			wantErr: "no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(t, "true")
			job.Mounts, job.Outputs = tt.mounts, tt.outputs
			_, err := newBackend(t).Run(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunExitCode(t *testing.T) {
	tests := []struct {
		sh   string
		want int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		// A signal is reported as a shell and Docker report it.
		{"kill -KILL $$", 137},
		{"kill -TERM $$", 143},
	}
	for _, tt := range tests {
		t.Run(tt.sh, func(t *testing.T) {
			res, err := newBackend(t).Run(context.Background(), newJob(t, tt.sh))
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.want {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tt.want)
			}
			if res.TimedOut {
				t.Error("TimedOut = true")
			}
		})
	}
}

func TestRunEnvironment(t *testing.T) {
	// Something in the test's own environment that must not leak through.
	t.Setenv("LATTICE_LEAK", "leaked")
	bin := t.TempDir()
	mustWrite(t, filepath.Join(bin, "hello-tool"), "#!/bin/sh\necho \"hello from the job's PATH\"\n")
	if err := os.Chmod(filepath.Join(bin, "hello-tool"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		argv    []string
		env     []string
		wantLog string
		wantErr string
	}{
		{
			name:    "exactly the job's environment",
			argv:    []string{"env"},
			env:     []string{hostPath, "A=1"},
			wantLog: hostPath + "\nA=1\n",
		},
		{
			name:    "working directory is scratch",
			argv:    []string{"sh", "-c", `test "$(pwd -P)" = "$(cd "$SCRATCH" && pwd -P)" && echo ok`},
			env:     []string{hostPath},
			wantLog: "ok\n",
		},
		{
			name:    "command found on the job's PATH",
			argv:    []string{"hello-tool"},
			env:     []string{"PATH=/nonexistent:" + bin},
			wantLog: "hello from the job's PATH\n",
		},
		{
			name:    "command not on the job's PATH",
			argv:    []string{"hello-tool"},
			env:     []string{hostPath},
			wantErr: `command "hello-tool" not found on the job's PATH (/usr/local/bin:/usr/bin:/bin)`,
		},
		{
			name:    "no PATH at all",
			argv:    []string{"sh"},
			wantErr: `command "sh" not found: the job's environment sets no PATH`,
		},
		{
			name:    "path relative to scratch",
			argv:    []string{"./missing.sh"},
			env:     []string{hostPath},
			wantErr: `command "./missing.sh"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(t, "")
			job.Argv, job.Env = tt.argv, tt.env
			for i, a := range job.Argv {
				job.Argv[i] = strings.ReplaceAll(a, "$SCRATCH", job.Scratch)
			}
			var log bytes.Buffer
			job.Log = &log
			res, err := newBackend(t).Run(context.Background(), job)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 {
				t.Errorf("exit code %d", res.ExitCode)
			}
			if diff := cmp.Diff(tt.wantLog, log.String()); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunStreamsLogs(t *testing.T) {
	// The job prints a line, then waits for a file that the test creates
	// only once it has seen that line in the log.
	job := newJob(t, `echo started; echo to-stderr >&2; `+
		`i=0; while [ ! -e out/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; `+
		`test -e out/go && echo finished`)
	job.Outputs = []string{"out/go"}
	log := jobtest.NewWatchedWriter("started\n")
	job.Log = log
	go func() {
		select {
		case <-log.Seen():
			os.WriteFile(filepath.Join(job.Scratch, "out", "go"), nil, 0o644)
		case <-time.After(30 * time.Second):
		}
	}()
	res, err := newBackend(t).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code = %d; the log did not stream while the job ran:\n%s", res.ExitCode, log.String())
	}
	// Both streams share one pipe, so the order is the job's order.
	if diff := cmp.Diff("started\nto-stderr\nfinished\n", log.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

// TestRunStopsProcessGroup checks that every way a job ends also ends the
// processes it started, and how long that takes.
func TestRunStopsProcessGroup(t *testing.T) {
	tests := []struct {
		name string
		// sh starts a background child that records its pid in
		// out/child.pid, and then does something.
		sh           string
		timeout      time.Duration
		cancelAfter  time.Duration
		grace        time.Duration
		wantTimedOut bool
		wantExit     int
		wantErr      error
		maxDuration  time.Duration
	}{
		{
			name:        "exit leaves no child behind",
			sh:          "exit 0",
			wantExit:    0,
			maxDuration: 5 * time.Second,
		},
		{
			name:         "timeout sends SIGTERM",
			sh:           "sleep 60",
			timeout:      300 * time.Millisecond,
			grace:        10 * time.Second,
			wantTimedOut: true,
			wantExit:     143,
			maxDuration:  5 * time.Second,
		},
		{
			name:         "timeout sends SIGKILL after the grace period",
			sh:           `trap "" TERM; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`,
			timeout:      300 * time.Millisecond,
			grace:        300 * time.Millisecond,
			wantTimedOut: true,
			wantExit:     137,
			maxDuration:  5 * time.Second,
		},
		{
			name:        "cancellation",
			sh:          "sleep 60",
			cancelAfter: 300 * time.Millisecond,
			grace:       10 * time.Second,
			wantErr:     context.Canceled,
			maxDuration: 5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(t, "sleep 300 & echo $! > out/child.pid; "+tt.sh)
			job.Outputs = []string{"out/child.pid"}
			job.Timeout = tt.timeout
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter > 0 {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			start := time.Now()
			res, err := newBackend(t, local.WithKillGrace(tt.grace)).Run(ctx, job)
			elapsed := time.Since(start)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run() error = %v, want %v", err, tt.wantErr)
			}
			if elapsed > tt.maxDuration {
				t.Errorf("Run took %s, want at most %s", elapsed, tt.maxDuration)
			}
			if err == nil {
				if res.TimedOut != tt.wantTimedOut {
					t.Errorf("TimedOut = %v, want %v", res.TimedOut, tt.wantTimedOut)
				}
				if res.ExitCode != tt.wantExit {
					t.Errorf("exit code = %d, want %d", res.ExitCode, tt.wantExit)
				}
			}
			pid := readPid(t, filepath.Join(job.Scratch, "out", "child.pid"))
			// The kernel may take a moment to tear the child down.
			deadline := time.Now().Add(5 * time.Second)
			for alive(pid) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(pid) {
				t.Errorf("the job's child %d is still running", pid)
			}
		})
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	job := newJob(t, "echo x > out/result.txt")
	if _, err := newBackend(t).Run(ctx, job); !errors.Is(err, context.Canceled) {
		t.Errorf("Run() error = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(job.Scratch, "out", "result.txt")); err == nil {
		t.Error("the job ran although its context was cancelled")
	}
}

func TestNewRejectsNegativeGrace(t *testing.T) {
	if _, err := local.New(local.WithKillGrace(-time.Second)); err == nil {
		t.Error("New(WithKillGrace(-1s)) succeeded")
	}
}

// readPid reads a pid that a job wrote.
func readPid(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// alive reports whether pid runs. A zombie does not count: an orphan is
// reaped by init, on its own schedule.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func mustWrite(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
