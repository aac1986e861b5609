package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lattice.dev/lattice/executor/jobtest"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	imagetypes "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/docker"
	"lattice.dev/lattice/executor/docker/dockertest"
)

// testImage is the image the integration tests run; scripts/test-images.sh
// builds it from Debian's busybox-static without any registry.
const testImage = dockertest.Busybox

// jobUID and jobGID are who the tests' jobs run as when the tests run as
// root: not root, and not anyone who exists in the image or on the host.
const jobUID, jobGID = 12345, 12345

// engine returns a client for the local engine and the ID of the test
// image (see dockertest.Need for what happens without an engine).
func engine(t testing.TB) (*client.Client, string) {
	t.Helper()
	c := dockertest.Need(t, testImage)
	img, err := c.ImageInspect(context.Background(), testImage)
	if err != nil {
		t.Fatal(err)
	}
	return c, img.ID
}

// jobUser is the user that jobs run as: jobUID:jobGID when the tests can
// hand files to another user, otherwise the current user.
func jobUser() (int, int) {
	if os.Geteuid() == 0 {
		return jobUID, jobGID
	}
	return os.Getuid(), os.Getgid()
}

// newJob returns a job running the shell script sh in the test image, with
// one input file at in/data.txt and one output at out/result.txt.
func newJob(t testing.TB, image, sh string) *executor.Job {
	t.Helper()
	input := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(input, []byte("input data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid, gid := jobUser()
	return &executor.Job{
		Stage:   uniqueStage(t),
		Image:   image,
		Argv:    []string{"sh", "-c", sh},
		Env:     []string{"LATTICE_TEST=1"},
		Mounts:  []executor.Mount{{Source: input, Target: "in/data.txt"}},
		Outputs: []string{"out/result.txt"},
		Scratch: t.TempDir(),
		UID:     uid,
		GID:     gid,
		Timeout: time.Minute,
	}
}

// uniqueStage is a stage name that no other test run uses, so containers
// can be looked up by their stage label.
func uniqueStage(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), time.Now().UnixNano())
}

func newBackend(t testing.TB, opts ...docker.Option) *docker.Backend {
	t.Helper()
	b, err := docker.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// containersOf lists every container, running or not, of a stage.
func containersOf(t testing.TB, c *client.Client, stage string) []string {
	t.Helper()
	list, err := c.ContainerList(context.Background(), container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", docker.StageLabel+"="+stage)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ctr := range list {
		ids = append(ids, ctr.ID)
	}
	return ids
}

func TestRunWritesOutputs(t *testing.T) {
	_, image := engine(t)
	b := newBackend(t)
	src := t.TempDir()
	input := filepath.Join(src, "a.csv")
	if err := os.WriteFile(input, []byte("1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		mounts  []executor.Mount
		outputs []string
		sh      string
		want    map[string]string // output path → content
		// wantScratch lists everything in Scratch after the run; mount
		// points made for nested inputs must be gone.
		wantScratch []string
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
			sh:          `echo '{"auc": 1}' > metrics.json`,
			want:        map[string]string{"metrics.json": "{\"auc\": 1}\n"},
			wantScratch: []string{"metrics.json"},
		},
		{
			name:        "input inside the output directory",
			mounts:      []executor.Mount{{Source: input, Target: "out/a.csv"}},
			outputs:     []string{"out/b.csv"},
			sh:          "cp out/a.csv out/b.csv",
			want:        map[string]string{"out/b.csv": "1,2\n"},
			wantScratch: []string{"out/", "out/b.csv"},
		},
		{
			name:        "input and outputs nested at several depths",
			mounts:      []executor.Mount{{Source: src, Target: "data/raw"}, {Source: input, Target: "out/deep/in.csv"}},
			outputs:     []string{"out/x.txt", "out/deep/y.txt", "logs/run.log"},
			sh:          "cat data/raw/a.csv > out/x.txt && cat out/deep/in.csv > out/deep/y.txt && echo ok > logs/run.log",
			want:        map[string]string{"out/x.txt": "1,2\n", "out/deep/y.txt": "1,2\n", "logs/run.log": "ok\n"},
			wantScratch: []string{"logs/", "logs/run.log", "out/", "out/deep/", "out/deep/y.txt", "out/x.txt"},
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
			t.Parallel()
			job := newJob(t, image, tt.sh)
			job.Mounts, job.Outputs = tt.mounts, tt.outputs
			var log bytes.Buffer
			job.Log = &log
			res, err := b.Run(context.Background(), job)
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
		})
	}
}

