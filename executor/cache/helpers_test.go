package cache

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// newFakeClock starts at the real time, so that the files the cache writes
// (whose times come from the filesystem) are as young as they really are.
func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// file describes one file of a test tree. A file with Link set is a
// symbolic link to Link; otherwise it holds Data and is executable when
// Exec is set.
type file struct {
	Data string
	Exec bool
	Link string
}

// writeTree creates the files under root, creating directories as needed.
func writeTree(t testing.TB, root string, files map[string]file) {
	t.Helper()
	for name, f := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Link != "" {
			if err := os.Symlink(f.Link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		perm := fs.FileMode(0o644)
		if f.Exec {
			perm = 0o755
		}
		if err := os.WriteFile(p, []byte(f.Data), perm); err != nil {
			t.Fatal(err)
		}
		// WriteFile leaves the mode of an existing file alone.
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree is writeTree's inverse: it describes every file and symbolic
// link under root, without following links.
func readTree(t testing.TB, root string) map[string]file {
	t.Helper()
	files := map[string]file{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			files[filepath.ToSlash(rel)] = file{Link: target}
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = file{Data: string(data), Exec: info.Mode()&0o111 != 0}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// modes maps every regular file under root to its permission bits.
func modes(t testing.TB, root string) map[string]fs.FileMode {
	t.Helper()
	m := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m[filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleTree is a directory output with nesting, an executable, links to a
// file and to a directory, an empty file, a name that needs quoting, two
// files with the same content and names whose walk order differs from their
// sorted order.
func sampleTree() map[string]file {
	return map[string]file{
		"README.md":            {Data: "# model\n"},
		"bin/train":            {Data: "#!/bin/sh\necho train\n", Exec: true},
		"data/a/b/c/deep.csv":  {Data: "x,y\n1,2\n"},
		"data/empty":           {},
		"data/name with space": {Data: "spaced\n"},
		"data/latest":          {Link: "a/b/c/deep.csv"},
		"links/to-dir":         {Link: "../data/a"},
		"links/dangling":       {Link: "/nonexistent/elsewhere"},
		"weights/layer-0.bin":  {Data: string(make([]byte, 70000))},
		"data/a-c":             {Data: "sorts before data/a/ as a string\n"},
		"weights/dup.md":       {Data: "# model\n"},
	}
}

func openCache(t testing.TB, opts ...Option) *Cache {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cache"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// key makes a distinct action key from a name.
func key(name string) digest.Digest { return digest.String("action " + name) }

// makeWritable lets a test damage a read-only object.
func makeWritable(t testing.TB, p string) {
	t.Helper()
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
}
