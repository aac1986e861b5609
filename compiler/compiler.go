package compiler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// ImageResolver pins an image reference to a digest (or a local image ID).
type ImageResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Cache tells the compiler which action keys the output cache holds, and
// the digests of their outputs by output name.
type Cache interface {
	Lookup(key string) (outputs map[string]string, ok bool)
}

// Option configures Compile.
type Option func(*options)

type options struct {
	hasher    *digest.Hasher
	manifests *digest.ManifestStore
	images    ImageResolver
	cache     Cache
	lock      *plan.Lock
	refresh   bool
	tool      plan.Tool
	platform  string
	workers   int
}

// WithHasher sets the hasher for datasets, code and outputs; by default a
// hasher without a stat cache.
func WithHasher(h *digest.Hasher) Option { return func(o *options) { o.hasher = h } }

// WithManifests sets where directory manifests are kept, so that a plan can
// name the files of a directory dataset that changed.
func WithManifests(m *digest.ManifestStore) Option { return func(o *options) { o.manifests = m } }

// WithImages sets the image resolver. Without one, images must be pinned
// in the lockfile or written by digest.
func WithImages(r ImageResolver) Option { return func(o *options) { o.images = r } }

// WithCache sets the output cache to consult.
func WithCache(c Cache) Option { return func(o *options) { o.cache = c } }

// WithLock sets the lockfile to compare with.
func WithLock(l *plan.Lock) Option { return func(o *options) { o.lock = l } }

// WithRefresh re-resolves image tags even when the lockfile pins them.
func WithRefresh(b bool) Option { return func(o *options) { o.refresh = b } }

// WithTool names the program in the plan.
func WithTool(t plan.Tool) Option { return func(o *options) { o.tool = t } }

// WithPlatform overrides the platform stages run on (default: this host's
// linux/GOARCH).
func WithPlatform(p string) Option { return func(o *options) { o.platform = p } }

// instance is one stage to plan: a declared stage or an experiment trial.
type instance struct {
	name  string
	st    *spec.Stage
	exp   *spec.Experiment
	trial []spec.Param
	// pos holds positions for diagnostics: the stage's own, or for trials
	// the experiment's template stage.
	pos spec.Positions
	// at is the spec path of the stage, for diagnostics.
	at string

	deps   []string
	inputs []resolvedInput
	// action is decided in dependency order; downstream stages read it.
	action plan.Action
}

type resolvedInput struct {
	in   *spec.Input
	path string
	from string
	// producers are the stages whose outputs this input reads.
	producers []string
	// output is the producing output for stage inputs.
	output string
}

// compilation holds one run of Compile.
type compilation struct {
	ctx  context.Context
	o    options
	p    *spec.Project
	dir  string
	ds   diag.Diagnostics
	inst []*instance
	by   map[string]*instance

	datasets map[string]*plan.Dataset
	hashMu   sync.Mutex
	hashes   map[string]hashResult
}

type hashResult struct {
	res digest.Result
	err error
}

