// Package jobtest holds helpers shared by the backends' tests: a log writer
// that signals when a text arrives, and a listing of a scratch directory.
package jobtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// WatchedWriter is a log that closes Seen when it has received Want.
type WatchedWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

// NewWatchedWriter returns a writer that watches for want.
func NewWatchedWriter(want string) *WatchedWriter {
	return &WatchedWriter{want: want, seen: make(chan struct{})}
}

// Seen is closed once the text has arrived.
func (w *WatchedWriter) Seen() <-chan struct{} { return w.seen }

func (w *WatchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// String is everything written so far.
func (w *WatchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Tree lists what is under dir, slash-separated: directories with a
// trailing slash, symbolic links as "name -> target" (not followed).
func Tree(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			rel += " -> " + target
		case d.IsDir():
			rel += "/"
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
