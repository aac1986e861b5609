package compiler

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// pinImages resolves every image reference used by a docker stage to a
// digest: from the lockfile when it pins the reference (unless refreshing),
// as written when the reference already carries a digest, else from the
// resolver. It returns reference → digest.
func (c *compilation) pinImages() (map[string]string, error) {
	refs := map[string]*instance{}
	var order []string
	for _, in := range c.inst {
		if in.st.Backend == spec.BackendLocal || in.st.Image == "" {
			continue
		}
		if _, ok := refs[in.st.Image]; !ok {
			refs[in.st.Image] = in
			order = append(order, in.st.Image)
		}
	}
	sort.Strings(order)
	out := map[string]string{}
	for _, ref := range order {
		in := refs[ref]
		if d, ok := c.o.lock.Images[ref]; ok && !c.o.refresh {
			out[ref] = d
			continue
		}
		if r, err := name.ParseReference(ref); err == nil {
			if dg, ok := r.(name.Digest); ok {
				out[ref] = dg.DigestStr()
				continue
			}
		}
		if c.o.images == nil {
			c.add(diag.Errorf(in.pos.At("image"), in.at+".image", "stage %q: image %q is not pinned in lattice.lock and cannot be resolved here", in.name, ref).
				WithHint("write the image by digest (NAME@sha256:…), or plan where the Docker engine or the registry is reachable"))
			continue
		}
		d, err := c.o.images.Resolve(c.ctx, ref)
		if err != nil {
			if c.ctx.Err() != nil {
				return nil, c.ctx.Err()
			}
			c.add(diag.Errorf(in.pos.At("image"), in.at+".image", "stage %q: cannot pin image %q: %v", in.name, ref, err).
				WithHint("build or pull the image so the Docker engine has it, check the name, or write it by digest"))
			continue
		}
		out[ref] = d
	}
	return out, nil
}

var placeholder = regexp.MustCompile(`\$\{(params|inputs|outputs)\.([^}]*)\}`)

// substitute replaces ${params.X}, ${inputs.X} and ${outputs.X}.
func substitute(s string, params, inputs, outputs map[string]string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		var v string
		var ok bool
		switch sub[1] {
		case "params":
			v, ok = params[sub[2]]
		case "inputs":
			v, ok = inputs[sub[2]]
		case "outputs":
			v, ok = outputs[sub[2]]
		}
		if !ok {
			return m
		}
		return v
	})
}

func paramKind(v spec.Value) string {
	switch v.Kind {
	case spec.Number:
		return "number"
	case spec.Bool:
		return "bool"
	}
	return "string"
}

func planParams(ps []spec.Param) []plan.Param {
	out := make([]plan.Param, 0, len(ps))
	for _, p := range ps {
		out = append(out, plan.Param{Name: p.Name, Kind: paramKind(p.Value), Value: p.Value.String()})
	}
	return out
}

// plan builds every stage's pre-image and action, in dependency order.
func (c *compilation) plan(images map[string]string) (*plan.Plan, error) {
	pl := &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Tool:          c.o.tool,
		Project:       c.p.Name,
		Lock:          c.o.lock.Digest,
		Platform:      c.o.platform,
	}
	for _, d := range c.p.Datasets {
		if pd := c.datasets[d.Name]; pd != nil {
			pl.Datasets = append(pl.Datasets, pd)
		}
	}
	stages := make([]*plan.Stage, 0, len(c.inst))
	for _, in := range c.inst {
		stages = append(stages, &plan.Stage{Name: in.name, Deps: in.deps})
	}
	ordered, err := plan.Order(stages)
	if err != nil {
		return nil, err
	}
	// known holds output digests of stages that will not run; running
	// stages are absent, and their outputs are pending.
	known := map[string]map[string]string{}
	running := map[string]bool{}
	for _, ps := range ordered {
		in := c.by[ps.Name]
		c.fillStage(ps, in, images)
		c.decide(ps, in, known, running)
		in.action = ps.Action
		if ps.Action == plan.Run {
			running[ps.Name] = true
		} else {
			outs := map[string]string{}
			for _, o := range ps.Outputs {
				outs[o.Name] = o.Digest
			}
			known[ps.Name] = outs
		}
	}
	pl.Stages = ordered

	for _, e := range c.p.Experiments {
		pe := &plan.Experiment{Name: e.Name, SelectBy: e.Select.By}
		for _, m := range e.Metrics {
			out := m.Output
			if out == "" && e.Stage != nil {
				for _, o := range e.Stage.Outputs {
					if o.Kind == spec.KindMetrics {
						out = o.Name
						break
					}
				}
			}
			pe.Metrics = append(pe.Metrics, plan.Metric{Name: m.Name, Goal: m.Goal, Output: out})
		}
		for _, g := range e.Select.Gates {
			pe.Gates = append(pe.Gates, plan.Gate{Metric: g.Metric, Op: g.Op, Value: g.Value, Text: g.Text})
		}
		for _, in := range c.inst {
			if in.exp == e {
				pe.Trials = append(pe.Trials, in.name)
			}
		}
		pl.Experiments = append(pl.Experiments, pe)
	}
	var removed []string
	for n := range c.o.lock.Stages {
		if c.by[n] == nil {
			removed = append(removed, n)
		}
	}
	sort.Strings(removed)
	for _, n := range removed {
		pl.Removed = append(pl.Removed, &plan.Removed{Name: n, Reason: "no longer declared"})
	}
	pl.Count()
	pl.Fill()
	return pl, nil
}

