//go:build linux || darwin

package digest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWriteFileAtomicAppliesUmask(t *testing.T) {
	umask := unix.Umask(0o027)
	defer unix.Umask(umask)
	p := filepath.Join(t.TempDir(), "f")
	check(t, WriteFileAtomic(p, []byte("x"), 0o666))
	fi, err := os.Stat(p)
	check(t, err)
	if got, want := fi.Mode().Perm(), os.FileMode(0o640); got != want {
		t.Errorf("mode %v, want %v", got, want)
	}
}

func TestTreeWithSpecialFile(t *testing.T) {
	root := t.TempDir()
	check(t, os.WriteFile(filepath.Join(root, "ok"), []byte("x"), 0o644))
	check(t, unix.Mkfifo(filepath.Join(root, "pipe"), 0o644))
	_, err := NewHasher().Path(context.Background(), root)
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("error = %v, want one naming the named pipe", err)
	}
	_, err = NewHasher().Path(context.Background(), filepath.Join(root, "pipe"))
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("hashing the pipe itself: error = %v, want one naming the named pipe", err)
	}
}

func TestTreeUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	root := t.TempDir()
	p := filepath.Join(root, "secret")
	check(t, os.WriteFile(p, []byte("x"), 0o000))
	if _, err := NewHasher().Path(context.Background(), root); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("error = %v, want one naming the unreadable file", err)
	}
}

// processCPU is the CPU time the test process has used, user and system.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
