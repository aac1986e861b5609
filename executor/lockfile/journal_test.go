package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/plan"
)

// numberedStage is a small valid stage whose pre-image depends on i and lr.
func numberedStage(i int, lr string) *plan.LockedStage {
	return lockStage(plan.Preimage{
		Backend:  "local",
		Platform: "linux/amd64",
		Argv:     []string{"python3", "train.py", fmt.Sprint(i)},
		Params:   []plan.Param{{Name: "lr", Kind: "number", Value: lr}},
		Inputs:   []plan.KeyIO{{Name: "data", Path: "data.csv", Digest: sum("data")}},
		Outputs:  []plan.KeyIO{{Name: "model", Path: fmt.Sprintf("out/%d/model.bin", i), Kind: "model"}},
	})
}

func openJournal(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func replay(t *testing.T, path string) (*plan.Lock, int) {
	t.Helper()
	l := plan.NewLock()
	n, err := Replay(path, l)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return l, n
}

func TestJournalReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lattice", "lock.journal")
	j := openJournal(t, path)
	src := realisticLock()
	for _, name := range []string{"vitals", "raw images", "données"} {
		check(t, j.RecordDataset(name, src.Datasets[name]))
	}
	for name, s := range src.Stages {
		check(t, j.RecordStage(name, s))
	}
	// Later records win: the second record of train replaces the first,
	// and removals drop entries recorded before them.
	train := numberedStage(0, "0.3")
	check(t, j.RecordStage("train", train))
	check(t, j.RemoveStage("no args"))
	check(t, j.RemoveDataset("raw images"))
	check(t, j.Close())

	want := realisticLock()
	want.Stages["train"] = train
	delete(want.Stages, "no args")
	delete(want.Datasets, "raw images")
	got, n := replay(t, path)
	if wantN := 3 + len(src.Stages) + 3; n != wantN {
		t.Errorf("Replay applied %d records, want %d", n, wantN)
	}
	if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
		t.Errorf("replayed lock mismatch (-want +got):\n%s", diff)
	}

	// Replaying onto the result again changes nothing.
	if _, err := Replay(path, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
		t.Errorf("second replay changed the lock (-want +got):\n%s", diff)
	}
}

func TestReplayMissingJournal(t *testing.T) {
	l := sampleLock()
	n, err := Replay(filepath.Join(t.TempDir(), "lock.journal"), l)
	if n != 0 || err != nil {
		t.Errorf("Replay(missing) = %d, %v; want 0, nil", n, err)
	}
	if diff := cmp.Diff(sampleLock(), l, lockOpts()); diff != "" {
		t.Errorf("Replay(missing) changed the lock (-want +got):\n%s", diff)
	}
}

// writeJournal records stages 0…n-1 and returns the journal's bytes and
// the offset where each record ends.
func writeJournal(t *testing.T, path string, n int) (data []byte, ends []int) {
	t.Helper()
	j := openJournal(t, path)
	for i := range n {
		check(t, j.RecordStage(fmt.Sprint(i), numberedStage(i, "0.1")))
		fi, err := os.Stat(path)
		check(t, err)
		ends = append(ends, int(fi.Size()))
	}
	check(t, j.Close())
	return readFile(t, path), ends
}

// stagesUpTo is the lock that replaying the first n records gives.
func stagesUpTo(n int) *plan.Lock {
	l := plan.NewLock()
	for i := range n {
		l.Stages[fmt.Sprint(i)] = numberedStage(i, "0.1")
	}
	return l
}

// TestJournalTornTail cuts the journal at every byte offset, as a crash
// in the middle of a write would, and checks that Replay applies exactly
// the records that are whole, without error.
func TestJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.journal")
	data, ends := writeJournal(t, path, 4)
	// Comparing formatted text keeps thousands of comparisons fast; the
	// round-trip tests show that equal text means equal locks.
	var wants []string
	for n := range len(ends) + 1 {
		wants = append(wants, string(Format(stagesUpTo(n))))
	}
	// Shrinking one file in place is much cheaper than writing thousands.
	for size := len(data); size >= 0; size-- {
		check(t, os.Truncate(path, int64(size)))
		whole := 0
		for _, e := range ends {
			if e <= size {
				whole++
			}
		}
		got, n := replay(t, path)
		if n != whole {
			t.Fatalf("cut at %d of %d: Replay applied %d records, want %d", size, len(data), n, whole)
		}
		if got := string(Format(got)); got != wants[whole] {
			t.Fatalf("cut at %d: replayed lock mismatch:\n%s", size, cmp.Diff(wants[whole], got))
		}
	}
}

