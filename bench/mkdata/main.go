// Command mkdata writes benchmark datasets: one large file of pseudo-random
// bytes, or a tree of many small files, laid out like the ones that
// compiler/digest's benchmarks hash (shards of 1,000 files of 64 to 1,024
// bytes). The bytes depend only on the flags, so two runs write the same data.
//
//	mkdata -file data/big.bin -size 1073741824
//	mkdata -tree data/samples -files 100000
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

func main() {
	file := flag.String("file", "", "write one file of -size pseudo-random bytes at `PATH`")
	size := flag.Int64("size", 1<<30, "size of -file in bytes")
	tree := flag.String("tree", "", "write -files small files under the directory `DIR`")
	files := flag.Int("files", 100_000, "number of files in -tree")
	perDir := flag.Int("per-dir", 1000, "files per shard directory in -tree")
	flag.Parse()
	var err error
	switch {
	case *file != "" && *tree == "":
		err = writeFile(*file, *size)
	case *tree != "" && *file == "":
		err = writeTree(*tree, *files, max(*perDir, 1))
	default:
		err = errors.New("give exactly one of -file and -tree")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdata:", err)
		os.Exit(1)
	}
}

func writeFile(p string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	w := bufio.NewWriterSize(f, 4<<20)
	buf := make([]byte, 4<<20)
	for written := int64(0); written < size; {
		n := min(int64(len(buf)), size-written)
		rng.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		written += n
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTree writes the shards in parallel: creating 100,000 files one at a
// time is mostly waiting on the file system.
func writeTree(root string, files, perDir int) error {
	shards := (files + perDir - 1) / perDir
	errs := make([]error, shards)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for d := range shards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			n := min(perDir, files-d*perDir)
			errs[d] = writeShard(filepath.Join(root, fmt.Sprintf("shard-%03d", d)), d, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func writeShard(dir string, seed, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	buf := make([]byte, 1024)
	for i := range n {
		size := 64 + rng.IntN(len(buf)-64+1)
		for j := range buf[:size] {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("sample-%06d.bin", i)), buf[:size], 0o644); err != nil {
			return err
		}
	}
	return nil
}
