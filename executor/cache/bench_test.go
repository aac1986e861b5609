package cache

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const (
	benchFileSize  = 100 << 20
	benchTreeFiles = 1000
)

// benchFile writes a 100 MiB file of incompressible-looking bytes.
func benchFile(b *testing.B, p string) {
	b.Helper()
	data := make([]byte, benchFileSize)
	var x uint64 = 0x9e3779b97f4a7c15
	for i := 0; i+8 <= len(data); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(data[i:], x)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// benchTree writes 1,000 files of 1 to 16 KiB (about 8 MiB) in 20
// directories, each file starting with stamp.
func benchTree(b *testing.B, root, stamp string) int64 {
	b.Helper()
	var total int64
	for i := range benchTreeFiles {
		p := filepath.Join(root, fmt.Sprintf("shard-%02d", i%20), fmt.Sprintf("part-%04d.parquet", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := make([]byte, 1024*(1+i%16))
		copy(data, stamp)
		binary.LittleEndian.PutUint64(data[len(data)-8:], uint64(i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
	}
	return total
}

// stamp changes the first bytes of the file at p, so that it is new to the
// cache.
func stamp(b *testing.B, p string, i int) {
	b.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(fmt.Sprintf("%016d", i)), 0); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	b.Run("file=100MiB/new", func(b *testing.B) {
		c := openCache(b)
		src := filepath.Join(b.TempDir(), "model.bin")
		benchFile(b, src)
		b.SetBytes(benchFileSize)
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			stamp(b, src, i)
			b.StartTimer()
			if _, err := c.Put(ctx, key(strconv.Itoa(i)), []Source{{Name: "m", HostPath: src}}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("file=100MiB/existing", func(b *testing.B) {
		c := openCache(b)
		src := filepath.Join(b.TempDir(), "model.bin")
		benchFile(b, src)
		b.SetBytes(benchFileSize)
		b.ResetTimer()
		for i := range b.N {
			if _, err := c.Put(ctx, key(strconv.Itoa(i)), []Source{{Name: "m", HostPath: src}}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tree=1000files/new", func(b *testing.B) {
		c := openCache(b)
		dir := b.TempDir()
		var size int64
		for i := range b.N {
			b.StopTimer()
			src := filepath.Join(dir, strconv.Itoa(i))
			size = benchTree(b, src, strconv.Itoa(i))
			b.StartTimer()
			if _, err := c.Put(ctx, key(strconv.Itoa(i)), []Source{{Name: "t", HostPath: src}}, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(size)
	})
	b.Run("tree=1000files/existing", func(b *testing.B) {
		c := openCache(b)
		src := b.TempDir()
		b.SetBytes(benchTree(b, src, "x"))
		b.ResetTimer()
		for i := range b.N {
			if _, err := c.Put(ctx, key(strconv.Itoa(i)), []Source{{Name: "t", HostPath: src}}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	methods := []struct {
		name    string
		methods []Method
	}{
		{"default", nil},
		{"hardlink", []Method{Hardlink}},
		{"copy", []Method{Copy}},
	}
	for _, m := range methods {
		var opts []Option
		if m.methods != nil {
			opts = append(opts, WithRestoreMethods(m.methods...))
		}
		b.Run("file=100MiB/method="+m.name, func(b *testing.B) {
			c := openCache(b, opts...)
			src := filepath.Join(b.TempDir(), "model.bin")
			benchFile(b, src)
			e, err := c.Put(ctx, key("m"), []Source{{Name: "m", HostPath: src}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			benchRestore(b, c, e.Outputs[0])
		})
		b.Run("tree=1000files/method="+m.name, func(b *testing.B) {
			c := openCache(b, opts...)
			src := b.TempDir()
			benchTree(b, src, "x")
			e, err := c.Put(ctx, key("t"), []Source{{Name: "t", HostPath: src}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			benchRestore(b, c, e.Outputs[0])
		})
	}
}

// benchRestore restores out over the same destination b.N times, reporting
// how the files were materialised.
func benchRestore(b *testing.B, c *Cache, out Output) {
	dst := filepath.Join(b.TempDir(), "out")
	b.SetBytes(out.Size)
	var st RestoreStats
	b.ResetTimer()
	for range b.N {
		var err error
		if st, err = c.Restore(context.Background(), out, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Reflinked), "reflinked/op")
	b.ReportMetric(float64(st.Hardlinked), "hardlinked/op")
	b.ReportMetric(float64(st.Copied), "copied/op")
}
