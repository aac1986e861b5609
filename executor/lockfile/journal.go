package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// The journal format, version 1:
//
//	lattice-journal 1
//	keys 1 "lattice-2026-11"
//	record 812
//	stage train key blake3:…
//	…                                  (812 bytes of lockfile lines)
//	sum blake3:…
//	record 34
//	remove stage "old stage"
//	sum blake3:…
//
// Each record is self-delimiting: its first line gives the length of its
// body, and its last line is the BLAKE3 digest of the record up to that
// line, length line included. A record's body is the lockfile lines of one
// dataset or one stage, which it sets whole, or one "remove" line.
const (
	journalMagic = "lattice-journal "
	recordTag    = "record "
	sumTag       = "sum "
	removeWord   = "remove"
	// maxRecordLine bounds the length line, so that garbage is rejected
	// without scanning far for a newline.
	maxRecordLine = len(recordTag) + 20
)

// journalHeader opens every journal. Its keys line ties the records to the
// key format and salt of the lattice that wrote them.
func journalHeader() string {
	return journalMagic + strconv.Itoa(Version) + "\n" + keysLine()
}

// Journal appends the pins of finished stages to a file as apply goes, so
// that a crash loses nothing that was recorded, and apply writes the
// lockfile once at the end (see Commit) instead of after every stage.
//
// A Journal is safe for concurrent use by several goroutines. Only one
// process may append to a journal at a time.
type Journal struct {
	path string

	mu sync.Mutex
	f  *os.File
	// size is the length of the journal's valid prefix: the header and
	// every record whose append succeeded.
	size int64
	// err is the first failed append. After one, the file may end in a
	// partial record, and a record appended behind it would never be
	// replayed, so the journal refuses further records.
	err error
}

// OpenJournal opens the journal at path for appending, creating it and its
// directory when needed. Records that a crashed run left are kept; a torn
// record at the end is cut off, so that new records follow the last whole
// one. A journal written with another key format or salt holds nothing
// this lattice can use and is emptied.
func OpenJournal(path string) (_ *Journal, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", path, err)
	}
	scan, err := scanJournal(path, data)
	if err != nil {
		return nil, err
	}
	switch {
	case !scan.header:
		header := journalHeader()
		if err := f.Truncate(0); err != nil {
			return nil, fmt.Errorf("resetting journal %s: %w", path, err)
		}
		if _, err := f.WriteString(header); err != nil {
			return nil, fmt.Errorf("writing journal %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("flushing journal %s: %w", path, err)
		}
		// The file may be new; flush its directory entry too, or a crash
		// could lose the whole journal along with its name.
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("flushing directory of %s: %w", path, err)
		}
		scan.end = len(header)
	case scan.end < len(data):
		if err := f.Truncate(int64(scan.end)); err != nil {
			return nil, fmt.Errorf("cutting the torn end off journal %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("flushing journal %s: %w", path, err)
		}
	}
	return &Journal{path: path, f: f, size: int64(scan.end)}, nil
}

// RecordStage records a finished stage's pins, replacing any earlier
// record of the stage. It refuses a stage that Check would refuse, since
// the record could not be committed.
func (j *Journal) RecordStage(name string, s *plan.LockedStage) error {
	if err := checkStage(s, new([]byte)); err != nil {
		return fmt.Errorf("recording stage %q: %w", name, err)
	}
	if err := j.append(appendStage(nil, name, s)); err != nil {
		return fmt.Errorf("recording stage %q: %w", name, err)
	}
	return nil
}

// RecordDataset records a dataset's pin, replacing any earlier record of
// the dataset.
func (j *Journal) RecordDataset(name string, d *plan.LockedDataset) error {
	if err := checkDataset(d); err != nil {
		return fmt.Errorf("recording dataset %q: %w", name, err)
	}
	if err := j.append(appendDataset(nil, name, d)); err != nil {
		return fmt.Errorf("recording dataset %q: %w", name, err)
	}
	return nil
}

// RemoveStage records that a stage leaves the lockfile.
func (j *Journal) RemoveStage(name string) error {
	if err := j.append(removeLine("stage", name)); err != nil {
		return fmt.Errorf("recording the removal of stage %q: %w", name, err)
	}
	return nil
}

// RemoveDataset records that a dataset leaves the lockfile.
func (j *Journal) RemoveDataset(name string) error {
	if err := j.append(removeLine("dataset", name)); err != nil {
		return fmt.Errorf("recording the removal of dataset %q: %w", name, err)
	}
	return nil
}

func removeLine(kind, name string) []byte {
	b := []byte(removeWord + " " + kind + " ")
	b = appendWord(b, name)
	return append(b, '\n')
}