// TestJournalReopenAfterTornTail checks that records appended after a crash
// are not hidden behind the torn record the crash left: OpenJournal cuts it
// off first.
func TestJournalReopenAfterTornTail(t *testing.T) {
	dir := t.TempDir()
	data, ends := writeJournal(t, filepath.Join(dir, "full.journal"), 3)
	start, end := ends[1], ends[2]
	tests := map[string]int{
		"length line": start + 3,
		"body":        (start + end) / 2,
		"checksum":    end - 20,
		"last byte":   end - 1,
	}
	for name, size := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".journal")
			writeFile(t, path, data[:size])
			j := openJournal(t, path)
			check(t, j.RecordStage("2", numberedStage(2, "0.1")))
			check(t, j.Close())
			got, n := replay(t, path)
			if n != 3 {
				t.Fatalf("Replay applied %d records, want 3", n)
			}
			if diff := cmp.Diff(stagesUpTo(3), got, lockOpts()); diff != "" {
				t.Fatalf("replayed lock mismatch (-want +got):\n%s", diff)
			}
			if got := readFile(t, path); string(got) != string(data[:end]) {
				t.Errorf("journal after reopening and recording differs from one written without a crash")
			}
		})
	}
}

// TestJournalCorruptRecord flips a byte in each part of the middle record
// and checks that Replay stops there.
func TestJournalCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	data, ends := writeJournal(t, filepath.Join(dir, "full.journal"), 5)
	start, end := ends[1], ends[2]
	path := filepath.Join(dir, "bad.journal")
	tests := map[string]int{
		"length line": start + len("record "),
		"body":        (start + end) / 2,
		"last body":   end - 80,
		"checksum":    end - 10,
		"final byte":  end - 1,
	}
	for name, off := range tests {
		t.Run(name, func(t *testing.T) {
			bad := append([]byte(nil), data...)
			bad[off] ^= 0x01
			writeFile(t, path, bad)
			got, n := replay(t, path)
			if n != 2 {
				t.Errorf("Replay applied %d records, want 2", n)
			}
			if diff := cmp.Diff(stagesUpTo(2), got, lockOpts()); diff != "" {
				t.Errorf("replayed lock mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJournalConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.journal")
	j := openJournal(t, path)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				if err := j.RecordStage(fmt.Sprint(n), numberedStage(n, "0.1")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	check(t, j.Close())
	got, n := replay(t, path)
	if n != workers*each {
		t.Errorf("Replay applied %d records, want %d", n, workers*each)
	}
	if diff := cmp.Diff(stagesUpTo(workers*each), got, lockOpts()); diff != "" {
		t.Errorf("replayed lock mismatch (-want +got):\n%s", diff)
	}
}

func TestJournalRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.journal")
	j := openJournal(t, path)
	bad := numberedStage(1, "0.1")
	bad.Preimage.Params[0].Value = "0.2"
	err := j.RecordStage("bad", bad)
	if err == nil || !strings.HasPrefix(err.Error(), `recording stage "bad": key blake3:`) {
		t.Errorf("RecordStage(bad key) = %v, want a key error", err)
	}
	err = j.RecordDataset("d", &plan.LockedDataset{Path: "d"})
	if want := `recording dataset "d": digest "" has no algorithm prefix (want blake3:… or sha256:…)`; err == nil || err.Error() != want {
		t.Errorf("RecordDataset(no digest) = %v, want %s", err, want)
	}
	check(t, j.Close())
	check(t, j.Close())
	err = j.RemoveStage("x")
	if want := `recording the removal of stage "x": journal ` + path + ` is closed`; err == nil || err.Error() != want {
		t.Errorf("RemoveStage after Close = %v, want %s", err, want)
	}
	if _, n := replay(t, path); n != 0 {
		t.Errorf("refused records were written: Replay applied %d", n)
	}
}

// TestJournalOtherKeys checks that a journal written with another key salt
// is ignored by Replay and emptied by OpenJournal.
func TestJournalOtherKeys(t *testing.T) {
	dir := t.TempDir()
	data, _ := writeJournal(t, filepath.Join(dir, "full.journal"), 2)
	path := filepath.Join(dir, "lock.journal")
	writeFile(t, path, []byte(strings.Replace(string(data), plan.Salt, plan.Salt+"-old", 1)))
	if _, n := replay(t, path); n != 0 {
		t.Errorf("Replay applied %d records of another salt, want 0", n)
	}
	j := openJournal(t, path)
	check(t, j.RecordStage("7", numberedStage(7, "0.1")))
	check(t, j.Close())
	got, n := replay(t, path)
	want := plan.NewLock()
	want.Stages["7"] = numberedStage(7, "0.1")
	if n != 1 {
		t.Errorf("Replay applied %d records, want 1", n)
	}
	if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
		t.Errorf("replayed lock mismatch (-want +got):\n%s", diff)
	}
}

func TestJournalNewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.journal")
	writeFile(t, path, []byte("lattice-journal 2\nsomething new\n"))
	want := "journal " + path + " has format 2, newer than this lattice understands (1); upgrade lattice"
	if _, err := Replay(path, plan.NewLock()); err == nil || err.Error() != want {
		t.Errorf("Replay = %v, want %s", err, want)
	}
	if _, err := OpenJournal(path); err == nil || err.Error() != want {
		t.Errorf("OpenJournal = %v, want %s", err, want)
	}
	if got := string(readFile(t, path)); got != "lattice-journal 2\nsomething new\n" {
		t.Errorf("OpenJournal changed a newer journal: %q", got)
	}
}

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "lattice.lock")
	journalPath := filepath.Join(dir, ".lattice", "lock.journal")
	check(t, Write(lockPath, realisticLock()))

	j := openJournal(t, journalPath)
	check(t, j.RecordDataset("vitals", &plan.LockedDataset{Path: "data/vitals.csv", Digest: sum("vitals v2")}))
	check(t, j.RecordStage("train", numberedStage(1, "0.3")))
	check(t, j.RecordStage("new", numberedStage(2, "0.1")))
	check(t, j.RemoveStage("no args"))
	check(t, j.Close())
	journal := readFile(t, journalPath)

	want := realisticLock()
	want.Datasets["vitals"].Digest = sum("vitals v2")
	want.Stages["train"] = numberedStage(1, "0.3")
	want.Stages["new"] = numberedStage(2, "0.1")
	delete(want.Stages, "no args")

	check(t, Commit(lockPath, journalPath))
	got, err := Read(lockPath)
	check(t, err)
	if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
		t.Errorf("committed lock mismatch (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(journalPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal still there after Commit: %v", err)
	}
	committed := readFile(t, lockPath)

	// A crash after the lockfile was written but before the journal was
	// removed: the next Commit replays the journal again, harmlessly.
	writeFile(t, journalPath, journal)
	check(t, Commit(lockPath, journalPath))
	if again := readFile(t, lockPath); string(again) != string(committed) {
		t.Errorf("second Commit changed the lockfile:\n%s", cmp.Diff(string(committed), string(again)))
	}

	// Without a journal, Commit does nothing.
	check(t, Commit(lockPath, journalPath))
	if again := readFile(t, lockPath); string(again) != string(committed) {
		t.Errorf("Commit without a journal changed the lockfile")
	}
}

