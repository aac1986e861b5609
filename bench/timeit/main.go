// Command timeit runs commands repeatedly and reports, for each, the median,
// minimum and maximum wall time, the median CPU time and the peak resident
// memory of its runs. It is the stopwatch of bench/run.sh.
//
//	timeit [-n 5] [-warmup 0] [-timeout 0] [-order interleave|sequential] [-json]
//	       [-name NAME] [-dir DIR] [-env K=V]... [-prep SHELL] [-ok 0,2] -cmd COMMAND
//	       [-name ... -cmd COMMAND]...
//
// -name, -dir, -env, -prep and -ok describe the next -cmd and are reset after
// it, so one call can time several commands. With -order interleave (the
// default) the commands take turns, one run each per round, and the order
// within a round alternates: on a machine whose load drifts, the drift skews
// every command alike, so ratios between them stay meaningful.
//
// A COMMAND without shell syntax is split on spaces and executed directly, so
// the figures carry no shell start-up; anything else runs under bash -c.
// -prep runs (always under bash -c, untimed) before every run of its command,
// for example to delete a cache so that each run is cold.
//
// The peak memory is the ru_maxrss that wait4 reports: the largest resident
// set of the command or of any descendant it waited for. A run that exits
// with a status not listed in -ok marks its command failed; a run that passes
// -timeout is killed with its process group and ends its command's runs.
//
// Output: one line per command, tab-separated, with a header line:
//
//	name runs median_s min_s max_s cpu_median_s maxrss_mib status times_s
//
// or, with -json, one JSON object per line. status is "ok", "timeout" or
// "failed"; times_s lists every timed run, comma-separated.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spec is one command to time and how to run it.
type spec struct {
	name    string
	dir     string
	env     []string
	prep    string
	ok      map[int]bool
	command string
}

// run is the outcome of one timed run.
type run struct {
	wall   time.Duration
	cpu    time.Duration
	maxrss int64 // KiB
}

// result is what timeit reports about one command.
type result struct {
	Name      string    `json:"name"`
	Runs      int       `json:"runs"`
	MedianS   float64   `json:"median_s"`
	MinS      float64   `json:"min_s"`
	MaxS      float64   `json:"max_s"`
	CPUMedian float64   `json:"cpu_median_s"`
	MaxRSSMiB float64   `json:"maxrss_mib"`
	Status    string    `json:"status"`
	TimesS    []float64 `json:"times_s"`

	runs []run
}

// specs collects -cmd groups as the flags arrive, in order.
type specs struct {
	list []*spec
	next spec
}

func (s *specs) reset() { s.next = spec{ok: map[int]bool{0: true}} }

// funcValue is a flag.Value that calls a function with each value.
type funcValue func(string) error

func (f funcValue) String() string     { return "" }
func (f funcValue) Set(v string) error { return f(v) }

func main() {
	if err := mainErr(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(1)
	}
}

func mainErr(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("timeit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 5, "timed runs of each command")
	warmup := fs.Int("warmup", 0, "untimed runs of each command before the timed ones")
	timeout := fs.Duration("timeout", 0, "kill a run after this long (0: never)")
	order := fs.String("order", "interleave", "interleave: one run of each command per round; sequential: all runs of one command, then the next")
	asJSON := fs.Bool("json", false, "print one JSON object per command instead of TSV")
	quiet := fs.Bool("q", false, "do not report each run on stderr")

	var ss specs
	ss.reset()
	fs.Var(funcValue(func(v string) error { ss.next.name = v; return nil }), "name", "name of the next -cmd")
	fs.Var(funcValue(func(v string) error { ss.next.dir = v; return nil }), "dir", "working directory of the next -cmd")
	fs.Var(funcValue(func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("-env %q: want KEY=VALUE", v)
		}
		ss.next.env = append(ss.next.env, v)
		return nil
	}), "env", "`KEY=VALUE` added to the environment of the next -cmd and its -prep (repeatable)")
	fs.Var(funcValue(func(v string) error { ss.next.prep = v; return nil }), "prep", "shell command run, untimed, before each run of the next -cmd")
	fs.Var(funcValue(func(v string) error {
		ok := map[int]bool{}
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-ok %q: %v", v, err)
			}
			ok[c] = true
		}
		ss.next.ok = ok
		return nil
	}), "ok", "comma-separated exit statuses that count as success for the next -cmd (default 0)")
	fs.Var(funcValue(func(v string) error {
		sp := ss.next
		sp.command = v
		if sp.name == "" {
			sp.name = v
		}
		ss.list = append(ss.list, &sp)
		ss.reset()
		return nil
	}), "cmd", "command to time; ends a group of -name/-dir/-env/-prep/-ok")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: give commands with -cmd", fs.Args())
	}
	if len(ss.list) == 0 {
		return errors.New("no -cmd given")
	}
	if *n < 1 {
		return errors.New("-n must be at least 1")
	}
	if *order != "interleave" && *order != "sequential" {
		return fmt.Errorf("-order %q: want interleave or sequential", *order)
	}

	results := make([]*result, len(ss.list))
	for i, sp := range ss.list {
		results[i] = &result{Name: sp.name, Status: "ok"}
	}
	// one runs command i once, timed or not, and records the outcome.
	one := func(i int, timed bool) error {
		sp, res := ss.list[i], results[i]
		if res.Status != "ok" {
			return nil
		}
		if sp.prep != "" {
			if out, err := prep(sp); err != nil {
				return fmt.Errorf("%s: -prep %q: %v\n%s", sp.name, sp.prep, err, tail(out))
			}
		}
		r, status, out, err := execute(sp, *timeout)
		if err != nil {
			return fmt.Errorf("%s: %v", sp.name, err)
		}
		if status != "ok" {
			res.Status = status
			fmt.Fprintf(stderr, "timeit: %s: %s\n%s", sp.name, status, tail(out))
			if status == "timeout" {
				res.runs = append(res.runs, r)
			}
			return nil
		}
		if timed {
			res.runs = append(res.runs, r)
			if !*quiet {
				fmt.Fprintf(stderr, "timeit: %-40s run %d/%d: %.3f s, %.0f MiB\n", sp.name, len(res.runs), *n, r.wall.Seconds(), float64(r.maxrss)/1024)
			}
		}
		return nil
	}
	for i := range ss.list {
		for range *warmup {
			if err := one(i, false); err != nil {
				return err
			}
		}
	}
	if *order == "sequential" {
		for i := range ss.list {
			for range *n {
				if err := one(i, true); err != nil {
					return err
				}
			}
		}
	} else {
		for round := range *n {
			for k := range ss.list {
				i := k
				if round%2 == 1 {
					i = len(ss.list) - 1 - k
				}
				if err := one(i, true); err != nil {
					return err
				}
			}
		}
	}

	if !*asJSON {
		fmt.Fprintln(stdout, "name\truns\tmedian_s\tmin_s\tmax_s\tcpu_median_s\tmaxrss_mib\tstatus\ttimes_s")
	}
	for _, res := range results {
		summarize(res)
		if *asJSON {
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		times := make([]string, len(res.TimesS))
		for i, t := range res.TimesS {
			times[i] = strconv.FormatFloat(t, 'f', 4, 64)
		}
		fmt.Fprintf(stdout, "%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.1f\t%s\t%s\n",
			res.Name, res.Runs, res.MedianS, res.MinS, res.MaxS, res.CPUMedian, res.MaxRSSMiB, res.Status, strings.Join(times, ","))
	}
	return nil
}

