package digest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Entry kinds in a manifest.
const (
	KindFile    = 'f' // a regular file
	KindExec    = 'x' // a regular file with an execute bit
	KindSymlink = 'l' // a symbolic link; its digest is of the target text
)

// Entry is one file of a directory tree.
type Entry struct {
	// Path is relative to the tree's root, slash-separated.
	Path   string
	Kind   byte
	Size   int64
	Digest Digest
}

// Manifest lists every file of a directory tree, sorted by path. Its digest
// is the digest of its canonical text, so two trees with the same files,
// contents and execute bits have the same digest wherever they live.
// Directories are implied by file paths; empty directories do not count.
type Manifest struct {
	Entries []Entry
}

const manifestHeader = "lattice-tree 1\n"

// Sort orders the entries by path.
func (m *Manifest) Sort() {
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
}

// Text renders the canonical form: a header line, then one line per entry,
// "KIND SIZE DIGEST PATH", with PATH quoted when it holds a space, quote,
// backslash or control character.
func (m *Manifest) Text() []byte {
	// A tree of 100,000 files renders about 10 MB of text on every run, so
	// the buffer is sized once and each line appended without allocating.
	n := len(manifestHeader)
	for _, e := range m.Entries {
		n += len("f  :\n") + 20 + len(e.Digest.Algo) + 2*Size + len(e.Path) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, manifestHeader...)
	for _, e := range m.Entries {
		b = append(b, e.Kind, ' ')
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, ' ')
		if !e.Digest.IsZero() {
			b = append(b, e.Digest.Algo...)
			b = append(b, ':')
			b = hex.AppendEncode(b, e.Digest.Sum[:])
		}
		b = append(b, ' ')
		b = appendPath(b, e.Path)
		b = append(b, '\n')
	}
	return b
}

// Digest is the BLAKE3 digest of the manifest's canonical text.
func (m *Manifest) Digest() Digest { return Bytes(m.Text()) }

// Size is the total size of the files in the manifest.
func (m *Manifest) Size() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// Lookup returns the entry for path, if any.
func (m *Manifest) Lookup(path string) (Entry, bool) {
	i := sort.Search(len(m.Entries), func(i int) bool { return m.Entries[i].Path >= path })
	if i < len(m.Entries) && m.Entries[i].Path == path {
		return m.Entries[i], true
	}
	return Entry{}, false
}

// ParseManifest reads the canonical text form.
func ParseManifest(r io.Reader) (*Manifest, error) {
	br := bufio.NewReader(r)
	head, err := br.ReadString('\n')
	if err != nil || head != manifestHeader {
		return nil, fmt.Errorf("not a tree manifest (missing %q header)", strings.TrimSpace(manifestHeader))
	}
	m := &Manifest{}
	line := 1
	for {
		s, err := br.ReadString('\n')
		if err == io.EOF && s == "" {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: truncated", line)
		}
		s = strings.TrimSuffix(s, "\n")
		parts := strings.SplitN(s, " ", 4)
		if len(parts) != 4 || len(parts[0]) != 1 {
			return nil, fmt.Errorf("manifest line %d: malformed", line)
		}
		size, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("manifest line %d: bad size %q", line, parts[1])
		}
		d, err := Parse(parts[2])
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %v", line, err)
		}
		p, err := unquotePath(parts[3])
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: bad path: %v", line, err)
		}
		k := parts[0][0]
		if k != KindFile && k != KindExec && k != KindSymlink {
			return nil, fmt.Errorf("manifest line %d: unknown kind %q", line, k)
		}
		if n := len(m.Entries); n > 0 && m.Entries[n-1].Path >= p {
			return nil, fmt.Errorf("manifest line %d: paths out of order", line)
		}
		m.Entries = append(m.Entries, Entry{Path: p, Kind: k, Size: size, Digest: d})
	}
	return m, nil
}

// Diff lists the paths added, removed and changed from old to m.
func (m *Manifest) Diff(old *Manifest) (added, removed, changed []string) {
	i, j := 0, 0
	for i < len(old.Entries) || j < len(m.Entries) {
		switch {
		case j == len(m.Entries) || (i < len(old.Entries) && old.Entries[i].Path < m.Entries[j].Path):
			removed = append(removed, old.Entries[i].Path)
			i++
		case i == len(old.Entries) || m.Entries[j].Path < old.Entries[i].Path:
			added = append(added, m.Entries[j].Path)
			j++
		default:
			if old.Entries[i].Digest != m.Entries[j].Digest || old.Entries[i].Kind != m.Entries[j].Kind {
				changed = append(changed, m.Entries[j].Path)
			}
			i++
			j++
		}
	}
	return added, removed, changed
}

// appendPath appends p to b, quoted if it holds a byte that would make the
// line ambiguous or unreadable.
func appendPath(b []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == '"' || c == '\\' || c == 0x7f {
			return strconv.AppendQuote(b, p)
		}
	}
	return append(b, p...)
}

func unquotePath(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}
