// Command gen writes synthetic Lattice projects for benchmarks: N stages in
// chains, each stage with its own small input file, plus, optionally, the
// same DAG as a Makefile and a Snakefile so other tools can be timed on it.
//
//	go run ./bench/gen -stages 10000 -out /tmp/p10k [-make] [-snakemake]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	stages := flag.Int("stages", 1000, "number of stages")
	out := flag.String("out", "", "directory to write the project into (required)")
	chain := flag.Int("chain", 5, "stages per dependency chain")
	withMake := flag.Bool("make", false, "also write an equivalent Makefile")
	withSnake := flag.Bool("snakemake", false, "also write an equivalent Snakefile")
	backend := flag.String("backend", "local", "backend of the generated stages: local or docker")
	image := flag.String("image", "lattice-test/busybox:1", "image for the docker backend")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	if err := write(*out, *stages, *chain, *backend, *image, *withMake, *withSnake); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string, n, chain int, backend, image string, withMake, withSnake bool) error {
	if chain < 1 {
		chain = 1
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "pipeline.cue"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "name: \"bench-%d\"\n\n", n)
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "data", fmt.Sprintf("in%05d.txt", i)), []byte(fmt.Sprintf("input %d\n", i)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "stages: s%05d: {\n", i)
		if backend == "docker" {
			fmt.Fprintf(w, "\timage: %q\n", image)
		} else {
			fmt.Fprintf(w, "\tbackend: \"local\"\n")
		}
		fmt.Fprintf(w, "\tcmd: [\"sh\", \"-c\", \"cat ${inputs.own} > ${outputs.out}\"]\n")
		fmt.Fprintf(w, "\tparams: {n: %d, lr: 0.1}\n", i)
		fmt.Fprintf(w, "\tinputs: own: path: \"data/in%05d.txt\"\n", i)
		if i%chain != 0 {
			fmt.Fprintf(w, "\tinputs: prev: stage: \"s%05d\"\n", i-1)
		}
		fmt.Fprintf(w, "\toutputs: out: path: \"out/s%05d.txt\"\n}\n", i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if withMake {
		if err := writeMake(dir, n, chain); err != nil {
			return err
		}
	}
	if withSnake {
		if err := writeSnake(dir, n, chain); err != nil {
			return err
		}
	}
	return nil
}

// writeMake writes the same DAG as make rules: each target depends on its
// input file and, within a chain, on the previous stage's output.
func writeMake(dir string, n, chain int) error {
	f, err := os.Create(filepath.Join(dir, "Makefile"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, "all:")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, " out/s%05d.txt", i)
	}
	fmt.Fprint(w, "\n\n")
	for i := 0; i < n; i++ {
		deps := fmt.Sprintf("data/in%05d.txt", i)
		if i%chain != 0 {
			deps += fmt.Sprintf(" out/s%05d.txt", i-1)
		}
		fmt.Fprintf(w, "out/s%05d.txt: %s\n\t@mkdir -p out && cat data/in%05d.txt > $@\n", i, deps, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// writeSnake writes the same DAG as Snakemake rules, one rule per stage.
func writeSnake(dir string, n, chain int) error {
	f, err := os.Create(filepath.Join(dir, "Snakefile"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, "rule all:\n    input:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "        \"out/s%05d.txt\",\n", i)
	}
	fmt.Fprintln(w)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "rule s%05d:\n    input: \"data/in%05d.txt\"", i, i)
		if i%chain != 0 {
			fmt.Fprintf(w, ", \"out/s%05d.txt\"", i-1)
		}
		fmt.Fprintf(w, "\n    output: \"out/s%05d.txt\"\n    shell: \"cat data/in%05d.txt > {output}\"\n\n", i, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
