package wslock

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestAcquireNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, "apply")
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file, so a second open in this process contends
	// exactly as another process would.
	_, err = Acquire(dir, "apply")
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.Holder.ID != first.Holder.ID || held.Holder.PID != os.Getpid() {
		t.Errorf("holder %+v, want %+v", held.Holder, first.Holder)
	}
	if msg := err.Error(); !strings.Contains(msg, "lattice force-unlock "+first.Holder.ID) {
		t.Errorf("message should say how to break the lock: %s", msg)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir, "apply")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	again.Release()
}

func TestForceUnlock(t *testing.T) {
	dir := t.TempDir()
	if _, err := ForceUnlock(dir, "abc"); err == nil {
		t.Error("an unlocked workspace has nothing to force")
	}
	l, err := Acquire(dir, "apply")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := ForceUnlock(dir, "not-the-id"); err == nil || !strings.Contains(err.Error(), l.Holder.ID) {
		t.Errorf("a wrong ID must be refused, naming the right one: %v", err)
	}
	h, err := ForceUnlock(dir, l.Holder.ID)
	if err != nil || h.ID != l.Holder.ID {
		t.Fatalf("ForceUnlock: %+v, %v", h, err)
	}
	if _, ok := Current(dir); ok {
		t.Error("the lock file should be gone")
	}
}
