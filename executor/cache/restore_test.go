package cache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
)

// putSample puts a file output "model", an executable file output "tool"
// and the sample tree as "tree", and returns the entry.
func putSample(t *testing.T, c *Cache) *Entry {
	t.Helper()
	src := t.TempDir()
	writeTree(t, src, map[string]file{"model": {Data: "weights"}, "tool": {Data: "#!/bin/sh\n", Exec: true}})
	writeTree(t, filepath.Join(src, "tree"), sampleTree())
	e, err := c.Put(context.Background(), key("sample"), []Source{
		{Name: "model", HostPath: filepath.Join(src, "model")},
		{Name: "tool", HostPath: filepath.Join(src, "tool")},
		{Name: "tree", HostPath: filepath.Join(src, "tree")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		methods []Method
		workers int
		// wantTree is how the sample tree's eight regular files are
		// materialised; the one executable is always copied.
		wantTree RestoreStats
	}{
		{
			name:     "hardlink",
			methods:  []Method{Hardlink},
			wantTree: RestoreStats{Files: 8, Symlinks: 3, Hardlinked: 7, Copied: 1},
		},
		{
			name:     "copy",
			methods:  []Method{Copy},
			wantTree: RestoreStats{Files: 8, Symlinks: 3, Copied: 8},
		},
		{
			name:     "one worker",
			methods:  []Method{Hardlink},
			workers:  1,
			wantTree: RestoreStats{Files: 8, Symlinks: 3, Hardlinked: 7, Copied: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{WithRestoreMethods(tt.methods...)}
			if tt.workers > 0 {
				opts = append(opts, WithWorkers(tt.workers))
			}
			c := openCache(t, opts...)
			e := putSample(t, c)
			ws := t.TempDir()

			model := filepath.Join(ws, "out", "model")
			st, err := c.Restore(ctx, e.Outputs[0], model)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := st.Method(), tt.methods[0]; got != want {
				t.Errorf("file restored by %v, want %v", got, want)
			}
			tool := filepath.Join(ws, "out", "tool")
			st, err = c.Restore(ctx, e.Outputs[1], tool)
			if err != nil {
				t.Fatal(err)
			}
			if st.Hardlinked != 0 {
				t.Errorf("executable was hard-linked: %+v", st)
			}
			wantFiles := map[string]file{"model": {Data: "weights"}, "tool": {Data: "#!/bin/sh\n", Exec: true}}
			if diff := cmp.Diff(wantFiles, readTree(t, filepath.Join(ws, "out"))); diff != "" {
				t.Errorf("restored files (-want +got):\n%s", diff)
			}

			tree := filepath.Join(ws, "tree")
			st, err = c.Restore(ctx, e.Outputs[2], tree)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantTree
			want.Bytes = e.Outputs[2].Size - int64(len("a/b/c/deep.csv")+len("../data/a")+len("/nonexistent/elsewhere"))
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("tree restore stats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sampleTree(), readTree(t, tree)); diff != "" {
				t.Errorf("restored tree (-want +got):\n%s", diff)
			}

			// Every restored file is read-only, executables 0555.
			wantModes := map[string]fs.FileMode{"model": 0o444, "tool": 0o555}
			if diff := cmp.Diff(wantModes, modes(t, filepath.Join(ws, "out"))); diff != "" {
				t.Errorf("file modes (-want +got):\n%s", diff)
			}
			for p, mode := range modes(t, tree) {
				want := fs.FileMode(0o444)
				if p == "bin/train" {
					want = 0o555
				}
				if mode != want {
					t.Errorf("%s: mode %v, want %v", p, mode, want)
				}
			}

			// Nothing is left beside the outputs.
			names, err := os.ReadDir(ws)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range names {
				got = append(got, n.Name())
			}
			if diff := cmp.Diff([]string{"out", "tree"}, got); diff != "" {
				t.Errorf("workspace holds (-want +got):\n%s", diff)
			}
			// The cache is as healthy as before.
			rep, err := c.Verify(ctx, VerifyOptions{})
			if err != nil || len(rep.Problems) > 0 {
				t.Errorf("Verify after Restore = %+v, %v", rep.Problems, err)
			}
		})
	}
}

func TestRestoreDefaultMethods(t *testing.T) {
	// On a filesystem with reflinks every file is cloned; elsewhere (the
	// usual ext4) regular files are hard-linked. Either way nothing that
	// can be shared is copied except the executable.
	c := openCache(t)
	e := putSample(t, c)
	st, err := c.Restore(context.Background(), e.Outputs[2], filepath.Join(t.TempDir(), "tree"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default methods: %+v", st)
	if st.Reflinked == 0 && st.Hardlinked != 7 {
		t.Errorf("neither reflinked nor hard-linked: %+v", st)
	}
}

func TestRestoreReplaces(t *testing.T) {
	ctx := context.Background()
	c := openCache(t)
	e := putSample(t, c)
	fileOut, treeOut := e.Outputs[0], e.Outputs[2]
	tests := []struct {
		name string
		// before is what is at dst first; the name "" stands for dst
		// itself.
		before map[string]file
		out    Output
	}{
		{name: "file over nothing", out: fileOut},
		{name: "file over file", before: map[string]file{"": {Data: "old"}}, out: fileOut},
		{name: "file over link", before: map[string]file{"": {Link: "elsewhere"}}, out: fileOut},
		{name: "file over dir", before: map[string]file{"x/y": {Data: "old"}}, out: fileOut},
		{name: "tree over nothing", out: treeOut},
		{name: "tree over file", before: map[string]file{"": {Data: "old"}}, out: treeOut},
		{name: "tree over tree", before: map[string]file{"README.md": {Data: "old"}, "stale/file": {Data: "gone"}}, out: treeOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out")
			for name, f := range tt.before {
				writeTree(t, dst, map[string]file{name: f})
			}
			if _, err := c.Restore(ctx, tt.out, dst); err != nil {
				t.Fatal(err)
			}
			if tt.out.Dir {
				if diff := cmp.Diff(sampleTree(), readTree(t, dst)); diff != "" {
					t.Errorf("restored tree (-want +got):\n%s", diff)
				}
			} else if got, err := os.ReadFile(dst); err != nil || string(got) != "weights" {
				t.Errorf("restored file = %q, %v; want %q", got, err, "weights")
			}
			names, err := os.ReadDir(filepath.Dir(dst))
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 1 {
				t.Errorf("left beside the output: %v", names)
			}
		})
	}
}

// TestRestoreReadOnlyOld checks that an old output with read-only
// directories, as a stage might leave, is still replaced and removed.
func TestRestoreReadOnlyOld(t *testing.T) {
	c := openCache(t)
	e := putSample(t, c)
	dst := filepath.Join(t.TempDir(), "out")
	writeTree(t, dst, map[string]file{"locked/file": {Data: "old"}})
	if err := os.Chmod(filepath.Join(dst, "locked"), 0o555); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restore(context.Background(), e.Outputs[2], dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleTree(), readTree(t, dst)); diff != "" {
		t.Errorf("restored tree (-want +got):\n%s", diff)
	}
	if names, _ := os.ReadDir(filepath.Dir(dst)); len(names) != 1 {
		t.Errorf("left beside the output: %v", names)
	}
}

func TestRestoreMissingObject(t *testing.T) {
	ctx := context.Background()
	c := openCache(t)
	e := putSample(t, c)
	ws := t.TempDir()
	dst := filepath.Join(ws, "model")
	writeTree(t, ws, map[string]file{"model": {Data: "old"}})

	remove(t, c.path(blobsDir, e.Outputs[0].Digest))
	_, err := c.Restore(ctx, e.Outputs[0], dst)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Restore with the blob gone = %v, want an error wrapping fs.ErrNotExist", err)
	}
	remove(t, c.path(treesDir, e.Outputs[2].Digest))
	_, err = c.Restore(ctx, e.Outputs[2], filepath.Join(ws, "tree"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Restore with the tree gone = %v, want an error wrapping fs.ErrNotExist", err)
	}
	// A failed Restore leaves dst as it was and nothing beside it.
	if diff := cmp.Diff(map[string]file{"model": {Data: "old"}}, readTree(t, ws)); diff != "" {
		t.Errorf("workspace after failed restores (-want +got):\n%s", diff)
	}
}

// TestRestoreRejectsUnsafeTrees plants manifests that would write outside
// the destination and checks that Restore refuses them.
func TestRestoreRejectsUnsafeTrees(t *testing.T) {
	c := openCache(t)
	payload, err := c.storeBytes([]byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	target, err := c.storeBytes([]byte(".."))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		entries []digest.Entry
	}{
		{"parent", []digest.Entry{{Path: "../escape", Kind: digest.KindFile, Size: 7, Digest: payload}}},
		{"absolute", []digest.Entry{{Path: "/tmp/escape", Kind: digest.KindFile, Size: 7, Digest: payload}}},
		{"dot", []digest.Entry{{Path: "a/./b", Kind: digest.KindFile, Size: 7, Digest: payload}}},
		{"through a link", []digest.Entry{
			{Path: "up", Kind: digest.KindSymlink, Size: 2, Digest: target},
			{Path: "up/escape", Kind: digest.KindFile, Size: 7, Digest: payload},
		}},
		{"beneath a file", []digest.Entry{
			{Path: "f", Kind: digest.KindFile, Size: 7, Digest: payload},
			{Path: "f/g", Kind: digest.KindFile, Size: 7, Digest: payload},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &digest.Manifest{Entries: tt.entries}
			text := m.Text()
			d := digest.Bytes(text)
			p := c.path(treesDir, d)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, text, 0o444); err != nil {
				t.Fatal(err)
			}
			ws := t.TempDir()
			dst := filepath.Join(ws, "sub", "out")
			_, err := c.Restore(context.Background(), Output{Name: "evil", Dir: true, Digest: d, Size: m.Size()}, dst)
			if !errors.Is(err, digest.ErrCorrupt) {
				t.Errorf("Restore = %v, want an error wrapping digest.ErrCorrupt", err)
			}
			err = filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(p, "escape") {
					t.Errorf("wrote %s", p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
