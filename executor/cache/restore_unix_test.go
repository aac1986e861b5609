//go:build unix

package cache

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRestoreAcrossFilesystems restores onto another filesystem, where hard
// links are impossible, and checks that Restore falls back to copying.
func TestRestoreAcrossFilesystems(t *testing.T) {
	c := openCache(t)
	e := putSample(t, c)
	other, err := os.MkdirTemp("/dev/shm", "lattice-cache-test-")
	if err != nil {
		t.Skipf("no second filesystem to restore onto: %v", err)
	}
	t.Cleanup(func() { removeAll(other) })
	var a, b syscall.Stat_t
	if syscall.Stat(c.Dir(), &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the cache's filesystem")
	}

	dst := filepath.Join(other, "tree")
	st, err := c.Restore(context.Background(), e.Outputs[2], dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Hardlinked != 0 || st.Copied+st.Reflinked != 8 {
		t.Errorf("restore across filesystems: %+v; want every file copied or cloned", st)
	}
	if diff := cmp.Diff(sampleTree(), readTree(t, dst)); diff != "" {
		t.Errorf("restored tree (-want +got):\n%s", diff)
	}
}
