package lockfile

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// ParseError is a problem with a lockfile's text. Line counts from 1; it is
// zero for problems that belong to the file as a whole, such as a key that
// does not match its stage's fields.
type ParseError struct {
	File string
	Line int
	Msg  string
}

// Error renders the problem as "file:line: message", the form editors and
// terminals link to the line.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Parse reads lockfile text. name is the file's name as the user should see
// it in messages. The returned lock's Digest is the digest of data.
//
// Parse reports the first problem it finds: the file is written by
// lattice, and whatever the problem, the remedy is the same. After the
// text parses, every stage's key is checked against its recorded fields;
// stages whose keys do not match are reported together.
//
// A lockfile whose keys were computed with another key format or salt (see
// plan.KeyFormat and plan.Salt) parses to a lock with its datasets but no
// stages: none of its keys could match a key this lattice computes, so
// every stage would run anyway, and its entries cannot be checked.
func Parse(name string, data []byte) (*plan.Lock, error) {
	// Hashing the whole file is independent of parsing it; on a large
	// lockfile, doing the two at once saves several milliseconds.
	var fileDigest string
	var wg sync.WaitGroup
	wg.Go(func() { fileDigest = digest.Bytes(data).String() })
	defer wg.Wait()

	head := newParser(name)
	body, line, err := head.parseHead(string(data))
	if err != nil {
		return nil, err
	}
	l, ok := parseChunks(head, body, line)
	if !ok {
		p := head.fork()
		if err := p.parseObjects(body, line); err != nil {
			return nil, err
		}
		if err := p.finish(); err != nil {
			return nil, err
		}
		if !p.currentKeys {
			// The keys were computed some other way; they cannot be
			// checked, and are dropped below.
		} else if bad := p.verify(); len(bad) > 0 {
			return nil, &ParseError{File: name, Msg: keyMismatch(bad)}
		}
		l = p.lock
	}
	if !head.currentKeys {
		l.Stages = map[string]*plan.LockedStage{}
	}
	wg.Wait()
	l.Digest = fileDigest
	return l, nil
}

// parseChunks parses a large body in parallel, in chunks that each start
// after a blank line, where Format starts a new object. It is an
// optimisation only: ok is false for a small body, and whenever a chunk
// has any problem or an object's lines fall in two chunks (which a hand
// edit can do); the caller then parses the body in one piece, which finds
// and words the first problem exactly as it would have anyway.
func parseChunks(head *parser, body string, line int) (l *plan.Lock, ok bool) {
	const minChunk = 1 << 20
	workers := min(runtime.GOMAXPROCS(0), len(body)/minChunk)
	if workers < 2 {
		return nil, false
	}
	type chunk struct {
		text string
		line int
		p    *parser
		ok   bool
	}
	var chunks []*chunk
	start, n := 0, line
	for i := 1; i < workers; i++ {
		from := max(start, i*len(body)/workers)
		j := strings.Index(body[from:], "\n\n")
		if j < 0 {
			break
		}
		end := from + j + 2
		chunks = append(chunks, &chunk{text: body[start:end], line: n})
		n += strings.Count(body[start:end], "\n")
		start = end
	}
	chunks = append(chunks, &chunk{text: body[start:], line: n})

	var wg sync.WaitGroup
	for _, c := range chunks {
		wg.Go(func() {
			c.p = head.fork()
			c.ok = c.p.parseObjects(c.text, c.line) == nil && c.p.finish() == nil &&
				(!c.p.currentKeys || len(c.p.verify()) == 0)
		})
	}
	wg.Wait()

	var nd, ns int
	for _, c := range chunks {
		if !c.ok {
			return nil, false
		}
		nd += len(c.p.datasetList)
		ns += len(c.p.stageList)
	}
	l = &plan.Lock{Datasets: make(map[string]*plan.LockedDataset, nd), Stages: make(map[string]*plan.LockedStage, ns)}
	for _, c := range chunks {
		for _, ds := range c.p.datasetList {
			if _, dup := l.Datasets[ds.name]; dup {
				return nil, false
			}
			l.Datasets[ds.name] = ds.d
		}
		for _, st := range c.p.stageList {
			if _, dup := l.Stages[st.name]; dup {
				return nil, false
			}
			l.Stages[st.name] = st.s
		}
	}
	return l, true
}

