package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"

	"lattice.dev/lattice/compiler/digest"
)

// Method is a way of materialising a cached file in the workspace.
type Method uint8

// Methods, in the order Restore tries them by default.
const (
	// Reflink clones the blob's extents (FICLONE): instant and sharing
	// no mutable state, but only on filesystems such as Btrfs and XFS.
	Reflink Method = iota + 1
	// Hardlink links the blob itself: instant and costs no space, but the
	// file shares the blob's inode, hence its read-only mode.
	Hardlink
	// Copy copies the bytes, letting the kernel do it where it can.
	Copy
)

func (m Method) String() string {
	switch m {
	case Reflink:
		return "reflink"
	case Hardlink:
		return "hardlink"
	case Copy:
		return "copy"
	case 0:
		return "none"
	}
	return fmt.Sprintf("Method(%d)", m)
}

// RestoreStats says what a Restore did.
type RestoreStats struct {
	// Files and Symlinks count what was created; Bytes is the files'
	// total size.
	Files, Symlinks int
	Bytes           int64
	// Reflinked, Hardlinked and Copied count files by the method that
	// materialised them.
	Reflinked, Hardlinked, Copied int
}

// Method is the method that materialised most files, or zero when no file
// was restored.
func (s RestoreStats) Method() Method {
	switch {
	case s.Files == 0:
		return 0
	case s.Reflinked >= s.Hardlinked && s.Reflinked >= s.Copied:
		return Reflink
	case s.Hardlinked >= s.Copied:
		return Hardlink
	}
	return Copy
}

// Restore materialises out at the host path dst, replacing whatever is
// there. It builds the output at a temporary sibling of dst and renames it
// into place, so dst is at every moment either the old content or the
// complete new one; on Linux even a directory is swapped atomically
// (RENAME_EXCHANGE), elsewhere the old directory is moved aside first. The
// old content is deleted afterwards. Parent directories of dst are created
// as needed.
//
// Files are read-only (0444, or 0555 when executable) whichever method
// materialised them; see the package documentation for why. A missing
// object is an error that wraps fs.ErrNotExist.
func (c *Cache) Restore(ctx context.Context, out Output, dst string) (RestoreStats, error) {
	r := &restorer{c: c}
	if err := r.restore(ctx, out, dst); err != nil {
		return RestoreStats{}, fmt.Errorf("restoring output %q to %s: %w", out.Name, dst, err)
	}
	return r.stats(), nil
}

func (r *restorer) restore(ctx context.Context, out Output, dst string) error {
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o777); err != nil {
		return err
	}
	// The staging directory is a sibling of dst so that the final rename
	// stays on one filesystem. It holds the new output as "new" and, after
	// the swap, whatever dst was; removing it at the end cleans up both.
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".lattice-*")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			removeAll(stage)
		}
	}()
	built := filepath.Join(stage, "new")
	if out.Dir {
		m, err := r.c.Tree(out.Digest)
		if err != nil {
			return err
		}
		if err := r.tree(ctx, m, built); err != nil {
			return err
		}
	} else if err := r.file(ctx, out.Digest, out.Size, out.Exec, built); err != nil {
		return err
	}
	keep, err = swapIn(built, dst, filepath.Join(stage, "old"))
	return err
}

// restorer holds the state of one Restore. Files are restored on several
// goroutines, so everything here is atomic.
type restorer struct {
	c *Cache
	// noReflink is set after the first failed clone: a filesystem that
	// cannot clone one file cannot clone the next, and each attempt costs
	// a create and a remove.
	noReflink atomic.Bool
	// noHardlink is set after a link fails with EXDEV or EPERM, which
	// hold for every file.
	noHardlink atomic.Bool

	files, symlinks               atomic.Int64
	bytes                         atomic.Int64
	reflinked, hardlinked, copied atomic.Int64
}

func (r *restorer) stats() RestoreStats {
	return RestoreStats{
		Files:      int(r.files.Load()),
		Symlinks:   int(r.symlinks.Load()),
		Bytes:      r.bytes.Load(),
		Reflinked:  int(r.reflinked.Load()),
		Hardlinked: int(r.hardlinked.Load()),
		Copied:     int(r.copied.Load()),
	}
}

