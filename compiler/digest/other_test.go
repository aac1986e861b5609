//go:build !linux && !darwin

package digest

import "time"

// processCPU reports that CPU time is not measured on this system.
func processCPU() time.Duration { return -1 }
