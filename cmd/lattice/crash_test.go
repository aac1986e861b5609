package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"lattice.dev/lattice/executor/cache"
	"lattice.dev/lattice/executor/docker/dockertest"
	"lattice.dev/lattice/executor/lockfile"
)

// crashSpec is a 20-stage pipeline in chains of four. Every stage depends
// on the "round" param, so changing it makes all twenty run again; each
// writes about 400 KB, so kills land in cache writes and restores as often
// as in the commands themselves.
func crashSpec(backend string, round int) string {
	var b strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "stages: s%02d: {\n", i)
		if backend == "docker" {
			b.WriteString("\timage: \"lattice-test/busybox:1\"\n")
		} else {
			b.WriteString("\tbackend: \"local\"\n")
		}
		fmt.Fprintf(&b, "\tparams: {round: %d, i: %d}\n", round, i)
		if i%4 == 0 {
			b.WriteString("\tcmd: [\"sh\", \"-c\", \"awk 'BEGIN { for (j = 0; j < 60000; j++) print j * ${params.i} + ${params.round} }' > ${outputs.o}\"]\n")
		} else {
			fmt.Fprintf(&b, "\tinputs: prev: stage: \"s%02d\"\n", i-1)
			b.WriteString("\tcmd: [\"sh\", \"-c\", \"awk '{ print $1 + ${params.i} }' ${inputs.prev} > ${outputs.o}\"]\n")
		}
		fmt.Fprintf(&b, "\toutputs: o: path: \"out/s%02d.txt\"\n}\n", i)
	}
	return b.String()
}

// buildLattice builds the command once per test binary run.
func buildLattice(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lattice")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKill9DuringApply kills `lattice apply` with SIGKILL at random moments
// of a 20-stage run, again and again, and checks after every kill that the
// cache verifies and the lockfile parses, and at the end that an apply
// completes with correct outputs.
func TestKill9DuringApply(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real applies")
	}
	bin := buildLattice(t)
	for _, backend := range []string{"local", "docker"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "docker" {
				needDockerEngine(t)
			}
			killTrials(t, bin, backend, 10)
		})
	}
}

