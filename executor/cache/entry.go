package cache

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"lattice.dev/lattice/compiler/digest"
)

// Entry is what the cache knows about one run of an action: the outputs it
// produced and a little about the run.
type Entry struct {
	// Key is the action key the entry is stored under.
	Key digest.Digest
	// Outputs are the stage's outputs, in the order they were put.
	Outputs []Output
	// Created is when the entry was put, by the cache's clock.
	Created time.Time
	// Duration is how long the stage took to produce the outputs, as given
	// to Put with WithDuration; zero when unknown.
	Duration time.Duration
	// Meta holds whatever else the caller chose to record (exit code,
	// backend, metrics file names). Nil when empty.
	Meta map[string]string
}

// Output is one stored output of a stage.
type Output struct {
	// Name is the output's name in the stage.
	Name string
	// Path is the output's project-relative path.
	Path string
	// Kind is the declared kind of output (data, model, metrics, plots).
	Kind string
	// Digest names the content: for a file, the blob's digest; for a
	// directory, the digest of its manifest, which is stored in trees/.
	Digest digest.Digest
	// Size is the file's size, or for a directory the total size of its
	// files.
	Size int64
	// Dir reports whether the output is a directory.
	Dir bool
	// Exec reports whether a file output has an execute bit. It is always
	// false for a directory, whose manifest records each file's bits.
	Exec bool
}

// The entry format, version 1. Every line is "WORD fields…"; strings are Go
// quoted so that any byte can appear in them. Example:
//
//	lattice-action 1
//	key blake3:…
//	created 2026-07-01T10:00:00.5Z
//	duration 1m30s
//	output "model" "out/model.bin" "model" file 1234 blake3:…
//	output "features" "out/features" "data" dir 56789 blake3:…
//	meta "exit" "0"
//	checksum blake3:…
//
// The checksum is the BLAKE3 digest of every byte before its line.
const (
	entryHeader = "lattice-action 1\n"
	checksumTag = "checksum "
	// maxEntrySize bounds how much of an entry file is read, so that a
	// garbage file of any size is a quick miss.
	maxEntrySize = 16 << 20
)

// Output types in the entry format.
const (
	typeFile = "file"
	typeExec = "exec"
	typeDir  = "dir"
)

// encodeEntry renders e in the entry format, checksum included.
func encodeEntry(e *Entry) []byte {
	var b bytes.Buffer
	b.WriteString(entryHeader)
	fmt.Fprintf(&b, "key %s\n", e.Key)
	fmt.Fprintf(&b, "created %s\n", e.Created.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "duration %s\n", e.Duration)
	for _, o := range e.Outputs {
		typ := typeFile
		switch {
		case o.Dir:
			typ = typeDir
		case o.Exec:
			typ = typeExec
		}
		fmt.Fprintf(&b, "output %q %q %q %s %d %s\n", o.Name, o.Path, o.Kind, typ, o.Size, o.Digest)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Meta)) {
		fmt.Fprintf(&b, "meta %q %q\n", k, e.Meta[k])
	}
	sum := digest.Bytes(b.Bytes())
	b.WriteString(checksumTag)
	b.WriteString(sum.String())
	b.WriteByte('\n')
	return b.Bytes()
}

// decodeEntry parses the entry format. Anything short of a well-formed
// entry with a matching checksum is an error.
func decodeEntry(data []byte) (*Entry, error) {
	body, tail, ok := cutLastLine(data)
	if !ok || !strings.HasPrefix(tail, checksumTag) {
		return nil, errors.New("no checksum line")
	}
	want, err := digest.Parse(strings.TrimPrefix(tail, checksumTag))
	if err != nil {
		return nil, fmt.Errorf("checksum: %v", err)
	}
	if got := digest.Bytes(body); got != want {
		return nil, errors.New("checksum mismatch")
	}
	if !bytes.HasPrefix(body, []byte(entryHeader)) {
		return nil, errors.New("not an action entry (bad header)")
	}
	lines := strings.Split(strings.TrimSuffix(string(body[len(entryHeader):]), "\n"), "\n")
	e := &Entry{}
	seen := map[string]bool{}
	for i, line := range lines {
		word, rest, _ := strings.Cut(line, " ")
		f, err := splitFields(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+2, err)
		}
		if err := e.decodeLine(word, f, seen); err != nil {
			return nil, fmt.Errorf("line %d: %v", i+2, err)
		}
	}
	for _, w := range []string{"key", "created", "duration"} {
		if !seen[w] {
			return nil, fmt.Errorf("missing %q line", w)
		}
	}
	return e, nil
}

// decodeLine applies one line of an entry to e. seen records which
// single-valued lines have appeared, so that duplicates are rejected.
func (e *Entry) decodeLine(word string, f []string, seen map[string]bool) error {
	var n int
	switch word {
	case "key", "created", "duration":
		n = 1
	case "output":
		n = 6
	case "meta":
		n = 2
	default:
		return fmt.Errorf("unknown line %q", word)
	}
	if len(f) != n {
		return fmt.Errorf("%s line has %d fields, want %d", word, len(f), n)
	}
	if word != "output" && word != "meta" {
		if seen[word] {
			return fmt.Errorf("duplicate %s line", word)
		}
		seen[word] = true
	}
	switch word {
	case "key":
		d, err := digest.Parse(f[0])
		if err != nil {
			return err
		}
		e.Key = d
	case "created":
		t, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			return err
		}
		e.Created = t
	case "duration":
		d, err := time.ParseDuration(f[0])
		if err != nil || d < 0 {
			return fmt.Errorf("bad duration %q", f[0])
		}
		e.Duration = d
	case "output":
		o := Output{Name: f[0], Path: f[1], Kind: f[2]}
		switch f[3] {
		case typeFile:
		case typeExec:
			o.Exec = true
		case typeDir:
			o.Dir = true
		default:
			return fmt.Errorf("unknown output type %q", f[3])
		}
		size, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("bad size %q", f[4])
		}
		o.Size = size
		d, err := digest.Parse(f[5])
		if err != nil {
			return err
		}
		o.Digest = d
		e.Outputs = append(e.Outputs, o)
	case "meta":
		if e.Meta == nil {
			e.Meta = map[string]string{}
		}
		if _, dup := e.Meta[f[0]]; dup {
			return fmt.Errorf("duplicate meta key %q", f[0])
		}
		e.Meta[f[0]] = f[1]
	}
	return nil
}

// cutLastLine splits data into everything before its last line and the last
// line without its newline. Data must end in a newline.
func cutLastLine(data []byte) (body []byte, last string, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, "", false
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n')
	if i < 0 {
		return nil, "", false
	}
	return data[:i+1], string(data[i+1 : len(data)-1]), true
}

// splitFields splits a line into space-separated fields, each either a bare
// word or a Go quoted string.
func splitFields(s string) ([]string, error) {
	var f []string
	for s != "" {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("bad quoted string")
			}
			u, err := strconv.Unquote(q)
			if err != nil {
				return nil, fmt.Errorf("bad quoted string")
			}
			f = append(f, u)
			s = s[len(q):]
		} else {
			w, _, _ := strings.Cut(s, " ")
			f = append(f, w)
			s = s[len(w):]
		}
		if s == "" {
			break
		}
		if s[0] != ' ' || len(s) == 1 {
			return nil, fmt.Errorf("malformed fields")
		}
		s = s[1:]
	}
	return f, nil
}
