package lang

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/schemas"
)

//go:embed scaffold
var scaffoldFS embed.FS

// Scaffold formats.
const (
	ScaffoldCUE  = "cue"
	ScaffoldHCL  = "hcl"
	ScaffoldYAML = "yaml"
)

// ScaffoldOptions configures Scaffold.
type ScaffoldOptions struct {
	// Name is the project's name; default: the directory's base name.
	Name string
	// Format is cue (default), hcl or yaml.
	Format string
	// Force overwrites existing files.
	Force bool
}

// Scaffold writes a small project that validates and runs on the host into
// dir, creating dir if needed, and returns the files written, relative to
// dir. For CUE it also writes cue.mod with the schema package, so that
// templates can import it and stock CUE tools work on the project. It
// refuses to overwrite files unless opts.Force is set.
func Scaffold(dir string, opts ScaffoldOptions) ([]string, error) {
	if opts.Format == "" {
		opts.Format = ScaffoldCUE
	}
	if opts.Format != ScaffoldCUE && opts.Format != ScaffoldHCL && opts.Format != ScaffoldYAML {
		return nil, fmt.Errorf("unknown format %q: use cue, hcl or yaml", opts.Format)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(abs)
	}
	data := struct{ Name, Module string }{opts.Name, moduleName(opts.Name)}

	files := map[string][]byte{}
	add := func(sub, target string) error {
		return fs.WalkDir(scaffoldFS, "scaffold/"+sub, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			src, err := scaffoldFS.ReadFile(p)
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(p, "scaffold/"+sub+"/")
			switch rel {
			case "module.cue":
				rel = "cue.mod/module.cue"
			case "gitignore":
				rel = ".gitignore"
			}
			t, err := template.New(rel).Delims("{{", "}}").Parse(string(src))
			if err != nil {
				return fmt.Errorf("scaffold template %s: %w", p, err)
			}
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				return fmt.Errorf("scaffold template %s: %w", p, err)
			}
			files[filepath.Join(target, rel)] = b.Bytes()
			return nil
		})
	}
	if err := add("common", ""); err != nil {
		return nil, err
	}
	if err := add(opts.Format, ""); err != nil {
		return nil, err
	}
	if opts.Format == ScaffoldCUE {
		for name, src := range schemas.Files() {
			files[filepath.Join("cue.mod", "pkg", filepath.FromSlash(schemas.ImportPath), name)] = src
		}
	}

	names := sortedKeys(files)
	if !opts.Force {
		var exist []string
		for _, n := range names {
			if _, err := os.Lstat(filepath.Join(abs, n)); err == nil {
				exist = append(exist, n)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("%s already has %s; use --force to overwrite", dir, strings.Join(exist, ", "))
		}
	}
	for _, n := range names {
		p := filepath.Join(abs, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := digest.WriteFileAtomic(p, files[n], 0o644); err != nil {
			return nil, err
		}
	}
	return names, nil
}

var moduleChars = regexp.MustCompile(`[^a-z0-9-]+`)

// moduleName turns a project name into a valid CUE module path element.
func moduleName(name string) string {
	m := strings.Trim(moduleChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if m == "" || m[0] < 'a' || m[0] > 'z' {
		m = "project-" + m
	}
	return strings.TrimSuffix(m, "-")
}
