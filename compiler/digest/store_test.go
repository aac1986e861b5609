package digest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManifestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	s := NewManifestStore(dir)
	m := &Manifest{Entries: []Entry{
		{Path: "a", Kind: KindFile, Size: 1, Digest: String("a")},
		{Path: "b/c d", Kind: KindExec, Size: 2, Digest: String("cd")},
		{Path: "e", Kind: KindSymlink, Size: 1, Digest: String("a")},
	}}
	d, err := s.Put(m)
	check(t, err)
	if d != m.Digest() {
		t.Errorf("Put returned %s, want the manifest's digest %s", d, m.Digest())
	}
	hx := d.Hex()
	if _, err := os.Stat(filepath.Join(dir, hx[:2], hx)); err != nil {
		t.Errorf("manifest not at <dir>/<hex[:2]>/<hex>: %v", err)
	}
	got, err := s.Get(d)
	check(t, err)
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("Get mismatch (-put +got):\n%s", diff)
	}
	again, err := s.Put(m)
	if err != nil || again != d {
		t.Errorf("second Put = %s, %v; want %s, nil", again, err, d)
	}
	empty, err := s.Put(&Manifest{})
	check(t, err)
	if got, err := s.Get(empty); err != nil || len(got.Entries) != 0 {
		t.Errorf("empty manifest round trip = %v, %v", got, err)
	}
}

func TestManifestStoreErrors(t *testing.T) {
	dir := t.TempDir()
	s := NewManifestStore(dir)
	m := &Manifest{Entries: []Entry{{Path: "a", Kind: KindFile, Size: 1, Digest: String("a")}}}
	d, err := s.Put(m)
	check(t, err)
	p := filepath.Join(dir, d.Hex()[:2], d.Hex())
	valid, err := os.ReadFile(p)
	check(t, err)

	// other is stored under d but describes another tree.
	other := (&Manifest{Entries: []Entry{{Path: "b", Kind: KindFile, Size: 1, Digest: String("b")}}}).Text()
	tests := []struct {
		name    string
		content []byte // nil removes the file
		want    error
	}{
		{"missing", nil, fs.ErrNotExist},
		{"other manifest", other, ErrCorrupt},
		{"truncated", valid[:len(valid)-3], ErrCorrupt},
		{"empty", []byte{}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(p)
			if tt.content != nil {
				check(t, os.WriteFile(p, tt.content, 0o644))
			}
			if _, err := s.Get(d); !errors.Is(err, tt.want) {
				t.Errorf("Get error = %v, want one wrapping %v", err, tt.want)
			}
		})
	}

	// A digest whose bytes are not a valid manifest but match their name is
	// corrupt too: it cannot be parsed.
	junk := []byte("not a manifest\n")
	jd := Bytes(junk)
	check(t, os.MkdirAll(filepath.Join(dir, jd.Hex()[:2]), 0o755))
	check(t, os.WriteFile(filepath.Join(dir, jd.Hex()[:2], jd.Hex()), junk, 0o644))
	if _, err := s.Get(jd); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of unparsable content: error = %v, want ErrCorrupt", err)
	}
	if _, err := s.Get(Digest{Algo: SHA256}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a sha256 digest: error = %v, want fs.ErrNotExist", err)
	}

	unsorted := &Manifest{Entries: []Entry{{Path: "b", Kind: KindFile}, {Path: "a", Kind: KindFile}}}
	if _, err := s.Put(unsorted); err == nil {
		t.Error("Put of an unsorted manifest succeeded")
	}
}