func TestRunExitCode(t *testing.T) {
	_, image := engine(t)
	b := newBackend(t)
	for _, code := range []int{0, 1, 3, 255} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			res, err := b.Run(context.Background(), newJob(t, image, fmt.Sprintf("exit %d", code)))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.ExitCode; got != code {
				t.Errorf("exit code = %d, want %d", got, code)
			}
			if res.TimedOut {
				t.Error("TimedOut = true")
			}
		})
	}
}

// TestRunSandbox runs shell checks inside the sandbox; each must succeed,
// so a check for something forbidden succeeds when the attempt fails.
func TestRunSandbox(t *testing.T) {
	_, image := engine(t)
	b := newBackend(t)
	uid, gid := jobUser()
	tests := []struct {
		name    string
		sh      string
		network bool
	}{
		{name: "input is read-only", sh: "! sh -c 'echo x >> in/data.txt' && test \"$(cat in/data.txt)\" = 'input data'"},
		{name: "input cannot be removed", sh: "! rm -f in/data.txt && test -e in/data.txt"},
		{name: "workspace outside outputs is read-only", sh: "! touch /ws/other && ! mkdir /ws/newdir"},
		{name: "root is read-only", sh: "! touch /x && ! touch /etc/x"},
		{name: "output directory is writable", sh: "echo x > out/result.txt && echo y > out/extra"},
		{name: "tmp is writable and sticky", sh: "echo x > /tmp/y && test \"$(stat -c %a /tmp)\" = 1777"},
		{name: "no network", sh: "! wget -q -T 2 -O /dev/null http://1.1.1.1/ && ! nslookup -timeout=1 example.com"},
		{name: "only loopback", sh: "test \"$(ls /sys/class/net)\" = lo && ! ip link show eth0"},
		{name: "network when asked", sh: "ls /sys/class/net | grep -qv '^lo$'", network: true},
		{name: "runs as the job's user", sh: fmt.Sprintf("test \"$(id -u):$(id -g)\" = %d:%d", uid, gid)},
		{name: "capabilities dropped", sh: "grep -Eq '^CapEff:[[:space:]]+0+$' /proc/self/status"},
		{name: "no new privileges", sh: "grep -Eq '^NoNewPrivs:[[:space:]]+1$' /proc/self/status"},
		{name: "working directory", sh: "test \"$(pwd)\" = /ws"},
		{name: "environment from the job and the image", sh: "test \"$LATTICE_TEST\" = 1 && test -n \"$PATH\""},
		{name: "fixed host name", sh: "test \"$(hostname)\" = lattice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := newJob(t, image, tt.sh)
			job.Network = tt.network
			var log bytes.Buffer
			job.Log = &log
			res, err := b.Run(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 {
				t.Errorf("check failed with exit code %d: %s\nlog:\n%s", res.ExitCode, tt.sh, log.String())
			}
		})
	}
}

