package lockfile

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// Read parses the lockfile at path. A missing file is not an error: a
// project that has never been applied has an empty lock, whose Digest is
// empty. Problems with the text are *ParseError values that name path.
func Read(path string) (*plan.Lock, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return plan.NewLock(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	return Parse(path, data)
}

// Write replaces the lockfile at path with l, atomically: a reader, or a
// crash at any moment, sees the old file or the new one, never a mixture.
// It refuses a lock that would not read back as itself (see Check), since
// writing one would leave a lockfile that the next Read rejects.
func Write(path string, l *plan.Lock) error {
	if err := Check(l); err != nil {
		return fmt.Errorf("writing lockfile %s: %w", path, err)
	}
	return digest.WriteFileAtomic(path, Format(l), 0o644)
}

// Check reports the first reason, in name order, why l cannot be written:
// Parse(Format(l)) would differ from l or fail. A lock built by the
// executor passes unless the executor has a bug, so the message aims at a
// developer, not a user.
//
// The rules: every dataset and output digest and every key is a valid
// digest; each stage's key is its pre-image's key; the pre-image lists are
// sorted by name without duplicates (plan.Preimage.Normalize); every input
// has a digest; and the locked outputs are exactly the pre-image's outputs,
// with the same paths and kinds, each with a digest.
func Check(l *plan.Lock) error {
	for _, name := range slices.Sorted(maps.Keys(l.Datasets)) {
		if err := checkDataset(l.Datasets[name]); err != nil {
			return fmt.Errorf("dataset %q: %w", name, err)
		}
	}
	var buf []byte
	for _, name := range slices.Sorted(maps.Keys(l.Stages)) {
		if err := checkStage(l.Stages[name], &buf); err != nil {
			return fmt.Errorf("stage %q: %w", name, err)
		}
	}
	return nil
}

func checkDataset(d *plan.LockedDataset) error {
	if d == nil {
		return errors.New("no entry (nil)")
	}
	if _, err := digest.Parse(d.Digest); err != nil {
		return err
	}
	return nil
}

// checkStage checks one stage for Check. buf is scratch space for
// keyMatches.
func checkStage(s *plan.LockedStage, buf *[]byte) error {
	if s == nil {
		return errors.New("no entry (nil)")
	}
	if _, err := digest.Parse(s.Key); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	p := &s.Preimage
	if err := sortedUnique("env", p.Env, envName); err != nil {
		return err
	}
	if err := sortedUnique("secret", p.Secrets, self); err != nil {
		return err
	}
	if err := sortedUnique("param", p.Params, paramName); err != nil {
		return err
	}
	if err := sortedUnique("input", p.Inputs, keyIOName); err != nil {
		return err
	}
	if err := sortedUnique("output", p.Outputs, keyIOName); err != nil {
		return err
	}
	for _, in := range p.Inputs {
		if _, err := digest.Parse(in.Digest); err != nil {
			return fmt.Errorf("input %q: %w", in.Name, err)
		}
		if in.Kind != "" {
			return fmt.Errorf("input %q has a kind (%q); only outputs have kinds", in.Name, in.Kind)
		}
	}
	for _, o := range p.Outputs {
		if o.Digest != "" {
			return fmt.Errorf("pre-image output %q has a digest; output digests belong in the locked outputs", o.Name)
		}
		lo := s.Outputs[o.Name]
		if lo == nil {
			return fmt.Errorf("output %q has no locked digest", o.Name)
		}
		if lo.Path != o.Path || lo.Kind != o.Kind {
			return fmt.Errorf("output %q is %q (%s) in the pre-image but %q (%s) in the locked outputs", o.Name, o.Path, o.Kind, lo.Path, lo.Kind)
		}
		if _, err := digest.Parse(lo.Digest); err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
	}
	if len(s.Outputs) != len(p.Outputs) {
		for _, name := range slices.Sorted(maps.Keys(s.Outputs)) {
			if !slices.ContainsFunc(p.Outputs, func(o plan.KeyIO) bool { return o.Name == name }) {
				return fmt.Errorf("locked output %q is not in the pre-image", name)
			}
		}
	}
	if !keyMatches(s, buf) {
		return fmt.Errorf("key %s is not the key of the recorded pre-image (%s)", s.Key, p.Key())
	}
	return nil
}

// sortedUnique checks that xs is strictly ordered by name, which is what
// Normalize gives for a list without duplicates.
func sortedUnique[T any](what string, xs []T, name func(T) string) error {
	for i := 1; i < len(xs); i++ {
		switch cmp.Compare(name(xs[i-1]), name(xs[i])) {
		case 0:
			return fmt.Errorf("duplicate %s %q", what, name(xs[i]))
		case 1:
			return fmt.Errorf("%s list is not sorted by name (%q before %q); normalise the pre-image before computing its key", what, name(xs[i-1]), name(xs[i]))
		}
	}
	return nil
}
