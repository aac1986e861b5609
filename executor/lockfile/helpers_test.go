package lockfile

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// lockOpts compare locks as Parse(Format(l)) should give them back: nil and
// empty lists and maps are the same, and Digest, which describes the bytes
// a lock was read from, is left out.
func lockOpts() cmp.Options {
	return cmp.Options{
		cmpopts.EquateEmpty(),
		cmpopts.IgnoreFields(plan.Lock{}, "Digest"),
	}
}

// sum is a stand-in content digest, distinct for each seed.
func sum(seed string) string { return digest.String(seed).String() }

// lockStage returns a locked stage for p with one locked output per
// pre-image output, after normalising p and computing its key the way the
// executor does.
func lockStage(p plan.Preimage) *plan.LockedStage {
	p.Normalize()
	s := &plan.LockedStage{Preimage: p, Outputs: map[string]*plan.LockedOutput{}}
	for _, o := range p.Outputs {
		s.Outputs[o.Name] = &plan.LockedOutput{Path: o.Path, Kind: o.Kind, Digest: sum("out:" + o.Path)}
	}
	s.Key = p.Key().String()
	return s
}

// sampleLock is the lock of the format sample in doc.go.
func sampleLock() *plan.Lock {
	l := plan.NewLock()
	l.Datasets["vitals"] = &plan.LockedDataset{Path: "data/vitals.csv", Digest: sum("vitals")}
	l.Stages["train"] = lockStage(plan.Preimage{
		Backend:  "docker",
		Platform: "linux/amd64",
		Image:    "sha256:" + strings.Repeat("ab", 32),
		Argv:     []string{"python3", "train.py", "--lr", "0.1"},
		Env:      []plan.EnvVar{{Name: "OMP_NUM_THREADS", Value: "1"}},
		Secrets:  []string{"API_TOKEN"},
		Params:   []plan.Param{{Name: "lr", Kind: "number", Value: "0.1"}},
		Inputs:   []plan.KeyIO{{Name: "features", Path: "out/features.csv", Digest: sum("features")}},
		Outputs:  []plan.KeyIO{{Name: "model", Path: "out/model.npz", Kind: "model"}},
	})
	return l
}

// realisticLock has datasets and stages that use every field and every
// kind of name and string the format must carry.
func realisticLock() *plan.Lock {
	l := sampleLock()
	l.Datasets["raw images"] = &plan.LockedDataset{Path: "data/raw images/", Digest: sum("raw")}
	l.Datasets["données"] = &plan.LockedDataset{Path: "data/données.parquet", Digest: "sha256:" + strings.Repeat("0f", 32)}
	l.Stages["prepare"] = lockStage(plan.Preimage{
		Backend:  "local",
		Platform: "linux/amd64",
		Code:     sum("code"),
		Argv:     []string{"sh", "-c", "echo \"a b\"\n\tprintf '%s' ünïcødé ✓", "", "\xff"},
		Env:      []plan.EnvVar{{Name: "Z", Value: ""}, {Name: "A", Value: "x=y \"q\""}},
		Inputs: []plan.KeyIO{
			{Name: "vitals", Path: "data/vitals.csv", Digest: sum("vitals")},
			{Name: "raw", Path: "data/raw images/", Digest: sum("raw")},
		},
		Outputs: []plan.KeyIO{
			{Name: "features", Path: "out/features.csv", Kind: "data"},
			{Name: "report", Path: "out/report dir/", Kind: "plots"},
		},
		Network: true,
	})
	for _, trial := range []string{"sweep[lr=0.1,l2=0.01]", "sweep[lr=0.3,l2=0.01]", `sweep[opt="adam w"]`} {
		l.Stages[trial] = lockStage(plan.Preimage{
			Backend:  "docker",
			Platform: "linux/arm64",
			Image:    "sha256:" + strings.Repeat("cd", 32),
			Argv:     []string{"python3", "train.py"},
			Secrets:  []string{"WANDB_KEY", "API_TOKEN"},
			Params: []plan.Param{
				{Name: "opt", Kind: "string", Value: "adam w"},
				{Name: "lr", Kind: "number", Value: "0.1"},
				{Name: "early_stop", Kind: "bool", Value: "true"},
				{Name: "odd kind", Kind: "a kind with spaces", Value: "x"},
			},
			Inputs:  []plan.KeyIO{{Name: "features", Path: "out/features.csv", Digest: sum("features")}},
			Outputs: []plan.KeyIO{{Name: "metrics", Path: "out/" + trial + "/metrics.json", Kind: "metrics"}},
		})
	}
	l.Stages["no args"] = lockStage(plan.Preimage{Backend: "local", Platform: "linux/amd64"})
	return l
}

// writeFile writes data to path, failing the test on error.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFile reads path, failing the test on error.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
