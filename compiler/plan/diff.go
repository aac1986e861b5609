package plan

// LockDiff is the difference between two lockfiles (or plans viewed as
// lockfiles), at object level and field level.
type LockDiff struct {
	Datasets []ObjectDiff `json:"datasets"`
	Stages   []ObjectDiff `json:"stages"`
	Images   []ObjectDiff `json:"images"`
}

// ObjectDiff is one dataset, stage or image that differs.
type ObjectDiff struct {
	Name string `json:"name"`
	// Change is "added", "removed" or "changed".
	Change string   `json:"change"`
	Fields []Change `json:"fields"`
}

// Empty reports whether the two sides are the same.
func (d LockDiff) Empty() bool { return len(d.Datasets)+len(d.Stages)+len(d.Images) == 0 }

// DiffLocks compares a (old) with b (new).
func DiffLocks(a, b *Lock) LockDiff {
	out := LockDiff{Datasets: []ObjectDiff{}, Stages: []ObjectDiff{}, Images: []ObjectDiff{}}
	for _, n := range unionKeys(keysOf(a.Datasets), keysOf(b.Datasets)) {
		x, y := a.Datasets[n], b.Datasets[n]
		switch {
		case x == nil:
			out.Datasets = append(out.Datasets, ObjectDiff{Name: n, Change: "added", Fields: []Change{{Field: "digest", New: shortDigest(y.Digest)}}})
		case y == nil:
			out.Datasets = append(out.Datasets, ObjectDiff{Name: n, Change: "removed", Fields: []Change{}})
		default:
			var f []Change
			if x.Path != y.Path {
				f = append(f, Change{Field: "path", Old: x.Path, New: y.Path})
			}
			if x.Digest != y.Digest {
				f = append(f, Change{Field: "digest", Old: shortDigest(x.Digest), New: shortDigest(y.Digest)})
			}
			if len(f) > 0 {
				out.Datasets = append(out.Datasets, ObjectDiff{Name: n, Change: "changed", Fields: f})
			}
		}
	}
	for _, n := range unionKeys(keysOf(a.Stages), keysOf(b.Stages)) {
		x, y := a.Stages[n], b.Stages[n]
		switch {
		case x == nil:
			out.Stages = append(out.Stages, ObjectDiff{Name: n, Change: "added", Fields: []Change{}})
		case y == nil:
			out.Stages = append(out.Stages, ObjectDiff{Name: n, Change: "removed", Fields: []Change{}})
		default:
			f := y.Preimage.Diff(&x.Preimage)
			for _, on := range unionKeys(keysOf(x.Outputs), keysOf(y.Outputs)) {
				var od, nd string
				if o := x.Outputs[on]; o != nil {
					od = shortDigest(o.Digest)
				}
				if o := y.Outputs[on]; o != nil {
					nd = shortDigest(o.Digest)
				}
				if od != nd {
					f = append(f, Change{Field: "outputs." + on + ".digest", Old: od, New: nd})
				}
			}
			if len(f) == 0 && x.Key != y.Key {
				f = append(f, Change{Field: "key", Old: shortDigest(x.Key), New: shortDigest(y.Key)})
			}
			if len(f) > 0 {
				out.Stages = append(out.Stages, ObjectDiff{Name: n, Change: "changed", Fields: f})
			}
		}
	}
	ai, bi := a.Images, b.Images
	if ai == nil {
		ai = map[string]string{}
	}
	if bi == nil {
		bi = map[string]string{}
	}
	for _, n := range unionKeys(ai, bi) {
		x, okx := ai[n]
		y, oky := bi[n]
		switch {
		case !okx:
			out.Images = append(out.Images, ObjectDiff{Name: n, Change: "added", Fields: []Change{{Field: "digest", New: shortDigest(y)}}})
		case !oky:
			out.Images = append(out.Images, ObjectDiff{Name: n, Change: "removed", Fields: []Change{}})
		case x != y:
			out.Images = append(out.Images, ObjectDiff{Name: n, Change: "changed", Fields: []Change{{Field: "digest", Old: shortDigest(x), New: shortDigest(y)}}})
		}
	}
	return out
}

func keysOf[V any](m map[string]V) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

// LockOf views a plan as the lockfile it would produce if every stage
// reproduced the outputs it records: stages with a key and known output
// digests, and datasets. Stages whose key is still pending keep their
// pre-image with pending inputs and no outputs.
func LockOf(p *Plan) *Lock {
	l := NewLock()
	l.Digest = p.Lock
	for _, d := range p.Datasets {
		l.Datasets[d.Name] = &LockedDataset{Path: d.Path, Digest: d.Digest}
	}
	for _, s := range p.Stages {
		ls := &LockedStage{Key: s.Key, Preimage: s.Preimage, Outputs: map[string]*LockedOutput{}}
		for _, o := range s.Outputs {
			if o.Digest != "" {
				ls.Outputs[o.Name] = &LockedOutput{Path: o.Path, Kind: o.Kind, Digest: o.Digest}
			}
		}
		l.Stages[s.Name] = ls
		if s.Image != "" && s.Preimage.Image != "" {
			l.Images[s.Image] = s.Preimage.Image
		}
	}
	return l
}
