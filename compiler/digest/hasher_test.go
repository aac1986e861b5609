package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"lukechampine.com/blake3"
)

func TestPathFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	tests := map[string][]byte{
		"empty":                 {},
		"one byte":              {'x'},
		"one chunk":             random(1024),
		"one segment":           random(defaultSegmentSize),
		"one segment and a bit": random(defaultSegmentSize + 1),
		"several segments":      random(3*defaultSegmentSize + 4097),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 2, 4} {
				got, err := NewHasher(WithWorkers(workers)).Path(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				want := Result{Digest: Digest{Algo: BLAKE3, Sum: blake3.Sum256(content)}, Size: int64(len(content))}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("workers=%d: Path mismatch (-want +got):\n%s", workers, diff)
				}
			}
		})
	}
}

func TestPathMissing(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		"file":                      filepath.Join(dir, "nope"),
		"below a missing directory": filepath.Join(dir, "nope", "deeper"),
		"dangling link":             filepath.Join(dir, "dangling"),
		"relative, gone":            "does-not-exist-here",
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewHasher().Path(context.Background(), p)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Path(%q) error = %v, want one wrapping fs.ErrNotExist", p, err)
			}
		})
	}
}

// sampleTree is a small tree with every kind of entry.
func sampleTree() map[string]file {
	return map[string]file{
		"README":               {content: "hello\n"},
		"bin/run.sh":           {content: "#!/bin/sh\necho run\n", mode: 0o755},
		"data/a.csv":           {content: "a,b\n1,2\n"},
		"data/b.csv":           {content: "a,b\n3,4\n"},
		"data/latest":          {link: "b.csv"},
		"data/nested/deep.txt": {content: "deep"},
		"a.txt":                {content: "sorts before a/ but after a-"},
		"a-b":                  {content: "x"},
		"a/x":                  {content: "in directory a"},
		"a0":                   {content: "sorts after a/"},
		"with space/tab\tname": {content: "odd names are quoted"},
	}
}

func TestTreeManifest(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree(), nil)
	got, err := NewHasher().Path(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	f := func(p string, kind byte, content string) Entry {
		return Entry{Path: p, Kind: kind, Size: int64(len(content)), Digest: String(content)}
	}
	want := &Manifest{Entries: []Entry{
		f("README", KindFile, "hello\n"),
		f("a-b", KindFile, "x"),
		f("a.txt", KindFile, "sorts before a/ but after a-"),
		f("a/x", KindFile, "in directory a"),
		f("a0", KindFile, "sorts after a/"),
		f("bin/run.sh", KindExec, "#!/bin/sh\necho run\n"),
		f("data/a.csv", KindFile, "a,b\n1,2\n"),
		f("data/b.csv", KindFile, "a,b\n3,4\n"),
		f("data/latest", KindSymlink, "b.csv"),
		f("data/nested/deep.txt", KindFile, "deep"),
		f("with space/tab\tname", KindFile, "odd names are quoted"),
	}}
	if diff := cmp.Diff(want, got.Manifest); diff != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseManifest(bytes.NewReader(got.Manifest.Text())); err != nil {
		t.Errorf("the manifest's text does not parse back: %v", err)
	}
	if !got.Dir || got.Digest != want.Digest() || got.Size != want.Size() {
		t.Errorf("got Dir=%v Digest=%s Size=%d, want Dir=true Digest=%s Size=%d",
			got.Dir, got.Digest, got.Size, want.Digest(), want.Size())
	}
}

// TestTreeDigestIgnoresLocationAndOrder builds the same tree in two places,
// creating files in opposite orders and at different times, and through a
// symlink to the root; all must hash alike.
func TestTreeDigestIgnoresLocationAndOrder(t *testing.T) {
	files := sampleTree()
	var order []string
	for p := range files {
		order = append(order, p)
	}
	slices.Sort(order)
	first := filepath.Join(t.TempDir(), "one")
	writeTree(t, first, files, order)
	slices.Reverse(order)
	second := filepath.Join(t.TempDir(), "elsewhere", "two")
	writeTree(t, second, files, order)
	ageFiles(t, second)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(first, link); err != nil {
		t.Fatal(err)
	}

	h := NewHasher()
	want, err := h.Path(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(first))
	for _, p := range []string{second, link, "one/", "./one/../one"} {
		got, err := h.Path(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s hashes differently from %s (-want +got):\n%s", p, first, diff)
		}
	}
}

