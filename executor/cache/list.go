package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// object is one file found in an area of the cache (actions, trees, blobs
// or tmp).
type object struct {
	d     digest.Digest // zero for a stray
	path  string
	size  int64
	mtime time.Time
}

// list returns the objects in the area sub, and separately the strays:
// files whose names are not object names, such as the temporary files of
// writes in progress or left by a crash. Files that vanish while being
// listed are left out.
func (c *Cache) list(ctx context.Context, sub string) (objs, strays []object, err error) {
	top := filepath.Join(c.dir, sub)
	shards, err := os.ReadDir(top)
	if err != nil {
		return nil, nil, err
	}
	for _, sh := range shards {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		sp := filepath.Join(top, sh.Name())
		if !sh.IsDir() {
			if o, ok := stat(sp); ok {
				strays = append(strays, o)
			}
			continue
		}
		files, err := os.ReadDir(sp)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			o, ok := stat(filepath.Join(sp, f.Name()))
			if !ok {
				continue
			}
			d, named := parseObjectName(f.Name())
			if !named || d.Hex()[:2] != sh.Name() || !f.Type().IsRegular() {
				strays = append(strays, o)
				continue
			}
			o.d = d
			objs = append(objs, o)
		}
	}
	return objs, strays, nil
}

// listTmp returns the files in tmp/.
func (c *Cache) listTmp() ([]object, error) {
	top := filepath.Join(c.dir, tmpDir)
	files, err := os.ReadDir(top)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, f := range files {
		if o, ok := stat(filepath.Join(top, f.Name())); ok {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

func stat(p string) (object, bool) {
	fi, err := os.Lstat(p)
	if err != nil {
		return object{}, false
	}
	return object{path: p, size: fi.Size(), mtime: fi.ModTime()}, true
}

// rel is p relative to the cache root, slash-separated, for reports.
func (c *Cache) rel(p string) string {
	r, err := filepath.Rel(c.dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// Usage counts the cache's entries and blobs and the bytes that all its
// files (entries, trees, blobs and temporary files) take up.
func (c *Cache) Usage(ctx context.Context) (entries, blobs int, bytes int64, err error) {
	for _, sub := range []string{actionsDir, treesDir, blobsDir} {
		objs, strays, err := c.list(ctx, sub)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("measuring cache: %w", err)
		}
		for _, o := range append(objs, strays...) {
			bytes += o.size
		}
		switch sub {
		case actionsDir:
			entries = len(objs)
		case blobsDir:
			blobs = len(objs)
		}
	}
	tmp, err := c.listTmp()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("measuring cache: %w", err)
	}
	for _, o := range tmp {
		bytes += o.size
	}
	return entries, blobs, bytes, nil
}
