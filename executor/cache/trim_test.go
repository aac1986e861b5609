package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lattice.dev/lattice/compiler/digest"
)

// putFiles puts one file output per entry of files, each named after its
// file, under key(name).
func putFiles(t *testing.T, c *Cache, name string, files map[string]file) *Entry {
	t.Helper()
	src := t.TempDir()
	writeTree(t, src, files)
	var srcs []Source
	for f := range files {
		srcs = append(srcs, Source{Name: f, HostPath: filepath.Join(src, f)})
	}
	e, err := c.Put(context.Background(), key(name), srcs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// hits lists which of the named entries Get finds.
func hits(c *Cache, names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = c.Has(key(n))
	}
	return m
}

func verifyClean(t *testing.T, c *Cache) {
	t.Helper()
	rep, err := c.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("Verify found problems: %+v", rep.Problems)
	}
}

func TestTrimByAge(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	day := 24 * time.Hour

	putFiles(t, c, "old", map[string]file{"a": {Data: "only in old"}, "shared": {Data: "shared"}})
	clock.Advance(1 * day)
	putFiles(t, c, "used", map[string]file{"b": {Data: "only in used"}})
	clock.Advance(1 * day)
	putFiles(t, c, "new", map[string]file{"shared": {Data: "shared"}})
	clock.Advance(3 * day)
	if _, ok := c.Get(key("used")); !ok {
		t.Fatal("miss")
	}
	clock.Advance(1 * day)

	// Now "old" was last used 6 days ago, "used" 1 day ago and "new" 4.
	rep, err := c.Trim(ctx, TrimOptions{MaxAge: 5 * day})
	if err != nil {
		t.Fatal(err)
	}
	want := TrimReport{EntriesRemoved: 1, BlobsRemoved: 1}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("Trim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"old": false, "used": true, "new": true}, hits(c, "old", "used", "new")); diff != "" {
		t.Errorf("hits after Trim (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(c.path(blobsDir, digest.String("only in old"))); !os.IsNotExist(err) {
		t.Errorf("blob only the trimmed entry used: Stat = %v, want not found", err)
	}
	verifyClean(t, c)

	rep, err = c.Trim(ctx, TrimOptions{MaxAge: 2 * day})
	if err != nil {
		t.Fatal(err)
	}
	want = TrimReport{EntriesRemoved: 1, BlobsRemoved: 1}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("second Trim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"old": false, "used": true, "new": false}, hits(c, "old", "used", "new")); diff != "" {
		t.Errorf("hits after second Trim (-want +got):\n%s", diff)
	}
	verifyClean(t, c)
}

func TestTrimBySize(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	big := func(s string) file { return file{Data: strings.Repeat(s, 1000)} }

	putFiles(t, c, "a", map[string]file{"f": big("a"), "shared": big("s")})
	clock.Advance(time.Hour)
	putFiles(t, c, "b", map[string]file{"f": big("b"), "shared": big("s")})
	clock.Advance(time.Hour)
	putFiles(t, c, "c", map[string]file{"f": big("c")})
	clock.Advance(2 * time.Hour)
	c.Get(key("a")) // now b is the least recently used

	_, _, total, err := c.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Removing b frees its entry and its own blob, but not the blob it
	// shares with a.
	rep, err := c.Trim(ctx, TrimOptions{MaxBytes: total - 1})
	if err != nil {
		t.Fatal(err)
	}
	want := TrimReport{EntriesRemoved: 1, BlobsRemoved: 1}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("Trim (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"a": true, "b": false, "c": true}, hits(c, "a", "b", "c")); diff != "" {
		t.Errorf("hits (-want +got):\n%s", diff)
	}
	_, _, after, err := c.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := total - after; got != rep.BytesFreed {
		t.Errorf("Usage fell by %d bytes, Trim reports freeing %d", got, rep.BytesFreed)
	}
	verifyClean(t, c)

	// A limit no entry fits in empties the cache.
	rep, err = c.Trim(ctx, TrimOptions{MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	want = TrimReport{EntriesRemoved: 2, BlobsRemoved: 3}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("Trim to nothing (-want +got):\n%s", diff)
	}
	entries, blobs, bytes, err := c.Usage(ctx)
	if err != nil || entries != 0 || blobs != 0 || bytes != 0 {
		t.Errorf("Usage after Trim to nothing = %d, %d, %d, %v; want zeros", entries, blobs, bytes, err)
	}
}

func TestTrimKeepsSharedTreeBlobs(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	src := t.TempDir()
	writeTree(t, filepath.Join(src, "v1"), sampleTree())
	writeTree(t, filepath.Join(src, "v2"), sampleTree())
	writeTree(t, filepath.Join(src, "v2"), map[string]file{"README.md": {Data: "changed\n"}})
	if _, err := c.Put(ctx, key("v1"), []Source{{Name: "t", HostPath: filepath.Join(src, "v1")}}, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(48 * time.Hour)
	e2, err := c.Put(ctx, key("v2"), []Source{{Name: "t", HostPath: filepath.Join(src, "v2")}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	rep, err := c.Trim(ctx, TrimOptions{MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// v1's tree goes but none of its blobs: the one file v2 changed,
	// README.md, held the same bytes as weights/dup.md, which v2 still has.
	want := TrimReport{EntriesRemoved: 1, TreesRemoved: 1}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("Trim (-want +got):\n%s", diff)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if _, err := c.Restore(ctx, e2.Outputs[0], dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readTree(t, filepath.Join(src, "v2")), readTree(t, dst)); diff != "" {
		t.Errorf("restored v2 (-want +got):\n%s", diff)
	}
	verifyClean(t, c)
}

// TestInterruptedPut simulates a crash after a Put wrote its blobs and
// tree but not its entry: there is no entry, the cache verifies clean, and
// Trim removes the leftovers once they are old enough not to belong to a
// Put in progress.
func TestInterruptedPut(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := openCache(t, WithClock(clock.Now))
	src := t.TempDir()
	writeTree(t, filepath.Join(src, "tree"), sampleTree())
	writeTree(t, src, map[string]file{"model": {Data: "weights"}})
	srcs := []Source{
		{Name: "tree", HostPath: filepath.Join(src, "tree")},
		{Name: "model", HostPath: filepath.Join(src, "model")},
	}
	outs, err := c.store(ctx, srcs)
	if err != nil {
		t.Fatal(err)
	}
	// A write cut off halfway, in tmp/ and next to the entry.
	writeTree(t, filepath.Join(c.dir, tmpDir), map[string]file{"blob-123": {Data: "half a bl"}})
	entryTmp := c.path(actionsDir, key("k"))
	writeTree(t, filepath.Dir(entryTmp), map[string]file{"." + filepath.Base(entryTmp) + ".tmp-1": {Data: "lattice-act"}})

	if c.Has(key("k")) {
		t.Fatal("entry present after an interrupted Put")
	}
	verifyClean(t, c)
	entries, blobs, _, err := c.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if entries != 0 || blobs != 11 {
		t.Errorf("Usage = %d entries, %d blobs; want 0 and 11", entries, blobs)
	}

	// Young leftovers stay: a Put may be about to reference them.
	rep, err := c.Trim(ctx, TrimOptions{MaxAge: time.Hour, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(TrimReport{}, rep); diff != "" {
		t.Errorf("Trim of young leftovers (-want +got):\n%s", diff)
	}
	// Even blobs that are themselves old stay while a young tree
	// references them.
	old := clock.Now().Add(-72 * time.Hour)
	deep := c.path(blobsDir, digest.String("x,y\n1,2\n"))
	if err := os.Chtimes(deep, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trim(ctx, TrimOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(deep); err != nil {
		t.Errorf("old blob of a young tree was swept: %v", err)
	}

	// A day later they are garbage.
	clock.Advance(25 * time.Hour)
	rep, err = c.Trim(ctx, TrimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := TrimReport{TreesRemoved: 1, BlobsRemoved: 11, TempRemoved: 2}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(TrimReport{}, "BytesFreed")); diff != "" {
		t.Errorf("Trim of old leftovers (-want +got):\n%s", diff)
	}
	if got, want := len(outs), 2; got != want {
		t.Errorf("store returned %d outputs, want %d", got, want)
	}
	entries, blobs, bytes, err := c.Usage(ctx)
	if err != nil || entries != 0 || blobs != 0 || bytes != 0 {
		t.Errorf("Usage after Trim = %d, %d, %d, %v; want zeros", entries, blobs, bytes, err)
	}
}
