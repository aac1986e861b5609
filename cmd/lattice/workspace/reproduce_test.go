package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReproduceOnDocker reproduces an applied diamond of docker stages:
// every stage is up to date, so the plan runs none of them, yet reproduce
// must run them all on the engine, reading upstream outputs from the
// workspace, and change nothing.
func TestReproduceOnDocker(t *testing.T) {
	needDocker(t)
	dir, cacheDir := t.TempDir(), t.TempDir()
	write(t, dir, map[string]string{
		"pipeline.cue":     fiveStages("1", "3"),
		"data/numbers.txt": "5\n3\n9\n1\n",
	})
	apply(t, dir, cacheDir, ApplyOptions{})
	lockBefore, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}

	ws, err := Open(dir, WithCacheDir(cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	res, err := ws.Reproduce(context.Background(), ReproduceOptions{Jobs: 2})
	if err != nil {
		t.Fatalf("reproduce: %v", err)
	}
	got := map[string]string{}
	for _, s := range res.Stages {
		got[s.Name] = s.Result
		if s.Error != "" {
			t.Errorf("stage %s: %s", s.Name, s.Error)
		}
	}
	want := map[string]string{
		"prepare": Deterministic, "left": Deterministic, "right": Deterministic,
		"join": Deterministic, "report": Deterministic,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if !res.OK() {
		t.Errorf("OK() = false")
	}
	lockAfter, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(lockAfter) != string(lockBefore) {
		t.Errorf("reproduce changed lattice.lock:\n%s", cmp.Diff(string(lockBefore), string(lockAfter)))
	}
}

// TestReproduceRefusesStaleWorkspace checks that reproduce names the
// stages that are not up to date instead of failing them one by one on
// missing inputs.
func TestReproduceRefusesStaleWorkspace(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	write(t, dir, map[string]string{
		"pipeline.cue": `
stages: first: {
	backend: "local"
	cmd: ["sh", "-c", "echo 1 > ${outputs.o}"]
	outputs: o: path: "out/first.txt"
}
stages: second: {
	backend: "local"
	cmd: ["sh", "-c", "cat ${inputs.i} > ${outputs.o}"]
	inputs: i: stage: "first"
	outputs: o: path: "out/second.txt"
}
`,
	})
	ws, err := Open(dir, WithCacheDir(cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var nu *NotUpToDateError
	if _, err := ws.Reproduce(context.Background(), ReproduceOptions{}); !errors.As(err, &nu) || !nu.NoLock {
		t.Fatalf("without a lockfile: err = %v, want a NotUpToDateError with NoLock", err)
	}

	apply(t, dir, cacheDir, ApplyOptions{})
	if err := os.Remove(filepath.Join(dir, "out", "first.txt")); err != nil {
		t.Fatal(err)
	}
	_, err = ws.Reproduce(context.Background(), ReproduceOptions{})
	if !errors.As(err, &nu) {
		t.Fatalf("err = %v, want a NotUpToDateError", err)
	}
	if want := []string{"first: output out/first.txt is missing; restoring from the cache"}; !cmp.Equal(nu.Stages, want) {
		t.Errorf("stages not up to date = %q, want %q", nu.Stages, want)
	}

	_, err = ws.Reproduce(context.Background(), ReproduceOptions{Targets: []string{"secnod"}})
	if want := `--target: no stage "secnod" in the plan; did you mean "second"?`; err == nil || err.Error() != want {
		t.Errorf("unknown target: err = %v, want %s", err, want)
	}
}
