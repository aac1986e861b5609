package lockfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lattice.lock")
	want := realisticLock()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
		t.Errorf("Read(Write(l)) mismatch (-want +got):\n%s", diff)
	}
	if d := digest.Bytes(readFile(t, path)).String(); got.Digest != d {
		t.Errorf("Digest = %q, want the file's digest %q", got.Digest, d)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("Write left other files behind: %v", entries)
	}
}

func TestReadMissing(t *testing.T) {
	got, err := Read(filepath.Join(t.TempDir(), "lattice.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plan.NewLock(), got); diff != "" {
		t.Errorf("Read(missing) mismatch (-want +got):\n%s", diff)
	}
}

func TestReadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lattice.lock")
	writeFile(t, path, []byte("lattice-lock 1\nkeys 1 \"x\"\nstage train imgae \"\"\n"))
	_, err := Read(path)
	if want := path + `:3: unknown field "imgae" for stage "train"`; err == nil || err.Error() != want {
		t.Errorf("Read error = %v, want %s", err, want)
	}
}

func TestWriteRefusesInvalidLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lattice.lock")
	l := sampleLock()
	l.Stages["train"].Outputs["model"].Digest = ""
	err := Write(path, l)
	if err == nil || !strings.HasPrefix(err.Error(), "writing lockfile "+path+`: stage "train": output "model"`) {
		t.Errorf("Write = %v, want an error about the output", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("Write of an invalid lock created the file")
	}
}
