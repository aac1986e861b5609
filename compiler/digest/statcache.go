package digest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fileStat is what the stat cache compares to decide that a file has not
// changed since it was hashed. Times are nanoseconds since the Unix epoch.
type fileStat struct {
	size  int64
	mtime int64
	ctime int64
	ino   uint64
	dev   uint64
	mode  fs.FileMode
}

// racySlack is how long after a file's modification time an entry must have
// been recorded to be trusted. A file written again within its filesystem's
// timestamp granularity of being hashed can keep the same size and
// modification time while its bytes change ("racily clean", in git's words).
// Two seconds covers the coarsest common granularity (FAT); on filesystems
// with nanosecond timestamps it only costs a second hash of files that were
// written in the last two seconds.
const racySlack = int64(2 * time.Second)

// statEntry is one file's record in the stat cache.
type statEntry struct {
	stat fileStat
	// recorded is when hashing of the file began, in nanoseconds since the
	// Unix epoch. Any write after that moment gives the file a modification
	// time later than recorded minus the timestamp granularity, which is
	// later than stat.mtime whenever the entry is trusted; so a trusted
	// entry's stat can only still match if the bytes hashed are current.
	recorded int64
	digest   Digest
	// seen marks entries looked up or recorded since the cache was opened,
	// which pruning keeps.
	seen atomic.Bool
}

// trusted reports whether e may stand for a file whose current state is st.
func (e *statEntry) trusted(st *fileStat) bool {
	return e.stat == *st && e.recorded-e.stat.mtime >= racySlack
}

// StatCache remembers the digest of each file hashed, keyed by its cleaned
// absolute path and guarded by the file's size, modification and change
// times, inode, device and mode, like git's index. A file whose stat still
// matches its entry is not read again, unless the entry is racily clean:
// recorded less than two seconds after the file's modification time, when
// a rewrite in the same timestamp tick could have left the stat unchanged.
// Such a file is hashed again and its entry recorded anew.
//
// Discarded and DiscardReason describe the file as it was when opened.
// A StatCache is safe for concurrent use. Its zero value is not usable; call
// OpenStatCache.
type StatCache struct {
	path  string
	prune bool

	// saving serialises Save, so that an older snapshot can never be
	// renamed over a newer one.
	saving sync.Mutex

	mu      sync.RWMutex
	entries map[string]*statEntry
	// dirty is set when the entries differ from the file they came from,
	// and changes counts every change, so that Save can tell whether any
	// happened while it was writing.
	dirty   bool
	changes uint64
	// discarded explains why an existing cache file was ignored.
	discarded string
}

// StatCacheOption configures OpenStatCache.
type StatCacheOption func(*statCacheOptions)

type statCacheOptions struct {
	prune bool
}

// WithPrune makes Save drop the entries of paths that were neither looked up
// nor recorded since the cache was opened. It is off by default, so that a
// run which hashes only some datasets keeps the entries of the others.
func WithPrune(prune bool) StatCacheOption {
	return func(o *statCacheOptions) { o.prune = prune }
}

// OpenStatCache loads the stat cache stored at path. A missing file gives an
// empty cache. So does a file that cannot be read or fails any check (magic,
// version, length, checksum, ordering): it is never trusted, Discarded
// reports it and Save replaces it. An empty path gives a cache that lives in
// memory only.
func OpenStatCache(path string, opts ...StatCacheOption) *StatCache {
	var o statCacheOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := &StatCache{path: path, prune: o.prune, entries: map[string]*statEntry{}}
	if path == "" {
		return c
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c
	}
	if err == nil {
		var entries map[string]*statEntry
		if entries, err = decodeStatCache(data); err == nil {
			c.entries = entries
			return c
		}
	}
	c.discarded = err.Error()
	c.dirty = true
	return c
}

// Discarded reports whether an existing cache file was ignored because it
// could not be read or was corrupt.
func (c *StatCache) Discarded() bool { return c.discarded != "" }

// DiscardReason says why the cache file was ignored, or "" if it was not.
func (c *StatCache) DiscardReason() string { return c.discarded }