// verify lists the stages whose keys do not match their pre-images, as
// plan.Lock.Verify does, in name order (see keyMatches for why it does not
// call Verify itself).
func (p *parser) verify() []string {
	var bad []string
	var buf []byte
	for _, st := range p.stageList {
		if !keyMatches(st.s, &buf) {
			bad = append(bad, st.name)
		}
	}
	slices.Sort(bad)
	return bad
}

// keyMismatch words the problem of stages whose keys do not match their
// pre-images.
func keyMismatch(stages []string) string {
	quoted := make([]string, len(stages))
	for i, s := range stages {
		quoted[i] = strconv.Quote(s)
	}
	if len(stages) == 1 {
		return "the key of stage " + quoted[0] + " does not match its recorded fields; " +
			"the file was edited by hand or damaged — delete the stage's lines and re-run lattice apply"
	}
	return "the keys of stages " + strings.Join(quoted, ", ") + " do not match their recorded fields; " +
		"the file was edited by hand or damaged — delete those stages' lines and re-run lattice apply"
}

// parser holds the state of one Parse. Objects are keyed by name so that a
// stage's lines need not be contiguous; the order of lines within a stage
// carries no meaning either, since lists are sorted after parsing.
type parser struct {
	file string
	lock *plan.Lock
	// currentKeys records whether the file's keys line names this lattice's
	// key format and salt.
	currentKeys bool

	stages      map[string]*stageState
	stageList   []*stageState
	datasets    map[string]*datasetState
	datasetList []*datasetState
	// last is the stage of the previous line. A stage's lines are
	// consecutive in any file that Format wrote, so this saves a map
	// lookup on almost every line.
	last *stageState

	// prefix is the "KIND NAME " text that starts the previous line, and
	// prefixToks its tokens. Every line repeats its object's name, and
	// consecutive lines usually share it, so recognising the prefix saves
	// tokenizing and checking it again.
	prefix     string
	prefixToks [2]token

	// toks and vals are reused from line to line.
	toks []token
	vals []string
}

// Single-valued fields, as indexes into the seen arrays of stageState and
// datasetState. noScalar marks the list fields, which may repeat.
const (
	fKey = iota
	fBackend
	fPlatform
	fImage
	fCode
	fArgv
	fNetwork
	nStageFields
)

const (
	fPath = iota
	fDigest
	nDatasetFields
)

const noScalar = -1

// stageState is a stage being parsed. seen holds the line of each scalar
// field, or zero while the field has not appeared.
type stageState struct {
	name string
	line int
	s    *plan.LockedStage
	seen [nStageFields]int
	// unordered records, for the env, secret, param, input and output
	// lists, that the file gave their items out of order (see has).
	unordered [5]bool
}

type datasetState struct {
	name string
	line int
	d    *plan.LockedDataset
	seen [nDatasetFields]int
}

// token is one word of a line: a bare word or the value of a Go-quoted
// string. col is its byte column, from 1.
type token struct {
	text   string
	quoted bool
	col    int
}

func newParser(file string) *parser {
	return &parser{
		file:     file,
		lock:     plan.NewLock(),
		stages:   map[string]*stageState{},
		datasets: map[string]*datasetState{},
	}
}

// fork returns a parser for the objects of the file whose head p parsed.
func (p *parser) fork() *parser {
	q := newParser(p.file)
	q.currentKeys = p.currentKeys
	return q
}

// reset empties p for another text of the same file, keeping the space
// it has allocated.
func (p *parser) reset() {
	clear(p.lock.Datasets)
	clear(p.lock.Stages)
	clear(p.stages)
	clear(p.datasets)
	p.stageList = p.stageList[:0]
	p.datasetList = p.datasetList[:0]
	p.last = nil
	p.prefix = ""
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parseHead reads the header and keys lines, with any comments and blank
// lines before them. It returns the rest of text and the number of the
// last line it read.
func (p *parser) parseHead(text string) (rest string, n int, err error) {
	haveHeader := false
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		n++
		line = strings.TrimSuffix(line, "\r")
		if isBlank(line) || line[0] == '#' {
			continue
		}
		toks, err := p.tokenize(n, line)
		if !haveHeader {
			if err != nil {
				// Whatever this is, it is not a lockfile: say so rather
				// than complain about its quoting.
				toks = nil
			}
			if err := p.header(n, toks); err != nil {
				return "", 0, err
			}
			haveHeader = true
			continue
		}
		if err != nil {
			return "", 0, err
		}
		if err := p.keys(n, toks); err != nil {
			return "", 0, err
		}
		return text, n, nil
	}
	if !haveHeader {
		return "", 0, p.errorf(1, "not a lattice lockfile (missing \"lattice-lock %d\" header)", Version)
	}
	return "", 0, p.errorf(n, "missing \"keys\" line after the header")
}

