package digest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// The benchmarks below measure what the stat cache and the parallel hasher
// promise on the reference machine (2 cores): a 1 GiB file hashed at 2 GB/s
// or more when its bytes must be read ("cold": no stat cache, page cache
// warm), and 100,000 small files re-checked in 0.3 s or less when nothing
// changed ("warm": every file a stat cache hit, so the cost is the walk, one
// lstat per file and a lookup). Setup writes the files once per run; where
// creating files is slow, TMPDIR=/dev/shm shortens it.
//
// Each benchmark also reports cpu-ms/op, the process's CPU time per
// operation. Wall time on a shared machine depends on what else runs; CPU
// time shows the work itself, and cpu-ms/op over ns/op shows how many cores
// the run actually got.

// measureCPU starts counting CPU time; the function it returns reports the
// time per operation as a metric.
func measureCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if start < 0 {
			return
		}
		b.ReportMetric(float64(processCPU()-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

func BenchmarkHashFile1GiB(b *testing.B) {
	const size = 1 << 30
	p := filepath.Join(b.TempDir(), "big")
	writeRandomFile(b, p, size)
	ageFiles(b, filepath.Dir(p))
	ctx := context.Background()

	b.Run("cold", func(b *testing.B) {
		h := NewHasher()
		b.SetBytes(size)
		defer measureCPU(b)()
		for b.Loop() {
			if _, err := h.Path(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		h := NewHasher(WithStatCache(OpenStatCache("")))
		if _, err := h.Path(ctx, p); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		defer measureCPU(b)()
		for b.Loop() {
			if _, err := h.Path(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if s := h.Stats(); s.FilesHashed != 1 {
			b.Fatalf("warm passes read the file: %+v", s)
		}
	})
}

func BenchmarkTree100kFiles(b *testing.B) {
	const dirs, perDir = 100, 1000
	const files = dirs * perDir
	root := b.TempDir()
	total := writeManyFiles(b, root, dirs, perDir)
	ageFiles(b, root)
	ctx := context.Background()
	perSecond := func(b *testing.B) {
		b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "files/s")
	}

	b.Run("cold", func(b *testing.B) {
		h := NewHasher()
		b.SetBytes(total)
		defer measureCPU(b)()
		for b.Loop() {
			if _, err := h.Path(ctx, root); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b)
	})
	b.Run("warm", func(b *testing.B) {
		h := NewHasher(WithStatCache(OpenStatCache("")))
		if _, err := h.Path(ctx, root); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
		defer measureCPU(b)()
		for b.Loop() {
			if _, err := h.Path(ctx, root); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b)
		if s := h.Stats(); s.FilesHashed != files {
			b.Fatalf("warm passes read files: %+v", s)
		}
	})
	// warm+load is a whole second run of the command: load the saved stat
	// cache, then re-check the tree.
	b.Run("warm+load", func(b *testing.B) {
		cachePath := filepath.Join(b.TempDir(), "statcache")
		c := OpenStatCache(cachePath)
		if _, err := NewHasher(WithStatCache(c)).Path(ctx, root); err != nil {
			b.Fatal(err)
		}
		if err := c.Save(); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(total)
		defer measureCPU(b)()
		for b.Loop() {
			h := NewHasher(WithStatCache(OpenStatCache(cachePath)))
			if _, err := h.Path(ctx, root); err != nil {
				b.Fatal(err)
			}
			if s := h.Stats(); s.FilesHashed != 0 {
				b.Fatalf("warm pass read files: %+v", s)
			}
		}
		perSecond(b)
	})
}

func BenchmarkStatCacheLoad100k(b *testing.B) {
	p := bigStatCache(b, 100_000)
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	defer measureCPU(b)()
	for b.Loop() {
		if c := OpenStatCache(p); c.Len() != 100_000 {
			b.Fatalf("loaded %d entries (%s)", c.Len(), c.DiscardReason())
		}
	}
}

func BenchmarkStatCacheSave100k(b *testing.B) {
	p := bigStatCache(b, 100_000)
	c := OpenStatCache(p)
	st := fileStat{size: 1}
	defer measureCPU(b)()
	for b.Loop() {
		c.record("/home/user/project/data/changed", &st, String("x"), time.Now())
		if err := c.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

// writeRandomFile writes size pseudo-random bytes to p.
func writeRandomFile(b *testing.B, p string, size int) {
	b.Helper()
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 4<<20)
	for written := 0; written < size; written += len(buf) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(len(buf), size-written)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// writeManyFiles writes dirs×perDir files of 64 to 1024 pseudo-random bytes
// under root and returns their total size.
func writeManyFiles(b *testing.B, root string, dirs, perDir int) int64 {
	b.Helper()
	var g errgroup.Group
	g.SetLimit(8)
	sizes := make([]int64, dirs)
	for d := range dirs {
		g.Go(func() error {
			dir := filepath.Join(root, fmt.Sprintf("shard-%03d", d))
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(uint64(d), 0))
			buf := make([]byte, 1024)
			for i := range perDir {
				n := 64 + rng.IntN(len(buf)-64+1)
				for j := range buf[:n] {
					buf[j] = byte(rng.Uint32())
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("sample-%06d.bin", i)), buf[:n], 0o644); err != nil {
					return err
				}
				sizes[d] += int64(n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, s := range sizes {
		total += s
	}
	return total
}
