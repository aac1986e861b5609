package digest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Hasher computes the content digests of files and directory trees. With a
// StatCache it reads only the files whose stat changed since they were last
// hashed. A Hasher is safe for concurrent use; its counters add up over all
// calls.
type Hasher struct {
	cache   *StatCache
	workers int
	now     func() time.Time

	// buffers holds *[defaultSegmentSize]byte read buffers, one per file
	// or segment being hashed at a time.
	buffers sync.Pool
	sum     sumOptions

	filesChecked  atomic.Int64
	filesHashed   atomic.Int64
	bytesHashed   atomic.Int64
	statCacheHits atomic.Int64
}

// Option configures NewHasher.
type Option func(*options)

type options struct {
	cache   *StatCache
	workers int
	now     func() time.Time
}

// WithStatCache makes the hasher consult and update c. Without it every file
// is read.
func WithStatCache(c *StatCache) Option {
	return func(o *options) { o.cache = c }
}

// WithWorkers sets how many files, or segments of one large file, are hashed
// at once. The default, and the value used for n < 1, is runtime.NumCPU().
func WithWorkers(n int) Option {
	return func(o *options) { o.workers = n }
}

// WithClock sets the clock that timestamps stat cache entries, which decides
// when a freshly written file can be trusted (see StatCache). The default is
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// NewHasher returns a Hasher configured by opts.
func NewHasher(opts ...Option) *Hasher {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = runtime.NumCPU()
	}
	h := &Hasher{cache: o.cache, workers: o.workers, now: o.now}
	h.buffers.New = func() any { return new([defaultSegmentSize]byte) }
	h.sum = sumOptions{
		segmentSize: defaultSegmentSize,
		workers:     h.workers,
		buffer:      func() []byte { return h.buffers.Get().(*[defaultSegmentSize]byte)[:] },
		release:     func(b []byte) { h.buffers.Put((*[defaultSegmentSize]byte)(b)) },
	}
	return h
}

// Result describes a hashed path.
type Result struct {
	// Digest is the file's BLAKE3 digest, or for a directory the digest of
	// its Manifest.
	Digest Digest
	// Size is the file's size, or for a directory the total size of its
	// entries, a symlink counting as the length of its target.
	Size int64
	// Dir reports whether the path is a directory.
	Dir bool
	// Manifest lists a directory's files; it is nil for a file.
	Manifest *Manifest
}

// Stats counts the hasher's work since it was created.
type Stats struct {
	// FilesChecked counts regular files whose stat was examined.
	FilesChecked int64 `json:"files_checked"`
	// FilesHashed counts files actually read; a file read again because it
	// changed while being hashed counts twice.
	FilesHashed int64 `json:"files_hashed"`
	// BytesHashed counts the bytes read to hash files.
	BytesHashed int64 `json:"bytes_hashed"`
	// StatCacheHits counts files whose digest came from the stat cache.
	StatCacheHits int64 `json:"stat_cache_hits"`
}

// Stats returns the counters so far.
func (h *Hasher) Stats() Stats {
	return Stats{
		FilesChecked:  h.filesChecked.Load(),
		FilesHashed:   h.filesHashed.Load(),
		BytesHashed:   h.bytesHashed.Load(),
		StatCacheHits: h.statCacheHits.Load(),
	}
}

