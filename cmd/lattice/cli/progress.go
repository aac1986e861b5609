package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"lattice.dev/lattice/executor"
)

// progress shows an apply as it happens: on a terminal, a status line
// redrawn in place (stages done, running and queued, elapsed time, the
// running stage's last log line); elsewhere, one line per finished stage;
// with -json, every event as a JSON object on its own line.
type progress struct {
	e      *env
	json   bool
	mu     sync.Mutex
	start  time.Time
	total  int
	done   int
	run    map[string]string // running stage → last log line
	drawn  bool
	ticker *time.Ticker
	quit   chan struct{}
}

func newProgress(e *env, asJSON bool) *progress {
	p := &progress{e: e, json: asJSON, start: time.Now(), run: map[string]string{}, quit: make(chan struct{})}
	if e.tty && !asJSON {
		p.ticker = time.NewTicker(250 * time.Millisecond)
		go func() {
			for {
				select {
				case <-p.ticker.C:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
				case <-p.quit:
					return
				}
			}
		}()
	}
	return p
}

func (p *progress) stop() {
	if p.ticker != nil {
		p.ticker.Stop()
		close(p.quit)
	}
	p.mu.Lock()
	p.clear()
	p.mu.Unlock()
}

func (p *progress) event(ev executor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(ev)
		p.e.stdout.Write(append(b, '\n'))
		return
	}
	switch ev.Type {
	case executor.EventApplyStarted:
		p.total = ev.Stages
	case executor.EventStageStarted:
		p.run[ev.Stage] = ""
		if ev.Attempt > 1 {
			p.line("  %s: attempt %d", ev.Stage, ev.Attempt)
		}
	case executor.EventStageLog:
		if _, ok := p.run[ev.Stage]; ok {
			p.run[ev.Stage] = ev.Line
		}
	case executor.EventStageRetrying:
		p.line("  ! %s failed (%s); retrying in %s", ev.Stage, firstLineOf(ev.Reason), ev.Duration)
	case executor.EventStageFinished:
		delete(p.run, ev.Stage)
		p.done++
		det := ""
		if ev.Deterministic != nil {
			det = ", outputs match lattice.lock"
			if !*ev.Deterministic {
				det = ", outputs DIFFER from lattice.lock"
			}
		}
		p.line("  + %s ran in %s%s", ev.Stage, ev.Duration.Round(time.Millisecond), det)
	case executor.EventStageRestored:
		p.done++
		p.line("  < %s restored (%s)", ev.Stage, ev.Reason)
	case executor.EventStageUpToDate:
		p.done++
	case executor.EventStageFailed:
		delete(p.run, ev.Stage)
		p.done++
		p.line("  x %s failed after %s: %s", ev.Stage, ev.Duration.Round(time.Millisecond), firstLineOf(ev.Error))
	case executor.EventStageSkipped:
		p.done++
		p.line("  - %s skipped: %s", ev.Stage, ev.Reason)
	}
}

// line prints a permanent line above the status line.
func (p *progress) line(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.e.stderr, format+"\n", args...)
	p.draw()
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.e.stderr, "\r\x1b[2K")
		p.drawn = false
	}
}

func (p *progress) draw() {
	if !p.e.tty || p.json {
		return
	}
	names := make([]string, 0, len(p.run))
	for n := range p.run {
		names = append(names, n)
	}
	sort.Strings(names)
	queued := p.total - p.done - len(names)
	if queued < 0 {
		queued = 0
	}
	s := fmt.Sprintf("[%d/%d done, %d running, %d queued, %s]", p.done, p.total, len(names), queued,
		time.Since(p.start).Round(100*time.Millisecond))
	if len(names) > 0 {
		s += " " + names[0]
		if l := p.run[names[0]]; l != "" {
			s += ": " + l
		}
	}
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	fmt.Fprint(p.e.stderr, "\r\x1b[2K"+s)
	p.drawn = true
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
