package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// Get returns the entry stored under key, if there is one and everything it
// references is present. A missing, unreadable or corrupt entry, or one
// whose trees or blobs are missing or the wrong size, is a miss. Blobs are
// not re-hashed (Verify does that). A hit records a use of the entry, for
// Trim.
//
// Get takes no context: it reads one small entry, the manifests of its
// directory outputs and a stat per file, like the build cache it is
// modelled on.
func (c *Cache) Get(key digest.Digest) (*Entry, bool) {
	e, mtime, ok := c.lookup(key)
	if !ok {
		return nil, false
	}
	c.touch(c.path(actionsDir, key), mtime)
	return e, true
}

// Has reports whether Get would hit, without recording a use: asking what
// is cached (as plan does) is not using it.
func (c *Cache) Has(key digest.Digest) bool {
	_, _, ok := c.lookup(key)
	return ok
}

// lookup is Get without the use: it returns the entry and its modification
// time when the entry and everything it references are present.
func (c *Cache) lookup(key digest.Digest) (*Entry, time.Time, bool) {
	if key.IsZero() {
		return nil, time.Time{}, false
	}
	e, mtime, err := c.readEntry(c.path(actionsDir, key))
	if err != nil || e.Key != key {
		return nil, time.Time{}, false
	}
	for _, o := range e.Outputs {
		if c.checkOutput(o) != nil {
			return nil, time.Time{}, false
		}
	}
	return e, mtime, true
}

// readEntry reads and decodes the entry file at p and returns it with the
// file's modification time.
func (c *Cache) readEntry(p string) (*Entry, time.Time, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxEntrySize {
		return nil, time.Time{}, errors.New("not an action entry")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEntrySize))
	if err != nil {
		return nil, time.Time{}, err
	}
	e, err := decodeEntry(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	return e, fi.ModTime(), nil
}

// checkOutput returns an error unless every object o references is present
// with the recorded size.
func (c *Cache) checkOutput(o Output) error {
	if !o.Dir {
		return c.checkBlob(o.Digest, o.Size)
	}
	m, err := c.Tree(o.Digest)
	if err != nil {
		return err
	}
	if m.Size() != o.Size {
		return fmt.Errorf("tree %s holds %d bytes, entry says %d", o.Digest.Short(), m.Size(), o.Size)
	}
	for _, e := range m.Entries {
		if err := c.checkBlob(e.Digest, e.Size); err != nil {
			return err
		}
	}
	return nil
}

// checkBlob returns an error unless the blob d is present with the given
// size.
func (c *Cache) checkBlob(d digest.Digest, size int64) error {
	fi, err := os.Stat(c.path(blobsDir, d))
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return fmt.Errorf("blob %s has %d bytes, want %d", d.Short(), fi.Size(), size)
	}
	return nil
}

// Tree returns the manifest of a directory output stored under digest d.
// A missing manifest gives an error wrapping fs.ErrNotExist. One whose
// content does not match d, or that could not be restored safely (a path
// leaving the tree, a file beneath a symbolic link), gives an error
// wrapping digest.ErrCorrupt.
func (c *Cache) Tree(d digest.Digest) (*digest.Manifest, error) {
	if d.IsZero() {
		return nil, errors.New("reading tree: digest is zero")
	}
	data, err := os.ReadFile(c.path(treesDir, d))
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", d.Short(), err)
	}
	if got := digest.Bytes(data); got != d {
		return nil, fmt.Errorf("tree %s: content hashes to %s: %w", d.Short(), got.Short(), digest.ErrCorrupt)
	}
	m, err := digest.ParseManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("tree %s: %v: %w", d.Short(), err, digest.ErrCorrupt)
	}
	if err := checkManifest(m); err != nil {
		return nil, fmt.Errorf("tree %s: %v: %w", d.Short(), err, digest.ErrCorrupt)
	}
	return m, nil
}

// checkManifest rejects manifests that could write outside the directory
// they are restored into: paths that are absolute or climb out with "..",
// and paths beneath an entry that is a file or symbolic link (restoring
// "a" -> "/etc" and then "a/passwd" would write through the link). A
// manifest made by Put never has these, but the cache directory is not
// trusted.
func checkManifest(m *digest.Manifest) error {
	paths := make(map[string]bool, len(m.Entries))
	for _, e := range m.Entries {
		paths[e.Path] = true
	}
	for _, e := range m.Entries {
		if e.Path == "" || path.Clean(e.Path) != e.Path || !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			return fmt.Errorf("unsafe path %q", e.Path)
		}
		if e.Digest.Algo != digest.BLAKE3 {
			return fmt.Errorf("%s: digest %s is not BLAKE3", e.Path, e.Digest.Short())
		}
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if paths[dir] {
				return fmt.Errorf("%q lies beneath the non-directory %q", e.Path, dir)
			}
		}
	}
	return nil
}
