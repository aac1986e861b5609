package workspace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"lattice.dev/lattice/executor"
	"lattice.dev/lattice/executor/docker/dockertest"
	"lattice.dev/lattice/executor/lockfile"
)

const busybox = dockertest.Busybox

// needDocker makes sure the engine and the busybox test image are there.
func needDocker(t *testing.T) { dockertest.Need(t, dockertest.Busybox) }

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// events collects apply events for assertions.
type events struct {
	mu  sync.Mutex
	all []executor.Event
}

func (e *events) add(ev executor.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) of(typ string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Type == typ {
			out = append(out, ev.Stage)
		}
	}
	sort.Strings(out)
	return out
}

func apply(t *testing.T, dir, cacheDir string, o ApplyOptions) (*Applied, *events) {
	t.Helper()
	ws, err := Open(dir, WithCacheDir(cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ev := &events{}
	o.Events = ev.add
	if o.Jobs == 0 {
		o.Jobs = 2
	}
	res, err := ws.Apply(context.Background(), o)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if res.Diags.HasErrors() {
		t.Fatalf("apply: %v", res.Diags)
	}
	for _, f := range res.Report.Failures() {
		t.Fatalf("stage %s failed: %s", f.Name, f.Error)
	}
	return res, ev
}

// fiveStages is a diamond with a tail: prepare → {left, right} → join →
// report. left's output ignores its "noise" param, which lets a test change
// that param and see early cutoff.
func fiveStages(leftNoise, rightFactor string) string {
	return fmt.Sprintf(`
datasets: numbers: path: "data/numbers.txt"
#S: {image: %q, ...}
stages: prepare: #S & {
	cmd: ["sh", "-c", "sort -n ${inputs.n} > ${outputs.sorted}"]
	inputs: n: dataset: "numbers"
	outputs: sorted: path: "out/sorted.txt"
}
stages: left: #S & {
	params: noise: %s
	cmd: ["sh", "-c", "head -n 2 ${inputs.s} > ${outputs.l} # noise=${params.noise}"]
	inputs: s: stage: "prepare"
	outputs: l: path: "out/left.txt"
}
stages: right: #S & {
	params: factor: %s
	cmd: ["sh", "-c", "while read x; do echo $((x * ${params.factor})); done < ${inputs.s} > ${outputs.r}"]
	inputs: s: stage: "prepare"
	outputs: r: path: "out/right.txt"
}
stages: join: #S & {
	cmd: ["sh", "-c", "cat ${inputs.l} ${inputs.r} > ${outputs.j}"]
	inputs: l: stage: "left"
	inputs: r: stage: "right"
	outputs: j: path: "out/join.txt"
}
stages: report: #S & {
	cmd: ["sh", "-c", "wc -l < ${inputs.j} > ${outputs.n}"]
	inputs: j: stage: "join"
	outputs: n: path: "out/report.txt"
}
`, busybox, leftNoise, rightFactor)
}

func outcomes(r *executor.Report) map[string]string {
	out := map[string]string{}
	for _, s := range r.Stages {
		out[s.Name] = s.Outcome
	}
	return out
}

func TestApplyOnDocker(t *testing.T) {
	needDocker(t)
	dir, cacheDir := t.TempDir(), t.TempDir()
	write(t, dir, map[string]string{"pipeline.cue": fiveStages("1", "2"), "data/numbers.txt": "3\n1\n2\n"})

	// A 5-stage pipeline runs.
	res, ev := apply(t, dir, cacheDir, ApplyOptions{})
	if res.Report.Ran != 5 {
		t.Fatalf("first apply ran %d stages, want 5: %v", res.Report.Ran, outcomes(res.Report))
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out/join.txt"))
	if got, want := string(b), "1\n2\n2\n4\n6\n"; got != want {
		t.Fatalf("out/join.txt = %q, want %q", got, want)
	}
	if got := ev.of(executor.EventStageStarted); len(got) != 5 {
		t.Errorf("started %v", got)
	}
	lock, err := lockfile.Read(filepath.Join(dir, LockFile))
	if err != nil || len(lock.Stages) != 5 {
		t.Fatalf("lockfile: %d stages, %v", len(lock.Stages), err)
	}

	// A second apply runs nothing.
	start := time.Now()
	res, ev = apply(t, dir, cacheDir, ApplyOptions{})
	t.Logf("no-op apply took %s", time.Since(start))
	if res.Report.UpToDate != 5 || len(ev.of(executor.EventStageStarted)) != 0 {
		t.Fatalf("second apply: %v", outcomes(res.Report))
	}

	// A deleted output is restored from the cache without running anything.
	if err := os.Remove(filepath.Join(dir, "out/right.txt")); err != nil {
		t.Fatal(err)
	}
	res, ev = apply(t, dir, cacheDir, ApplyOptions{})
	if got := ev.of(executor.EventStageStarted); len(got) != 0 {
		t.Errorf("restoring started stages %v; want no container at all", got)
	}
	if got := outcomes(res.Report)["right"]; got != executor.Restored {
		t.Errorf("right: %s, want restored", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out/right.txt")); string(b) != "2\n4\n6\n" {
		t.Errorf("restored out/right.txt = %q", b)
	}

	// Changing a param re-runs only the stages it affects.
	write(t, dir, map[string]string{"pipeline.cue": fiveStages("1", "3")})
	res, _ = apply(t, dir, cacheDir, ApplyOptions{})
	want := map[string]string{"prepare": "up-to-date", "left": "up-to-date", "right": "ran", "join": "ran", "report": "ran"}
	if got := outcomes(res.Report); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after changing right's factor: %v, want %v", got, want)
	}

	// Early cutoff: left re-runs (its param changed) but writes the same
	// bytes, so join and report, whose inputs are unchanged, are restored
	// from the cache instead of running.
	write(t, dir, map[string]string{"pipeline.cue": fiveStages("2", "3")})
	res, ev = apply(t, dir, cacheDir, ApplyOptions{})
	got := outcomes(res.Report)
	if got["left"] != executor.Ran {
		t.Errorf("left: %s, want ran", got["left"])
	}
	for _, s := range []string{"join", "report"} {
		if got[s] == executor.Ran {
			t.Errorf("%s ran; early cutoff should have restored it", s)
		}
	}
	if started := ev.of(executor.EventStageStarted); fmt.Sprint(started) != "[left]" {
		t.Errorf("started %v, want only left", started)
	}
}

// TestApplyRunsInParallel checks that -j 2 runs independent stages at the
// same time, from the stages' own timestamps, not from a timing threshold.
func TestApplyRunsInParallel(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	var spec strings.Builder
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&spec, `stages: s%d: {
	backend: "local"
	cmd: ["sh", "-c", "date +%%s%%N > ${outputs.t}; sleep 0.3; date +%%s%%N >> ${outputs.t}"]
	outputs: t: path: "out/s%d.txt"
}
`, i, i)
	}
	write(t, dir, map[string]string{"pipeline.cue": spec.String()})
	apply(t, dir, cacheDir, ApplyOptions{Jobs: 2})
	type span struct{ start, end int64 }
	var spans []span
	for i := 0; i < 6; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out/s%d.txt", i)))
		if err != nil {
			t.Fatal(err)
		}
		var s span
		fmt.Sscan(string(b), &s.start, &s.end)
		spans = append(spans, s)
	}
	most := 0
	for _, a := range spans {
		n := 0
		for _, b := range spans {
			if b.start <= a.start && a.start < b.end {
				n++
			}
		}
		most = max(most, n)
	}
	if most != 2 {
		t.Errorf("at most %d stages ran at once with -j 2, want exactly 2", most)
	}
}

