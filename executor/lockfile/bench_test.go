package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"lattice.dev/lattice/compiler/plan"
)

// benchLock is a lock of n stages shaped like a large sweep: each stage has
// a pinned image, a few args, an env var, a secret, three params, two inputs
// and two outputs; and n/10 datasets.
func benchLock(n int) *plan.Lock {
	l := plan.NewLock()
	for i := range n / 10 {
		l.Datasets[fmt.Sprintf("data%04d", i)] = &plan.LockedDataset{Path: fmt.Sprintf("data/part-%04d.parquet", i), Digest: sum(fmt.Sprint("d", i))}
	}
	for i := range n {
		lr := fmt.Sprintf("%g", 0.001*float64(i%100+1))
		name := fmt.Sprintf("sweep[lr=%s,seed=%d]", lr, i)
		l.Stages[name] = lockStage(plan.Preimage{
			Backend:  "docker",
			Platform: "linux/amd64",
			Image:    sum("image"),
			Code:     sum("code"),
			Argv:     []string{"python3", "train.py", "--lr", lr, "--seed", fmt.Sprint(i)},
			Env:      []plan.EnvVar{{Name: "OMP_NUM_THREADS", Value: "1"}},
			Secrets:  []string{"WANDB_API_KEY"},
			Params: []plan.Param{
				{Name: "lr", Kind: "number", Value: lr},
				{Name: "seed", Kind: "number", Value: fmt.Sprint(i)},
				{Name: "optimizer", Kind: "string", Value: "adamw"},
			},
			Inputs: []plan.KeyIO{
				{Name: "features", Path: "out/features.parquet", Digest: sum("features")},
				{Name: "labels", Path: "data/labels.csv", Digest: sum("labels")},
			},
			Outputs: []plan.KeyIO{
				{Name: "model", Path: fmt.Sprintf("out/sweep/%d/model.npz", i), Kind: "model"},
				{Name: "metrics", Path: fmt.Sprintf("out/sweep/%d/metrics.json", i), Kind: "metrics"},
			},
		})
	}
	return l
}

// BenchmarkFormatParse10000 formats and parses (which includes verifying
// every key) a lock of 10,000 stages. The "bytes" metric is the size of the
// lockfile.
func BenchmarkFormatParse10000(b *testing.B) {
	l := benchLock(10000)
	size := len(Format(l))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("lattice.lock", Format(l)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes")
}

func BenchmarkFormat10000(b *testing.B) {
	l := benchLock(10000)
	b.ReportAllocs()
	for b.Loop() {
		Format(l)
	}
}

func BenchmarkParse10000(b *testing.B) {
	text := Format(benchLock(10000))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("lattice.lock", text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordStage measures one journal append, fsync included: the
// cost apply pays per finished stage.
func BenchmarkRecordStage(b *testing.B) {
	j, err := OpenJournal(filepath.Join(b.TempDir(), "lock.journal"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	s := benchLock(1).Stages["sweep[lr=0.001,seed=0]"]
	for b.Loop() {
		if err := j.RecordStage("sweep[lr=0.001,seed=0]", s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit10000 replays a journal of 10,000 stage records onto a
// missing lockfile and writes the result: the once-per-apply cost.
func BenchmarkCommit10000(b *testing.B) {
	l := benchLock(10000)
	// Build the journal's bytes directly: ten thousand fsyncs would
	// measure the disk, not Commit.
	journal := []byte(journalHeader())
	for name, s := range l.Stages {
		journal = append(journal, encodeRecord(appendStage(nil, name, s))...)
	}
	dir := b.TempDir()
	lockPath := filepath.Join(dir, "lattice.lock")
	journalPath := filepath.Join(dir, "lock.journal")
	b.SetBytes(int64(len(journal)))
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		if err := os.Remove(lockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
		if err := os.WriteFile(journalPath, journal, 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Commit(lockPath, journalPath); err != nil {
			b.Fatal(err)
		}
	}
}
