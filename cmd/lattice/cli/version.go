package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/schemas"
)

// Version is the release version of this build.
const Version = "0.1.0-dev"

type versionJSON struct {
	FormatVersion string `json:"format_version"`
	Version       string `json:"version"`
	Commit        string `json:"commit,omitempty"`
	GoVersion     string `json:"go_version"`
	Platform      string `json:"platform"`
	SpecVersion   int    `json:"spec_version"`
}

func newVersionCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of lattice",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			v := buildVersion()
			if asJSON {
				return writeJSON(e.stdout, v)
			}
			fmt.Fprintf(e.stdout, "lattice %s", v.Version)
			if v.Commit != "" {
				fmt.Fprintf(e.stdout, " (commit %s)", v.Commit)
			}
			fmt.Fprintf(e.stdout, " %s %s, spec format %d\n", v.GoVersion, v.Platform, v.SpecVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func buildVersion() versionJSON {
	v := versionJSON{FormatVersion: "1", Version: Version, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, SpecVersion: schemas.Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v.Commit = s.Value[:12]
			}
		}
	}
	return v
}