func killTrials(t *testing.T, bin, backend string, trials int) {
	dir := t.TempDir()
	cacheDir := filepath.Join(t.TempDir(), "cache")
	env := append(os.Environ(), "LATTICE_CACHE="+cacheDir, "NO_COLOR=1")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write := func(round int) {
		if err := os.WriteFile(filepath.Join(dir, "pipeline.cue"), []byte(crashSpec(backend, round)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Time one full apply to know when kills can land.
	write(0)
	start := time.Now()
	if out, err := run("apply", "-j", "2"); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	full := time.Since(start)
	t.Logf("a full %s apply takes %s", backend, full)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for trial := 1; trial <= trials; trial++ {
		write(trial)
		cmd := exec.Command(bin, "apply", "-j", "2")
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		after := time.Duration(rng.Int64N(int64(full)))
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("trial %d: killed after %s", trial, after.Round(time.Millisecond))

		c, err := cache.Open(cacheDir)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Verify(context.Background(), cache.VerifyOptions{})
		if err != nil {
			t.Fatalf("trial %d: cache verify: %v", trial, err)
		}
		if len(rep.Problems) > 0 {
			t.Fatalf("trial %d: cache verify found problems after kill -9: %+v", trial, rep.Problems)
		}
		if _, err := lockfile.Read(filepath.Join(dir, "lattice.lock")); err != nil {
			t.Fatalf("trial %d: lattice.lock does not parse after kill -9: %v", trial, err)
		}
		if out, err := run("cache", "verify"); err != nil {
			t.Fatalf("trial %d: lattice cache verify: %v\n%s", trial, err, out)
		}
	}

	// The next apply completes, and everything is consistent.
	if out, err := run("apply", "-j", "2"); err != nil {
		t.Fatalf("apply after the kills: %v\n%s", err, out)
	}
	if out, err := run("status"); err != nil {
		t.Fatalf("status after the final apply: %v\n%s", err, out)
	}
	if out, err := run("cache", "verify"); err != nil {
		t.Fatalf("lattice cache verify: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out/s03.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	// s00 prints j*0 + round; s01..s03 add 1, 2 and 3.
	if want := fmt.Sprint(trials + 6); len(lines) != 60000 || lines[0] != want {
		t.Fatalf("out/s03.txt: %d lines starting %q, want 60000 starting %q", len(lines), lines[0], want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".lattice", "lock.journal")); err == nil {
		t.Errorf("the journal should be folded into lattice.lock after a complete apply")
	}
}

// TestConcurrentApply starts two applies on one workspace: the second must
// name the holder of the workspace lock and fail.
func TestConcurrentApply(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real applies")
	}
	bin := buildLattice(t)
	dir := t.TempDir()
	env := append(os.Environ(), "LATTICE_CACHE="+filepath.Join(t.TempDir(), "cache"))
	spec := `stages: slow: {
	backend: "local"
	cmd: ["sh", "-c", "sleep 3; echo done > ${outputs.o}"]
	outputs: o: path: "out/slow.txt"
}
`
	if err := os.WriteFile(filepath.Join(dir, "pipeline.cue"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	first := exec.Command(bin, "apply")
	first.Dir, first.Env = dir, env
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Wait()
	// Wait until the first apply holds the lock.
	for i := 0; i < 100; i++ {
		if b, _ := os.ReadFile(filepath.Join(dir, ".lattice", "apply.lock")); len(b) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	second := exec.Command(bin, "apply")
	second.Dir, second.Env = dir, env
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatalf("the second apply succeeded:\n%s", out)
	}
	want := fmt.Sprintf("held by pid %d on ", first.Process.Pid)
	if !strings.Contains(string(out), "another lattice apply is running in this workspace") || !strings.Contains(string(out), want) {
		t.Fatalf("the second apply should name the holder (%q); got:\n%s", want, out)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first apply failed: %v", err)
	}
}

func needDockerEngine(t *testing.T) { dockertest.Need(t, dockertest.Busybox) }

// TestInterruptRemovesContainers sends SIGINT (Ctrl-C) to an apply while a
// container runs: apply must stop, remove the container, keep the stage
// that finished, and leave the workspace ready for the next apply.
func TestInterruptRemovesContainers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real applies")
	}
	needDockerEngine(t)
	bin := buildLattice(t)
	dir := t.TempDir()
	env := append(os.Environ(), "LATTICE_CACHE="+filepath.Join(t.TempDir(), "cache"))
	spec := `#S: {image: "lattice-test/busybox:1", ...}
stages: quick: #S & {
	cmd: ["sh", "-c", "echo quick > ${outputs.o}"]
	outputs: o: path: "out/quick.txt"
}
stages: slow: #S & {
	params: seconds: SECONDS
	cmd: ["sh", "-c", "cat ${inputs.q} > /dev/null; sleep ${params.seconds}; echo slow > ${outputs.o}"]
	inputs: q: stage: "quick"
	outputs: o: path: "out/slow.txt"
}
`
	write := func(seconds string) {
		if err := os.WriteFile(filepath.Join(dir, "pipeline.cue"), []byte(strings.Replace(spec, "SECONDS", seconds, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("60")
	cmd := exec.Command(bin, "apply", "-j", "1")
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	running := func() int {
		list, err := c.ContainerList(context.Background(), containerListOptions("lattice.stage=slow"))
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	deadline := time.Now().Add(30 * time.Second)
	for running() == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the slow stage's container never started:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	t.Logf("apply stopped %s after SIGINT:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err == nil {
		t.Fatal("an interrupted apply must exit non-zero")
	}
	if n := running(); n != 0 {
		t.Errorf("%d containers of the slow stage are left after the interrupt", n)
	}
	if _, err := lockfile.Read(filepath.Join(dir, "lattice.lock")); err != nil {
		t.Fatalf("lattice.lock: %v", err)
	}
	lock, _ := lockfile.Read(filepath.Join(dir, "lattice.lock"))
	if lock.Stages["quick"] == nil || lock.Stages["slow"] != nil {
		t.Errorf("the lockfile should pin quick (finished) and not slow (interrupted)")
	}

	// The next apply runs only what is left.
	write("0")
	next := exec.Command(bin, "apply")
	next.Dir, next.Env = dir, env
	b, err := next.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "1 ran, 0 restored from cache, 1 up-to-date") {
		t.Fatalf("apply after the interrupt: %v\n%s", err, b)
	}
}

func containerListOptions(label string) container.ListOptions {
	return container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))}
}
