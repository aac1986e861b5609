package pin

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestResolveFromRegistry pushes an image to a real (in-process) OCI
// registry and resolves its tag to the manifest digest.
func TestResolveFromRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host + "/team/train:v1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	r := New(WithoutEngine())
	got, err := r.Resolve(context.Background(), ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("resolved %s, want %s", got, want)
	}
	// A tag that does not exist is an error naming the registry.
	if _, err := r.Resolve(context.Background(), host+"/team/train:nope"); err == nil || !strings.Contains(err.Error(), "registry "+host) {
		t.Errorf("missing tag: %v", err)
	}
}

func TestResolvePrefersEngineAndDigests(t *testing.T) {
	calls := 0
	r := New(WithoutRegistry())
	r.engine = func(ctx context.Context, ref string) (imageInspect, error) {
		calls++
		switch ref {
		case "lattice-test/busybox:1":
			return imageInspect{ID: "sha256:" + strings.Repeat("1", 64)}, nil
		case "python:3.12":
			return imageInspect{ID: "sha256:" + strings.Repeat("2", 64),
				RepoDigests: []string{"index.docker.io/library/python@sha256:" + strings.Repeat("3", 64)}}, nil
		}
		return imageInspect{}, errors.New("no such image")
	}
	ctx := context.Background()
	if d, _ := r.Resolve(ctx, "lattice-test/busybox:1"); d != "sha256:"+strings.Repeat("1", 64) {
		t.Errorf("local image: %s, want its ID", d)
	}
	if d, _ := r.Resolve(ctx, "python:3.12"); d != "sha256:"+strings.Repeat("3", 64) {
		t.Errorf("pulled image: %s, want its repository digest", d)
	}
	byDigest := "python@sha256:" + strings.Repeat("4", 64)
	if d, _ := r.Resolve(ctx, byDigest); d != "sha256:"+strings.Repeat("4", 64) {
		t.Errorf("digest reference: %s", d)
	}
	r.Resolve(ctx, "lattice-test/busybox:1")
	if calls != 2 {
		t.Errorf("engine asked %d times, want 2 (memoised, and never for digests)", calls)
	}
	if _, err := r.Resolve(ctx, "nothere:1"); err == nil || !strings.Contains(err.Error(), "local Docker engine") {
		t.Errorf("missing image: %v", err)
	}
}