// parseObjects reads the dataset and stage lines of text, whose first line
// is line n+1 of the file.
func (p *parser) parseObjects(text string, n int) error {
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		n++
		// Tolerate CRLF, which a Git checkout on Windows may produce.
		line = strings.TrimSuffix(line, "\r")
		if isBlank(line) || line[0] == '#' {
			continue
		}
		if p.prefix != "" && strings.HasPrefix(line, p.prefix) {
			// The same object as the line before: its kind and name are
			// already checked.
			toks, err := p.tokenizeFrom(n, line, len(p.prefix), p.prefixToks[:])
			if err != nil {
				return err
			}
			if err := p.fields(n, toks); err != nil {
				return err
			}
			continue
		}
		toks, err := p.tokenize(n, line)
		if err != nil {
			return err
		}
		if err := p.line(n, toks); err != nil {
			return err
		}
		p.prefix = line[:toks[2].col-1]
		p.prefixToks = [2]token{toks[0], toks[1]}
	}
	return nil
}

func isBlank(line string) bool {
	for i := 0; i < len(line); i++ {
		if line[i] != ' ' && line[i] != '\t' {
			return false
		}
	}
	return true
}

// header checks the "lattice-lock VERSION" line.
func (p *parser) header(n int, toks []token) error {
	if len(toks) != 2 || toks[0].quoted || toks[0].text != "lattice-lock" || toks[1].quoted {
		return p.errorf(n, "not a lattice lockfile (missing \"lattice-lock %d\" header)", Version)
	}
	v, err := strconv.Atoi(toks[1].text)
	switch {
	case err != nil || v < 1:
		return p.errorf(n, "unknown lockfile format %q (this lattice understands %d)", toks[1].text, Version)
	case v > Version:
		return p.errorf(n, "lockfile format %d is newer than this lattice understands (%d); upgrade lattice", v, Version)
	case v < Version:
		// No older format exists yet. When one does, this is where it is
		// read or refused.
		return p.errorf(n, "lockfile format %d is no longer supported (this lattice understands %d)", v, Version)
	}
	return nil
}

// keys reads the "keys FORMAT SALT" line.
func (p *parser) keys(n int, toks []token) error {
	if len(toks) == 0 || toks[0].quoted || toks[0].text != "keys" {
		return p.errorf(n, "missing \"keys\" line after the header")
	}
	if len(toks) != 3 || toks[1].quoted || !toks[2].quoted {
		return p.errorf(n, "bad keys line (want keys FORMAT \"SALT\")")
	}
	f, err := strconv.Atoi(toks[1].text)
	if err != nil {
		return p.errorf(n, "bad keys line: key format %q is not a number", toks[1].text)
	}
	p.currentKeys = f == plan.KeyFormat && toks[2].text == plan.Salt
	return nil
}

// tokenize splits a line into words separated by spaces or tabs. A word
// that starts with a double quote is a Go-quoted string and must be
// followed by a space or the end of the line.
func (p *parser) tokenize(n int, line string) ([]token, error) {
	return p.tokenizeFrom(n, line, 0, nil)
}

// tokenizeFrom tokenizes line from byte i on, after the tokens head that
// stand for line[:i].
func (p *parser) tokenizeFrom(n int, line string, i int, head []token) ([]token, error) {
	toks := append(p.toks[:0], head...)
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			break
		}
		start := i
		if line[i] == '"' {
			if s, ok := plainQuoted(line[i:]); ok {
				i += len(s) + 2
				if i < len(line) && line[i] != ' ' && line[i] != '\t' {
					return nil, p.errorf(n, "missing space after the quoted string at column %d", start+1)
				}
				toks = append(toks, token{text: s, quoted: true, col: start + 1})
				continue
			}
			q, err := strconv.QuotedPrefix(line[i:])
			if err != nil {
				return nil, p.errorf(n, "bad quoted string at column %d (unterminated, or an invalid escape)", start+1)
			}
			i += len(q)
			if i < len(line) && line[i] != ' ' && line[i] != '\t' {
				return nil, p.errorf(n, "missing space after the quoted string at column %d", start+1)
			}
			s, err := strconv.Unquote(q)
			if err != nil {
				return nil, p.errorf(n, "bad quoted string at column %d", start+1)
			}
			toks = append(toks, token{text: s, quoted: true, col: start + 1})
			continue
		}
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			if line[i] == '"' {
				return nil, p.errorf(n, "unexpected quote at column %d inside the word %q", i+1, line[start:i])
			}
			i++
		}
		toks = append(toks, token{text: line[start:i], col: start + 1})
	}
	p.toks = toks
	return toks, nil
}