func TestTreeDigestChanges(t *testing.T) {
	tests := []struct {
		name    string
		change  func(t *testing.T, root string)
		changed bool
	}{
		{"nothing", func(*testing.T, string) {}, false},
		{"empty directory added", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "empty", "nested"))
		}, false},
		{"mtime changed", func(t *testing.T, root string) {
			old := time.Now().Add(-48 * time.Hour)
			check(t, os.Chtimes(filepath.Join(root, "README"), old, old))
		}, false},
		{"read-only", func(t *testing.T, root string) {
			check(t, os.Chmod(filepath.Join(root, "README"), 0o444))
		}, false},
		{"exec bit set", func(t *testing.T, root string) {
			check(t, os.Chmod(filepath.Join(root, "README"), 0o744))
		}, true},
		{"exec bit cleared", func(t *testing.T, root string) {
			check(t, os.Chmod(filepath.Join(root, "bin/run.sh"), 0o644))
		}, true},
		{"symlink retargeted", func(t *testing.T, root string) {
			p := filepath.Join(root, "data/latest")
			check(t, os.Remove(p))
			check(t, os.Symlink("a.csv", p))
		}, true},
		{"symlink replaced by its target's content", func(t *testing.T, root string) {
			p := filepath.Join(root, "data/latest")
			check(t, os.Remove(p))
			check(t, os.WriteFile(p, []byte("a,b\n3,4\n"), 0o644))
		}, true},
		{"symlink added", func(t *testing.T, root string) {
			check(t, os.Symlink("README", filepath.Join(root, "readme")))
		}, true},
		{"file content changed", func(t *testing.T, root string) {
			check(t, os.WriteFile(filepath.Join(root, "data/a.csv"), []byte("a,b\n1,3\n"), 0o644))
		}, true},
		{"file renamed", func(t *testing.T, root string) {
			check(t, os.Rename(filepath.Join(root, "data/a.csv"), filepath.Join(root, "data/c.csv")))
		}, true},
		{"file moved to a subdirectory", func(t *testing.T, root string) {
			check(t, os.Rename(filepath.Join(root, "README"), filepath.Join(root, "bin/README")))
		}, true},
		{"empty file added", func(t *testing.T, root string) {
			check(t, os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
		}, true},
	}
	base := t.TempDir()
	writeTree(t, base, sampleTree(), nil)
	want, err := NewHasher().Path(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, sampleTree(), nil)
			tt.change(t, root)
			got, err := NewHasher().Path(context.Background(), root)
			if err != nil {
				t.Fatal(err)
			}
			if changed := got.Digest != want.Digest; changed != tt.changed {
				added, removed, modified := got.Manifest.Diff(want.Manifest)
				t.Errorf("digest changed = %v, want %v (added %q, removed %q, changed %q)",
					changed, tt.changed, added, removed, modified)
			}
		})
	}
}

func TestStatCacheHitAvoidsRead(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree(), nil)
	ageFiles(t, root)
	h := NewHasher(WithStatCache(OpenStatCache("")))
	first, err := h.Path(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	regular := int64(len(first.Manifest.Entries) - 1) // one entry is a symlink
	if diff := cmp.Diff(Stats{FilesChecked: regular, FilesHashed: regular, BytesHashed: first.Size - int64(len("b.csv"))}, h.Stats()); diff != "" {
		t.Errorf("first pass stats (-want +got):\n%s", diff)
	}
	second, err := h.Path(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second pass differs (-first +second):\n%s", diff)
	}
	want := Stats{FilesChecked: 2 * regular, FilesHashed: regular, BytesHashed: first.Size - int64(len("b.csv")), StatCacheHits: regular}
	if diff := cmp.Diff(want, h.Stats()); diff != "" {
		t.Errorf("second pass stats (-want +got):\n%s", diff)
	}
}

