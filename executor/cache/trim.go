package cache

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// TrimOptions says how much Trim keeps. Zero fields impose no limit.
type TrimOptions struct {
	// MaxAge removes entries not used (put or hit by Get) for longer.
	MaxAge time.Duration
	// MaxBytes then removes the least recently used entries until the
	// entries left and the objects they reference take at most this many
	// bytes.
	MaxBytes int64
}

// TrimReport says what Trim removed.
type TrimReport struct {
	EntriesRemoved, TreesRemoved, BlobsRemoved int
	// TempRemoved counts leftovers of interrupted writes.
	TempRemoved int
	// BytesFreed is the total size of everything removed.
	BytesFreed int64
}

// ref names an object in trees/ or blobs/.
type ref struct {
	tree bool
	d    digest.Digest
}

// Trim removes entries by age, then by size, and then every tree and blob
// that no remaining entry references (mark and sweep). Entries go before
// the objects they reference, so an interrupted Trim leaves a consistent
// cache.
//
// An unreferenced object is swept only if it was referenced by an entry
// this Trim removed or is older than a day, and has not been written or
// reused since Trim began: others may belong to a Put that has written its
// objects but not yet its entry. Leftovers of interrupted writes older than
// a day are removed too.
func (c *Cache) Trim(ctx context.Context, opts TrimOptions) (TrimReport, error) {
	t := &trimmer{c: c, now: c.now(), released: map[ref]bool{}, trees: map[digest.Digest][]digest.Digest{}}
	if err := t.run(ctx, opts); err != nil {
		return t.rep, fmt.Errorf("trimming cache %s: %w", c.dir, err)
	}
	return t.rep, nil
}

type trimmer struct {
	c   *Cache
	now time.Time
	rep TrimReport
	// released holds the objects referenced by entries this Trim removed.
	released map[ref]bool
	// trees caches the blobs each tree references; nil for a tree that
	// cannot be read.
	trees map[digest.Digest][]digest.Digest
}

func (t *trimmer) run(ctx context.Context, opts TrimOptions) error {
	entries, _, err := t.c.list(ctx, actionsDir)
	if err != nil {
		return err
	}
	if opts.MaxAge > 0 {
		kept := entries[:0]
		for _, o := range entries {
			if t.now.Sub(o.mtime) > opts.MaxAge {
				t.removeEntry(o, t.refs(o))
			} else {
				kept = append(kept, o)
			}
		}
		entries = kept
	}
	if opts.MaxBytes > 0 {
		if err := t.bySize(ctx, entries, opts.MaxBytes); err != nil {
			return err
		}
	}
	return t.sweep(ctx)
}

// bySize removes the least recently used of entries until they and what
// they reference fit in max bytes. An object shared by several entries
// counts once, and is freed with the last of them.
func (t *trimmer) bySize(ctx context.Context, entries []object, max int64) error {
	sizes := map[ref]int64{}
	for _, sub := range []string{treesDir, blobsDir} {
		objs, _, err := t.c.list(ctx, sub)
		if err != nil {
			return err
		}
		for _, o := range objs {
			sizes[ref{tree: sub == treesDir, d: o.d}] = o.size
		}
	}
	var total int64
	count := map[ref]int{}
	refs := make([][]ref, len(entries))
	for i, o := range entries {
		refs[i] = t.refs(o)
		total += o.size
		for _, r := range refs[i] {
			if count[r] == 0 {
				total += sizes[r]
			}
			count[r]++
		}
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(entries[a].mtime.Compare(entries[b].mtime), cmp.Compare(entries[a].path, entries[b].path))
	})
	for _, i := range order {
		if total <= max {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.removeEntry(entries[i], refs[i])
		total -= entries[i].size
		for _, r := range refs[i] {
			if count[r]--; count[r] == 0 {
				total -= sizes[r]
			}
		}
	}
	return nil
}

// removeEntry deletes an entry and notes what it referenced as released.
func (t *trimmer) removeEntry(o object, refs []ref) {
	if os.Remove(o.path) != nil {
		return
	}
	t.rep.EntriesRemoved++
	t.rep.BytesFreed += o.size
	for _, r := range refs {
		t.released[r] = true
	}
}

// refs lists the trees and blobs the entry o references, the blobs of its
// trees included. An entry or tree that cannot be read references nothing
// it could still be used for, so it contributes nothing.
func (t *trimmer) refs(o object) []ref {
	e, _, err := t.c.readEntry(o.path)
	if err != nil {
		return nil
	}
	seen := map[ref]bool{}
	var refs []ref
	add := func(r ref) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	for _, out := range e.Outputs {
		if !out.Dir {
			add(ref{d: out.Digest})
			continue
		}
		add(ref{tree: true, d: out.Digest})
		for _, b := range t.treeBlobs(out.Digest) {
			add(ref{d: b})
		}
	}
	return refs
}

// treeBlobs lists the blobs the tree d references.
func (t *trimmer) treeBlobs(d digest.Digest) []digest.Digest {
	if bs, ok := t.trees[d]; ok {
		return bs
	}
	var bs []digest.Digest
	if m, err := t.c.Tree(d); err == nil {
		bs = make([]digest.Digest, len(m.Entries))
		for i, e := range m.Entries {
			bs[i] = e.Digest
		}
	}
	t.trees[d] = bs
	return bs
}

// sweep marks every object that a surviving entry, or a tree too young to
// sweep, references, and removes the rest that may go. It lists entries
// afresh, so entries put since Trim began are honoured.
func (t *trimmer) sweep(ctx context.Context) error {
	marked := map[ref]bool{}
	entries, strays, err := t.c.list(ctx, actionsDir)
	if err != nil {
		return err
	}
	t.removeStrays(strays)
	for _, o := range entries {
		for _, r := range t.refs(o) {
			marked[r] = true
		}
	}

	// Trees before blobs, so that if Trim stops in between no remaining
	// tree lacks a blob.
	trees, strays, err := t.c.list(ctx, treesDir)
	if err != nil {
		return err
	}
	t.removeStrays(strays)
	for _, o := range trees {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := ref{tree: true, d: o.d}
		if !marked[r] && t.sweepable(r, o) {
			if os.Remove(o.path) == nil {
				t.rep.TreesRemoved++
				t.rep.BytesFreed += o.size
			}
			continue
		}
		for _, b := range t.treeBlobs(o.d) {
			marked[ref{d: b}] = true
		}
	}

	blobs, strays, err := t.c.list(ctx, blobsDir)
	if err != nil {
		return err
	}
	t.removeStrays(strays)
	for _, o := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := ref{d: o.d}
		if !marked[r] && t.sweepable(r, o) && os.Remove(o.path) == nil {
			t.rep.BlobsRemoved++
			t.rep.BytesFreed += o.size
		}
	}

	tmp, err := t.c.listTmp()
	if err != nil {
		return err
	}
	t.removeStrays(tmp)
	return nil
}

// sweepable reports whether an unreferenced object may be removed. One
// written or touched since Trim began is kept whatever else holds: a Put
// running alongside is about to reference it.
func (t *trimmer) sweepable(r ref, o object) bool {
	if o.mtime.After(t.now) {
		return false
	}
	return t.released[r] || t.now.Sub(o.mtime) > orphanGrace
}

func (t *trimmer) removeStrays(strays []object) {
	for _, o := range strays {
		if t.now.Sub(o.mtime) > orphanGrace && os.Remove(o.path) == nil {
			t.rep.TempRemoved++
			t.rep.BytesFreed += o.size
		}
	}
}
