package digest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// record is a comparable view of a stat cache entry.
type record struct {
	Stat     fileStat
	Recorded int64
	Digest   Digest
}

func records(c *StatCache) map[string]record {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := map[string]record{}
	for k, e := range c.entries {
		m[k] = record{Stat: e.stat, Recorded: e.recorded, Digest: e.digest}
	}
	return m
}

var compareRecords = cmp.AllowUnexported(fileStat{})

func TestStatCacheRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "deeper", "statcache")
	c := OpenStatCache(p)
	if c.Discarded() || c.Len() != 0 {
		t.Fatalf("missing file: Discarded=%v Len=%d, want false, 0", c.Discarded(), c.Len())
	}
	now := time.Unix(1_700_000_000, 123)
	paths := []string{
		"/data/a", "/data/ab", "/data/b/c", "/data/b/d", "/", "/x y/\n\"odd\"", "/data/é",
	}
	for i, key := range paths {
		st := fileStat{size: int64(i * 1000), mtime: int64(i) << 40, ctime: -int64(i), ino: uint64(i) << 50, dev: 7, mode: 0o755}
		d := String(key)
		if i == 2 {
			d.Algo = SHA256
		}
		c.record(key, &st, d, now.Add(time.Duration(i)))
	}
	check(t, c.Save())

	got := OpenStatCache(p)
	if got.Discarded() {
		t.Fatalf("reloaded cache discarded: %s", got.DiscardReason())
	}
	if diff := cmp.Diff(records(c), records(got), compareRecords); diff != "" {
		t.Errorf("round trip mismatch (-saved +loaded):\n%s", diff)
	}
}

func TestStatCacheSavesOnlyChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "statcache")
	c := OpenStatCache(p)
	check(t, c.Save())
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("Save of an unchanged empty cache wrote a file (stat error %v)", err)
	}
	st := fileStat{size: 1, mtime: 1}
	c.record("/f", &st, String("x"), time.Unix(100, 0))
	check(t, c.Save())
	before, err := os.Stat(p)
	check(t, err)

	c = OpenStatCache(p)
	if _, ok := c.lookup("/f", &st); !ok {
		t.Fatal("lookup of a trusted entry missed")
	}
	check(t, c.Save())
	after, err := os.Stat(p)
	check(t, err)
	if !os.SameFile(before, after) {
		t.Error("Save after lookups only rewrote the file")
	}
}

func TestStatCachePrune(t *testing.T) {
	tests := []struct {
		name  string
		opts  []StatCacheOption
		after []string
	}{
		{"default keeps everything", nil, []string{"/a", "/b", "/c"}},
		{"prune off", []StatCacheOption{WithPrune(false)}, []string{"/a", "/b", "/c"}},
		{"prune drops unused", []StatCacheOption{WithPrune(true)}, []string{"/a", "/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "statcache")
			c := OpenStatCache(p)
			st := fileStat{size: 1}
			for _, k := range []string{"/a", "/b"} {
				c.record(k, &st, String(k), time.Unix(100, 0))
			}
			check(t, c.Save())

			c = OpenStatCache(p, tt.opts...)
			c.lookup("/a", &fileStat{size: 2}) // a miss still counts as use
			c.record("/c", &st, String("/c"), time.Unix(100, 0))
			check(t, c.Save())

			var got []string
			for k := range records(OpenStatCache(p)) {
				got = append(got, k)
			}
			if diff := cmp.Diff(tt.after, got, sortStrings); diff != "" {
				t.Errorf("entries after Save (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatCacheLookup(t *testing.T) {
	st := fileStat{size: 10, mtime: int64(time.Hour), ctime: int64(time.Hour), ino: 5, dev: 1, mode: 0o644}
	recorded := time.Unix(0, int64(2*time.Hour))
	tests := []struct {
		name string
		key  string
		st   fileStat
		want bool
	}{
		{"same", "/f", st, true},
		{"other path", "/g", st, false},
		{"size", "/f", with(st, func(s *fileStat) { s.size++ }), false},
		{"mtime", "/f", with(st, func(s *fileStat) { s.mtime++ }), false},
		{"ctime", "/f", with(st, func(s *fileStat) { s.ctime++ }), false},
		{"inode", "/f", with(st, func(s *fileStat) { s.ino++ }), false},
		{"device", "/f", with(st, func(s *fileStat) { s.dev++ }), false},
		{"mode", "/f", with(st, func(s *fileStat) { s.mode = 0o755 }), false},
	}
	c := OpenStatCache("")
	c.record("/f", &st, String("f"), recorded)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := c.lookup(tt.key, &tt.st)
			if ok != tt.want || (ok && d != String("f")) {
				t.Errorf("lookup = %s, %v; want hit %v", d, ok, tt.want)
			}
		})
	}
	var none *StatCache
	if _, ok := none.lookup("/f", &st); ok {
		t.Error("nil cache hit")
	}
	none.record("/f", &st, String("f"), recorded) // must not panic
}

func with(st fileStat, change func(*fileStat)) fileStat {
	change(&st)
	return st
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// bigStatCache returns a saved stat cache of n entries shaped like those of
// a dataset tree.
func bigStatCache(t testing.TB, n int) string {
	p := filepath.Join(t.TempDir(), "statcache")
	c := OpenStatCache(p)
	now := time.Now()
	for i := range n {
		key := fmt.Sprintf("/home/user/project/data/train/shard-%04d/sample-%06d.jpg", i/1000, i)
		st := fileStat{size: int64(1000 + i), mtime: now.UnixNano() - int64(i), ctime: now.UnixNano(), ino: uint64(1e6 + i), dev: 2049, mode: 0o644}
		c.record(key, &st, String(key), now)
	}
	check(t, c.Save())
	return p
}

func TestStatCacheLarge(t *testing.T) {
	const n = 100_000
	if testing.Short() {
		t.Skip("writes a 100,000-entry cache")
	}
	c := OpenStatCache(bigStatCache(t, n))
	if c.Discarded() || c.Len() != n {
		t.Errorf("Discarded=%v (%s) Len=%d, want false, %d", c.Discarded(), c.DiscardReason(), c.Len(), n)
	}
}