// fillStage copies the stage's description into the plan and builds the
// parts of its pre-image that do not depend on other stages.
func (c *compilation) fillStage(ps *plan.Stage, in *instance, images map[string]string) {
	st := in.st
	ps.Image = st.Image
	ps.CodePath = st.Code
	ps.Resources = plan.Resources{CPUs: st.Resources.CPUs, MemoryBytes: st.Resources.MemoryBytes}
	ps.Retries = st.Retries
	ps.Timeout = st.Timeout
	ps.Cache = st.Cache
	if in.exp != nil {
		ps.Experiment = in.exp.Name
		ps.TrialParams = planParams(in.trial)
	}
	pre := plan.Preimage{Backend: st.Backend, Platform: c.o.platform, Network: st.Network}
	if pre.Backend == "" {
		pre.Backend = spec.BackendDocker
	}
	if pre.Backend == spec.BackendDocker {
		pre.Image = images[st.Image]
	}
	if st.Code != "" {
		if r, err := c.hash(st.Code); err == nil {
			pre.Code = r.Digest.String()
		}
	}
	params := map[string]string{}
	for _, p := range st.Params {
		params[p.Name] = p.Value.String()
	}
	pre.Params = planParams(st.Params)
	inputs := map[string]string{}
	for _, r := range in.inputs {
		inputs[r.in.Name] = r.path
		ps.Inputs = append(ps.Inputs, plan.Input{Name: r.in.Name, Path: r.path, From: r.from,
			Dataset: r.in.Dataset, Stage: strings.Join(r.producers, ","), Output: r.output})
	}
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[o.Name] = o.Path
		ps.Outputs = append(ps.Outputs, plan.Output{Name: o.Name, Path: o.Path, Kind: o.Kind})
		pre.Outputs = append(pre.Outputs, plan.KeyIO{Name: o.Name, Path: o.Path, Kind: o.Kind})
	}
	for _, a := range st.Cmd {
		pre.Argv = append(pre.Argv, substitute(a, params, inputs, outputs))
	}
	for _, e := range st.Env {
		pre.Env = append(pre.Env, plan.EnvVar{Name: e.Name, Value: substitute(e.Value, params, inputs, outputs)})
	}
	pre.Secrets = append([]string(nil), st.Secrets...)
	pre.Normalize()
	ps.Preimage = pre
}