func TestFailureSkipsDependents(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	write(t, dir, map[string]string{"pipeline.cue": `
stages: bad: {
	backend: "local"
	cmd: ["sh", "-c", "echo oops >&2; exit 3"]
	outputs: o: path: "out/bad.txt"
}
stages: after: {
	backend: "local"
	cmd: ["cp", "${inputs.i}", "${outputs.o}"]
	inputs: i: stage: "bad"
	outputs: o: path: "out/after.txt"
}
stages: other: {
	backend: "local"
	cmd: ["sh", "-c", "echo ok > ${outputs.o}"]
	outputs: o: path: "out/other.txt"
}
`})
	ws, err := Open(dir, WithCacheDir(cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	res, err := ws.Apply(context.Background(), ApplyOptions{Jobs: 1, KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(res.Report)
	if got["bad"] != executor.Failed || got["after"] != executor.Skipped || got["other"] != executor.Ran {
		t.Fatalf("outcomes %v", got)
	}
	for _, s := range res.Report.Stages {
		if s.Name == "bad" && !strings.Contains(s.Error, "exited with status 3") {
			t.Errorf("bad's error %q should give the exit status", s.Error)
		}
		if s.Name == "after" && !strings.Contains(s.Reason, "bad failed") {
			t.Errorf("after's reason %q should name the failed stage", s.Reason)
		}
	}
	lock, err := lockfile.Read(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if lock.Stages["bad"] != nil || lock.Stages["other"] == nil {
		t.Errorf("the lockfile must pin other and not the failed stage: %v", lock.Stages)
	}
}
