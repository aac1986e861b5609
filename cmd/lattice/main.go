// Command lattice compiles and runs reproducible machine-learning pipelines.
package main

import (
	"os"

	"lattice.dev/lattice/cmd/lattice/cli"
)

func main() { os.Exit(cli.Main()) }
