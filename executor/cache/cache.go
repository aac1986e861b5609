package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// Directory and file names inside the cache root.
const (
	actionsDir = "actions"
	treesDir   = "trees"
	blobsDir   = "blobs"
	tmpDir     = "tmp"
	readmeName = "README"
)

// touchAfter is how stale an entry's or object's modification time must be
// before a use rewrites it. Rewriting on every use would turn each cache hit
// into a metadata write; an hour's precision is plenty for trimming by days.
const touchAfter = time.Hour

// orphanGrace is how long Trim keeps an object that no entry references.
// A Put writes its blobs and trees before its entry, so a young unreferenced
// object may belong to a Put that is still running.
const orphanGrace = 24 * time.Hour

const readme = `This directory holds Lattice's cache of stage outputs.

It may be deleted at any time: Lattice re-runs stages to fill it again.
To make it smaller without losing everything, run "lattice cache gc".
Set LATTICE_CACHE to move it elsewhere.

actions/  one entry per stage run, named by the stage's action key
trees/    manifests of output directories, named by their digest
blobs/    file contents, named by their BLAKE3 digest
tmp/      files being written
`

// Cache is a local cache of stage outputs in one directory. See the package
// documentation for its layout and guarantees.
type Cache struct {
	dir     string
	now     func() time.Time
	methods []Method
	workers int
}

// Option configures a Cache.
type Option func(*options)

type options struct {
	now     func() time.Time
	methods []Method
	workers int
}

// WithClock sets the clock that stamps entries and decides their age for
// Trim. The default is time.Now. Tests use it to age entries without waiting.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithRestoreMethods sets the ways Restore may materialise a file, tried in
// the order given. The default is Reflink, Hardlink, Copy. Leaving out
// Hardlink keeps restored files independent of the cache's blobs, at the
// cost of disk space where reflinks are unavailable. Copy is always tried
// last, whether listed or not, because it works everywhere.
func WithRestoreMethods(ms ...Method) Option {
	return func(o *options) { o.methods = append([]Method(nil), ms...) }
}

// WithWorkers sets how many files Put, Restore and Verify process at once.
// The default is GOMAXPROCS, but at least 4: much of the work is waiting for
// the filesystem rather than computing.
func WithWorkers(n int) Option {
	return func(o *options) { o.workers = n }
}

// DefaultDir is the cache directory to use when none is given:
// $LATTICE_CACHE when set, else "lattice" in the user's cache directory
// (~/.cache/lattice on Linux).
func DefaultDir() (string, error) {
	if dir := os.Getenv("LATTICE_CACHE"); dir != "" {
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("LATTICE_CACHE is the relative path %q; it must be absolute", dir)
		}
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory (set LATTICE_CACHE to choose one): %w", err)
	}
	return filepath.Join(base, "lattice"), nil
}

// Open opens the cache in dir, creating the directory and its layout when
// they do not exist.
func Open(dir string, opts ...Option) (*Cache, error) {
	o := options{now: time.Now, workers: max(4, runtime.GOMAXPROCS(0))}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	methods := []Method{Reflink, Hardlink, Copy}
	if o.methods != nil {
		methods = append(o.methods[:len(o.methods):len(o.methods)], Copy)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening cache %s: %w", dir, err)
	}
	for _, sub := range []string{actionsDir, treesDir, blobsDir, tmpDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o777); err != nil {
			return nil, fmt.Errorf("opening cache: %w", err)
		}
	}
	c := &Cache{dir: abs, now: o.now, methods: methods, workers: o.workers}
	rp := filepath.Join(abs, readmeName)
	if _, err := os.Stat(rp); errors.Is(err, fs.ErrNotExist) {
		if err := digest.WriteFileAtomic(rp, []byte(readme), 0o666); err != nil {
			return nil, fmt.Errorf("opening cache: %w", err)
		}
	}
	return c, nil
}

// Dir is the cache's root directory, as an absolute path.
func (c *Cache) Dir() string { return c.dir }

// objectName is the file name of the object or entry named by d.
func objectName(d digest.Digest) string {
	if d.Algo == digest.BLAKE3 {
		return d.Hex()
	}
	return string(d.Algo) + "-" + d.Hex()
}

// parseObjectName inverts objectName. It rejects anything else, such as the
// temporary files of a write in progress.
func parseObjectName(name string) (digest.Digest, bool) {
	s := string(digest.BLAKE3) + ":" + name
	if algo, hx, ok := strings.Cut(name, "-"); ok {
		s = algo + ":" + hx
	}
	d, err := digest.Parse(s)
	if err != nil || objectName(d) != name {
		return digest.Digest{}, false
	}
	return d, true
}

// path is where the object or entry named by d lives in the area sub.
func (c *Cache) path(sub string, d digest.Digest) string {
	hx := d.Hex()
	return filepath.Join(c.dir, sub, hx[:2], objectName(d))
}

// touch records a use of the file at path by moving its modification time
// to now, unless it was set within the last touchAfter. Failing to touch is
// harmless (the file may merely be trimmed sooner), so errors are ignored.
func (c *Cache) touch(path string, mtime time.Time) {
	now := c.now()
	if now.Sub(mtime) > touchAfter {
		_ = os.Chtimes(path, now, now)
	}
}
