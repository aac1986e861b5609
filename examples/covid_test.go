package examples

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"lattice.dev/lattice/executor/docker/dockertest"
)

// needPythonImage makes sure the Docker engine and both test images are
// there.
func needPythonImage(t *testing.T) { dockertest.Need(t, dockertest.Python, dockertest.Busybox) }

// copyDir copies the example so the test never writes into the source tree.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() && (info.Name() == "out" || info.Name() == ".lattice") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if info.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if info.Name() == "lattice.lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCovidTriage runs the covid-triage example end to end on the Docker
// engine: it must train a model that is good but not perfect, pass its
// gate, be a no-op the second time, re-run only what an epochs change
// touches, list and rank its trials, and reproduce bit for bit.
func TestCovidTriage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole example")
	}
	needPythonImage(t)
	bin := filepath.Join(t.TempDir(), "lattice")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/lattice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "covid-triage")
	copyDir(t, "covid-triage", dir)
	env := append(os.Environ(), "LATTICE_CACHE="+filepath.Join(t.TempDir(), "cache"), "NO_COLOR=1")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("lattice %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	stdout := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("lattice %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	start := time.Now()
	run("apply", "-j", "2")
	t.Logf("first apply: %s", time.Since(start))
	for _, f := range []string{"out/model/model.npz", "out/eval/metrics.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("apply did not produce %s: %v", f, err)
		}
	}

	// The experiment: every trial listed, the winner within range and
	// through its gate.
	var shown struct {
		Experiments []struct {
			Name        string  `json:"name"`
			Winner      *string `json:"winner"`
			GatesPassed bool    `json:"gates_passed"`
			Trials      []struct {
				Name     string             `json:"name"`
				Metrics  map[string]float64 `json:"metrics"`
				Selected bool               `json:"selected"`
			} `json:"trials"`
		} `json:"experiments"`
	}
	if err := json.Unmarshal(stdout("exp", "show", "sweep", "-json"), &shown); err != nil {
		t.Fatal(err)
	}
	exp := shown.Experiments[0]
	if len(exp.Trials) != 6 || exp.Winner == nil {
		t.Fatalf("exp show: %d trials, winner %v; want 6 and a winner", len(exp.Trials), exp.Winner)
	}
	var best float64
	for _, tr := range exp.Trials {
		if tr.Selected {
			best = tr.Metrics["auc"]
			if tr.Name != *exp.Winner {
				t.Errorf("selected trial %s is not the winner %s", tr.Name, *exp.Winner)
			}
		}
		if tr.Metrics["auc"] > best && !tr.Selected && best != 0 {
			t.Errorf("trial %s has a higher auc than the winner", tr.Name)
		}
	}
	if best < 0.8 || best > 0.99 {
		t.Errorf("best trial's AUC = %v, want within [0.8, 0.99]: learnable, not trivial", best)
	}
	if !exp.GatesPassed {
		t.Errorf("the winner should pass auc >= 0.8")
	}
	human := run("exp", "show", "sweep")
	if !strings.Contains(human, "*") || strings.Count(human, "sweep[") < 6 {
		t.Errorf("exp show should list all six trials and mark the winner:\n%s", human)
	}
	t.Logf("exp show:\n%s", human)

	// A second apply is all up-to-date.
	start = time.Now()
	out := run("apply")
	t.Logf("second apply: %s", time.Since(start))
	if !strings.Contains(out, "0 ran, 0 restored from cache, 12 up-to-date, 0 failed") {
		t.Errorf("second apply should be all up-to-date:\n%s", out)
	}

	// Changing epochs re-runs train, evaluate and the trials, nothing else.
	spec := filepath.Join(dir, "pipeline.cue")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "epochs: 300") {
		t.Fatalf("pipeline.cue no longer sets epochs: 300; update this test")
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(b), "epochs: 300", "epochs: 320", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var planned struct {
		Stages []struct {
			Name   string `json:"name"`
			Action string `json:"action"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(stdout("plan", "-json"), &planned); err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, s := range planned.Stages {
		if s.Action == "run" {
			runs = append(runs, s.Name)
		}
	}
	sort.Strings(runs)
	want := "evaluate sweep[lr=0.01,l2=0.001] sweep[lr=0.01,l2=0.1] sweep[lr=0.1,l2=0.001] sweep[lr=0.1,l2=0.1] sweep[lr=0.5,l2=0.001] sweep[lr=0.5,l2=0.1] train"
	if got := strings.Join(runs, " "); got != want {
		t.Errorf("after changing epochs, the plan runs\n  %s\nwant\n  %s", got, want)
	}
	os.WriteFile(spec, b, 0o644)

	// Every stage reproduces bit for bit.
	start = time.Now()
	out = run("reproduce", "-j", "2")
	t.Logf("reproduce: %s\n%s", time.Since(start), out)
	if !strings.Contains(out, "Reproduced 12 stages: 12 deterministic, 0 not.") {
		t.Errorf("reproduce should find every stage deterministic:\n%s", out)
	}
}

// TestQuickstart runs the README's main command on a copy of the
// quickstart (host backend), then its Docker variant, and checks they
// write the same report.
func TestQuickstart(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lattice")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/lattice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reports := map[string]string{}
	for _, variant := range []string{"quickstart", "quickstart/docker"} {
		t.Run(variant, func(t *testing.T) {
			if variant == "quickstart/docker" {
				needPythonImage(t) // checks the engine; the busybox image comes with the test images
			}
			// Copy the whole quickstart: the Docker variant links to the
			// host version's data and scripts.
			root := filepath.Join(t.TempDir(), "quickstart")
			copyDir(t, "quickstart", root)
			dir := filepath.Join(root, strings.TrimPrefix(variant, "quickstart"))
			cmd := exec.Command(bin, "apply", dir)
			cmd.Env = append(os.Environ(), "LATTICE_CACHE="+filepath.Join(t.TempDir(), "cache"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("lattice apply: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Apply complete: 3 ran") {
				t.Errorf("apply output:\n%s", out)
			}
			var report string
			filepath.Walk(filepath.Join(dir, "out"), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && strings.Contains(info.Name(), "report") {
					b, _ := os.ReadFile(p)
					report = string(b)
				}
				return nil
			})
			if report == "" {
				t.Fatalf("no report under out/")
			}
			reports[variant] = report
		})
	}
	if len(reports) == 2 && reports["quickstart"] != reports["quickstart/docker"] {
		t.Errorf("the two variants disagree:\n%s\n---\n%s", reports["quickstart"], reports["quickstart/docker"])
	}
}
