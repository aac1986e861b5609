package cache

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"

	"lattice.dev/lattice/compiler/digest"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Repair deletes every object and entry found bad, so that entries
	// depending on a bad object become misses instead of failing at
	// Restore.
	Repair bool
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Entries, Trees and Blobs count what was checked; Bytes is the total
	// size of the blobs re-hashed.
	Entries, Trees, Blobs int
	Bytes                 int64
	// Problems lists what is wrong, sorted by path. It is empty for a
	// healthy cache.
	Problems []Problem
}

// Problem is one bad file in the cache.
type Problem struct {
	// Path is relative to the cache root, slash-separated.
	Path string
	// Detail says what is wrong, as a lowercase phrase.
	Detail string
	// Removed reports whether Verify deleted the file.
	Removed bool
}

// Verify re-hashes every blob and tree and checks that every entry is
// well-formed and that everything it references is present and sound. It
// returns an error only when the cache cannot be read at all; what is wrong
// with its contents goes in the report.
//
// Files younger than a day whose names are not object names are left
// alone: they may belong to a write in progress.
func (c *Cache) Verify(ctx context.Context, opts VerifyOptions) (VerifyReport, error) {
	v := &verifier{c: c, opts: opts, badBlobs: map[digest.Digest]bool{}, badTrees: map[digest.Digest]bool{}}
	if err := v.run(ctx); err != nil {
		return VerifyReport{}, fmt.Errorf("verifying cache %s: %w", c.dir, err)
	}
	slices.SortFunc(v.rep.Problems, func(a, b Problem) int { return cmp.Compare(a.Path, b.Path) })
	return v.rep, nil
}

type verifier struct {
	c    *Cache
	opts VerifyOptions

	mu       sync.Mutex // guards everything below
	rep      VerifyReport
	badBlobs map[digest.Digest]bool
	badTrees map[digest.Digest]bool
}

func (v *verifier) run(ctx context.Context) error {
	// Blobs first, then trees, then entries: each level's check consults
	// what was found bad below it.
	blobs, strays, err := v.c.list(ctx, blobsDir)
	if err != nil {
		return err
	}
	v.strays(strays)
	bufs := make([][]byte, v.c.workers)
	err = v.c.forEach(ctx, len(blobs), func(w, i int) error {
		if bufs[w] == nil {
			bufs[w] = make([]byte, copyBufferSize)
		}
		v.blob(ctx, blobs[i], bufs[w])
		return nil
	})
	if err != nil {
		return err
	}

	trees, strays, err := v.c.list(ctx, treesDir)
	if err != nil {
		return err
	}
	v.strays(strays)
	err = v.c.forEach(ctx, len(trees), func(_, i int) error {
		v.tree(trees[i])
		return nil
	})
	if err != nil {
		return err
	}

	entries, strays, err := v.c.list(ctx, actionsDir)
	if err != nil {
		return err
	}
	v.strays(strays)
	return v.c.forEach(ctx, len(entries), func(_, i int) error {
		v.entry(entries[i])
		return nil
	})
}

// problem records that the file at p is bad, deleting it when repairing.
// The caller holds no lock.
func (v *verifier) problem(p, detail string) {
	removed := v.opts.Repair && os.Remove(p) == nil
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rep.Problems = append(v.rep.Problems, Problem{Path: v.c.rel(p), Detail: detail, Removed: removed})
}

func (v *verifier) strays(strays []object) {
	now := v.c.now()
	for _, o := range strays {
		if now.Sub(o.mtime) > orphanGrace {
			v.problem(o.path, "not a cache object")
		}
	}
}

func (v *verifier) blob(ctx context.Context, o object, buf []byte) {
	f, err := os.Open(o.path)
	if err != nil {
		v.bad(o, false, fmt.Sprintf("unreadable: %v", err))
		return
	}
	defer f.Close()
	h := digest.NewOf(o.d.Algo)
	n, err := copyContext(ctx, h, f, buf)
	if ctx.Err() != nil {
		return
	}
	v.mu.Lock()
	v.rep.Blobs++
	v.rep.Bytes += n
	v.mu.Unlock()
	switch {
	case err != nil:
		v.bad(o, false, fmt.Sprintf("unreadable: %v", err))
	case o.d.Algo != digest.BLAKE3:
		v.bad(o, false, "blob named by a digest other than BLAKE3")
	default:
		if got := digest.Sum(o.d.Algo, h); got != o.d {
			v.bad(o, false, fmt.Sprintf("content hashes to %s", got.Short()))
		}
	}
}

func (v *verifier) tree(o object) {
	v.mu.Lock()
	v.rep.Trees++
	v.mu.Unlock()
	m, err := v.c.Tree(o.d)
	if err != nil {
		v.bad(o, true, err.Error())
		return
	}
	for _, e := range m.Entries {
		if err := v.checkBlob(e.Digest, e.Size); err != nil {
			v.bad(o, true, fmt.Sprintf("file %q: %v", e.Path, err))
			return
		}
	}
}

func (v *verifier) entry(o object) {
	v.mu.Lock()
	v.rep.Entries++
	v.mu.Unlock()
	e, _, err := v.c.readEntry(o.path)
	if err != nil {
		v.problem(o.path, fmt.Sprintf("unreadable entry: %v", err))
		return
	}
	if e.Key != o.d {
		v.problem(o.path, fmt.Sprintf("entry is for key %s", e.Key.Short()))
		return
	}
	for _, out := range e.Outputs {
		var err error
		switch {
		case !out.Dir:
			err = v.checkBlob(out.Digest, out.Size)
		case v.isBad(v.badTrees, out.Digest):
			err = fmt.Errorf("tree %s is bad", out.Digest.Short())
		default:
			err = v.c.checkOutput(out)
		}
		if err != nil {
			v.problem(o.path, fmt.Sprintf("output %q: %v", out.Name, err))
			return
		}
	}
}

// checkBlob is Cache.checkBlob that also counts blobs found bad as
// missing.
func (v *verifier) checkBlob(d digest.Digest, size int64) error {
	if v.isBad(v.badBlobs, d) {
		return fmt.Errorf("blob %s is bad", d.Short())
	}
	return v.c.checkBlob(d, size)
}

func (v *verifier) isBad(set map[digest.Digest]bool, d digest.Digest) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return set[d]
}

// bad records a bad blob or tree.
func (v *verifier) bad(o object, tree bool, detail string) {
	v.mu.Lock()
	if tree {
		v.badTrees[o.d] = true
	} else {
		v.badBlobs[o.d] = true
	}
	v.mu.Unlock()
	v.problem(o.path, detail)
}
