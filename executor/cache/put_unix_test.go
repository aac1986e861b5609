//go:build unix

package cache

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPutRejectsSpecialFiles(t *testing.T) {
	c := openCache(t)
	src := t.TempDir()
	writeTree(t, src, map[string]file{"tree/ok": {Data: "fine"}})
	if err := syscall.Mkfifo(filepath.Join(src, "tree", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"in a tree", filepath.Join(src, "tree")},
		{"as an output", filepath.Join(src, "tree", "pipe")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Put(context.Background(), key(tt.name), []Source{{Name: "out", HostPath: tt.path}}, nil)
			if err == nil || !strings.Contains(err.Error(), "named pipe") {
				t.Errorf("Put = %v, want an error naming the pipe", err)
			}
			if c.Has(key(tt.name)) {
				t.Error("failed Put left an entry")
			}
		})
	}
}
