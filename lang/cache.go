package lang

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
	"lattice.dev/lattice/schemas"
)

// LoadCached is Load with a cache of the evaluated spec in file. Evaluating
// CUE dominates a plan of a large, unchanged project (about 1.8 s at 10,000
// stages), so the decoded model is kept, keyed by a digest of everything
// evaluation depends on: the loader's version, the embedded schema, every
// spec file's name and content, and every file under the project's
// cue.mod. Only loads without errors are cached; a missing, stale or
// corrupt cache file is simply a miss.
func (l *Loader) LoadCached(dir, file string) (*Result, diag.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return l.Load(dir)
	}
	key, err := l.cacheKey(abs)
	if err != nil {
		return l.Load(dir)
	}
	if res, ds, ok := l.readCache(abs, file, key); ok {
		return res, ds
	}
	res, ds := l.Load(dir)
	if !ds.HasErrors() && res != nil && res.Project != nil {
		// A cache that cannot be written only costs the next load time.
		l.writeCache(file, key, res.Project, ds)
	}
	return res, ds
}

// cacheFormat changes whenever the cached data's meaning does.
const cacheFormat = "lattice-spec-cache 1"

func (l *Loader) cacheKey(dir string) (digest.Digest, error) {
	h := digest.New()
	fmt.Fprintf(h, "%s\nwork %s\n", cacheFormat, l.cwd)
	for _, name := range sortedKeys(schemas.Files()) {
		fmt.Fprintf(h, "schema %s %d\n", name, len(schemas.Files()[name]))
		h.Write(schemas.Files()[name])
	}
	names, err := SpecFiles(dir)
	if err != nil {
		return digest.Digest{}, err
	}
	if root := findModuleRoot(dir); root != "" {
		mod := filepath.Join(root, "cue.mod")
		err := filepath.WalkDir(mod, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return digest.Digest{}, err
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return digest.Digest{}, err
		}
		fmt.Fprintf(h, "file %s %d\n", strconv.Quote(n), len(b))
		h.Write(b)
	}
	return digest.Sum(digest.BLAKE3, h), nil
}

type cachedSpec struct {
	Key     string
	Project *spec.Project
	Diags   diag.Diagnostics
}

func (l *Loader) readCache(dir, file string, key digest.Digest) (*Result, diag.Diagnostics, bool) {
	b, err := os.ReadFile(file)
	if err != nil || len(b) < digest.Size {
		return nil, nil, false
	}
	body, sum := b[:len(b)-digest.Size], b[len(b)-digest.Size:]
	if d := digest.Bytes(body); !bytes.Equal(d.Sum[:], sum) {
		return nil, nil, false
	}
	var c cachedSpec
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&c); err != nil || c.Key != key.String() || c.Project == nil {
		return nil, nil, false
	}
	// Sources are read from disk when a diagnostic needs an excerpt.
	return &Result{Project: c.Project, Dir: dir, sources: map[string][]byte{}, lazyDir: l.cwd}, c.Diags, true
}

func (l *Loader) writeCache(file string, key digest.Digest, p *spec.Project, ds diag.Diagnostics) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cachedSpec{Key: key.String(), Project: p, Diags: ds}); err != nil {
		return err
	}
	sum := digest.Bytes(buf.Bytes())
	buf.Write(sum.Sum[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return digest.WriteFileAtomic(file, buf.Bytes(), 0o644)
}
