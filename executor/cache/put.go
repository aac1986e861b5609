package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// Source is a file or directory a stage produced, to be put in the cache.
type Source struct {
	// Name, Path and Kind are copied to the Output.
	Name, Path, Kind string
	// HostPath is where the output is on this machine. It is copied, never
	// moved or linked, so it stays usable and later edits to it cannot
	// reach the cache.
	HostPath string
}

// PutOption configures one Put.
type PutOption func(*putOptions)

type putOptions struct {
	duration time.Duration
}

// WithDuration records how long the stage took to produce the outputs.
func WithDuration(d time.Duration) PutOption {
	return func(o *putOptions) { o.duration = d }
}

// copyBufferSize is the size of the buffer each worker copies through.
// BLAKE3 hashes large writes on several SIMD lanes at once, so bigger is
// faster up to about this size.
const copyBufferSize = 1 << 20

// Put stores the outputs a run of the action key produced and records them
// under key, replacing any entry already there. It copies every file into
// the cache while hashing it, then writes the manifests of directory
// outputs, and only then writes the entry, so that an interrupted Put
// leaves at most some unreferenced objects (which Trim removes).
func (c *Cache) Put(ctx context.Context, key digest.Digest, outs []Source, meta map[string]string, opts ...PutOption) (*Entry, error) {
	var o putOptions
	for _, opt := range opts {
		opt(&o)
	}
	if key.IsZero() {
		return nil, errors.New("putting cache entry: action key is zero")
	}
	names := map[string]bool{}
	for _, s := range outs {
		if s.Name == "" {
			return nil, fmt.Errorf("putting cache entry %s: output at %s has no name", key.Short(), s.HostPath)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("putting cache entry %s: output %q given twice", key.Short(), s.Name)
		}
		names[s.Name] = true
	}
	outputs, err := c.store(ctx, outs)
	if err != nil {
		return nil, fmt.Errorf("putting cache entry %s: %w", key.Short(), err)
	}
	e := &Entry{
		Key:      key,
		Outputs:  outputs,
		Created:  c.now().UTC(),
		Duration: o.duration,
	}
	if len(meta) > 0 {
		e.Meta = maps.Clone(meta)
	}
	if err := c.writeEntry(e); err != nil {
		return nil, fmt.Errorf("putting cache entry %s: %w", key.Short(), err)
	}
	return e, nil
}

// writeEntry writes e atomically under its key and sets the file's
// modification time to e.Created, so that Trim ages entries by the cache's
// clock rather than the filesystem's.
func (c *Cache) writeEntry(e *Entry) error {
	p := c.path(actionsDir, e.Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	if err := digest.WriteFileAtomic(p, encodeEntry(e), 0o666); err != nil {
		return err
	}
	_ = os.Chtimes(p, e.Created, e.Created)
	return nil
}

// store puts the blobs and trees of every source and describes them as
// outputs. It writes no entry.
func (c *Cache) store(ctx context.Context, srcs []Source) ([]Output, error) {
	outs := make([]Output, 0, len(srcs))
	for _, s := range srcs {
		// Stat, not Lstat: a symbolic link at the top of an output stands
		// for what it points to.
		fi, err := os.Stat(s.HostPath)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.Name, err)
		}
		o := Output{Name: s.Name, Path: s.Path, Kind: s.Kind}
		switch {
		case fi.IsDir():
			m, err := c.storeTree(ctx, s.HostPath)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", s.Name, err)
			}
			o.Dir, o.Digest, o.Size = true, m.Digest(), m.Size()
		case fi.Mode().IsRegular():
			d, n, err := c.storeFile(ctx, s.HostPath, make([]byte, copyBufferSize))
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", s.Name, err)
			}
			o.Digest, o.Size, o.Exec = d, n, fi.Mode()&0o111 != 0
		default:
			return nil, fmt.Errorf("output %q: %s is a %s; an output must be a regular file or a directory", s.Name, s.HostPath, typeName(fi.Mode().Type()))
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// storeTree puts every file under root as a blob and then the tree's
// manifest, and returns the manifest.
func (c *Cache) storeTree(ctx context.Context, root string) (*digest.Manifest, error) {
	// The root itself may be a symbolic link, which WalkDir would not
	// descend into.
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	m := &digest.Manifest{}
	var hostPaths []string // host path of m.Entries[i] when it is a file
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := digest.Entry{Path: filepath.ToSlash(rel)}
		switch t := d.Type(); {
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			e.Kind = digest.KindFile
			if info.Mode()&0o111 != 0 {
				e.Kind = digest.KindExec
			}
			hostPaths = append(hostPaths, p)
		case t&fs.ModeSymlink != 0:
			// A link's blob is its target text, which is what the
			// manifest's digest for it covers.
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Kind = digest.KindSymlink
			if e.Digest, err = c.storeBytes([]byte(target)); err != nil {
				return err
			}
			e.Size = int64(len(target))
			hostPaths = append(hostPaths, "")
		default:
			return fmt.Errorf("%s is a %s; only regular files, directories and symbolic links can be cached", p, typeName(t))
		}
		m.Entries = append(m.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}

	bufs := make([][]byte, c.workers)
	err = c.forEach(ctx, len(m.Entries), func(w, i int) error {
		if hostPaths[i] == "" {
			return nil
		}
		if bufs[w] == nil {
			bufs[w] = make([]byte, copyBufferSize)
		}
		d, n, err := c.storeFile(ctx, hostPaths[i], bufs[w])
		m.Entries[i].Digest, m.Entries[i].Size = d, n
		return err
	})
	if err != nil {
		return nil, err
	}
	// WalkDir's order is not the manifest's: "a/b" comes before "a-c" in a
	// walk but after it as a string.
	m.Sort()
	if err := c.storeManifest(m); err != nil {
		return nil, err
	}
	return m, nil
}

