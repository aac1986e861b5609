package digest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManifestTextRoundTrip(t *testing.T) {
	m := &Manifest{Entries: []Entry{
		{Path: "a b", Kind: KindFile, Size: 3, Digest: String("abc")},
		{Path: "bin/tool", Kind: KindExec, Size: 0, Digest: String("")},
		{Path: "link", Kind: KindSymlink, Size: 4, Digest: String("a b")},
		{Path: "quote\"and\\back\nslash", Kind: KindFile, Size: 1, Digest: Bytes([]byte{0})},
		{Path: "ünïcödé", Kind: KindFile, Size: 1, Digest: Digest{Algo: SHA256, Sum: [Size]byte{1, 2, 3}}},
	}}
	text := m.Text()
	if !bytes.HasPrefix(text, []byte("lattice-tree 1\nf 3 blake3:")) {
		t.Errorf("unexpected text start:\n%s", text)
	}
	got, err := ParseManifest(bytes.NewReader(text))
	check(t, err)
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if got.Digest() != m.Digest() || m.Digest() != Bytes(text) {
		t.Error("digest is not the digest of the canonical text")
	}
	if e, ok := got.Lookup("link"); !ok || e.Kind != KindSymlink {
		t.Errorf("Lookup(link) = %+v, %v", e, ok)
	}
	if _, ok := got.Lookup("absent"); ok {
		t.Error("Lookup(absent) found something")
	}
}

// TestManifestTextGolden pins the canonical text: every tree digest ever
// recorded in a lockfile depends on it, byte for byte.
func TestManifestTextGolden(t *testing.T) {
	m := &Manifest{Entries: []Entry{
		{Path: "a", Kind: KindFile, Size: 5, Digest: String("hello")},
		{Path: "b c", Kind: KindExec, Size: 0, Digest: String("")},
		{Path: "d", Kind: KindSymlink, Size: 1, Digest: String("a")},
	}}
	want := "lattice-tree 1\n" +
		"f 5 " + String("hello").String() + " a\n" +
		"x 0 " + String("").String() + " \"b c\"\n" +
		"l 1 " + String("a").String() + " d\n"
	if diff := cmp.Diff(want, string(m.Text())); diff != "" {
		t.Errorf("Text (-want +got):\n%s", diff)
	}
	if got, want := String("").String(), "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"; got != want {
		t.Errorf("digest of nothing = %s, want %s (the published BLAKE3 test vector)", got, want)
	}
}

func TestParseManifestErrors(t *testing.T) {
	d := String("x").String()
	tests := map[string]string{
		"no header":     "f 1 " + d + " a\n",
		"wrong header":  "lattice-tree 2\n",
		"truncated":     "lattice-tree 1\nf 1 " + d + " a",
		"short line":    "lattice-tree 1\nf 1 " + d + "\n",
		"bad kind":      "lattice-tree 1\nz 1 " + d + " a\n",
		"long kind":     "lattice-tree 1\nff 1 " + d + " a\n",
		"bad size":      "lattice-tree 1\nf -1 " + d + " a\n",
		"bad digest":    "lattice-tree 1\nf 1 md5:00 a\n",
		"bad quoting":   "lattice-tree 1\nf 1 " + d + " \"a\n",
		"out of order":  "lattice-tree 1\nf 1 " + d + " b\nf 1 " + d + " a\n",
		"duplicate":     "lattice-tree 1\nf 1 " + d + " a\nf 1 " + d + " a\n",
		"uppercase hex": "lattice-tree 1\nf 1 " + strings.ToUpper(d) + " a\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			if m, err := ParseManifest(strings.NewReader(text)); err == nil {
				t.Errorf("ParseManifest succeeded: %+v", m)
			}
		})
	}
}

func TestManifestDiff(t *testing.T) {
	e := func(p, content string, kind byte) Entry {
		return Entry{Path: p, Kind: kind, Size: int64(len(content)), Digest: String(content)}
	}
	old := &Manifest{Entries: []Entry{
		e("a", "1", KindFile), e("b", "2", KindFile), e("c", "3", KindFile), e("d", "4", KindFile),
	}}
	tests := []struct {
		name                    string
		new                     *Manifest
		added, removed, changed []string
	}{
		{"same", old, nil, nil, nil},
		{"empty", &Manifest{}, nil, []string{"a", "b", "c", "d"}, nil},
		{"content", &Manifest{Entries: []Entry{
			e("a", "1", KindFile), e("b", "two", KindFile), e("c", "3", KindFile), e("d", "4", KindFile),
		}}, nil, nil, []string{"b"}},
		{"exec bit", &Manifest{Entries: []Entry{
			e("a", "1", KindExec), e("b", "2", KindFile), e("c", "3", KindFile), e("d", "4", KindFile),
		}}, nil, nil, []string{"a"}},
		{"add and remove", &Manifest{Entries: []Entry{
			e("0", "0", KindFile), e("b", "2", KindFile), e("bb", "x", KindFile), e("d", "4", KindFile), e("e", "5", KindFile),
		}}, []string{"0", "bb", "e"}, []string{"a", "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, removed, changed := tt.new.Diff(old)
			want := [][]string{tt.added, tt.removed, tt.changed}
			if diff := cmp.Diff(want, [][]string{added, removed, changed}); diff != "" {
				t.Errorf("Diff (-want +got) [added removed changed]:\n%s", diff)
			}
		})
	}
}
