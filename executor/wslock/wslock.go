// Package wslock keeps two applies from working on one workspace at once.
//
// The lock is an advisory flock on .lattice/apply.lock, whose content names
// the holder (a lock ID, pid, host and start time) so that a second apply
// can say who is in the way. The kernel drops a flock when its process
// dies, however it dies, so a crashed apply never leaves the workspace
// locked; ForceUnlock exists for the cases the kernel cannot see, such as a
// workspace on a network filesystem shared between machines.
package wslock

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Holder describes who holds a workspace lock.
type Holder struct {
	ID      string    `json:"id"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Command string    `json:"command,omitempty"`
}

func (h Holder) String() string {
	return fmt.Sprintf("lock %s held by pid %d on %s since %s", h.ID, h.PID, h.Host, h.Started.Local().Format(time.RFC3339))
}

// Lock is a held workspace lock.
type Lock struct {
	f      *os.File
	path   string
	Holder Holder
}

// HeldError reports that another process holds the lock.
type HeldError struct {
	Holder Holder
}

func (e *HeldError) Error() string {
	if e.Holder.ID == "" {
		return "another lattice apply is running in this workspace"
	}
	return fmt.Sprintf("another lattice apply is running in this workspace (%s); wait for it, or if it is gone run: lattice force-unlock %s", e.Holder, e.Holder.ID)
}

// Path is the lock file of a workspace's state directory.
func Path(stateDir string) string { return filepath.Join(stateDir, "apply.lock") }

// Acquire takes the workspace lock without waiting, or returns a
// *HeldError naming the holder.
func Acquire(stateDir, command string) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	p := Path(stateDir)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the workspace lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			h, _ := readHolder(f)
			return nil, &HeldError{Holder: h}
		}
		return nil, fmt.Errorf("taking the workspace lock: %w", err)
	}
	host, _ := os.Hostname()
	var id [6]byte
	rand.Read(id[:])
	l := &Lock{f: f, path: p, Holder: Holder{ID: hex.EncodeToString(id[:]), PID: os.Getpid(), Host: host, Started: time.Now().UTC(), Command: command}}
	b, _ := json.Marshal(l.Holder)
	if err := f.Truncate(0); err == nil {
		f.WriteAt(append(b, '\n'), 0)
		f.Sync()
	}
	return l, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}

func readHolder(f *os.File) (Holder, error) {
	var h Holder
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	if n == 0 {
		return h, errors.New("empty")
	}
	return h, json.Unmarshal(b[:n], &h)
}

// Current returns the holder recorded in a workspace's lock file, if any.
func Current(stateDir string) (Holder, bool) {
	f, err := os.Open(Path(stateDir))
	if err != nil {
		return Holder{}, false
	}
	defer f.Close()
	h, err := readHolder(f)
	return h, err == nil && h.ID != ""
}

// ForceUnlock removes the lock file when its recorded holder has the given
// ID. A process that still holds a flock on the removed file keeps running;
// force-unlock is for holders that are gone but whose lock the kernel cannot
// release, such as one on another machine.
func ForceUnlock(stateDir, id string) (Holder, error) {
	h, ok := Current(stateDir)
	if !ok {
		return Holder{}, errors.New("the workspace is not locked")
	}
	if h.ID != id {
		return h, fmt.Errorf("the workspace lock has ID %s, not %s (%s)", h.ID, id, h)
	}
	if err := os.Remove(Path(stateDir)); err != nil {
		return h, err
	}
	return h, nil
}