// plainQuoted returns the contents of the quoted string at the start of
// s when they are printable ASCII without escapes: the common case, which
// needs neither strconv's rune-by-rune scan nor a copy. ok is false for
// anything else, which the caller hands to strconv.
func plainQuoted(s string) (contents string, ok bool) {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
	}
	return "", false
}

// line applies one "dataset NAME FIELD …" or "stage NAME FIELD …" line.
func (p *parser) line(n int, toks []token) error {
	kind := toks[0]
	if kind.quoted || (kind.text != "dataset" && kind.text != "stage") {
		return p.errorf(n, "unexpected %q (want a dataset or stage line)", kind.text)
	}
	if len(toks) < 2 {
		return p.errorf(n, "%s line has no name", kind.text)
	}
	name := toks[1]
	if !name.quoted && !isBare(name.text) {
		return p.errorf(n, "%s name %q must be quoted (bare names hold only letters, digits and _.,=[]+-)", kind.text, name.text)
	}
	return p.fields(n, toks)
}

// fields applies the field of a line whose kind and name are checked.
func (p *parser) fields(n int, toks []token) error {
	kind, name := toks[0].text, toks[1].text
	if len(toks) < 3 {
		return p.errorf(n, "%s %q line has no field", kind, name)
	}
	field := toks[2]
	if field.quoted {
		return p.errorf(n, "field name %q of %s %q must not be quoted", field.text, kind, name)
	}
	if kind == "dataset" {
		return p.datasetLine(n, name, field.text, toks[3:])
	}
	return p.stageLine(n, name, field.text, toks[3:])
}

// Argument types of a field.
const (
	argString = iota // a Go-quoted string
	argWord          // a bare word, or a quoted one when it needs quotes
	argDigest        // a bare "algo:hex" digest
	argBool          // true or false
)

// fieldSpec says what values a field takes: n arguments of the given
// types, or with variadic any number of args[0]. scalar is the field's
// index in the seen array, or noScalar. usage shows the values in messages.
type fieldSpec struct {
	args     [4]int
	n        int
	variadic bool
	scalar   int
	usage    string
}

// stageField returns the spec of a stage field.
func stageField(field string) (fieldSpec, bool) {
	switch field {
	case "key":
		return fieldSpec{args: [4]int{argDigest}, n: 1, scalar: fKey, usage: "DIGEST"}, true
	case "backend":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: fBackend, usage: `"BACKEND"`}, true
	case "platform":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: fPlatform, usage: `"OS/ARCH"`}, true
	case "image":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: fImage, usage: `"IMAGE"`}, true
	case "code":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: fCode, usage: `"CODE"`}, true
	case "argv":
		return fieldSpec{args: [4]int{argString}, variadic: true, scalar: fArgv, usage: `"ARG"…`}, true
	case "env":
		return fieldSpec{args: [4]int{argString, argString}, n: 2, scalar: noScalar, usage: `"NAME" "VALUE"`}, true
	case "secret":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: noScalar, usage: `"NAME"`}, true
	case "param":
		return fieldSpec{args: [4]int{argString, argWord, argString}, n: 3, scalar: noScalar, usage: `"NAME" KIND "VALUE"`}, true
	case "input":
		return fieldSpec{args: [4]int{argString, argString, argDigest}, n: 3, scalar: noScalar, usage: `"NAME" "PATH" DIGEST`}, true
	case "output":
		return fieldSpec{args: [4]int{argString, argString, argWord, argDigest}, n: 4, scalar: noScalar, usage: `"NAME" "PATH" KIND DIGEST`}, true
	case "network":
		return fieldSpec{args: [4]int{argBool}, n: 1, scalar: fNetwork, usage: "true|false"}, true
	}
	return fieldSpec{}, false
}

