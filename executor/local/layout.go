package local

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

// layout places a job's inputs and output directories in its scratch
// directory.
type layout struct {
	scratch string
	// inputs maps each input's cleaned target to its source.
	inputs map[string]string
	// outputs holds the cleaned output paths.
	outputs map[string]bool
	// paths holds every input target and output path, to tell which
	// directories have something placed inside them.
	paths []string
}

// layOut makes job.Scratch look like the container's workspace: a symbolic
// link at each input's target and the directory of each output.
func layOut(job *executor.Job) error {
	if !filepath.IsAbs(job.Scratch) {
		return fmt.Errorf("scratch directory %q is not an absolute path", job.Scratch)
	}
	l := &layout{
		scratch: job.Scratch,
		inputs:  make(map[string]string, len(job.Mounts)),
		outputs: make(map[string]bool, len(job.Outputs)),
	}

	outputs := make([]string, 0, len(job.Outputs))
	for _, p := range job.Outputs {
		rel, err := executor.CleanRel(p)
		if err != nil {
			return fmt.Errorf("output %q: %w", p, err)
		}
		if rel == "." {
			return fmt.Errorf("output %q: the workspace root cannot be an output", p)
		}
		outputs = append(outputs, rel)
		l.outputs[rel] = true
	}
	targets := make([]string, 0, len(job.Mounts))
	for _, m := range job.Mounts {
		rel, err := executor.CleanRel(m.Target)
		if err != nil {
			return fmt.Errorf("input %q: %w", m.Target, err)
		}
		if !filepath.IsAbs(m.Source) {
			return fmt.Errorf("input %q: source %q is not an absolute path", m.Target, m.Source)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("input %q: %w", m.Target, err)
		}
		if _, dup := l.inputs[rel]; dup {
			return fmt.Errorf("two inputs at %q", rel)
		}
		// An input inside an output would turn up among the outputs.
		for _, out := range outputs {
			if executor.Within(rel, out) {
				return fmt.Errorf("input %q overlaps output %q", m.Target, out)
			}
		}
		l.inputs[rel] = m.Source
		targets = append(targets, rel)
	}
	l.paths = append(append(l.paths, targets...), outputs...)

	// Parents first, so that an input directory with others inside it
	// becomes a real directory before they are placed in it.
	sort.Slice(targets, func(i, j int) bool {
		di, dj := depth(targets[i]), depth(targets[j])
		if di != dj {
			return di < dj
		}
		return targets[i] < targets[j]
	})
	for _, t := range targets {
		if err := l.place(t, l.inputs[t]); err != nil {
			return fmt.Errorf("input %q: %w", t, err)
		}
	}
	for _, out := range outputs {
		if err := l.mkdirs(path.Dir(out)); err != nil {
			return fmt.Errorf("output %q: %w", out, err)
		}
	}
	return nil
}

// place puts source at target: a symbolic link, unless target is the
// workspace root or other inputs or outputs lie inside it, in which case
// target becomes a real directory holding links to source's entries.
func (l *layout) place(target, source string) error {
	if target != "." && !l.hasInside(target) {
		if err := l.mkdirs(path.Dir(target)); err != nil {
			return err
		}
		return os.Symlink(source, l.host(target))
	}
	fi, err := os.Stat(source)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("other inputs or outputs lie inside it, but %s is not a directory", source)
	}
	if err := l.mkdirs(target); err != nil {
		return err
	}
	entries, err := os.ReadDir(source)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(target, e.Name())
		if _, isInput := l.inputs[child]; isInput || l.outputs[child] {
			// Placed on its own, or to be written by the job: an output
			// linked to the input's source would be written through the
			// link.
			continue
		}
		if l.hasInside(child) {
			if err := l.place(child, filepath.Join(source, e.Name())); err != nil {
				return err
			}
			continue
		}
		if err := os.Symlink(filepath.Join(source, e.Name()), l.host(child)); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs creates the directory rel and its parents inside the scratch
// directory. It refuses to go through a symbolic link: that would create
// the directory inside an input's source.
func (l *layout) mkdirs(rel string) error {
	if rel == "." {
		return nil
	}
	cur := l.scratch
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s lies inside an input", rel)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", cur)
		}
	}
	return nil
}

func (l *layout) host(rel string) string {
	return filepath.Join(l.scratch, filepath.FromSlash(rel))
}

// hasInside reports whether any input or output lies strictly inside rel.
func (l *layout) hasInside(rel string) bool {
	for _, p := range l.paths {
		if p != rel && executor.Within(p, rel) {
			return true
		}
	}
	return false
}

func depth(rel string) int {
	if rel == "." {
		return 0
	}
	return strings.Count(rel, "/") + 1
}
