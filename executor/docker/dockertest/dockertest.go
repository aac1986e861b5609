// Package dockertest gives integration tests a Docker engine and the local
// test images, or a clear verdict when there is none: tests fail when CI is
// set, since CI must run them, and are skipped, saying why, elsewhere.
package dockertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// The test images, built from Debian packages by scripts/test-images.sh.
const (
	Busybox = "lattice-test/busybox:1"
	Python  = "lattice-test/python:3-numpy"
)

// Need returns a client for the engine that the environment names, after
// making sure each of the given images exists, building the test images
// with scripts/test-images.sh when they do not. The client is closed when
// the test ends.
func Need(t testing.TB, images ...string) *client.Client {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("CI") != "" {
		unavailable = t.Fatalf
	}
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable("Docker client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		unavailable("Docker engine unreachable (start dockerd, or set DOCKER_HOST): %v", err)
	}
	for _, img := range images {
		if _, err := c.ImageInspect(ctx, img); err == nil {
			continue
		}
		which := "busybox"
		if img == Python {
			which = "python"
		}
		script := filepath.Join(RepoRoot(t), "scripts", "test-images.sh")
		t.Logf("image %s is missing; running %s %s", img, script, which)
		if out, err := exec.Command(script, which).CombinedOutput(); err != nil {
			t.Fatalf("building %s failed (%v); run `%s %s` by hand to see why:\n%s", img, err, script, which, out)
		}
		if _, err := c.ImageInspect(context.Background(), img); err != nil {
			t.Fatalf("image %s is still missing after %s: %v", img, script, err)
		}
	}
	return c
}

// RepoRoot is the root of the source tree, found from this file's path.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
