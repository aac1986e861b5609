package digest

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// file describes one entry of a test tree: a regular file with content and
// mode (0o644 when zero), or a symlink to link.
type file struct {
	content string
	mode    os.FileMode
	link    string
}

// writeTree creates files under root in the given path order, creating
// directories as needed. Paths are slash-separated.
func writeTree(t testing.TB, root string, files map[string]file, order []string) {
	t.Helper()
	if order == nil {
		for p := range files {
			order = append(order, p)
		}
		slices.Sort(order)
	}
	for _, p := range order {
		f := files[p]
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.link != "" {
			if err := os.Symlink(f.link, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(full, []byte(f.content), mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile leaves the mode of an existing file alone and applies
		// the umask to a new one; set it exactly.
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// ageFiles sets the modification time of every regular file under root to
// an hour ago, as if the tree had been written well before it is hashed, so
// that the stat cache trusts entries recorded now.
func ageFiles(t testing.TB, root string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixedClock returns a clock that always reads t.
func fixedClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}