// tree restores the tree m as the new directory root.
func (r *restorer) tree(ctx context.Context, m *digest.Manifest, root string) error {
	if err := os.Mkdir(root, 0o777); err != nil {
		return err
	}
	// Directories first, parents before children (a parent's path is a
	// prefix of its child's, so it sorts first); then the files, in
	// parallel.
	dirs := map[string]bool{}
	for _, e := range m.Entries {
		for d := path.Dir(e.Path); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := os.Mkdir(filepath.Join(root, filepath.FromSlash(d)), 0o777); err != nil {
			return err
		}
	}
	return r.c.forEach(ctx, len(m.Entries), func(_, i int) error {
		e := m.Entries[i]
		p := filepath.Join(root, filepath.FromSlash(e.Path))
		if e.Kind == digest.KindSymlink {
			return r.symlink(e.Digest, e.Size, p)
		}
		return r.file(ctx, e.Digest, e.Size, e.Kind == digest.KindExec, p)
	})
}

// symlink creates a symbolic link at dst whose target is the blob d.
func (r *restorer) symlink(d digest.Digest, size int64, dst string) error {
	// Link targets are tiny, so they are checked in full: a corrupt one
	// could point anywhere.
	target, err := os.ReadFile(r.c.path(blobsDir, d))
	if err != nil {
		return err
	}
	if int64(len(target)) != size || digest.Bytes(target) != d {
		return fmt.Errorf("blob %s is corrupt", d.Short())
	}
	if err := os.Symlink(string(target), dst); err != nil {
		return err
	}
	r.symlinks.Add(1)
	return nil
}

// file materialises the blob d at dst, which must not exist, trying each of
// the cache's methods in turn.
func (r *restorer) file(ctx context.Context, d digest.Digest, size int64, exec bool, dst string) error {
	blob := r.c.path(blobsDir, d)
	perm := fs.FileMode(0o444)
	if exec {
		perm = 0o555
	}
	var err error
	for _, m := range r.c.methods {
		switch m {
		case Reflink:
			if r.noReflink.Load() {
				continue
			}
			if err = reflinkFile(blob, dst, perm); err != nil {
				r.noReflink.Store(true)
				continue
			}
			r.reflinked.Add(1)
		case Hardlink:
			// An executable cannot share the blob's inode: the link would
			// have the blob's 0444 mode.
			if exec || r.noHardlink.Load() {
				continue
			}
			if err = os.Link(blob, dst); err != nil {
				if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) {
					r.noHardlink.Store(true)
				}
				continue
			}
			r.hardlinked.Add(1)
		case Copy:
			if err = copyFile(ctx, blob, dst, perm, size); err != nil {
				return err
			}
			r.copied.Add(1)
		default:
			continue
		}
		r.files.Add(1)
		r.bytes.Add(size)
		return nil
	}
	return err
}

// reflinkFile creates dst as a clone of src.
func reflinkFile(src, dst string, perm fs.FileMode) error {
	s, err := os.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := cloneFile(d, s); err != nil {
		d.Close()
		os.Remove(dst)
		return err
	}
	return d.Close()
}

// copyChunk is how much copyFile copies between checks of its context.
const copyChunk = 64 << 20

// copyFile creates dst as a copy of src, which must be size bytes long.
func copyFile(ctx context.Context, src, dst string, perm fs.FileMode, size int64) error {
	s, err := os.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer d.Close()
	// io.CopyN between files lets the kernel copy (copy_file_range),
	// which on some filesystems shares extents like a reflink.
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := io.CopyN(d, s, copyChunk)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if n != size {
		return fmt.Errorf("blob %s is %d bytes, want %d", filepath.Base(src), n, size)
	}
	return d.Close()
}

// swapIn moves built to dst, replacing what is there, and leaves the old
// content (if any) at old or at built. It reports keep when the old content
// could not be put back after a failure and is only to be found at old.
func swapIn(built, dst, old string) (keep bool, err error) {
	di, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, os.Rename(built, dst)
	}
	if err != nil {
		return false, err
	}
	bi, err := os.Lstat(built)
	if err != nil {
		return false, err
	}
	if !di.IsDir() && !bi.IsDir() {
		// A file replaces a file or link atomically by plain rename.
		return false, os.Rename(built, dst)
	}
	if exchange(built, dst) == nil {
		return false, nil
	}
	// No atomic exchange here: move the old content aside, then the new
	// into place, and put the old back if that fails.
	if err := os.Rename(dst, old); err != nil {
		return false, err
	}
	if err := os.Rename(built, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return true, fmt.Errorf("%w (the old content is left at %s: %v)", err, old, rerr)
		}
		return false, err
	}
	return false, nil
}

// removeAll is os.RemoveAll that also removes read-only directories, which
// a stage may well have left behind.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