// typeName names the type of a file that is not regular, a directory or a
// symbolic link, for messages.
func typeName(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// storeManifest writes m to trees/ unless an intact copy is there.
func (c *Cache) storeManifest(m *digest.Manifest) error {
	text := m.Text()
	d := digest.Bytes(text)
	p := c.path(treesDir, d)
	if fi, err := os.Stat(p); err == nil {
		// Trees are small, so unlike blobs they are checked in full: a
		// damaged copy would otherwise make every entry using it a miss.
		if old, err := os.ReadFile(p); err == nil && digest.Bytes(old) == d {
			c.touch(p, fi.ModTime())
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	if err := digest.WriteFileAtomic(p, text, 0o444); err != nil {
		return fmt.Errorf("writing tree %s: %w", d.Short(), err)
	}
	return nil
}

// storeBytes puts a small blob held in memory.
func (c *Cache) storeBytes(data []byte) (digest.Digest, error) {
	d := digest.Bytes(data)
	if c.haveBlob(c.path(blobsDir, d), int64(len(data))) {
		return d, nil
	}
	tmp, err := os.CreateTemp(filepath.Join(c.dir, tmpDir), "blob-*")
	if err != nil {
		return digest.Digest{}, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return digest.Digest{}, fmt.Errorf("writing blob %s: %w", d.Short(), err)
	}
	return d, c.commitBlob(tmp, d)
}

// haveBlob reports whether a blob of the given size is at p, and if so
// records the use. Only the size is checked: re-hashing would cost as much
// as the copy that was just made.
func (c *Cache) haveBlob(p string, size int64) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	// A Put that reuses an old unreferenced blob must keep Trim from
	// sweeping it before the entry that will reference it is written.
	c.touch(p, fi.ModTime())
	return true
}

// commitBlob makes the complete temporary file tmp the blob d: read-only,
// synced, then renamed into place. It closes tmp, and removes it on
// failure.
func (c *Cache) commitBlob(tmp *os.File, d digest.Digest) (err error) {
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("storing blob %s: %w", d.Short(), err)
		}
	}()
	if err := tmp.Chmod(0o444); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	p := c.path(blobsDir, d)
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	// Another writer may have renamed the same blob into place meanwhile;
	// the content is identical, so replacing it is harmless.
	return os.Rename(tmp.Name(), p)
}

// storeFile copies the file at hostPath into blobs/ while hashing it, and
// returns its digest and size. The copy goes to tmp/ first and is renamed
// into place only once complete and synced, so a blob's name always
// matches its content. The digest is of the bytes copied, so a file that
// changes during the copy still yields a consistent blob.
func (c *Cache) storeFile(ctx context.Context, hostPath string, buf []byte) (digest.Digest, int64, error) {
	src, err := os.Open(hostPath)
	if err != nil {
		return digest.Digest{}, 0, err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return digest.Digest{}, 0, err
	}
	if fi.Size() < int64(len(buf)) {
		// A file that fits in the buffer is read whole and hashed before
		// anything is written: when its blob exists already, as it does
		// for every file an unchanged stage rewrites, no temporary file is
		// created at all. Creating files is the slowest thing Put does.
		n, err := io.ReadFull(src, buf)
		switch err {
		case io.EOF, io.ErrUnexpectedEOF:
			d, err := c.storeBytes(buf[:n])
			return d, int64(n), err
		case nil:
			// The file grew past the buffer since it was stat'ed; copy
			// it the long way.
			if _, err := src.Seek(0, io.SeekStart); err != nil {
				return digest.Digest{}, 0, err
			}
		default:
			return digest.Digest{}, 0, fmt.Errorf("reading %s: %w", hostPath, err)
		}
	}

	tmp, err := os.CreateTemp(filepath.Join(c.dir, tmpDir), "blob-*")
	if err != nil {
		return digest.Digest{}, 0, err
	}
	h := digest.New()
	var n int64
	if cloneFile(tmp, src) == nil {
		// The clone is a private snapshot that shares the source's
		// extents; hashing it rather than the source means no writer
		// can slip in between hash and copy.
		n, err = copyContext(ctx, h, tmp, buf)
	} else {
		n, err = copyContext(ctx, io.MultiWriter(tmp, h), src, buf)
	}
	d := digest.Sum(digest.BLAKE3, h)
	if err != nil || c.haveBlob(c.path(blobsDir, d), n) {
		tmp.Close()
		os.Remove(tmp.Name())
		if err != nil {
			return digest.Digest{}, 0, fmt.Errorf("copying %s into the cache: %w", hostPath, err)
		}
		return d, n, nil
	}
	return d, n, c.commitBlob(tmp, d)
}

// copyContext copies src to dst through buf, stopping early when ctx is
// done. It deliberately avoids io.Copy's shortcuts (copy_file_range,
// sendfile), which would bypass a hashing writer.
func copyContext(ctx context.Context, dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		r, err := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// forEach calls fn(w, i) for every i in [0, n) on up to c.workers
// goroutines; w identifies the calling worker, so fn can keep per-worker
// buffers. It stops handing out work at the first error or when ctx is
// done, and returns the first error.
func (c *Cache) forEach(ctx context.Context, n int, fn func(w, i int) error) error {
	workers := min(c.workers, n)
	if workers <= 1 {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(0, i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = ctx.Err()
		}
		if firstErr != nil || next == n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for w := range workers {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(w, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
