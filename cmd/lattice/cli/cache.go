package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/executor/cache"
)

func newCacheCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect, check and trim the output cache",
		Long: `The output cache holds every stage's outputs, named by the stage's action
key, so that apply can restore instead of running. It lives in
$LATTICE_CACHE, or by default in the user's cache directory
(~/.cache/lattice on Linux), and is shared by every project of the user.

Deleting it is always safe: stages run again to fill it.`,
		// Runnable with no arguments, so that a mistyped subcommand is an
		// error rather than a help page and exit status 0.
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	cmd.AddCommand(newCacheInfoCmd(e), newCacheGCCmd(e), newCacheVerifyCmd(e))
	return cmd
}

// openCache opens the output cache the workspace commands use.
func openCache() (*cache.Cache, error) {
	dir, err := cache.DefaultDir()
	if err != nil {
		return nil, err
	}
	c, err := cache.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the output cache: %w", err)
	}
	return c, nil
}

type cacheInfoArgs struct {
	json bool
}

func newCacheInfoCmd(e *env) *cobra.Command {
	var a cacheInfoArgs
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Say where the output cache is and how much it holds",
		Long: `Info prints the output cache's directory, how many entries (stage runs)
and blobs (distinct files) it holds, and the bytes all its files take.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ca, err := openCache()
			if err != nil {
				return err
			}
			entries, blobs, bytes, err := ca.Usage(c.Context())
			if err != nil {
				return err
			}
			return viewCacheInfo(e, a, cacheUsage{Dir: ca.Dir(), Entries: entries, Blobs: blobs, Bytes: bytes})
		},
	}
	cmd.Flags().BoolVar(&a.json, "json", false, "print the figures as JSON")
	return cmd
}

// cacheUsage is what the cache holds, as info prints it and gc reports
// what is left.
type cacheUsage struct {
	Dir     string `json:"dir,omitempty"`
	Entries int    `json:"entries"`
	Blobs   int    `json:"blobs"`
	Bytes   int64  `json:"bytes"`
}

func viewCacheInfo(e *env, a cacheInfoArgs, u cacheUsage) error {
	if a.json {
		return writeJSON(e.stdout, struct {
			FormatVersion string `json:"format_version"`
			cacheUsage
		}{"1", u})
	}
	tw := newTable(e.stdout)
	fmt.Fprintf(tw, "Cache:\t%s\n", u.Dir)
	fmt.Fprintf(tw, "Entries:\t%d\n", u.Entries)
	fmt.Fprintf(tw, "Blobs:\t%d\n", u.Blobs)
	fmt.Fprintf(tw, "Size:\t%s\n", formatBytes(u.Bytes))
	return tw.Flush()
}

// formatBytes formats a size in bytes with a binary unit: "512 B",
// "1.5 KiB", "3.2 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// entryCount counts cache entries: "1 entry", "3 entries".
func entryCount(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
