package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
)

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cache")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"actions", "trees", "blobs", "tmp", "README"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("after Open: %v", err)
		}
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "deleted at any time") {
		t.Errorf("README does not say the cache may be deleted:\n%s", readme)
	}
	// Opening again is fine.
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultDir(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name    string
		env     string
		want    string
		wantErr bool
	}{
		{name: "env", env: "/var/cache/lattice-ci", want: "/var/cache/lattice-ci"},
		{name: "unset", env: "", want: filepath.Join(home, ".cache", "lattice")},
		{name: "relative", env: "cache", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LATTICE_CACHE", tt.env)
			t.Setenv("HOME", home)
			t.Setenv("XDG_CACHE_HOME", "")
			got, err := DefaultDir()
			if (err != nil) != tt.wantErr {
				t.Fatalf("DefaultDir() error = %v, want error: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DefaultDir() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	src := t.TempDir()
	writeTree(t, src, map[string]file{"model.bin": {Data: "weights"}, "tool": {Data: "#!/bin/sh\n", Exec: true}})
	writeTree(t, filepath.Join(src, "features"), sampleTree())

	k := key("train")
	srcs := []Source{
		{Name: "model", Path: "out/model.bin", Kind: "model", HostPath: filepath.Join(src, "model.bin")},
		{Name: "tool", Path: "out/tool", Kind: "data", HostPath: filepath.Join(src, "tool")},
		{Name: "features", Path: "out/features", Kind: "data", HostPath: filepath.Join(src, "features")},
	}
	meta := map[string]string{"exit": "0", "backend": "local", "odd key\n": "value \"quoted\""}
	put, err := c.Put(ctx, k, srcs, meta, WithDuration(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	tree, err := digest.NewHasher().Path(ctx, filepath.Join(src, "features"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Entry{
		Key: k,
		Outputs: []Output{
			{Name: "model", Path: "out/model.bin", Kind: "model", Digest: digest.String("weights"), Size: 7},
			{Name: "tool", Path: "out/tool", Kind: "data", Digest: digest.String("#!/bin/sh\n"), Size: 10, Exec: true},
			{Name: "features", Path: "out/features", Kind: "data", Digest: tree.Digest, Size: tree.Size, Dir: true},
		},
		Created:  clock.Now(),
		Duration: 90 * time.Second,
		Meta:     meta,
	}
	if diff := cmp.Diff(want, put); diff != "" {
		t.Errorf("Put returned (-want +got):\n%s", diff)
	}
	got, ok := c.Get(k)
	if !ok {
		t.Fatal("Get after Put missed")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get returned (-want +got):\n%s", diff)
	}
	if !c.Has(k) {
		t.Error("Has after Put = false")
	}
	if _, ok := c.Get(key("other")); ok {
		t.Error("Get of a key never put hit")
	}

	// The stored manifest is the tree's, so the cache and the hasher agree
	// on what a directory's digest means.
	m, err := c.Tree(tree.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree.Manifest, m); diff != "" {
		t.Errorf("stored manifest differs from the hasher's (-hasher +cache):\n%s", diff)
	}

	// The source is still there, untouched, and blobs are read-only.
	if diff := cmp.Diff(sampleTree(), readTree(t, filepath.Join(src, "features"))); diff != "" {
		t.Errorf("source changed by Put (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(c.path(blobsDir, digest.String("weights")))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o444 {
		t.Errorf("blob mode = %v, want 0444", got)
	}
}

func TestPutReplacesEntry(t *testing.T) {
	ctx := context.Background()
	c := openCache(t)
	src := t.TempDir()
	k := key("x")
	for _, content := range []string{"first", "second"} {
		writeTree(t, src, map[string]file{"out": {Data: content}})
		if _, err := c.Put(ctx, k, []Source{{Name: "out", HostPath: filepath.Join(src, "out")}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	e, ok := c.Get(k)
	if !ok {
		t.Fatal("miss")
	}
	if got, want := e.Outputs[0].Digest, digest.String("second"); got != want {
		t.Errorf("digest = %s, want %s", got, want)
	}
}

func TestPutRejects(t *testing.T) {
	ctx := context.Background()
	c := openCache(t)
	src := t.TempDir()
	writeTree(t, src, map[string]file{"f": {Data: "x"}})
	f := filepath.Join(src, "f")
	tests := []struct {
		name string
		key  digest.Digest
		srcs []Source
	}{
		{name: "zero key", srcs: []Source{{Name: "a", HostPath: f}}},
		{name: "unnamed output", key: key("k"), srcs: []Source{{HostPath: f}}},
		{name: "duplicate name", key: key("k"), srcs: []Source{{Name: "a", HostPath: f}, {Name: "a", HostPath: f}}},
		{name: "missing source", key: key("k"), srcs: []Source{{Name: "a", HostPath: filepath.Join(src, "nope")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Put(ctx, tt.key, tt.srcs, nil); err == nil {
				t.Fatal("Put succeeded")
			}
			if !tt.key.IsZero() && c.Has(tt.key) {
				t.Error("failed Put left an entry")
			}
		})
	}
}

func TestPutCancelled(t *testing.T) {
	c := openCache(t)
	src := t.TempDir()
	writeTree(t, src, sampleTree())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Put(ctx, key("k"), []Source{{Name: "d", HostPath: src}}, nil); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if c.Has(key("k")) {
		t.Error("cancelled Put left an entry")
	}
}

// TestGetMisses damages a stored entry or what it references in each way
// the cache must survive, and checks that Get then misses.
func TestGetMisses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, c *Cache, e *Entry)
	}{
		{"entry removed", func(t *testing.T, c *Cache, e *Entry) {
			remove(t, c.path(actionsDir, e.Key))
		}},
		{"entry empty", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { return nil })
		}},
		{"entry truncated by one byte", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { return b[:len(b)-1] })
		}},
		{"entry truncated to half", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { return b[:len(b)/2] })
		}},
		{"entry byte flipped", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { b[len(b)/3] ^= 0x20; return b })
		}},
		{"entry garbage", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { return []byte("\x00\xffnot an entry at all\n") })
		}},
		{"entry is a directory", func(t *testing.T, c *Cache, e *Entry) {
			p := c.path(actionsDir, e.Key)
			remove(t, p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"entry for another key", func(t *testing.T, c *Cache, e *Entry) {
			other := *e
			other.Key = key("other")
			data := encodeEntry(&other)
			rewrite(t, c.path(actionsDir, e.Key), func([]byte) []byte { return data })
		}},
		{"file blob missing", func(t *testing.T, c *Cache, e *Entry) {
			remove(t, c.path(blobsDir, e.Outputs[0].Digest))
		}},
		{"file blob truncated", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(blobsDir, e.Outputs[0].Digest), func(b []byte) []byte { return b[:1] })
		}},
		{"tree missing", func(t *testing.T, c *Cache, e *Entry) {
			remove(t, c.path(treesDir, e.Outputs[1].Digest))
		}},
		{"tree byte flipped", func(t *testing.T, c *Cache, e *Entry) {
			rewrite(t, c.path(treesDir, e.Outputs[1].Digest), func(b []byte) []byte { b[len(b)-3] ^= 1; return b })
		}},
		{"blob of tree missing", func(t *testing.T, c *Cache, e *Entry) {
			remove(t, c.path(blobsDir, digest.String("x,y\n1,2\n")))
		}},
		{"link target blob missing", func(t *testing.T, c *Cache, e *Entry) {
			remove(t, c.path(blobsDir, digest.String("a/b/c/deep.csv")))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCache(t)
			src := t.TempDir()
			writeTree(t, src, map[string]file{"model": {Data: "weights"}})
			writeTree(t, filepath.Join(src, "tree"), sampleTree())
			e, err := c.Put(ctx, key("k"), []Source{
				{Name: "model", HostPath: filepath.Join(src, "model")},
				{Name: "tree", HostPath: filepath.Join(src, "tree")},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, c, e)
			if got, ok := c.Get(e.Key); ok || got != nil {
				t.Errorf("Get = %v, %v after damage; want a miss", got, ok)
			}
			if c.Has(e.Key) {
				t.Error("Has = true after damage")
			}
		})
	}
}

