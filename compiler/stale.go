package compiler

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// Stale checks a saved plan against the workspace it was made for and
// lists, in words, everything that moved since: the lockfile, any dataset,
// any code directory, any plain input path. An empty list means the plan
// can be applied as it is. Outputs that stages will produce are not
// checked: the plan already says they will run.
func Stale(ctx context.Context, p *plan.Plan, dir string, lockDigest string, h *digest.Hasher) ([]string, error) {
	var out []string
	if p.Lock != lockDigest {
		switch {
		case p.Lock == "":
			out = append(out, "lattice.lock was created after the plan was made")
		case lockDigest == "":
			out = append(out, "lattice.lock was deleted after the plan was made")
		default:
			out = append(out, "lattice.lock changed after the plan was made")
		}
	}
	type check struct {
		rel, want, what string
	}
	var checks []check
	seen := map[string]bool{}
	add := func(rel, want, what string) {
		if rel == "" || want == "" || want == plan.Pending || seen[rel] {
			return
		}
		seen[rel] = true
		checks = append(checks, check{rel, want, what})
	}
	for _, d := range p.Datasets {
		add(d.Path, d.Digest, fmt.Sprintf("dataset %q (%s)", d.Name, d.Path))
	}
	for _, s := range p.Stages {
		add(s.CodePath, s.Preimage.Code, fmt.Sprintf("code of stage %q (%s)", s.Name, s.CodePath))
		for _, in := range s.Inputs {
			if in.From != plan.FromPath || in.Stage != "" {
				continue
			}
			for _, k := range s.Preimage.Inputs {
				if k.Name == in.Name {
					add(k.Path, k.Digest, fmt.Sprintf("input %q of stage %q (%s)", in.Name, s.Name, k.Path))
				}
			}
		}
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i].rel < checks[j].rel })
	for _, c := range checks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := h.Path(ctx, filepath.Join(dir, filepath.FromSlash(c.rel)))
		switch {
		case isMissing(err):
			out = append(out, c.what+" no longer exists")
		case err != nil:
			return nil, fmt.Errorf("hashing %s: %w", c.rel, err)
		case res.Digest.String() != c.want:
			out = append(out, c.what+" changed")
		}
	}
	return out, nil
}