// Len is the number of entries.
func (c *StatCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// lookup returns the recorded digest of the file at the absolute path key if
// its entry matches st and was recorded safely after the file's last
// modification. A nil cache remembers nothing.
func (c *StatCache) lookup(key string, st *fileStat) (Digest, bool) {
	if c == nil {
		return Digest{}, false
	}
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	return e.use(st)
}

// use marks e as used and returns its digest if it may stand for a file
// whose current state is st.
func (e *statEntry) use(st *fileStat) (Digest, bool) {
	if e == nil {
		return Digest{}, false
	}
	if !e.seen.Load() {
		e.seen.Store(true)
	}
	if !e.trusted(st) {
		return Digest{}, false
	}
	return e.digest, true
}

// statReader looks up many keys under one read lock, which a directory of
// files takes once rather than once per file. Call done when finished.
type statReader struct {
	c *StatCache
}

func (c *StatCache) reader() statReader {
	if c != nil {
		c.mu.RLock()
	}
	return statReader{c}
}

// get is lookup with the key in a reusable buffer.
func (r statReader) get(key []byte, st *fileStat) (Digest, bool) {
	if r.c == nil {
		return Digest{}, false
	}
	return r.c.entries[string(key)].use(st)
}

func (r statReader) done() {
	if r.c != nil {
		r.c.mu.RUnlock()
	}
}

// record stores the digest of the file at the absolute path key, whose state
// was st when hashing began at time recorded.
func (c *StatCache) record(key string, st *fileStat, d Digest, recorded time.Time) {
	if c == nil {
		return
	}
	e := &statEntry{stat: *st, recorded: recorded.UnixNano(), digest: d}
	e.seen.Store(true)
	c.mu.Lock()
	c.entries[key] = e
	c.dirty = true
	c.changes++
	c.mu.Unlock()
}

// Save writes the cache back to its file if anything changed, atomically, so
// that a crash or a concurrent reader never sees a partial file. When two
// processes save the same cache the last rename wins; either result is
// valid. With WithPrune, entries not used since the cache was opened are
// dropped first.
func (c *StatCache) Save() error {
	if c.path == "" {
		return nil
	}
	c.saving.Lock()
	defer c.saving.Unlock()

	// Lookups and records wait only while the entries are encoded, not
	// while the file is written and flushed.
	c.mu.Lock()
	if c.prune {
		for k, e := range c.entries {
			if !e.seen.Load() {
				delete(c.entries, k)
				c.dirty = true
				c.changes++
			}
		}
	}
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	data, changes := encodeStatCache(c.entries), c.changes
	c.mu.Unlock()

	if err := os.MkdirAll(filepath.Dir(c.path), 0o777); err != nil {
		return fmt.Errorf("saving stat cache: %w", err)
	}
	if err := WriteFileAtomic(c.path, data, 0o666); err != nil {
		return fmt.Errorf("saving stat cache: %w", err)
	}
	c.mu.Lock()
	if c.changes == changes {
		c.dirty = false
	}
	c.mu.Unlock()
	return nil
}

// The stat cache file is
//
//	magic     "lattice-statcache\n"
//	version   uint32
//	count     uint32
//	count entries, sorted by path, each
//	    shared    uvarint  bytes in common with the previous path
//	    suffixLen uvarint
//	    suffix    [suffixLen]byte
//	    size, mtime, ctime int64; ino, dev uint64; mode uint32;
//	    recorded int64; algorithm uint8; sum [32]byte
//	checksum  [32]byte  BLAKE3 of everything before it
//
// with integers little-endian. Paths share long prefixes (the dataset's
// directory), so each is stored as a suffix of its predecessor, as git's
// index version 4 does: 100,000 files under one directory then take about
// 92 bytes an entry rather than 128. Fixed-width fields keep decoding a
// matter of slicing.
const (
	statCacheMagic   = "lattice-statcache\n"
	statCacheVersion = 1
	statFixedSize    = 8*5 + 4 + 8 + 1 + Size
)

// Algorithm codes in the stat cache file.
const (
	algoCodeBLAKE3 = 1
	algoCodeSHA256 = 2
)

func encodeStatCache(entries map[string]*statEntry) []byte {
	keys := make([]string, 0, len(entries))
	size := len(statCacheMagic) + 8 + Size
	for k := range entries {
		keys = append(keys, k)
		size += len(k) + 2*binary.MaxVarintLen16 + statFixedSize
	}
	slices.Sort(keys)

	b := make([]byte, 0, size)
	b = append(b, statCacheMagic...)
	b = binary.LittleEndian.AppendUint32(b, statCacheVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(keys)))
	prev := ""
	for _, k := range keys {
		e := entries[k]
		shared := commonPrefix(prev, k)
		b = binary.AppendUvarint(b, uint64(shared))
		b = binary.AppendUvarint(b, uint64(len(k)-shared))
		b = append(b, k[shared:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.stat.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.stat.mtime))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.stat.ctime))
		b = binary.LittleEndian.AppendUint64(b, e.stat.ino)
		b = binary.LittleEndian.AppendUint64(b, e.stat.dev)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.stat.mode))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.recorded))
		code := byte(algoCodeBLAKE3)
		if e.digest.Algo == SHA256 {
			code = algoCodeSHA256
		}
		b = append(b, code)
		b = append(b, e.digest.Sum[:]...)
		prev = k
	}
	sum := Bytes(b)
	return append(b, sum.Sum[:]...)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// decodeStatCache parses a stat cache file, rejecting anything that is not