// datasetField returns the spec of a dataset field.
func datasetField(field string) (fieldSpec, bool) {
	switch field {
	case "path":
		return fieldSpec{args: [4]int{argString}, n: 1, scalar: fPath, usage: `"PATH"`}, true
	case "digest":
		return fieldSpec{args: [4]int{argDigest}, n: 1, scalar: fDigest, usage: "DIGEST"}, true
	}
	return fieldSpec{}, false
}

// values checks a field's arguments against its spec and returns their
// texts. kind, name and field name the field in messages, as in
// `stage "train" param`.
func (p *parser) values(n int, kind, name, field string, spec *fieldSpec, args []token) ([]string, error) {
	// Built only for a message, since most lines have no problem.
	what := func() string { return kind + " " + strconv.Quote(name) + " " + field }
	if !spec.variadic && len(args) != spec.n {
		return nil, p.errorf(n, "%s wants %s, got %d value%s", what(), spec.usage, len(args), plural(len(args)))
	}
	vals := p.vals[:0]
	for i, a := range args {
		kind := spec.args[0]
		if !spec.variadic {
			kind = spec.args[i]
		}
		switch kind {
		case argString:
			if !a.quoted {
				return nil, p.errorf(n, "%s: want a quoted string at column %d, got %s", what(), a.col, a.text)
			}
		case argWord:
			if !a.quoted && !isBare(a.text) {
				return nil, p.errorf(n, "%s: %q at column %d must be quoted", what(), a.text, a.col)
			}
		case argDigest:
			if a.quoted {
				return nil, p.errorf(n, "%s: want a bare digest at column %d, got a quoted string", what(), a.col)
			}
			if !isDigest(a.text) {
				if _, err := digest.Parse(a.text); err != nil {
					return nil, p.errorf(n, "%s: %v", what(), err)
				}
			}
		case argBool:
			if a.quoted || (a.text != "true" && a.text != "false") {
				return nil, p.errorf(n, "%s: want true or false at column %d, got %s", what(), a.col, a.text)
			}
		}
		vals = append(vals, a.text)
	}
	p.vals = vals
	return vals, nil
}

