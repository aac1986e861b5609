package cache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lattice.dev/lattice/compiler/digest"
)

func TestVerifyHealthy(t *testing.T) {
	c := openCache(t)
	putSample(t, c)
	rep, err := c.Verify(context.Background(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The sample holds 9 distinct blobs for the tree (two files share
	// one; three link targets) plus two file outputs.
	want := VerifyReport{Entries: 1, Trees: 1, Blobs: 12}
	if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(VerifyReport{}, "Bytes")); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
	if rep.Bytes == 0 {
		t.Error("Verify hashed no bytes")
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	ctx := context.Background()
	deep := digest.String("x,y\n1,2\n")
	tests := []struct {
		name   string
		damage func(t *testing.T, c *Cache, e *Entry)
		// want lists the paths Verify should report, sorted.
		want func(c *Cache, e *Entry) []string
	}{
		{
			name: "flipped byte in a file output's blob",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				rewrite(t, c.path(blobsDir, e.Outputs[0].Digest), func(b []byte) []byte { b[0] ^= 1; return b })
			},
			want: func(c *Cache, e *Entry) []string {
				return []string{c.rel(c.path(actionsDir, e.Key)), c.rel(c.path(blobsDir, e.Outputs[0].Digest))}
			},
		},
		{
			name: "flipped byte in a tree's blob",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				rewrite(t, c.path(blobsDir, deep), func(b []byte) []byte { b[2] ^= 1; return b })
			},
			want: func(c *Cache, e *Entry) []string {
				return []string{
					c.rel(c.path(actionsDir, e.Key)),
					c.rel(c.path(blobsDir, deep)),
					c.rel(c.path(treesDir, e.Outputs[2].Digest)),
				}
			},
		},
		{
			name: "missing tree",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				remove(t, c.path(treesDir, e.Outputs[2].Digest))
			},
			want: func(c *Cache, e *Entry) []string {
				return []string{c.rel(c.path(actionsDir, e.Key))}
			},
		},
		{
			name: "corrupt tree",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				rewrite(t, c.path(treesDir, e.Outputs[2].Digest), func(b []byte) []byte { return b[:len(b)-10] })
			},
			want: func(c *Cache, e *Entry) []string {
				return []string{c.rel(c.path(actionsDir, e.Key)), c.rel(c.path(treesDir, e.Outputs[2].Digest))}
			},
		},
		{
			name: "truncated entry",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				rewrite(t, c.path(actionsDir, e.Key), func(b []byte) []byte { return b[:len(b)-1] })
			},
			want: func(c *Cache, e *Entry) []string {
				return []string{c.rel(c.path(actionsDir, e.Key))}
			},
		},
		{
			name: "old stray file",
			damage: func(t *testing.T, c *Cache, e *Entry) {
				p := filepath.Join(c.dir, blobsDir, "ab", "not-a-blob")
				writeTree(t, filepath.Dir(p), map[string]file{"not-a-blob": {Data: "?"}})
				old := time.Now().Add(-48 * time.Hour)
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
				// A young one may be a write in progress and is left alone.
				writeTree(t, filepath.Dir(p), map[string]file{".young.tmp-1": {Data: "?"}})
			},
			want: func(c *Cache, e *Entry) []string { return []string{"blobs/ab/not-a-blob"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCache(t)
			e := putSample(t, c)
			tt.damage(t, c, e)
			want := tt.want(c, e)

			rep, err := c.Verify(ctx, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, problemPaths(rep)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", diff, rep.Problems)
			}
			for _, p := range rep.Problems {
				if p.Removed {
					t.Errorf("Verify without Repair removed %s", p.Path)
				}
			}

			// Repair removes exactly the files reported, after which the
			// entry is a miss and the cache verifies clean.
			rep, err = c.Verify(ctx, VerifyOptions{Repair: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, problemPaths(rep)); diff != "" {
				t.Errorf("problems found while repairing (-want +got):\n%s", diff)
			}
			for _, p := range rep.Problems {
				if !p.Removed {
					t.Errorf("Repair left %s", p.Path)
				}
				if _, err := os.Lstat(filepath.Join(c.dir, p.Path)); !os.IsNotExist(err) {
					t.Errorf("Repair reported %s removed, but Lstat = %v", p.Path, err)
				}
			}
			rep, err = c.Verify(ctx, VerifyOptions{})
			if err != nil || len(rep.Problems) > 0 {
				t.Errorf("Verify after Repair = %+v, %v", rep.Problems, err)
			}
		})
	}
}

func problemPaths(rep VerifyReport) []string {
	var paths []string
	for _, p := range rep.Problems {
		paths = append(paths, p.Path)
	}
	return paths
}