// Close closes the journal file. Records already appended stay; Commit
// folds them into the lockfile. Closing twice is harmless.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("closing journal %s: %w", j.path, err)
	}
	return nil
}

// append writes one record around body and flushes it to disk before
// returning, so that a record acknowledged to the caller survives a crash.
// The record goes out in a single write on a file opened for appending;
// a crash mid-write leaves at worst a torn record at the end, which Replay
// ignores and OpenJournal cuts off.
func (j *Journal) append(body []byte) error {
	rec := encodeRecord(body)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	if j.err != nil {
		return fmt.Errorf("journal %s is unusable after an earlier failure: %w", j.path, j.err)
	}
	if _, err := j.f.Write(rec); err != nil {
		return j.fail(fmt.Errorf("writing journal %s: %w", j.path, err))
	}
	if err := j.f.Sync(); err != nil {
		return j.fail(fmt.Errorf("flushing journal %s: %w", j.path, err))
	}
	j.size += int64(len(rec))
	return nil
}

// fail makes err sticky and tries to cut off whatever part of the record
// reached the file. Whether or not that works, no record is appended after
// it, so every record before it stays replayable.
func (j *Journal) fail(err error) error {
	j.err = err
	_ = j.f.Truncate(j.size) // Best effort: Replay stops at a torn tail anyway.
	return err
}

// encodeRecord frames body as one journal record.
func encodeRecord(body []byte) []byte {
	rec := make([]byte, 0, maxRecordLine+len(body)+len(sumTag)+80)
	rec = append(rec, recordTag...)
	rec = strconv.AppendInt(rec, int64(len(body)), 10)
	rec = append(rec, '\n')
	rec = append(rec, body...)
	sum := digest.Bytes(rec)
	rec = append(rec, sumTag...)
	rec = append(rec, sum.String()...)
	return append(rec, '\n')
}

// Replay applies the records of the journal at path onto l, in order, and
// returns how many it applied. A missing journal has none. Replay stops at
// the first record that is incomplete or fails its checksum (the torn end
// a crash leaves): that is not an error. Only a journal of a newer format,
// or one that cannot be read, is. A journal written with another key
// format or salt is skipped whole, since its stages' keys are void.
//
// Every record sets or removes a whole entry, so replaying a journal a
// second time onto the result of the first leaves it unchanged.
func Replay(path string, l *plan.Lock) (applied int, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading journal: %w", err)
	}
	scan, err := scanJournal(path, data)
	if err != nil {
		return 0, err
	}
	if l.Datasets == nil {
		l.Datasets = map[string]*plan.LockedDataset{}
	}
	if l.Stages == nil {
		l.Stages = map[string]*plan.LockedStage{}
	}
	for _, r := range scan.records {
		switch {
		case r.stage != nil:
			l.Stages[r.name] = r.stage
		case r.dataset != nil:
			l.Datasets[r.name] = r.dataset
		case r.kind == "stage":
			delete(l.Stages, r.name)
		default:
			delete(l.Datasets, r.name)
		}
	}
	return len(scan.records), nil
}

// Commit folds the journal into the lockfile: it reads the lockfile,
// replays the journal onto it, writes the result atomically and then
// removes the journal. A crash between the write and the removal leaves a
// journal whose replay changes nothing, so running Commit again is always
// safe. Apply commits before it starts, to recover what a crashed run
// recorded, and when it ends. The journal must not be open.
//
// When the journal is missing Commit does nothing; when it holds no whole
// record, Commit removes it and leaves the lockfile alone.
func Commit(lockPath, journalPath string) error {
	if _, err := os.Lstat(journalPath); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	l, err := Read(lockPath)
	if err != nil {
		return fmt.Errorf("committing journal: %w", err)
	}
	n, err := Replay(journalPath, l)
	if err != nil {
		return fmt.Errorf("committing journal: %w", err)
	}
	if n > 0 {
		if err := Write(lockPath, l); err != nil {
			return fmt.Errorf("committing journal: %w", err)
		}
	}
	if err := os.Remove(journalPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("committing journal: %w", err)
	}
	return nil
}

// journalScan is what a journal's bytes hold.
type journalScan struct {
	// header reports whether the journal starts with this lattice's
	// header. When it does not, the journal holds no usable records.
	header bool
	// end is the length of the valid prefix: header and whole records.
	end     int
	records []journalRecord
}

// journalRecord is one decoded record. It sets stage or dataset when one
// is non-nil; otherwise it removes the kind ("stage" or "dataset") called
// name.
type journalRecord struct {
	name    string
	kind    string
	stage   *plan.LockedStage
	dataset *plan.LockedDataset
}

