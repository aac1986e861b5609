package digest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte // nil for no existing file
		perm     os.FileMode
	}{
		{"new file", nil, 0o644},
		{"replaces a file", []byte("old contents that are longer"), 0o644},
		{"read-only result", nil, 0o444},
		{"replaces a read-only file", []byte("old"), 0o444},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if tt.existing != nil {
				check(t, os.WriteFile(p, tt.existing, 0o444))
			}
			check(t, WriteFileAtomic(p, []byte("new"), tt.perm))
			got, err := os.ReadFile(p)
			check(t, err)
			if string(got) != "new" {
				t.Errorf("content %q, want %q", got, "new")
			}
			if tt.perm&0o200 == 0 {
				// Whatever the umask, a file written without write
				// permission stays without it.
				fi, err := os.Stat(p)
				check(t, err)
				if fi.Mode().Perm()&0o200 != 0 {
					t.Errorf("mode %v is writable, want read-only", fi.Mode().Perm())
				}
			}
			names, err := os.ReadDir(dir)
			check(t, err)
			if len(names) != 1 {
				t.Errorf("directory holds %d entries, want only the file", len(names))
			}
		})
	}
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "absent", "f")
	if err := WriteFileAtomic(p, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
}

func TestWriteFileAtomicLeavesNoTempOnFailure(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails after the temporary
	// file was written.
	p := filepath.Join(dir, "d")
	check(t, os.MkdirAll(filepath.Join(p, "child"), 0o755))
	if err := WriteFileAtomic(p, []byte("x"), 0o644); err == nil {
		t.Fatal("WriteFileAtomic over a directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	check(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"d"}, names); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
}
