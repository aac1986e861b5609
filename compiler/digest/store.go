package digest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrCorrupt marks stored data that does not match the digest it is stored
// under, or cannot be parsed. Callers treat it like a miss.
var ErrCorrupt = errors.New("corrupt")

// ManifestStore keeps tree manifests by digest in a directory, as
// <dir>/<first two hex digits>/<hex>, so that a later run can name the files
// of a directory dataset that changed since a plan was locked. Entries are
// written once and never modified; a ManifestStore is safe for concurrent
// use by goroutines and processes.
type ManifestStore struct {
	dir string
}

// NewManifestStore returns the store rooted at dir, for example
// ".lattice/manifests". The directory is created by the first Put.
func NewManifestStore(dir string) *ManifestStore {
	return &ManifestStore{dir: dir}
}

// path is where the manifest with digest d lives.
func (s *ManifestStore) path(d Digest) string {
	hx := d.Hex()
	return filepath.Join(s.dir, hx[:2], hx)
}

// Put stores m under its digest, unless a manifest with that digest is
// already stored, and returns the digest. m must be sorted by path with no
// duplicates, as the hasher builds it; anything else has no canonical text.
func (s *ManifestStore) Put(m *Manifest) (Digest, error) {
	for i := 1; i < len(m.Entries); i++ {
		if m.Entries[i-1].Path >= m.Entries[i].Path {
			return Digest{}, fmt.Errorf("storing manifest: paths %q and %q are out of order or repeated", m.Entries[i-1].Path, m.Entries[i].Path)
		}
	}
	text := m.Text()
	d := Bytes(text)
	p := s.path(d)
	if _, err := os.Stat(p); err == nil {
		return d, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return Digest{}, fmt.Errorf("storing manifest %s: %w", d.Short(), err)
	}
	if err := WriteFileAtomic(p, text, 0o666); err != nil {
		return Digest{}, fmt.Errorf("storing manifest %s: %w", d.Short(), err)
	}
	return d, nil
}

// Get returns the manifest stored under d. A manifest never stored gives an
// error wrapping fs.ErrNotExist; one whose bytes do not hash to d or do not
// parse gives an error wrapping ErrCorrupt.
func (s *ManifestStore) Get(d Digest) (*Manifest, error) {
	if d.Algo != BLAKE3 {
		return nil, fmt.Errorf("loading manifest %s: manifests are stored by %s digest: %w", d, BLAKE3, fs.ErrNotExist)
	}
	text, err := os.ReadFile(s.path(d))
	if err != nil {
		return nil, fmt.Errorf("loading manifest %s: %w", d.Short(), err)
	}
	if got := Bytes(text); got != d {
		return nil, fmt.Errorf("loading manifest %s: content has digest %s: %w", d.Short(), got.Short(), ErrCorrupt)
	}
	m, err := ParseManifest(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("loading manifest %s: %v: %w", d.Short(), err, ErrCorrupt)
	}
	return m, nil
}