func TestCommitWithoutLockfile(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "lattice.lock")
	journalPath := filepath.Join(dir, ".lattice", "lock.journal")
	writeJournal(t, journalPath, 3)
	check(t, Commit(lockPath, journalPath))
	got, err := Read(lockPath)
	check(t, err)
	if diff := cmp.Diff(stagesUpTo(3), got, lockOpts()); diff != "" {
		t.Errorf("committed lock mismatch (-want +got):\n%s", diff)
	}
}

// TestCommitEmptyJournal checks that a journal with no whole record is
// removed without touching the lockfile.
func TestCommitEmptyJournal(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "lattice.lock")
	journalPath := filepath.Join(dir, "lock.journal")
	writeFile(t, journalPath, []byte(journalHeader()+"record 12\nstage "))
	check(t, Commit(lockPath, journalPath))
	if _, err := os.Stat(lockPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Commit of an empty journal wrote a lockfile: %v", err)
	}
	if _, err := os.Stat(journalPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal still there after Commit: %v", err)
	}
}

// TestCommitKeepsJournalOnBadLockfile checks that Commit does not drop
// recorded pins when it cannot read the lockfile.
func TestCommitKeepsJournalOnBadLockfile(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "lattice.lock")
	journalPath := filepath.Join(dir, "lock.journal")
	writeFile(t, lockPath, []byte("lattice-lock 9\n"))
	writeJournal(t, journalPath, 1)
	err := Commit(lockPath, journalPath)
	want := "committing journal: " + lockPath + ":1: lockfile format 9 is newer than this lattice understands (1); upgrade lattice"
	if err == nil || err.Error() != want {
		t.Errorf("Commit = %v, want %s", err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Errorf("Commit error does not wrap the *ParseError: %#v", err)
	}
	if _, err := os.Stat(journalPath); err != nil {
		t.Errorf("journal gone after a failed Commit: %v", err)
	}
}
