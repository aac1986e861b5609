//go:build !unix

package lockfile

// syncDir does nothing where directories cannot be opened and flushed
// (Windows); there, creating a file is as durable as the system makes it.
func syncDir(string) error { return nil }
