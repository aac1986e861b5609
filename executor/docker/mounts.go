package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"lattice.dev/lattice/executor"
)

// bind is one bind mount of a host path into the container.
type bind struct {
	// source is the host path.
	source string
	// target is the absolute path inside the container.
	target string
	// rel is target relative to executor.ContainerRoot, slash-separated;
	// "." for the root itself.
	rel      string
	readOnly bool
	// isDir tells whether source is a directory, which decides whether a
	// mount point made for it is a directory or an empty file.
	isDir bool
}

// stub is a mount point that has to exist on the host, inside the source of
// the mount that encloses it, before the engine can mount on top of it.
type stub struct {
	// path is the host path.
	path  string
	isDir bool
}

// layout is how a job's files are laid out in its container: the bind
// mounts in the order the engine must make them, the host directories that
// must exist for the outputs, and the mount points to create for mounts
// nested in a writable one.
type layout struct {
	binds []bind
	// outDirs are host directories, under the job's Scratch directory, that
	// are bind-mounted read-write.
	outDirs []string
	stubs   []stub
}

// planLayout works out a job's mounts. It checks the job's paths but does
// not change anything on the host; it only looks at mount sources (whether
// each exists and is a directory) and, for mounts nested in a read-only
// input, whether the mount point exists inside that input.
func planLayout(job *executor.Job) (*layout, error) {
	if !filepath.IsAbs(job.Scratch) {
		return nil, fmt.Errorf("scratch directory %q is not an absolute path", job.Scratch)
	}

	outputs := make([]string, 0, len(job.Outputs))
	for _, p := range job.Outputs {
		rel, err := executor.CleanRel(p)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", p, err)
		}
		if rel == "." {
			return nil, fmt.Errorf("output %q: the workspace root cannot be an output", p)
		}
		outputs = append(outputs, rel)
	}

	var l layout
	for _, dir := range outputDirs(outputs) {
		host := job.Scratch
		if dir != "." {
			host = filepath.Join(job.Scratch, filepath.FromSlash(dir))
		}
		l.outDirs = append(l.outDirs, host)
		l.binds = append(l.binds, bind{
			source: host,
			target: containerPath(dir),
			rel:    dir,
			isDir:  true,
		})
	}

	for _, m := range job.Mounts {
		rel, err := executor.CleanRel(m.Target)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", m.Target, err)
		}
		if !filepath.IsAbs(m.Source) {
			return nil, fmt.Errorf("input %q: source %q is not an absolute path", m.Target, m.Source)
		}
		fi, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", m.Target, err)
		}
		// An input inside an output would turn up among the outputs. The
		// reverse, an output inside an input directory, is allowed: the
		// output's directory is mounted over that part of the input.
		for _, out := range outputs {
			if executor.Within(rel, out) {
				return nil, fmt.Errorf("input %q overlaps output %q", m.Target, out)
			}
		}
		l.binds = append(l.binds, bind{
			source:   m.Source,
			target:   containerPath(rel),
			rel:      rel,
			readOnly: true,
			isDir:    fi.IsDir(),
		})
	}

	// Parents before children: the engine mounts in the order given, and a
	// mount must land on top of the one that encloses it, not under it.
	sort.SliceStable(l.binds, func(i, j int) bool {
		di, dj := depth(l.binds[i].rel), depth(l.binds[j].rel)
		if di != dj {
			return di < dj
		}
		return l.binds[i].rel < l.binds[j].rel
	})

	for i, b := range l.binds {
		if i > 0 && l.binds[i-1].rel == b.rel {
			if l.binds[i-1].readOnly != b.readOnly {
				return nil, fmt.Errorf("input %q is also the directory of an output", b.rel)
			}
			return nil, fmt.Errorf("two inputs at %q", b.rel)
		}
		parent, ok := enclosing(l.binds[:i], b.rel)
		if !ok {
			// The mount point is in the image's file system, where the
			// engine creates it before making the root read-only.
			continue
		}
		inside := filepath.Join(parent.source, filepath.FromSlash(relTo(parent.rel, b.rel)))
		if !parent.isDir {
			return nil, fmt.Errorf("cannot mount %q inside input file %q", b.rel, parent.rel)
		}
		if parent.readOnly {
			// Nothing may be created inside an input, so the mount point
			// must already be there.
			fi, err := os.Stat(inside)
			if err != nil || fi.IsDir() != b.isDir {
				return nil, fmt.Errorf("cannot mount %q inside read-only input %q: it has no %s at %q",
					b.rel, parent.rel, kind(b.isDir), relTo(parent.rel, b.rel))
			}
			continue
		}
		l.stubs = append(l.stubs, stub{path: inside, isDir: b.isDir})
	}
	return &l, nil
}