// decide completes the pre-image with input digests and picks the action.
func (c *compilation) decide(ps *plan.Stage, in *instance, known map[string]map[string]string, running map[string]bool) {
	var upstream []string
	notes := map[string]string{}
	for _, r := range in.inputs {
		io := plan.KeyIO{Name: r.in.Name, Path: r.path}
		switch {
		case r.from == plan.FromDataset:
			if d := c.datasets[r.in.Dataset]; d != nil {
				io.Digest = d.Digest
				notes["inputs."+r.in.Name] = describeChange(d)
			}
		case len(r.producers) == 0:
			if res, err := c.hash(r.path); err == nil {
				io.Digest = res.Digest.String()
			}
		default:
			io.Digest = c.producedDigest(r, known, running, &upstream)
		}
		ps.Preimage.Inputs = append(ps.Preimage.Inputs, io)
	}
	ps.Preimage.Normalize()
	ls := c.o.lock.Stages[ps.Name]
	ps.InLock = ls != nil
	if ls != nil {
		ps.Changes = ps.Preimage.Diff(&ls.Preimage)
		for i := range ps.Changes {
			if n := notes[ps.Changes[i].Field]; n != "" {
				ps.Changes[i].Note = n
			}
			if ps.Changes[i].Note == "" && strings.HasPrefix(ps.Changes[i].Field, "inputs.") && ps.Changes[i].New == plan.Pending {
				ps.Changes[i].Note = "produced by a stage that runs first"
			}
		}
	}

	if len(upstream) > 0 {
		sort.Strings(upstream)
		ps.Action = plan.Run
		ps.Reason = "upstream changed (" + joinNames(upstream) + ")"
		if ls == nil {
			ps.Reason = "new stage"
		}
		return
	}
	key := ps.Preimage.Key()
	ps.Key = key.String()
	if !ps.Cache {
		ps.Action = plan.Run
		ps.Reason = "caching is off for this stage"
		return
	}
	cached, inCache := c.lookup(ps.Key)
	if ls != nil && ls.Key == ps.Key {
		problem := c.workspaceOutputs(ls)
		switch {
		case problem == "":
			ps.Action = plan.UpToDate
			ps.Reason = "unchanged"
			for i := range ps.Outputs {
				if lo := ls.Outputs[ps.Outputs[i].Name]; lo != nil {
					ps.Outputs[i].Digest = lo.Digest
				}
			}
		case inCache:
			ps.Action = plan.Cached
			ps.Reason = problem + "; restoring from the cache"
			setDigests(ps, cached)
		default:
			ps.Action = plan.Run
			ps.Reason = problem + " and the cache does not have it"
		}
		return
	}
	reason := "new stage"
	if ls != nil {
		reason = summarizeChanges(ps.Changes)
	}
	if inCache {
		ps.Action = plan.Cached
		ps.Reason = reason + "; outputs are in the cache"
		setDigests(ps, cached)
		return
	}
	ps.Action = plan.Run
	ps.Reason = reason
}

// producedDigest returns the digest of an input that another stage
// produces, or Pending when a producer runs first.
func (c *compilation) producedDigest(r resolvedInput, known map[string]map[string]string, running map[string]bool, upstream *[]string) string {
	pending := false
	for _, p := range r.producers {
		if running[p] {
			pending = true
			if !containsStr(*upstream, p) {
				*upstream = append(*upstream, p)
			}
		}
	}
	if pending {
		return plan.Pending
	}
	if r.from == plan.FromStage {
		return known[r.producers[0]][r.output]
	}
	// A path inside (or around) other stages' outputs: when it is exactly
	// one output, its digest is known; otherwise the producers' outputs
	// must be in the workspace to hash it, which they are unless they are
	// about to be restored from the cache.
	for _, p := range r.producers {
		for name, d := range known[p] {
			if out := c.by[p].st.Output(name); out != nil && out.Path == r.path {
				return d
			}
		}
	}
	for _, p := range r.producers {
		if c.stageAction(p) == plan.Cached {
			if !containsStr(*upstream, p) {
				*upstream = append(*upstream, p)
			}
			return plan.Pending
		}
	}
	res, err := c.o.hasher.Path(c.ctx, c.abs(r.path))
	if err != nil {
		return plan.Pending
	}
	return res.Digest.String()
}

// stageAction looks up the action already decided for an upstream stage.
func (c *compilation) stageAction(name string) plan.Action {
	if in := c.by[name]; in != nil && in.action != "" {
		return in.action
	}
	return ""
}

// workspaceOutputs checks that the workspace holds the locked outputs, and
// says what is wrong if not.
func (c *compilation) workspaceOutputs(ls *plan.LockedStage) string {
	names := make([]string, 0, len(ls.Outputs))
	for n := range ls.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := ls.Outputs[n]
		res, err := c.hash(o.Path)
		if err != nil {
			return "output " + o.Path + " is missing"
		}
		if res.Digest.String() != o.Digest {
			return "output " + o.Path + " was modified"
		}
	}
	return ""
}

func (c *compilation) lookup(key string) (map[string]string, bool) {
	if c.o.cache == nil || key == "" {
		return nil, false
	}
	return c.o.cache.Lookup(key)
}

func setDigests(ps *plan.Stage, outs map[string]string) {
	for i := range ps.Outputs {
		ps.Outputs[i].Digest = outs[ps.Outputs[i].Name]
	}
}

// summarizeChanges renders the first change, and how many more there are,
// as a stage's reason: "params.lr: 0.1 → 0.3 and 1 more change".
func summarizeChanges(cs []plan.Change) string {
	if len(cs) == 0 {
		return "changed"
	}
	s := cs[0].String()
	more := 0
	for _, c := range cs[1:] {
		if c.Note != plan.Derived {
			more++
		}
	}
	switch n := more; {
	case n == 1:
		s += " and 1 more change"
	case n > 1:
		s += fmt.Sprintf(" and %d more changes", n)
	}
	return s
}

func joinNames(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
