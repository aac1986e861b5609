// Package schemas embeds the versioned CUE schemas of Lattice specs.
//
// The schema is a stock CUE package, importable as "lattice.dev/lattice", so
// users' templates and stock CUE tooling (cue vet, cue export, cue fmt) see
// exactly the definitions that the lattice binary checks against. The Go
// front ends never restate the schema: they compile these files and walk
// them.
package schemas

import (
	"embed"
	"io/fs"
)

// ImportPath is the CUE import path of the schema package.
const ImportPath = "lattice.dev/lattice"

// Version is the spec format version the schema describes.
const Version = 1

//go:embed lattice/*.cue
var files embed.FS

// FS returns the schema package's files, at the root of the returned FS.
func FS() fs.FS {
	sub, err := fs.Sub(files, "lattice")
	if err != nil {
		// The embedded tree is fixed at build time; Sub cannot fail on it.
		panic(err)
	}
	return sub
}

// Files returns the schema package's file names and contents, sorted by name.
func Files() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(files, "lattice")
	for _, e := range entries {
		b, err := files.ReadFile("lattice/" + e.Name())
		if err == nil {
			out[e.Name()] = b
		}
	}
	return out
}
