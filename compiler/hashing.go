package compiler

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
	"lattice.dev/lattice/lang/diag"
	"lattice.dev/lattice/lang/spec"
)

// hashAll digests, in parallel, every dataset, code directory and plain
// input path, and the locked outputs of stages (to see whether the
// workspace still holds them). The stat cache makes unchanged files cost a
// stat, not a read.
func (c *compilation) hashAll() error {
	type job struct {
		rel  string
		kind string // dataset, code, input, output
	}
	seen := map[string]bool{}
	var jobs []job
	addJob := func(rel, kind string) {
		if rel == "" || seen[rel] {
			return
		}
		seen[rel] = true
		jobs = append(jobs, job{rel, kind})
	}
	for _, d := range c.p.Datasets {
		addJob(d.Path, "dataset")
	}
	for _, in := range c.inst {
		addJob(in.st.Code, "code")
		for _, r := range in.inputs {
			if r.from == plan.FromPath && len(r.producers) == 0 {
				addJob(r.path, "input")
			}
		}
		if ls := c.o.lock.Stages[in.name]; ls != nil {
			for _, o := range ls.Outputs {
				addJob(o.Path, "output")
			}
		}
	}
	err := parallel(c.ctx, c.o.workers, jobs, func(j job) error {
		_, err := c.hash(j.rel)
		if err != nil && !isMissing(err) && !isUserError(err) {
			return fmt.Errorf("hashing %s: %w", j.rel, err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	c.datasets = map[string]*plan.Dataset{}
	for _, d := range c.p.Datasets {
		res, err := c.hash(d.Path)
		if err != nil {
			c.add(missingPath(err, d.Pos.At("path"), "datasets."+d.Name+".path",
				fmt.Sprintf("dataset %q: path %s", d.Name, d.Path),
				"create it, or fix the path (it is relative to the project directory)"))
			continue
		}
		pd := &plan.Dataset{Name: d.Name, Path: d.Path, Digest: res.Digest.String(), Size: res.Size, Dir: res.Dir, Files: 1}
		if res.Manifest != nil {
			pd.Files = len(res.Manifest.Entries)
			if c.o.manifests != nil {
				if _, err := c.o.manifests.Put(res.Manifest); err != nil {
					return fmt.Errorf("saving manifest of dataset %q: %w", d.Name, err)
				}
			}
		}
		if ld := c.o.lock.Datasets[d.Name]; ld != nil && ld.Digest != pd.Digest {
			pd.Changed = c.datasetChange(ld, pd, res)
		}
		c.checkSchema(d, res)
		c.datasets[d.Name] = pd
	}
	for _, in := range c.inst {
		if in.st.Code != "" {
			if _, err := c.hash(in.st.Code); err != nil {
				c.add(missingPath(err, in.pos.At("code"), in.at+".code",
					fmt.Sprintf("stage %q: code directory %s", in.name, in.st.Code), "create it, or fix the path"))
			}
		}
		for _, r := range in.inputs {
			if r.from == plan.FromPath && len(r.producers) == 0 {
				if _, err := c.hash(r.path); err != nil {
					c.add(missingPath(err, in.pos.At("inputs."+r.in.Name), in.at+".inputs."+r.in.Name,
						fmt.Sprintf("stage %q: input %q path %s", in.name, r.in.Name, r.path),
						"no stage writes it and it is not in the project; create it or read it from a dataset or stage"))
				}
			}
		}
	}
	return nil
}

// isUserError reports hashing errors that are the spec's fault (an
// unsupported file type, say) rather than the environment's.
func isUserError(err error) bool {
	var ue interface{ UserError() bool }
	return errors.As(err, &ue) && ue.UserError()
}

func missingPath(err error, at diag.Range, path, what, hint string) *diag.Diagnostic {
	if isMissing(err) {
		return diag.Errorf(at, path, "%s does not exist", what).WithHint("%s", hint)
	}
	return diag.Errorf(at, path, "%s cannot be read: %v", what, err)
}

// datasetChange describes how a dataset differs from its locked digest,
// naming the files that changed when the old manifest is still known.
func (c *compilation) datasetChange(ld *plan.LockedDataset, pd *plan.Dataset, res digest.Result) *plan.DatasetChange {
	ch := &plan.DatasetChange{Old: ld.Digest}
	if !res.Dir {
		ch.Files = []string{pd.Path}
		return ch
	}
	if c.o.manifests == nil {
		return ch
	}
	od, err := digest.Parse(ld.Digest)
	if err != nil {
		return ch
	}
	old, err := c.o.manifests.Get(od)
	if err != nil {
		return ch
	}
	added, removed, changed := res.Manifest.Diff(old)
	files := append([]string(nil), changed...)
	for _, f := range added {
		files = append(files, "+"+f)
	}
	for _, f := range removed {
		files = append(files, "-"+f)
	}
	sort.Slice(files, func(i, j int) bool { return strings.TrimLeft(files[i], "+-") < strings.TrimLeft(files[j], "+-") })
	if len(files) > plan.MaxChangedFiles {
		ch.Truncated = len(files) - plan.MaxChangedFiles
		files = files[:plan.MaxChangedFiles]
	}
	ch.Files = files
	return ch
}

// describeChange renders a dataset change for a stage's input note:
// "data/vitals.csv changed" or "data/xrays: 2 files changed (a.png, +b.png)".
func describeChange(d *plan.Dataset) string {
	if d.Changed == nil {
		return ""
	}
	if !d.Dir {
		return d.Path + " changed"
	}
	n := len(d.Changed.Files) + d.Changed.Truncated
	if n == 0 {
		return d.Path + " changed"
	}
	list := strings.Join(d.Changed.Files, ", ")
	if d.Changed.Truncated > 0 {
		list += fmt.Sprintf(", and %d more", d.Changed.Truncated)
	}
	noun := "files"
	if n == 1 {
		noun = "file"
	}
	return fmt.Sprintf("%s: %d %s changed: %s", d.Path, n, noun, list)
}

// checkSchema verifies that a CSV or TSV dataset with a declared schema has
// a header naming every column, and that keys and timestamp are columns.
// Only the first line is read.
func (c *compilation) checkSchema(d *spec.Dataset, res digest.Result) {
	cols := map[string]bool{}
	for _, col := range d.Schema {
		cols[col.Name] = true
	}
	for i, k := range d.Keys {
		if len(d.Schema) > 0 && !cols[k] {
			c.add(diag.Errorf(d.Pos.At(fmt.Sprintf("keys[%d]", i)), fmt.Sprintf("datasets.%s.keys[%d]", d.Name, i),
				"dataset %q: key %q is not a column of its schema", d.Name, k))
		}
	}
	if d.Timestamp != "" && len(d.Schema) > 0 && !cols[d.Timestamp] {
		c.add(diag.Errorf(d.Pos.At("timestamp"), "datasets."+d.Name+".timestamp",
			"dataset %q: timestamp %q is not a column of its schema", d.Name, d.Timestamp))
	}
	if len(d.Schema) == 0 || res.Dir || (d.Format != "csv" && d.Format != "tsv") {
		return
	}
	f, err := os.Open(filepath.Join(c.dir, filepath.FromSlash(d.Path)))
	if err != nil {
		return
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(io.LimitReader(f, 1<<20)))
	if d.Format == "tsv" {
		r.Comma = '\t'
	}
	header, err := r.Read()
	if err != nil {
		c.add(diag.Errorf(d.Pos.At("path"), "datasets."+d.Name+".path", "dataset %q: cannot read the header of %s: %v", d.Name, d.Path, err))
		return
	}
	have := map[string]bool{}
	for _, h := range header {
		have[strings.TrimSpace(h)] = true
	}
	var missing []string
	for _, col := range d.Schema {
		if !have[col.Name] {
			missing = append(missing, col.Name)
		}
	}
	if len(missing) > 0 {
		c.add(diag.Errorf(d.Pos.At("schema"), "datasets."+d.Name+".schema",
			"dataset %q: the header of %s lacks schema column%s %s", d.Name, d.Path, pluralS(len(missing)), strings.Join(missing, ", ")).
			WithDetail("header: %s", strings.Join(header, ",")))
	}
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