func TestGetTouchesOldEntries(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	src := t.TempDir()
	writeTree(t, src, map[string]file{"f": {Data: "x"}})
	k := key("k")
	if _, err := c.Put(ctx, k, []Source{{Name: "f", HostPath: filepath.Join(src, "f")}}, nil); err != nil {
		t.Fatal(err)
	}
	put := clock.Now()
	mtime := func() time.Time {
		fi, err := os.Stat(c.path(actionsDir, k))
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	if got := mtime(); !got.Equal(put) {
		t.Fatalf("entry mtime = %v, want the clock's %v", got, put)
	}

	// A use within the hour changes nothing; Has never does.
	clock.Advance(30 * time.Minute)
	c.Get(k)
	if got := mtime(); !got.Equal(put) {
		t.Errorf("after Get within the hour, mtime = %v, want %v", got, put)
	}
	clock.Advance(2 * time.Hour)
	c.Has(k)
	if got := mtime(); !got.Equal(put) {
		t.Errorf("after Has, mtime = %v, want %v", got, put)
	}
	c.Get(k)
	if got, want := mtime(), clock.Now(); !got.Equal(want) {
		t.Errorf("after Get hours later, mtime = %v, want %v", got, want)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// rewrite replaces the content of the file at p with edit's result.
func rewrite(t *testing.T, p string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	makeWritable(t, p)
	if err := os.WriteFile(p, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}