// scanJournal decodes the valid prefix of a journal. The only error is a
// journal of a newer format: appending to it or skipping it would lose
// what a newer lattice recorded.
func scanJournal(path string, data []byte) (journalScan, error) {
	header := journalHeader()
	if !bytes.HasPrefix(data, []byte(header)) {
		if first, _, ok := strings.Cut(string(data[:min(len(data), 64)]), "\n"); ok && strings.HasPrefix(first, journalMagic) {
			if v, err := strconv.Atoi(first[len(journalMagic):]); err == nil && v > Version {
				return journalScan{}, fmt.Errorf("journal %s has format %d, newer than this lattice understands (%d); upgrade lattice", path, v, Version)
			}
		}
		// A torn header, another key salt, or garbage: nothing usable.
		return journalScan{}, nil
	}
	scan := journalScan{header: true, end: len(header)}
	// One copy of the text serves every record: the decoded entries point
	// into it, as a parsed lockfile's do.
	d := &recordDecoder{text: string(data), p: newParser("journal")}
	d.p.currentKeys = true
	for scan.end < len(data) {
		r, size, ok := d.decode(data[scan.end:], d.text[scan.end:])
		if !ok {
			break
		}
		scan.records = append(scan.records, r)
		scan.end += size
	}
	return scan, nil
}

// recordDecoder decodes the records of one journal, reusing its parser and
// scratch space from record to record.
type recordDecoder struct {
	text string
	p    *parser
	buf  []byte
}

// decode decodes the record at the start of b, whose text is text, and
// returns it with its size. ok is false when b does not start with a
// whole, intact record.
func (d *recordDecoder) decode(b []byte, text string) (r journalRecord, size int, ok bool) {
	i := bytes.IndexByte(b[:min(len(b), maxRecordLine)], '\n')
	if i < 0 || !bytes.HasPrefix(b, []byte(recordTag)) {
		return r, 0, false
	}
	lenText := text[len(recordTag):i]
	n, err := strconv.Atoi(lenText)
	if err != nil || n <= 0 || strconv.Itoa(n) != lenText {
		return r, 0, false
	}
	bodyStart := i + 1
	bodyEnd := bodyStart + n
	if bodyEnd > len(b) || b[bodyEnd-1] != '\n' {
		return r, 0, false
	}
	rest := text[bodyEnd:]
	j := strings.IndexByte(rest[:min(len(rest), 128)], '\n')
	if j < 0 || !strings.HasPrefix(rest, sumTag) {
		return r, 0, false
	}
	want, err := digest.Parse(rest[len(sumTag):j])
	if err != nil || digest.Bytes(b[:bodyEnd]) != want {
		return r, 0, false
	}
	r, ok = d.body(text[bodyStart:bodyEnd])
	return r, bodyEnd + j + 1, ok
}

// body parses the lines of one record. The checksum has already vouched
// for the bytes, so a body that does not parse, or a stage whose key does
// not match its pre-image, can only come from a different lattice; it is
// treated like a torn record.
func (d *recordDecoder) body(body string) (journalRecord, bool) {
	p := d.p
	p.reset()
	if strings.HasPrefix(body, removeWord+" ") {
		line, rest, _ := strings.Cut(body, "\n")
		toks, err := p.tokenize(1, line)
		if err != nil || rest != "" {
			return journalRecord{}, false
		}
		return decodeRemove(toks)
	}
	if p.parseObjects(body, 0) != nil || p.finish() != nil {
		return journalRecord{}, false
	}
	switch {
	case len(p.stageList) == 1 && len(p.datasetList) == 0:
		st := p.stageList[0]
		if !keyMatches(st.s, &d.buf) {
			return journalRecord{}, false
		}
		return journalRecord{name: st.name, kind: "stage", stage: st.s}, true
	case len(p.datasetList) == 1 && len(p.stageList) == 0:
		ds := p.datasetList[0]
		return journalRecord{name: ds.name, kind: "dataset", dataset: ds.d}, true
	}
	return journalRecord{}, false
}

// decodeRemove decodes "remove KIND NAME", a record's only line.
func decodeRemove(toks []token) (journalRecord, bool) {
	if len(toks) != 3 || toks[1].quoted || (toks[1].text != "stage" && toks[1].text != "dataset") {
		return journalRecord{}, false
	}
	if name := toks[2]; name.quoted || isBare(name.text) {
		return journalRecord{name: name.text, kind: toks[1].text}, true
	}
	return journalRecord{}, false
}