// exactly what encodeStatCache writes.
func decodeStatCache(data []byte) (map[string]*statEntry, error) {
	head := len(statCacheMagic) + 8
	if len(data) < head+Size {
		return nil, fmt.Errorf("stat cache is truncated (%d bytes)", len(data))
	}
	if !bytes.HasPrefix(data, []byte(statCacheMagic)) {
		return nil, errors.New("stat cache has a bad magic number")
	}
	body, sum := data[:len(data)-Size], data[len(data)-Size:]
	if v := binary.LittleEndian.Uint32(data[len(statCacheMagic):]); v != statCacheVersion {
		return nil, fmt.Errorf("stat cache has version %d, want %d", v, statCacheVersion)
	}
	if Bytes(body).Sum != [Size]byte(sum) {
		return nil, errors.New("stat cache checksum mismatch")
	}
	count := int(binary.LittleEndian.Uint32(data[len(statCacheMagic)+4:]))
	if count > len(body)/statFixedSize {
		return nil, fmt.Errorf("stat cache claims %d entries in %d bytes", count, len(body))
	}

	// Entries come from one allocation, and their paths are substrings of
	// one string that a strings.Builder grows without copying at the end:
	// loading 100,000 entries then costs a few milliseconds rather than a
	// hundred thousand small allocations.
	store := make([]statEntry, count)
	ends := make([]int, count)
	var paths strings.Builder
	paths.Grow(len(body))
	p := body[head:]
	prevStart := 0
	for i := range count {
		shared, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, fmt.Errorf("stat cache entry %d is malformed", i)
		}
		p = p[n:]
		suffix, n := binary.Uvarint(p)
		if n <= 0 || shared > uint64(paths.Len()-prevStart) || suffix > uint64(len(p)-n) {
			return nil, fmt.Errorf("stat cache entry %d is malformed", i)
		}
		p = p[n:]
		start := paths.Len()
		// The builder only ever appends, so strings it returned earlier
		// stay valid even when it grows.
		paths.WriteString(paths.String()[prevStart : prevStart+int(shared)])
		paths.Write(p[:suffix])
		p = p[suffix:]
		if len(p) < statFixedSize {
			return nil, fmt.Errorf("stat cache entry %d is truncated", i)
		}
		if all := paths.String(); i > 0 && all[prevStart:start] >= all[start:] {
			return nil, fmt.Errorf("stat cache entry %d is out of order", i)
		}
		prevStart = start
		ends[i] = paths.Len()

		e := &store[i]
		e.stat.size = int64(binary.LittleEndian.Uint64(p[0:]))
		e.stat.mtime = int64(binary.LittleEndian.Uint64(p[8:]))
		e.stat.ctime = int64(binary.LittleEndian.Uint64(p[16:]))
		e.stat.ino = binary.LittleEndian.Uint64(p[24:])
		e.stat.dev = binary.LittleEndian.Uint64(p[32:])
		e.stat.mode = fs.FileMode(binary.LittleEndian.Uint32(p[40:]))
		e.recorded = int64(binary.LittleEndian.Uint64(p[44:]))
		switch p[52] {
		case algoCodeBLAKE3:
			e.digest.Algo = BLAKE3
		case algoCodeSHA256:
			e.digest.Algo = SHA256
		default:
			return nil, fmt.Errorf("stat cache entry %d has unknown algorithm %d", i, p[52])
		}
		copy(e.digest.Sum[:], p[53:53+Size])
		p = p[statFixedSize:]
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("stat cache has %d bytes after its last entry", len(p))
	}
	all := paths.String()
	entries := make(map[string]*statEntry, count)
	start := 0
	for i, end := range ends {
		entries[all[start:end]] = &store[i]
		start = end
	}
	return entries, nil
}