// summarize fills in the figures of res from its runs.
func summarize(res *result) {
	res.Runs = len(res.runs)
	res.TimesS = []float64{}
	if len(res.runs) == 0 {
		return
	}
	var walls, cpus []float64
	for _, r := range res.runs {
		walls = append(walls, r.wall.Seconds())
		cpus = append(cpus, r.cpu.Seconds())
		res.MaxRSSMiB = max(res.MaxRSSMiB, float64(r.maxrss)/1024)
	}
	res.TimesS = append(res.TimesS, walls...)
	res.MedianS = median(walls)
	res.CPUMedian = median(cpus)
	sort.Float64s(walls)
	res.MinS, res.MaxS = walls[0], walls[len(walls)-1]
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// prep runs the -prep command of sp and returns its combined output.
func prep(sp *spec) ([]byte, error) {
	c := exec.Command("bash", "-c", sp.prep)
	c.Dir = sp.dir
	c.Env = append(os.Environ(), sp.env...)
	return c.CombinedOutput()
}

// execute runs the command of sp once. It returns the run's figures, its
// status ("ok", "timeout" or "failed: ...") and the tail of its output. The
// error is for commands that could not be started at all.
func execute(sp *spec, timeout time.Duration) (run, string, []byte, error) {
	argv := argvOf(sp.command)
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = sp.dir
	c.Env = append(os.Environ(), sp.env...)
	// The command's output goes to a file, not a pipe, so that a command that
	// prints a lot is not slowed by a reader; only its tail is kept.
	out, err := os.CreateTemp("", "timeit-out-*")
	if err != nil {
		return run{}, "", nil, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	// Its own process group, so that a timeout kills everything it started.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	start := time.Now()
	if err := c.Start(); err != nil {
		return run{}, "", nil, err
	}
	var timer *time.Timer
	timedOut := make(chan bool, 1)
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() {
			timedOut <- true
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		})
	}
	werr := c.Wait()
	wall := time.Since(start)
	if timer != nil {
		timer.Stop()
	}
	r := run{wall: wall}
	if ps := c.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.maxrss = ru.Maxrss
		}
	}
	outTail := readTail(out)
	select {
	case <-timedOut:
		return r, "timeout", outTail, nil
	default:
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code = ee.ExitCode()
	} else if werr != nil {
		return r, "", outTail, werr
	}
	if !sp.ok[code] {
		return r, fmt.Sprintf("failed: exit status %d", code), outTail, nil
	}
	return r, "ok", outTail, nil
}

// argvOf splits a command without shell syntax on spaces; anything else is
// handed to bash.
func argvOf(command string) []string {
	fields := strings.Fields(command)
	if len(fields) == 0 || strings.ContainsAny(command, "\"'`$\\|&;<>()[]{}*?~#!\n") || strings.Contains(fields[0], "=") {
		return []string{"bash", "-c", command}
	}
	return fields
}

// readTail returns the last few KiB that a run wrote.
func readTail(f *os.File) []byte {
	const keep = 4 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(fi.Size()-keep, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return b[:n]
}

// tail formats a run's output for an error message.
func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	var s strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		s.WriteString("    | " + line + "\n")
	}
	return s.String()
}