func TestRunOutputsBelongToJobUser(t *testing.T) {
	_, image := engine(t)
	if os.Geteuid() != 0 {
		t.Skip("only root can run a job as another user and hand it the output directories")
	}
	job := newJob(t, image, "echo x > out/result.txt")
	res, err := newBackend(t).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d", res.ExitCode)
	}
	for _, p := range []string{"out", "out/result.txt"} {
		fi, err := os.Stat(filepath.Join(job.Scratch, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != jobUID || st.Gid != jobGID {
			t.Errorf("%s belongs to %d:%d, want %d:%d", p, st.Uid, st.Gid, jobUID, jobGID)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	c, image := engine(t)
	job := newJob(t, image, "sleep 60")
	job.Timeout = time.Second
	start := time.Now()
	res, err := newBackend(t).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Run took %s with a 1s timeout", elapsed)
	}
	if !res.TimedOut {
		t.Error("TimedOut = false, want true")
	}
	if res.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137 (SIGKILL)", res.ExitCode)
	}
	if ids := containersOf(t, c, job.Stage); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

func TestRunCancelRemovesContainer(t *testing.T) {
	c, image := engine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan string, 1)
	b := newBackend(t, docker.WithAfterStart(func(_ context.Context, id string) { started <- id }))
	job := newJob(t, image, "sleep 60")

	errc := make(chan error, 1)
	go func() {
		_, err := b.Run(ctx, job)
		errc <- err
	}()
	var id string
	select {
	case id = <-started:
	case err := <-errc:
		t.Fatalf("Run returned before the container started: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("container did not start")
	}
	// The container is there while the job runs...
	if ids := containersOf(t, c, job.Stage); len(ids) != 1 || ids[0] != id {
		t.Fatalf("containers of the stage = %v, want [%s]", ids, id)
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run() error = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	// ...and gone once Run returns.
	if ids := containersOf(t, c, job.Stage); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	c, image := engine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	job := newJob(t, image, "true")
	if _, err := newBackend(t).Run(ctx, job); !errors.Is(err, context.Canceled) {
		t.Errorf("Run() error = %v, want context.Canceled", err)
	}
	if ids := containersOf(t, c, job.Stage); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

func TestRunStreamsLogs(t *testing.T) {
	_, image := engine(t)
	// The job prints a line, then waits for a file that the test creates
	// only once it has seen that line in the log: this passes only if the
	// log arrives while the job runs, not after it ends.
	job := newJob(t, image, `echo started; echo to-stderr >&2; `+
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
	// stdout and stderr are separate pipes, so their relative order is
	// not guaranteed; each line must be there exactly once.
	got := strings.Split(strings.TrimSpace(log.String()), "\n")
	for _, want := range []string{"started", "to-stderr", "finished"} {
		if n := count(got, want); n != 1 {
			t.Errorf("log has %q %d times, want once; log:\n%s", want, n, log.String())
		}
	}
}

func TestRunLimitsReachEngine(t *testing.T) {
	c, image := engine(t)
	var inspected container.InspectResponse
	var inspectErr error
	b := newBackend(t, docker.WithAfterStart(func(ctx context.Context, id string) {
		inspected, inspectErr = c.ContainerInspect(ctx, id)
	}))
	job := newJob(t, image, "true")
	job.CPUs = 0.5
	job.MemoryBytes = 64 << 20
	if _, err := b.Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if inspectErr != nil {
		t.Fatal(inspectErr)
	}
	hc := inspected.HostConfig
	type limits struct {
		NanoCPUs, Memory, MemorySwap, PidsLimit int64
		ReadonlyRootfs                          bool
		NetworkMode                             string
		CapDrop, SecurityOpt                    []string
		Stage                                   string
	}
	got := limits{
		NanoCPUs:       hc.NanoCPUs,
		Memory:         hc.Memory,
		MemorySwap:     hc.MemorySwap,
		ReadonlyRootfs: hc.ReadonlyRootfs,
		NetworkMode:    string(hc.NetworkMode),
		CapDrop:        hc.CapDrop,
		SecurityOpt:    hc.SecurityOpt,
		Stage:          inspected.Config.Labels[docker.StageLabel],
	}
	if hc.PidsLimit != nil {
		got.PidsLimit = *hc.PidsLimit
	}
	want := limits{
		NanoCPUs:       500_000_000,
		Memory:         64 << 20,
		MemorySwap:     64 << 20,
		PidsLimit:      docker.DefaultPidsLimit,
		ReadonlyRootfs: true,
		NetworkMode:    "none",
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Stage:          job.Stage,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inspected container (-want +got):\n%s", diff)
	}
}

func TestRunMemoryLimitKills(t *testing.T) {
	_, image := engine(t)
	// dd holds one block in memory: a 256 MiB block under a 32 MiB limit
	// with no swap gets the job killed by the kernel's OOM killer.
	job := newJob(t, image, "dd if=/dev/zero of=/dev/null bs=256M count=1")
	job.MemoryBytes = 32 << 20
	job.Timeout = 30 * time.Second
	res, err := newBackend(t).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 137 || res.TimedOut {
		t.Errorf("exit code = %d, timed out = %v; want 137 (killed by the OOM killer)", res.ExitCode, res.TimedOut)
	}
}

func TestRunReplacesImageEntrypoint(t *testing.T) {
	c, image := engine(t)
	ctx := context.Background()
	// An image whose entrypoint always fails, made by committing an unstarted
	// container of the test image with a new ENTRYPOINT.
	created, err := c.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"true"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true})
	committed, err := c.ContainerCommit(ctx, created.ID, container.CommitOptions{
		Changes: []string{`ENTRYPOINT ["/bin/false"]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.ImageRemove(ctx, committed.ID, imagetypes.RemoveOptions{Force: true})

	job := newJob(t, committed.ID, "exit 7")
	res, err := newBackend(t).Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 {
		t.Errorf("exit code = %d, want 7 from the job's own command", res.ExitCode)
	}
}

func TestRunErrors(t *testing.T) {
	_, image := engine(t)
	b := newBackend(t)
	tests := []struct {
		name    string
		edit    func(*executor.Job)
		wantErr string
	}{
		{
			name:    "image missing",
			edit:    func(j *executor.Job) { j.Image = "sha256:" + strings.Repeat("0", 64) },
			wantErr: "image sha256:" + strings.Repeat("0", 64) + " is not present in the local Docker engine; build or pull it first",
		},
		{
			name:    "image missing by digest",
			edit:    func(j *executor.Job) { j.Image = "lattice-test/none@sha256:" + strings.Repeat("1", 64) },
			wantErr: "is not present in the local Docker engine",
		},
		{
			name:    "command not found",
			edit:    func(j *executor.Job) { j.Argv = []string{"no-such-command"} },
			wantErr: "no-such-command",
		},
		{
			name:    "output escapes",
			edit:    func(j *executor.Job) { j.Outputs = []string{"../x"} },
			wantErr: `output "../x": path leaves the workspace`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(t, image, "true")
			tt.edit(job)
			_, err := b.Run(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run() error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), job.Stage) {
				t.Errorf("error %q does not name the stage", err)
			}
		})
	}
}

func count(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}

// TestRunPythonImage runs a realistic stage, numpy over an input, in the
// Debian-based test image. That image takes minutes to build, so the test
// does not build it; CI builds it with scripts/test-images.sh beforehand.
func TestRunPythonImage(t *testing.T) {
	c, _ := engine(t)
	const pythonImage = "lattice-test/python:3-numpy"
	img, err := c.ImageInspect(context.Background(), pythonImage)
	if err != nil {
		missing := t.Skipf
		if os.Getenv("CI") != "" {
			missing = t.Fatalf
		}
		missing("image %s missing; build it with scripts/test-images.sh python: %v", pythonImage, err)
	}
	job := newJob(t, img.ID, "")
	job.Argv = []string{"python3", "-c", `
import numpy as np
x = np.loadtxt("in/data.csv", delimiter=",")
with open("out/result.txt", "w") as f:
    f.write("%.1f\n" % x.sum())
`}
	job.Env = []string{"PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp"}
	input := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(input, []byte("1,2\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job.Mounts = []executor.Mount{{Source: input, Target: "in/data.csv"}}
	var log bytes.Buffer
	job.Log = &log
	res, err := newBackend(t).Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d, log:\n%s", res.ExitCode, log.String())
	}
	got, err := os.ReadFile(filepath.Join(job.Scratch, "out", "result.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("10.0\n", string(got)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}
