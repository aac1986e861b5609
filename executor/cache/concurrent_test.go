package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
)

func TestConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	c := openCache(t)
	src := t.TempDir()
	writeTree(t, src, sampleTree())
	srcs := []Source{{Name: "tree", HostPath: src}}
	ws := t.TempDir()

	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for i := range n {
		wg.Go(func() {
			// Everyone stores the same blobs, half under one key.
			k := key("same")
			if i%2 == 1 {
				k = key(strconv.Itoa(i))
			}
			if _, err := c.Put(ctx, k, srcs, nil); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			// Readers see either a miss or a complete entry.
			e, ok := c.Get(key("same"))
			if !ok {
				return
			}
			dst := filepath.Join(ws, strconv.Itoa(i))
			if _, err := c.Restore(ctx, e.Outputs[0], dst); err != nil {
				errs <- err
				return
			}
			if diff := cmp.Diff(sampleTree(), readTree(t, dst)); diff != "" {
				errs <- fmt.Errorf("restored tree (-want +got):\n%s", diff)
			}
		})
		if i%8 == 0 {
			wg.Go(func() {
				if _, err := c.Trim(ctx, TrimOptions{}); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	entries, blobs, _, err := c.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if entries != 1+n/2 || blobs != 10 {
		t.Errorf("Usage = %d entries, %d blobs; want %d and 10", entries, blobs, 1+n/2)
	}
	tmp, err := c.listTmp()
	if err != nil || len(tmp) > 0 {
		t.Errorf("tmp/ holds %v, %v; want nothing", tmp, err)
	}
	verifyClean(t, c)
}

// Environment of the helper process.
const (
	helperDirEnv  = "LATTICE_CACHE_TEST_HELPER_DIR"  // the cache
	helperSrcEnv  = "LATTICE_CACHE_TEST_HELPER_SRC"  // a scratch directory for sources
	helperModeEnv = "LATTICE_CACHE_TEST_HELPER_MODE" // "loop" or "same"
)

// TestHelperProcess is not a test: the tests below run the test binary
// again as a child process that executes it.
//
// In mode "loop" it puts entries with fresh content forever, until killed.
// In mode "same" it puts the same content 10 times under its own keys and
// under one shared key, then exits.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("run as a child process by TestKilledPuts and TestConcurrentProcesses")
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := os.Getenv(helperSrcEnv)
	pid := strconv.Itoa(os.Getpid())
	switch os.Getenv(helperModeEnv) {
	case "loop":
		for i := 0; ; i++ {
			seed := pid + "-" + strconv.Itoa(i)
			putGenerated(t, c, filepath.Join(src, seed), seed, key(seed))
		}
	case "same":
		for i := range 10 {
			putGenerated(t, c, filepath.Join(src, pid, strconv.Itoa(i)), "same", key(pid+"-"+strconv.Itoa(i)))
			putGenerated(t, c, filepath.Join(src, pid, "s"+strconv.Itoa(i)), "same", key("shared"))
		}
	default:
		t.Fatalf("unknown mode %q", os.Getenv(helperModeEnv))
	}
}

// generated is the content the helper process puts for a seed: a tree big
// enough that a kill often lands inside a copy, and a file.
func generated(seed string) (tree map[string]file, model string) {
	tree = map[string]file{
		"big.bin":    {Data: strings.Repeat(seed+"\n", (1<<20)/(len(seed)+1))},
		"run.sh":     {Data: "#!/bin/sh\necho " + seed + "\n", Exec: true},
		"latest":     {Link: "small/00.txt"},
		"common.txt": {Data: "the same in every tree\n"},
	}
	for i := range 20 {
		tree[fmt.Sprintf("small/%02d.txt", i)] = file{Data: fmt.Sprintf("%s %d\n", seed, i)}
	}
	return tree, "model for " + seed
}

// putGenerated writes the content for seed under src and puts it under k.
func putGenerated(t *testing.T, c *Cache, src, seed string, k digest.Digest) {
	t.Helper()
	tree, model := generated(seed)
	writeTree(t, filepath.Join(src, "tree"), tree)
	writeTree(t, src, map[string]file{"model": {Data: model}})
	_, err := c.Put(context.Background(), k, []Source{
		{Name: "tree", HostPath: filepath.Join(src, "tree")},
		{Name: "model", HostPath: filepath.Join(src, "model")},
	}, map[string]string{"seed": seed})
	if err != nil {
		t.Fatal(err)
	}
}

// helper starts the test binary as a child running TestHelperProcess. The
// child's output goes to out.
func helper(t *testing.T, dir, src, mode string, out io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperSrcEnv+"="+src, helperModeEnv+"="+mode)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// checkGenerated checks that every entry in the cache is a hit whose
// outputs restore to exactly what the helper put, and returns how many
// there are.
func checkGenerated(t *testing.T, c *Cache) int {
	t.Helper()
	ctx := context.Background()
	objs, _, err := c.list(ctx, actionsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		e, ok := c.Get(o.d)
		if !ok {
			// Writes are atomic and ordered, so no entry is ever torn or
			// dangling.
			_, _, err := c.readEntry(o.path)
			t.Errorf("entry %s is a miss (read error: %v)", c.rel(o.path), err)
			continue
		}
		tree, model := generated(e.Meta["seed"])
		dst := filepath.Join(t.TempDir(), "out")
		if _, err := c.Restore(ctx, e.Outputs[0], dst); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tree, readTree(t, dst)); diff != "" {
			t.Errorf("entry %s restores a wrong tree (-want +got):\n%s", c.rel(o.path), diff)
		}
		if _, err := c.Restore(ctx, e.Outputs[1], dst); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(dst); err != nil || string(got) != model {
			t.Errorf("entry %s restores model %q, %v; want %q", c.rel(o.path), got, err, model)
		}
	}
	return len(objs)
}

// TestKilledPuts kills (SIGKILL) a process in the middle of putting entries,
// several times over, and checks that every entry left behind is complete
// and correct and that the cache verifies clean.
func TestKilledPuts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	src := t.TempDir()
	for round := range 6 {
		cmd := helper(t, dir, src, "loop", io.Discard)
		if round == 0 {
			// However slow the machine, let the first child finish one
			// entry, so that there is something to check.
			waitForEntry(t, dir)
		}
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := checkGenerated(t, c)
	if n == 0 {
		t.Fatal("the helper put no entry before being killed; nothing was tested")
	}
	tmp, _ := c.listTmp()
	var strays int
	for _, sub := range []string{actionsDir, treesDir, blobsDir} {
		_, s, err := c.list(context.Background(), sub)
		if err != nil {
			t.Fatal(err)
		}
		strays += len(s)
	}
	t.Logf("%d complete entries; kills left %d files in tmp/ and %d half-written objects", n, len(tmp), strays)
	verifyClean(t, c)
}

// waitForEntry waits until the cache in dir holds an entry.
func waitForEntry(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		shards, _ := os.ReadDir(filepath.Join(dir, actionsDir))
		for _, sh := range shards {
			files, _ := os.ReadDir(filepath.Join(dir, actionsDir, sh.Name()))
			for _, f := range files {
				if _, ok := parseObjectName(f.Name()); ok {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the helper put no entry within a minute")
}

// TestConcurrentProcesses has several processes put the same content at
// once, under their own keys and one shared key.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	src := t.TempDir()
	const procs = 4
	var cmds []*exec.Cmd
	outs := make([]bytes.Buffer, procs)
	for i := range procs {
		cmds = append(cmds, helper(t, dir, src, "same", &outs[i]))
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v\n%s", err, outs[i].Bytes())
		}
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := checkGenerated(t, c), procs*10+1; got != want {
		t.Errorf("%d entries, want %d", got, want)
	}
	// 20 small files, big.bin, run.sh, common.txt, the link target and
	// the model.
	if _, blobs, _, err := c.Usage(context.Background()); err != nil || blobs != 25 {
		t.Errorf("Usage = %d blobs, %v; want 25", blobs, err)
	}
	verifyClean(t, c)
}