// TestEditOneOfManyFiles is the stat cache's promise: after one byte of one
// file among 10,000 changes, a new process with the saved cache reads that
// file and no other, and the manifests name it.
func TestEditOneOfManyFiles(t *testing.T) {
	const dirs, perDir = 100, 100
	root := t.TempDir()
	files := map[string]file{}
	for d := range dirs {
		for f := range perDir {
			files[fmt.Sprintf("shard-%03d/item-%03d.txt", d, f)] = file{content: fmt.Sprintf("record %d/%d\n", d, f)}
		}
	}
	writeTree(t, root, files, nil)
	ageFiles(t, root)
	cachePath := filepath.Join(t.TempDir(), "state", "statcache")
	ctx := context.Background()

	c := OpenStatCache(cachePath)
	first, err := NewHasher(WithStatCache(c)).Path(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	check(t, c.Save())

	edited := "shard-042/item-007.txt"
	p := filepath.Join(root, filepath.FromSlash(edited))
	check(t, os.WriteFile(p, []byte("record 42/8\n"), 0o644)) // same size

	c = OpenStatCache(cachePath)
	if c.Discarded() || c.Len() != dirs*perDir {
		t.Fatalf("reloaded cache: Discarded=%v (%s), Len=%d, want false, %d", c.Discarded(), c.DiscardReason(), c.Len(), dirs*perDir)
	}
	h := NewHasher(WithStatCache(c))
	second, err := h.Path(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{FilesChecked: dirs * perDir, FilesHashed: 1, BytesHashed: int64(len("record 42/8\n")), StatCacheHits: dirs*perDir - 1}
	if diff := cmp.Diff(want, h.Stats()); diff != "" {
		t.Errorf("second pass stats (-want +got):\n%s", diff)
	}
	added, removed, changed := second.Manifest.Diff(first.Manifest)
	if diff := cmp.Diff([]string{edited}, changed); diff != "" || len(added)+len(removed) > 0 {
		t.Errorf("Diff: added %q, removed %q, changed (-want +got):\n%s", added, removed, diff)
	}
	fresh, err := NewHasher().Path(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Digest != second.Digest {
		t.Errorf("digest with cache %s, without %s", second.Digest, fresh.Digest)
	}
}

// TestRacyClean checks that an entry recorded too soon after its file's
// modification time is not trusted, however well the stat matches: on a
// filesystem with coarse timestamps a rewrite in the same tick would leave
// the stat unchanged.
func TestRacyClean(t *testing.T) {
	tests := []struct {
		name string
		// after is when the entry is recorded, relative to the file's
		// modification time.
		after   time.Duration
		trusted bool
	}{
		{"same instant", 0, false},
		{"within a second", 900 * time.Millisecond, false},
		{"just under the slack", 2*time.Second - 1, false},
		{"at the slack", 2 * time.Second, true},
		{"an hour later", time.Hour, true},
		{"clock behind the file", -time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			check(t, os.WriteFile(p, []byte("contents"), 0o644))
			fi, err := os.Stat(p)
			check(t, err)
			c := OpenStatCache("")
			h := NewHasher(WithStatCache(c), WithClock(fixedClock(fi.ModTime().Add(tt.after))))
			for range 2 {
				if _, err := h.Path(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			}
			wantHashed := int64(2)
			if tt.trusted {
				wantHashed = 1
			}
			if got := h.Stats().FilesHashed; got != wantHashed {
				t.Errorf("FilesHashed = %d, want %d", got, wantHashed)
			}
		})
	}
}

// TestRacyRewriteSameSecond rewrites a file right after hashing it, keeping
// its size and putting its modification time back, as a filesystem with
// one-second timestamps would show it. The next pass must read the new
// bytes.
func TestRacyRewriteSameSecond(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	check(t, os.WriteFile(p, []byte("version 1"), 0o644))
	fi, err := os.Stat(p)
	check(t, err)
	mtime := fi.ModTime()

	cachePath := filepath.Join(dir, "statcache")
	c := OpenStatCache(cachePath)
	h := NewHasher(WithStatCache(c))
	first, err := h.Path(context.Background(), p)
	check(t, err)
	check(t, c.Save())

	check(t, os.WriteFile(p, []byte("version 2"), 0o644))
	check(t, os.Chtimes(p, mtime, mtime))

	h = NewHasher(WithStatCache(OpenStatCache(cachePath)))
	second, err := h.Path(context.Background(), p)
	check(t, err)
	if want := String("version 2"); second.Digest != want || second.Digest == first.Digest {
		t.Errorf("after rewrite got %s, want %s", second.Digest, want)
	}
	if got := h.Stats().FilesHashed; got != 1 {
		t.Errorf("FilesHashed = %d, want 1", got)
	}
}

func TestCorruptStatCacheIsIgnored(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree(), nil)
	ageFiles(t, root)
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "statcache")
	c := OpenStatCache(good)
	want, err := NewHasher(WithStatCache(c)).Path(ctx, root)
	check(t, err)
	check(t, c.Save())
	valid, err := os.ReadFile(good)
	check(t, err)

	flip := func(at int) []byte {
		b := bytes.Clone(valid)
		b[at] ^= 0x01
		return b
	}
	withVersion := func(v byte) []byte {
		b := bytes.Clone(valid[:len(valid)-Size])
		b[len(statCacheMagic)] = v
		sum := Bytes(b)
		return append(b, sum.Sum[:]...)
	}
	tests := map[string][]byte{
		"empty":                   {},
		"magic only":              []byte(statCacheMagic),
		"truncated by one byte":   valid[:len(valid)-1],
		"truncated in half":       valid[:len(valid)/2],
		"byte flipped in magic":   flip(0),
		"byte flipped in version": flip(len(statCacheMagic)),
		"byte flipped in count":   flip(len(statCacheMagic) + 4),
		"byte flipped in body":    flip(len(valid) / 2),
		"byte flipped in sum":     flip(len(valid) - 1),
		"future version":          withVersion(statCacheVersion + 1),
		"garbage":                 bytes.Repeat([]byte("garbage!"), 1000),
	}
	regular := int64(len(want.Manifest.Entries) - 1)
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "statcache")
			check(t, os.WriteFile(p, content, 0o644))
			c := OpenStatCache(p)
			if !c.Discarded() || c.DiscardReason() == "" || c.Len() != 0 {
				t.Fatalf("OpenStatCache: Discarded=%v reason=%q Len=%d, want true, a reason, 0", c.Discarded(), c.DiscardReason(), c.Len())
			}
			h := NewHasher(WithStatCache(c))
			got, err := h.Path(ctx, root)
			check(t, err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Path mismatch (-want +got):\n%s", diff)
			}
			if s := h.Stats(); s.FilesHashed != regular || s.StatCacheHits != 0 {
				t.Errorf("stats %+v, want every one of %d files hashed", s, regular)
			}
			check(t, c.Save())
			if c := OpenStatCache(p); c.Discarded() || c.Len() != int(regular) {
				t.Errorf("after Save: Discarded=%v (%s) Len=%d, want false, %d", c.Discarded(), c.DiscardReason(), c.Len(), regular)
			}
		})
	}
}

