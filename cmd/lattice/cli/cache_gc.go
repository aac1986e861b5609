package cli

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lattice.dev/lattice/executor/cache"
	"lattice.dev/lattice/lang"
)

type cacheGCArgs struct {
	maxAge  string
	maxSize string
	json    bool
}

func newCacheGCCmd(e *env) *cobra.Command {
	var a cacheGCArgs
	cmd := &cobra.Command{
		Use:   "gc [--max-age DURATION] [--max-size SIZE]",
		Short: "Remove old entries from the output cache",
		Long: `GC removes the cache entries no apply has used (stored or restored) for
longer than --max-age, then, with --max-size, the least recently used
entries until the cache fits, and finally every file that no remaining
entry needs. Outputs already in workspaces are not touched: they are
copies or links that outlive the cache's files.

--max-age takes a Go duration (90m, 12h) or a number of days (30d); 0
removes every entry, and "none" sets no age limit. The default is 30d.
--max-size takes a size such as 500M, 10G or 500Mi (K, M, G, T are powers
of 1000; Ki, Mi, Gi, Ti powers of 1024). There is no size limit by
default.

GC is safe to run while applies are running: it never removes what a
surviving entry needs, and keeps files written since it began.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := a.trimOptions()
			if err != nil {
				return err
			}
			ca, err := openCache()
			if err != nil {
				return err
			}
			rep, err := ca.Trim(c.Context(), opts)
			if err != nil {
				return err
			}
			entries, blobs, bytes, err := ca.Usage(c.Context())
			if err != nil {
				return err
			}
			return viewCacheGC(e, a, ca.Dir(), rep, cacheUsage{Entries: entries, Blobs: blobs, Bytes: bytes})
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.maxAge, "max-age", "30d", "remove entries unused for longer than `DURATION` (0: all; none: no limit)")
	f.StringVar(&a.maxSize, "max-size", "", "then remove the least recently used entries until the cache fits in `SIZE`")
	f.BoolVar(&a.json, "json", false, "print what was removed as JSON")
	return cmd
}

var daysRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)d$`)

// trimOptions turns the flags into the cache's trim options.
func (a cacheGCArgs) trimOptions() (cache.TrimOptions, error) {
	var o cache.TrimOptions
	switch s := strings.TrimSpace(a.maxAge); {
	case s == "none" || s == "":
	case daysRE.MatchString(s):
		days, _ := strconv.ParseFloat(daysRE.FindStringSubmatch(s)[1], 64)
		o.MaxAge = time.Duration(days * float64(24*time.Hour))
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return o, fmt.Errorf("--max-age %q is not a duration: use a Go duration such as 12h, a number of days such as 30d, or none", a.maxAge)
		}
		o.MaxAge = d
	}
	// The cache reads a zero MaxAge as "no limit", while --max-age 0 means
	// "older than now", that is everything; the smallest positive age says
	// that to the cache.
	if o.MaxAge == 0 && a.maxAge != "none" && a.maxAge != "" {
		o.MaxAge = time.Nanosecond
	}
	if a.maxSize != "" {
		n, err := lang.ParseSize(a.maxSize)
		if err != nil {
			return o, fmt.Errorf("--max-size: %w; use a size such as 500M, 10G or 500Mi", err)
		}
		o.MaxBytes = n
	}
	return o, nil
}

type cacheGCJSON struct {
	FormatVersion string     `json:"format_version"`
	Dir           string     `json:"dir"`
	MaxAgeS       *float64   `json:"max_age_s"`
	MaxBytes      *int64     `json:"max_bytes"`
	Removed       gcRemoved  `json:"removed"`
	BytesFreed    int64      `json:"bytes_freed"`
	Remaining     cacheUsage `json:"remaining"`
}

type gcRemoved struct {
	Entries int `json:"entries"`
	Trees   int `json:"trees"`
	Blobs   int `json:"blobs"`
	Temp    int `json:"temp"`
}

func viewCacheGC(e *env, a cacheGCArgs, dir string, rep cache.TrimReport, left cacheUsage) error {
	if a.json {
		opts, _ := a.trimOptions()
		out := cacheGCJSON{
			FormatVersion: "1",
			Dir:           dir,
			Removed:       gcRemoved{rep.EntriesRemoved, rep.TreesRemoved, rep.BlobsRemoved, rep.TempRemoved},
			BytesFreed:    rep.BytesFreed,
			Remaining:     left,
		}
		if opts.MaxAge > 0 {
			s := opts.MaxAge.Seconds()
			out.MaxAgeS = &s
		}
		if opts.MaxBytes > 0 {
			out.MaxBytes = &opts.MaxBytes
		}
		return writeJSON(e.stdout, out)
	}
	if rep.EntriesRemoved+rep.TreesRemoved+rep.BlobsRemoved+rep.TempRemoved == 0 {
		fmt.Fprintln(e.stdout, "Nothing to remove.")
	} else {
		fmt.Fprintf(e.stdout, "Removed %s, %s and %s, freeing %s.\n",
			entryCount(rep.EntriesRemoved), plural(rep.TreesRemoved, "tree"), plural(rep.BlobsRemoved, "blob"),
			formatBytes(rep.BytesFreed))
		if rep.TempRemoved > 0 {
			fmt.Fprintf(e.stdout, "Removed %s left by interrupted writes.\n", plural(rep.TempRemoved, "temporary file"))
		}
	}
	fmt.Fprintf(e.stdout, "The cache in %s holds %s and %s (%s).\n",
		dir, entryCount(left.Entries), plural(left.Blobs, "blob"), formatBytes(left.Bytes))
	return nil
}
