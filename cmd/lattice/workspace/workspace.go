// Package workspace ties the front end, the compiler and the executor's
// state together for the commands: it knows where a project keeps its
// lockfile (lattice.lock), its local state (.lattice/: stat cache,
// manifests, run records, journal, lock) and its output cache
// ($LATTICE_CACHE or ~/.cache/lattice), and it runs the load → plan steps
// that several commands share. It holds no logic of its own beyond that
// wiring; the commands stay thin and the libraries stay independent.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lattice.dev/lattice/compiler"
	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/pin"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/executor/cache"
	"lattice.dev/lattice/executor/lockfile"
	"lattice.dev/lattice/lang"
	"lattice.dev/lattice/lang/diag"
)

// File and directory names inside a project.
const (
	LockFile = "lattice.lock"
	StateDir = ".lattice"
)

// Workspace is an open project directory.
type Workspace struct {
	// Dir is the project directory, absolute.
	Dir string
	// Cache is the output cache.
	Cache *cache.Cache

	stat      *digest.StatCache
	hasher    *digest.Hasher
	manifests *digest.ManifestStore
	resolver  compiler.ImageResolver
	tool      plan.Tool
	cacheDir  string
}

// Option configures Open.
type Option func(*Workspace)

// WithCacheDir sets the output cache directory instead of $LATTICE_CACHE or
// ~/.cache/lattice.
func WithCacheDir(dir string) Option { return func(w *Workspace) { w.cacheDir = dir } }

// WithResolver sets the image resolver (default: local engine, then
// registry).
func WithResolver(r compiler.ImageResolver) Option { return func(w *Workspace) { w.resolver = r } }

// WithTool names the program in plans.
func WithTool(t plan.Tool) Option { return func(w *Workspace) { w.tool = t } }

// Open opens the project in dir and its state. It creates .lattice/ when
// missing.
func Open(dir string, opts ...Option) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("project directory %s does not exist", dir)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	w := &Workspace{Dir: abs, tool: plan.Tool{Name: "lattice"}}
	for _, o := range opts {
		o(w)
	}
	if err := os.MkdirAll(w.State(), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", w.State(), err)
	}
	w.stat = digest.OpenStatCache(w.State("statcache"))
	w.hasher = digest.NewHasher(digest.WithStatCache(w.stat))
	w.manifests = digest.NewManifestStore(w.State("manifests"))
	if w.cacheDir == "" {
		if w.cacheDir, err = cache.DefaultDir(); err != nil {
			return nil, err
		}
	}
	if w.Cache, err = cache.Open(w.cacheDir); err != nil {
		return nil, fmt.Errorf("opening the output cache: %w", err)
	}
	if w.resolver == nil {
		w.resolver = pin.New()
	}
	return w, nil
}

// State returns a path inside the project's .lattice directory.
func (w *Workspace) State(elem ...string) string {
	return filepath.Join(append([]string{w.Dir, StateDir}, elem...)...)
}

// LockPath is the path of the project's lockfile.
func (w *Workspace) LockPath() string { return filepath.Join(w.Dir, LockFile) }

// Hasher returns the workspace's hasher, backed by its stat cache.
func (w *Workspace) Hasher() *digest.Hasher { return w.hasher }

// Close saves the stat cache. Call it after every command that hashed
// anything; a failure to save only costs re-hashing next time.
func (w *Workspace) Close() error {
	return w.stat.Save()
}

// Load reads the project's spec.
func (w *Workspace) Load() (*lang.Result, diag.Diagnostics) {
	l, err := lang.NewLoader()
	if err != nil {
		return nil, diag.Diagnostics{diag.Errorf(diag.Range{}, "", "%v", err)}
	}
	return l.LoadCached(w.Dir, w.State("spec.cache"))
}

// ReadLock reads lattice.lock; a missing file gives an empty lock.
func (w *Workspace) ReadLock() (*plan.Lock, error) {
	return lockfile.Read(w.LockPath())
}

// PlanOptions configures Plan.
type PlanOptions struct {
	// Refresh re-resolves image tags that the lockfile pins.
	Refresh bool
}

// Planned is the result of Plan.
type Planned struct {
	Plan   *plan.Plan
	Spec   *lang.Result
	Lock   *plan.Lock
	Diags  diag.Diagnostics
	Hashed digest.Stats
}

// Plan loads the spec, reads the lockfile and compiles a plan. Diagnostics
// (in Planned.Diags) are the user's mistakes; the error is for everything
// else.
func (w *Workspace) Plan(ctx context.Context, o PlanOptions) (*Planned, error) {
	res, ds := w.Load()
	out := &Planned{Spec: res, Diags: ds}
	if ds.HasErrors() {
		return out, nil
	}
	lock, err := w.ReadLock()
	if err != nil {
		return nil, err
	}
	out.Lock = lock
	p, cds, err := compiler.Compile(ctx, res.Project, w.Dir,
		compiler.WithHasher(w.hasher),
		compiler.WithManifests(w.manifests),
		compiler.WithImages(w.resolver),
		compiler.WithCache(cacheLookup{w.Cache}),
		compiler.WithLock(lock),
		compiler.WithRefresh(o.Refresh),
		compiler.WithTool(w.tool),
	)
	out.Diags = append(out.Diags, cds...)
	out.Hashed = w.hasher.Stats()
	if err != nil {
		return nil, err
	}
	out.Plan = p
	return out, nil
}

// cacheLookup lets the compiler ask the output cache about keys.
type cacheLookup struct{ c *cache.Cache }

func (l cacheLookup) Lookup(key string) (map[string]string, bool) {
	k, err := digest.Parse(key)
	if err != nil {
		return nil, false
	}
	e, ok := l.c.Get(k)
	if !ok {
		return nil, false
	}
	outs := make(map[string]string, len(e.Outputs))
	for _, o := range e.Outputs {
		outs[o.Name] = o.Digest.String()
	}
	return outs, true
}