func TestStatCacheUnreadable(t *testing.T) {
	// A directory where the file should be cannot be read as one.
	p := t.TempDir()
	c := OpenStatCache(p)
	if !c.Discarded() || c.Len() != 0 {
		t.Errorf("Discarded=%v Len=%d, want true, 0", c.Discarded(), c.Len())
	}
}

// TestConcurrentPaths hashes trees from several goroutines sharing one
// hasher and one cache; run it with -race.
func TestConcurrentPaths(t *testing.T) {
	root := t.TempDir()
	files := sampleTree()
	for i := range 200 {
		files[fmt.Sprintf("many/%d", i)] = file{content: fmt.Sprint(i)}
	}
	files["big"] = file{content: string(bytes.Repeat([]byte("0123456789abcdef"), 3*defaultSegmentSize/16+100))}
	writeTree(t, root, files, nil)
	ageFiles(t, root)
	want, err := NewHasher().Path(context.Background(), root)
	check(t, err)

	c := OpenStatCache(filepath.Join(t.TempDir(), "statcache"))
	h := NewHasher(WithStatCache(c), WithWorkers(4))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			p := root
			if i%2 == 1 {
				p = filepath.Join(root, "big")
			}
			got, err := h.Path(context.Background(), p)
			switch {
			case err != nil:
				errs[i] = err
			case i%2 == 0 && got.Digest != want.Digest:
				errs[i] = fmt.Errorf("tree digest %s, want %s", got.Digest, want.Digest)
			case i%2 == 1 && got.Digest != String(files["big"].content):
				errs[i] = fmt.Errorf("file digest %s is wrong", got.Digest)
			}
			if i == 3 {
				errs[i] = errors.Join(errs[i], c.Save())
			}
		})
	}
	wg.Wait()
	check(t, errors.Join(errs...))
	check(t, c.Save())
}

func TestPathCancelled(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, sampleTree(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewHasher().Path(ctx, root); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	check(t, os.MkdirAll(p, 0o755))
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTreeOrderRandomNames checks that the walk emits entries in manifest
// order for names built from the bytes that sort around "/".
func TestTreeOrderRandomNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := "!-.0Aa~"
	name := func() string {
		for {
			b := make([]byte, 1+rng.IntN(3))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			if s := string(b); s != "." && s != ".." {
				return s
			}
		}
	}
	files := map[string]file{}
	dirs := map[string]bool{}
	for range 300 {
		parts := make([]string, 1+rng.IntN(3))
		for i := range parts {
			parts[i] = name()
		}
		p := strings.Join(parts, "/")
		// A path cannot be both a file and a directory.
		conflict := dirs[p]
		for i := 1; i < len(parts); i++ {
			if _, ok := files[strings.Join(parts[:i], "/")]; ok {
				conflict = true
			}
		}
		if conflict {
			continue
		}
		for i := 1; i < len(parts); i++ {
			dirs[strings.Join(parts[:i], "/")] = true
		}
		files[p] = file{content: p}
	}
	root := t.TempDir()
	writeTree(t, root, files, nil)
	got, err := NewHasher(WithWorkers(3)).Path(context.Background(), root)
	check(t, err)
	var paths []string
	for _, e := range got.Manifest.Entries {
		paths = append(paths, e.Path)
		if e.Digest != String(e.Path) {
			t.Errorf("%s: wrong digest", e.Path)
		}
	}
	want := slices.Sorted(maps.Keys(files))
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("manifest paths (-sorted +got):\n%s", diff)
	}
}
