package main

import (
	"os"
	"testing"

	cuecmd "cuelang.org/go/cmd/cue/cmd"
	"github.com/rogpeppe/go-internal/testscript"

	"lattice.dev/lattice/cmd/lattice/cli"
)

// TestMain lets scripts run the real lattice command, and stock cue from
// the CUE version in go.mod, in-process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lattice": func() { os.Exit(cli.Main()) },
		"cue":     func() { os.Exit(cuecmd.Main()) },
	})
}

// TestScripts runs cmd/lattice/testdata/script/*.txtar. Set
// LATTICE_UPDATE_GOLDEN=1 to rewrite the expected output in them.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       os.Getenv("LATTICE_UPDATE_GOLDEN") != "",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Every script gets its own output cache and no registry.
			env.Setenv("LATTICE_CACHE", env.WorkDir+"/.cache/lattice")
			env.Setenv("CUE_REGISTRY", "none")
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}