// Path hashes the file or directory at path, following path itself if it is
// a symlink. A regular file gets the BLAKE3 digest of its bytes. A directory
// is walked without following symlinks inside it: each regular file and
// symlink becomes an entry of its Manifest, and the directory's digest is
// the manifest's, so it depends on names, contents, execute bits and link
// targets but not on where the tree lives, when it was written or which
// empty directories it holds. A path that does not exist gives an error
// wrapping fs.ErrNotExist.
func (h *Hasher) Path(ctx context.Context, path string) (Result, error) {
	res, err := h.path(ctx, path)
	if err != nil {
		return Result{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return res, nil
}

func (h *Hasher) path(ctx context.Context, path string) (Result, error) {
	root := filepath.Clean(path)
	key, err := filepath.Abs(root)
	if err != nil {
		return Result{}, err
	}
	var st fileStat
	if err := statPath(root, &st); err != nil {
		return Result{}, err
	}
	switch {
	case st.mode.IsDir():
		m, err := h.tree(ctx, root, key)
		if err != nil {
			return Result{}, err
		}
		return Result{Digest: m.Digest(), Size: m.Size(), Dir: true, Manifest: m}, nil
	case st.mode.IsRegular():
		h.filesChecked.Add(1)
		if d, ok := h.cache.lookup(key, &st); ok {
			h.statCacheHits.Add(1)
			return Result{Digest: d, Size: st.size}, nil
		}
		d, st, err := h.hashFile(ctx, root, key)
		if err != nil {
			return Result{}, err
		}
		return Result{Digest: d, Size: st.size}, nil
	default:
		return Result{}, unsupported(st.mode)
	}
}

// unsupported is the error for a file that is neither regular, a directory
// nor a symlink. Reading a named pipe or a device could block or never end,
// and a socket has no content, so such files are refused rather than
// skipped: a digest that silently left them out would describe a different
// tree.
func unsupported(mode fs.FileMode) error {
	return fmt.Errorf("a %s cannot be hashed (only regular files, directories and symlinks can)", kindName(mode))
}

func kindName(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}

// hashFile reads and hashes the regular file at path and records the result
// in the stat cache under key. It returns the stat the digest belongs to. A
// file that changes while it is read, as seen by comparing its stat before
// and after, is read again, up to three times in all.
func (h *Hasher) hashFile(ctx context.Context, path, key string) (Digest, fileStat, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		started := h.now()
		d, before, after, err := h.readFile(ctx, path)
		if err == nil && before == after {
			h.cache.record(key, &before, d, started)
			return d, before, nil
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return Digest{}, fileStat{}, err
		}
		if attempt == attempts {
			return Digest{}, fileStat{}, fmt.Errorf("%s kept changing while it was hashed", path)
		}
	}
}

// readFile hashes the file at path and returns its stat before and after.
func (h *Hasher) readFile(ctx context.Context, path string) (d Digest, before, after fileStat, err error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, before, after, err
	}
	defer f.Close()
	if err := statOpen(f, &before); err != nil {
		return Digest{}, before, after, err
	}
	if !before.mode.IsRegular() {
		return Digest{}, before, after, fmt.Errorf("%s: %w", path, unsupported(before.mode))
	}
	h.filesHashed.Add(1)
	h.bytesHashed.Add(before.size)
	sum, err := sumReaderAt(ctx, f, before.size, h.sum)
	if err != nil {
		return Digest{}, before, after, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := statOpen(f, &after); err != nil {
		return Digest{}, before, after, err
	}
	return Digest{Algo: BLAKE3, Sum: sum}, before, after, nil
}

// tree walks the directory root and returns its manifest. Directories are
// listed and files hashed by up to h.workers goroutines: each directory
// lists itself, stats its entries, answers what it can from the stat cache,
// and hands the remaining files and its subdirectories to idle workers, or
// handles them itself when none is idle.
func (h *Hasher) tree(ctx context.Context, root, key string) (*Manifest, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(h.workers)
	w := &walker{h: h, ctx: ctx, g: g, root: root, key: key}
	top := &dirNode{}
	g.Go(func() error { return w.dir(top) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	m := &Manifest{Entries: make([]Entry, 0, w.files.Load())}
	top.appendTo(&m.Entries)
	return m, nil
}

// walker is the state of one tree walk.
type walker struct {
	h   *Hasher
	ctx context.Context
	g   *errgroup.Group
	// root is the tree's path as given, for opening files; key is its
	// absolute form, which prefixes stat cache keys.
	root, key string
	// files counts the entries found, to size the manifest.
	files atomic.Int64
}

// dirNode is one directory of a walk. Each directory's children are sorted
// so that visiting the nodes depth first yields entries in manifest order,
// which spares sorting the whole manifest at the end.
type dirNode struct {
	// rel is the directory's slash-separated path relative to the root,
	// "" for the root itself.
	rel string
	// entries holds the directory's files and symlinks in order. Their
	// digests are filled in by whichever goroutine hashes them, before the
	// walk's errgroup returns.
	entries []Entry
	// subdirs[i] sorts just before entries[at[i]].
	subdirs []*dirNode
	at      []int
}

// appendTo appends the entries of the tree under n to out, in order.
func (n *dirNode) appendTo(out *[]Entry) {
	next := 0
	for i, sub := range n.subdirs {
		*out = append(*out, n.entries[next:n.at[i]]...)
		next = n.at[i]
		sub.appendTo(out)
	}
	*out = append(*out, n.entries[next:]...)
}

// pending is a file of a directory that the stat cache could not answer.
type pending struct {
	index     int
	path, key string
}

// dir hashes the directory n.
func (w *walker) dir(n *dirNode) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	todo, err := w.scan(n)
	if err != nil {
		return err
	}
	// n.entries no longer grows, so goroutines may fill in its elements.
	for _, p := range todo {
		hash := func() error {
			d, st, err := w.h.hashFile(w.ctx, p.path, p.key)
			if err != nil {
				return err
			}
			e := &n.entries[p.index]
			e.Kind, e.Size, e.Digest = fileKind(st.mode), st.size, d
			return nil
		}
		if !w.g.TryGo(hash) {
			if err := hash(); err != nil {
				return err
			}
		}
	}
	for _, sub := range n.subdirs {
		walk := func() error { return w.dir(sub) }
		if !w.g.TryGo(walk) {
			if err := walk(); err != nil {
				return err
			}
		}
	}
	return nil
}

// child is a directory entry and its lstat.
type child struct {
	name string
	st   fileStat
}

// compare orders siblings as their entries' paths sort in a manifest: a
// directory compares as its name followed by the "/" that joins it to its
// own entries' names, so directory "a" sorts after file "a.txt" ('.' <
// '/') and before file "a0".
func (c *child) compare(d *child) int {
	n := min(len(c.name), len(d.name))
	if r := strings.Compare(c.name[:n], d.name[:n]); r != 0 {
		return r
	}
	return cmp.Compare(c.byteAt(n), d.byteAt(n))
}

// byteAt is the i'th byte of the child's sort key, or -1 past its end.
func (c *child) byteAt(i int) int {
	switch {
	case i < len(c.name):
		return int(c.name[i])
	case i == len(c.name) && c.st.mode.IsDir():
		return '/'
	default:
		return -1
	}
}

// scan lists the directory n, stats its entries and fills in n.entries and
// n.subdirs. It returns the files that the stat cache could not answer.
func (w *walker) scan(n *dirNode) ([]pending, error) {
	osDir, keyDir, prefix := w.root, w.key, ""
	if n.rel != "" {
		osDir = withSep(w.root) + filepath.FromSlash(n.rel)
		keyDir = withSep(w.key) + filepath.FromSlash(n.rel)
		prefix = n.rel + "/"
	}
	// osIn and keyIn prefix the names of the directory's entries.
	osIn, keyIn := withSep(osDir), withSep(keyDir)
	f, err := os.Open(osDir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	// Sorting the names as plain strings is cheap and already the final
	// order unless a directory's name is a prefix of a sibling's; only
	// then do the children need sorting again, and pdqsort finishes
	// nearly sorted input in linear time.
	slices.Sort(names)
	children := make([]child, len(names))
	hasDir := false
	for i, name := range names {
		children[i].name = name
		if err := lstatAt(f, osDir, name, &children[i].st); err != nil {
			return nil, err
		}
		hasDir = hasDir || children[i].st.mode.IsDir()
	}
	if hasDir {
		slices.SortFunc(children, func(a, b child) int { return a.compare(&b) })
	}

	n.entries = make([]Entry, 0, len(children))
	var regular []int // indexes into children and n.entries
	for i := range children {
		c := &children[i]
		switch {
		case c.st.mode.IsDir():
			n.subdirs = append(n.subdirs, &dirNode{rel: prefix + c.name})
			n.at = append(n.at, len(n.entries))
		case c.st.mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(osIn + c.name)
			if err != nil {
				return nil, err
			}
			n.entries = append(n.entries, Entry{
				Path:   prefix + c.name,
				Kind:   KindSymlink,
				Size:   int64(len(target)),
				Digest: String(target),
			})
		case c.st.mode.IsRegular():
			regular = append(regular, i, len(n.entries))
			n.entries = append(n.entries, Entry{Path: prefix + c.name, Kind: fileKind(c.st.mode), Size: c.st.size})
		default:
			return nil, fmt.Errorf("%s: %w", osIn+c.name, unsupported(c.st.mode))
		}
	}

	// Stat cache keys are built in one reused buffer and looked up under
	// one read lock per directory: a warm walk makes 100,000 lookups.
	var todo []pending
	var hits int64
	key := []byte(keyIn)
	dirLen := len(key)
	r := w.h.cache.reader()
	for j := 0; j < len(regular); j += 2 {
		c, e := &children[regular[j]], &n.entries[regular[j+1]]
		key = append(key[:dirLen], c.name...)
		if d, ok := r.get(key, &c.st); ok {
			e.Digest = d
			hits++
			continue
		}
		todo = append(todo, pending{index: regular[j+1], path: osIn + c.name, key: string(key)})
	}
	r.done()
	w.h.filesChecked.Add(int64(len(regular) / 2))
	w.h.statCacheHits.Add(hits)
	w.files.Add(int64(len(n.entries)))
	return todo, nil
}

// withSep returns dir ending in exactly one path separator, so that the root
// directory "/" does not become "//".
func withSep(dir string) string {
	if strings.HasSuffix(dir, string(os.PathSeparator)) {
		return dir
	}
	return dir + string(os.PathSeparator)
}

// fileKind is the manifest kind of a regular file: any execute bit makes it
// executable, since that is what a stage running it would see.
func fileKind(mode fs.FileMode) byte {
	if mode&0o111 != 0 {
		return KindExec
	}
	return KindFile
}