// Compile resolves a spec into a plan: it expands experiments, resolves
// references into a DAG, hashes datasets and code, pins images, computes
// action keys and decides each stage's action against the lockfile and the
// cache. User mistakes (a missing dataset file, a cycle) are diagnostics;
// environment failures are errors.
func Compile(ctx context.Context, p *spec.Project, dir string, opts ...Option) (*plan.Plan, diag.Diagnostics, error) {
	o := options{workers: runtime.NumCPU()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.hasher == nil {
		o.hasher = digest.NewHasher()
	}
	if o.lock == nil {
		o.lock = plan.NewLock()
	}
	if o.platform == "" {
		o.platform = "linux/" + runtime.GOARCH
	}
	if o.tool.Name == "" {
		o.tool = plan.Tool{Name: "lattice"}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	c := &compilation{ctx: ctx, o: o, p: p, dir: abs, by: map[string]*instance{}, hashes: map[string]hashResult{}}
	c.instances()
	c.resolve()
	if c.ds.HasErrors() {
		return nil, c.ds.Sort(), nil
	}
	c.cycles()
	if c.ds.HasErrors() {
		return nil, c.ds.Sort(), nil
	}
	if err := c.hashAll(); err != nil {
		return nil, nil, err
	}
	images, err := c.pinImages()
	if err != nil {
		return nil, nil, err
	}
	if c.ds.HasErrors() {
		return nil, c.ds.Sort(), nil
	}
	pl, err := c.plan(images)
	if err != nil {
		return nil, nil, err
	}
	return pl, c.ds.Sort(), nil
}

func (c *compilation) add(d *diag.Diagnostic) { c.ds = append(c.ds, d) }

// instances lists declared stages and expands experiments into trials.
func (c *compilation) instances() {
	for _, s := range c.p.Stages {
		c.addInstance(&instance{name: s.Name, st: s, pos: s.Pos, at: "stages." + s.Name})
	}
	for _, e := range c.p.Experiments {
		if e.Stage == nil {
			continue
		}
		trials := expand(e)
		if len(trials) == 0 {
			c.add(diag.Errorf(e.Pos.At("space"), "experiments."+e.Name+".space", "experiment %q has no trials", e.Name).
				WithHint("give the space at least one point"))
			continue
		}
		pos := spec.Positions{}
		for k, v := range e.Pos {
			if k == "stage" {
				pos[""] = v
			} else if rest, ok := strings.CutPrefix(k, "stage."); ok {
				pos[rest] = v
			}
		}
		for _, t := range trials {
			st := trialStage(e, t)
			c.addInstance(&instance{name: st.Name, st: st, exp: e, trial: t.params, pos: pos, at: "experiments." + e.Name + ".stage"})
		}
	}
}

func (c *compilation) addInstance(in *instance) {
	if prev, ok := c.by[in.name]; ok {
		c.add(diag.Errorf(in.pos.At(""), in.at, "two stages are named %q", in.name).
			WithNote(prev.pos.At(""), "the other is declared here"))
		return
	}
	c.by[in.name] = in
	c.inst = append(c.inst, in)
}

// outputIndex finds which stage outputs a path lies in or contains.
type outputIndex struct {
	exact map[string][]outRef
	paths []string
}

type outRef struct {
	stage, output string
}

func (c *compilation) outputIndex() *outputIndex {
	ix := &outputIndex{exact: map[string][]outRef{}}
	for _, in := range c.inst {
		for _, o := range in.st.Outputs {
			if _, ok := ix.exact[o.Path]; !ok {
				ix.paths = append(ix.paths, o.Path)
			}
			ix.exact[o.Path] = append(ix.exact[o.Path], outRef{in.name, o.Name})
		}
	}
	sort.Strings(ix.paths)
	return ix
}

// producers returns the outputs that p equals, lies inside, or contains.
func (ix *outputIndex) producers(p string) []outRef {
	var out []outRef
	for q := p; ; {
		out = append(out, ix.exact[q]...)
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			break
		}
		q = q[:i]
	}
	prefix := p + "/"
	i := sort.SearchStrings(ix.paths, prefix)
	for ; i < len(ix.paths) && strings.HasPrefix(ix.paths[i], prefix); i++ {
		out = append(out, ix.exact[ix.paths[i]]...)
	}
	return out
}

// resolve turns every input into a path and a set of producing stages,
// which are the DAG's edges.
func (c *compilation) resolve() {
	ix := c.outputIndex()
	for _, in := range c.inst {
		deps := map[string]bool{}
		for _, inp := range in.st.Inputs {
			r := resolvedInput{in: inp}
			field := "inputs." + inp.Name
			switch {
			case inp.Dataset != "":
				d := c.p.Dataset(inp.Dataset)
				if d == nil {
					// lang reports undefined references; nothing to add.
					continue
				}
				r.from, r.path = plan.FromDataset, d.Path
				// A dataset inside a stage's output would be an edge too,
				// but lang rejects that overlap.
			case inp.Stage != "":
				up := c.by[inp.Stage]
				if up == nil {
					continue
				}
				out := inp.Output
				if out == "" && len(up.st.Outputs) == 1 {
					out = up.st.Outputs[0].Name
				}
				o := up.st.Output(out)
				if o == nil {
					continue
				}
				r.from, r.path, r.output = plan.FromStage, o.Path, out
				r.producers = []string{up.name}
			case inp.Path != "":
				r.from, r.path = plan.FromPath, inp.Path
				seen := map[string]bool{}
				for _, ref := range ix.producers(inp.Path) {
					if !seen[ref.stage] {
						seen[ref.stage] = true
						r.producers = append(r.producers, ref.stage)
					}
					if r.output == "" {
						r.output = ref.output
					}
				}
				sort.Strings(r.producers)
			default:
				continue
			}
			for _, p := range r.producers {
				if p == in.name {
					c.add(diag.Errorf(in.pos.At(field), in.at+"."+field, "stage %q reads its own output through input %q", in.name, inp.Name).
						WithHint("a stage cannot depend on itself; read the data from a dataset or an upstream stage"))
					continue
				}
				deps[p] = true
			}
			in.inputs = append(in.inputs, r)
		}
		for d := range deps {
			in.deps = append(in.deps, d)
		}
		sort.Strings(in.deps)
	}
}

// cycles reports every cycle in the DAG once, with the whole cycle and the
// position of each edge.
func (c *compilation) cycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range c.by[n].deps {
			switch color[d] {
			case white:
				visit(d)
			case grey:
				// The cycle is the part of the stack from d to n.
				i := len(stack) - 1
				for stack[i] != d {
					i--
				}
				cyc := append([]string(nil), stack[i:]...)
				c.reportCycle(cyc)
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	names := make([]string, 0, len(c.by))
	for n := range c.by {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if color[n] == white {
			visit(n)
		}
	}
}

// reportCycle reports a cycle given as a path of stages where each reads
// from the next and the last reads from the first.
func (c *compilation) reportCycle(cyc []string) {
	// Rotate so the cycle starts at its smallest name: the same cycle found
	// from two places reads the same.
	min := 0
	for i, n := range cyc {
		if n < cyc[min] {
			min = i
		}
	}
	cyc = append(cyc[min:], cyc[:min]...)
	chain := make([]string, 0, len(cyc)+1)
	for _, n := range cyc {
		chain = append(chain, fmt.Sprintf("%q", n))
	}
	chain = append(chain, fmt.Sprintf("%q", cyc[0]))
	first := c.by[cyc[0]]
	d := diag.Errorf(c.edgePos(cyc[0], cyc[(1)%len(cyc)]), first.at, "stages form a cycle: %s", strings.Join(chain, " reads from "))
	for i, n := range cyc {
		next := cyc[(i+1)%len(cyc)]
		d.WithNote(c.edgePos(n, next), "stage %q reads from stage %q here", n, next)
	}
	d.WithHint("a pipeline must be acyclic; remove one of these inputs")
	c.add(d)
}

// edgePos is where stage from declares the input that reads stage to.
func (c *compilation) edgePos(from, to string) diag.Range {
	in := c.by[from]
	for _, r := range in.inputs {
		for _, p := range r.producers {
			if p == to {
				return in.pos.At("inputs." + r.in.Name)
			}
		}
	}
	return in.pos.At("")
}

// hash digests a workspace path once per compilation, however many stages
// read it.
func (c *compilation) hash(rel string) (digest.Result, error) {
	c.hashMu.Lock()
	if r, ok := c.hashes[rel]; ok {
		c.hashMu.Unlock()
		return r.res, r.err
	}
	c.hashMu.Unlock()
	res, err := c.o.hasher.Path(c.ctx, c.abs(rel))
	c.hashMu.Lock()
	c.hashes[rel] = hashResult{res, err}
	c.hashMu.Unlock()
	return res, err
}

// parallel runs f on each item with the configured number of workers and
// returns the first environment error.
func parallel[T any](ctx context.Context, workers int, items []T, f func(T) error) error {
	if workers < 1 {
		workers = 1
	}
	ch := make(chan T)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := f(it); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func (c *compilation) abs(rel string) string { return filepath.Join(c.dir, filepath.FromSlash(rel)) }

// isMissing reports whether err means the path does not exist.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