// outputDirs returns the directories holding the given outputs, without
// those nested in another one of them: a directory inside a writable mount
// is writable already.
func outputDirs(outputs []string) []string {
	dirs := make([]string, 0, len(outputs))
	for _, p := range outputs {
		dirs = append(dirs, path.Dir(p))
	}
	sort.Slice(dirs, func(i, j int) bool {
		di, dj := depth(dirs[i]), depth(dirs[j])
		if di != dj {
			return di < dj
		}
		return dirs[i] < dirs[j]
	})
	var kept []string
next:
	for _, d := range dirs {
		for _, k := range kept {
			if executor.Within(d, k) {
				continue next
			}
		}
		kept = append(kept, d)
	}
	return kept
}

// prepare creates the host directories and mount points that the layout
// needs, owned by uid:gid. It returns a function that removes the mount
// points again; the caller calls it once the container is gone, whether or
// not prepare failed.
func (l *layout) prepare(uid, gid int) (cleanup func(), err error) {
	var created []string
	cleanup = func() {
		// Children before parents. Remove refuses non-empty directories,
		// so anything the job wrote next to a mount point stays.
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i])
		}
	}
	own := owner(uid, gid)
	for _, dir := range l.outDirs {
		if _, err := mkdirAll(dir, own); err != nil {
			return cleanup, fmt.Errorf("creating output directory: %w", err)
		}
	}
	for _, s := range l.stubs {
		dirs, err := mkdirAll(filepath.Dir(s.path), own)
		created = append(created, dirs...)
		if err != nil {
			return cleanup, fmt.Errorf("creating mount point: %w", err)
		}
		if s.isDir {
			err = os.Mkdir(s.path, 0o755)
		} else {
			var f *os.File
			f, err = os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				err = f.Close()
			}
		}
		if errors.Is(err, fs.ErrExist) {
			// Left by an earlier attempt in the same directory; it is
			// about to be covered by the mount either way.
			continue
		}
		if err != nil {
			return cleanup, fmt.Errorf("creating mount point: %w", err)
		}
		created = append(created, s.path)
		if err := own(s.path); err != nil {
			return cleanup, err
		}
	}
	return cleanup, nil
}

// owner returns a function that gives a path to uid:gid. Only root can
// chown; another user instead opens the path to everyone when the job runs
// as someone else, since the job could not write its outputs otherwise.
func owner(uid, gid int) func(string) error {
	euid := os.Geteuid()
	switch {
	case euid == 0:
		return func(p string) error {
			if err := os.Lchown(p, uid, gid); err != nil {
				return fmt.Errorf("giving %s to %d:%d: %w", p, uid, gid, err)
			}
			return nil
		}
	case euid != uid:
		return func(p string) error {
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return os.Chmod(p, 0o777)
			}
			return os.Chmod(p, 0o666)
		}
	default:
		return func(string) error { return nil }
	}
}

// mkdirAll is os.MkdirAll that hands every directory it creates to own,
// and returns them, parents first.
func mkdirAll(dir string, own func(string) error) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return nil, fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	// The directory that already existed may need owning too when it is
	// the one being mounted (an existing, empty Scratch).
	if len(missing) == 0 {
		return nil, own(dir)
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		created = append(created, missing[i])
		if err := own(missing[i]); err != nil {
			return created, err
		}
	}
	return created, nil
}

// containerPath is where a workspace-relative path appears in the container.
func containerPath(rel string) string {
	return path.Join(executor.ContainerRoot, rel)
}

// relTo is rel relative to its ancestor dir.
func relTo(dir, rel string) string {
	if dir == "." {
		return rel
	}
	return strings.TrimPrefix(rel, dir+"/")
}

func depth(rel string) int {
	if rel == "." {
		return 0
	}
	return strings.Count(rel, "/") + 1
}

// enclosing returns the deepest of binds whose target strictly contains rel.
// binds is sorted parents first, so the last match is the deepest.
func enclosing(binds []bind, rel string) (bind, bool) {
	for i := len(binds) - 1; i >= 0; i-- {
		if binds[i].rel != rel && executor.Within(rel, binds[i].rel) {
			return binds[i], true
		}
	}
	return bind{}, false
}

func kind(isDir bool) string {
	if isDir {
		return "directory"
	}
	return "file"
}