// isDigest reports whether s is "blake3:" or "sha256:" and 64 lowercase
// hex digits, the digests that digest.Parse accepts. It allocates nothing,
// which matters on a lockfile of thousands of stages; anything it rejects
// goes to digest.Parse, which has the last word and the message.
func isDigest(s string) bool {
	var hx string
	switch {
	case strings.HasPrefix(s, string(digest.BLAKE3)+":"):
		hx = s[len(digest.BLAKE3)+1:]
	case strings.HasPrefix(s, string(digest.SHA256)+":"):
		hx = s[len(digest.SHA256)+1:]
	default:
		return false
	}
	if len(hx) != 2*digest.Size {
		return false
	}
	for i := 0; i < len(hx); i++ {
		// Unsigned wraparound makes each range test one comparison.
		if c := hx[i]; c-'0' >= 10 && c-'a' >= 6 {
			return false
		}
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (p *parser) datasetLine(n int, name, field string, args []token) error {
	spec, ok := datasetField(field)
	if !ok {
		return p.errorf(n, "unknown field %q for dataset %q", field, name)
	}
	v, err := p.values(n, "dataset", name, field, &spec, args)
	if err != nil {
		return err
	}
	ds := p.datasets[name]
	if ds == nil {
		ds = &datasetState{name: name, line: n, d: &plan.LockedDataset{}}
		p.datasets[name] = ds
		p.datasetList = append(p.datasetList, ds)
		p.lock.Datasets[name] = ds.d
	}
	if first := ds.seen[spec.scalar]; first != 0 {
		return p.errorf(n, "duplicate %s line for dataset %q (first on line %d)", field, name, first)
	}
	ds.seen[spec.scalar] = n
	switch spec.scalar {
	case fPath:
		ds.d.Path = v[0]
	case fDigest:
		ds.d.Digest = v[0]
	}
	return nil
}

func (p *parser) stageLine(n int, name, field string, args []token) error {
	spec, ok := stageField(field)
	if !ok {
		return p.errorf(n, "unknown field %q for stage %q", field, name)
	}
	v, err := p.values(n, "stage", name, field, &spec, args)
	if err != nil {
		return err
	}
	st := p.last
	if st == nil || st.name != name {
		st = p.stages[name]
		if st == nil {
			st = &stageState{name: name, line: n, s: &plan.LockedStage{Outputs: map[string]*plan.LockedOutput{}}}
			p.stages[name] = st
			p.stageList = append(p.stageList, st)
			p.lock.Stages[name] = st.s
		}
		p.last = st
	}
	if spec.scalar != noScalar {
		if first := st.seen[spec.scalar]; first != 0 {
			return p.errorf(n, "duplicate %s line for stage %q (first on line %d)", field, name, first)
		}
		st.seen[spec.scalar] = n
	}
	s := st.s
	pre := &s.Preimage
	var dup bool
	switch field {
	case "key":
		s.Key = v[0]
	case "backend":
		pre.Backend = v[0]
	case "platform":
		pre.Platform = v[0]
	case "image":
		pre.Image = v[0]
	case "code":
		pre.Code = v[0]
	case "argv":
		pre.Argv = append(make([]string, 0, len(v)), v...)
	case "network":
		pre.Network = v[0] == "true"
	case "env":
		if dup = has(pre.Env, v[0], envName, &st.unordered[0]); !dup {
			pre.Env = append(pre.Env, plan.EnvVar{Name: v[0], Value: v[1]})
		}
	case "secret":
		if dup = has(pre.Secrets, v[0], self, &st.unordered[1]); !dup {
			pre.Secrets = append(pre.Secrets, v[0])
		}
	case "param":
		if dup = has(pre.Params, v[0], paramName, &st.unordered[2]); !dup {
			pre.Params = append(pre.Params, plan.Param{Name: v[0], Kind: v[1], Value: v[2]})
		}
	case "input":
		if dup = has(pre.Inputs, v[0], keyIOName, &st.unordered[3]); !dup {
			pre.Inputs = append(pre.Inputs, plan.KeyIO{Name: v[0], Path: v[1], Digest: v[2]})
		}
	case "output":
		if _, dup = s.Outputs[v[0]]; !dup {
			if len(pre.Outputs) > 0 && v[0] < pre.Outputs[len(pre.Outputs)-1].Name {
				st.unordered[4] = true
			}
			pre.Outputs = append(pre.Outputs, plan.KeyIO{Name: v[0], Path: v[1], Kind: v[2]})
			s.Outputs[v[0]] = &plan.LockedOutput{Path: v[1], Kind: v[2], Digest: v[3]}
		}
	}
	if dup {
		return p.errorf(n, "duplicate %s %q for stage %q", field, v[0], name)
	}
	return nil
}

// has reports whether xs holds an item called name. Format writes items
// sorted, so while xs is in order a name beyond the last item's is new
// without a search; only out-of-order (hand-edited) lists pay for a linear
// scan. *unordered records that xs is about to lose its order, because name
// is new and sorts before its last item.
func has[T any](xs []T, name string, nameOf func(T) string, unordered *bool) bool {
	if len(xs) == 0 || (!*unordered && nameOf(xs[len(xs)-1]) < name) {
		return false
	}
	for _, x := range xs {
		if nameOf(x) == name {
			return true
		}
	}
	if name < nameOf(xs[len(xs)-1]) {
		*unordered = true
	}
	return false
}

// finish checks that every object has all its single-valued fields and
// puts each pre-image in canonical order. When several objects lack a
// field, the one that starts earliest in the file is reported.
func (p *parser) finish() error {
	datasetFields := [nDatasetFields]string{fPath: "path", fDigest: "digest"}
	stageFields := [nStageFields]string{
		fKey: "key", fBackend: "backend", fPlatform: "platform", fImage: "image",
		fCode: "code", fArgv: "argv", fNetwork: "network",
	}
	var first *ParseError
	report := func(line int, what, name, field string) {
		if first == nil || line < first.Line {
			first = &ParseError{File: p.file, Line: line, Msg: fmt.Sprintf("%s %q has no %s line", what, name, field)}
		}
	}
	for _, ds := range p.datasetList {
		for i, line := range ds.seen {
			if line == 0 {
				report(ds.line, "dataset", ds.name, datasetFields[i])
				break
			}
		}
	}
	for _, st := range p.stageList {
		for i, line := range st.seen {
			if line == 0 {
				report(st.line, "stage", st.name, stageFields[i])
				break
			}
		}
		// Normalize sorts with reflection, a cost worth sparing on the
		// thousands of stages whose lines came in order.
		if slices.Contains(st.unordered[:], true) {
			st.s.Preimage.Normalize()
		}
	}
	if first != nil {
		return first
	}
	return nil
}
