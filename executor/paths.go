package executor

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
)

// CleanRel checks that p is a relative, slash-separated path that stays
// inside the workspace, and returns it cleaned. Backends call it on every
// mount target and output path before touching the file system.
func CleanRel(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("empty path")
	case path.IsAbs(p) || filepath.IsAbs(p):
		return "", errors.New("path must be relative to the workspace")
	case strings.ContainsRune(p, '\\'):
		return "", errors.New("path must use forward slashes")
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.New("path leaves the workspace")
	}
	return c, nil
}

// Within reports whether the cleaned relative path rel is dir or lies
// inside it; "." holds everything.
func Within(rel, dir string) bool {
	return dir == "." || rel == dir || strings.HasPrefix(rel, dir+"/")
}
