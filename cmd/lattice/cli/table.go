package cli

import (
	"bytes"
	"io"
	"text/tabwriter"
)

// table aligns tab-separated cells in columns like tabwriter, and also
// drops the spaces that padding leaves at the ends of lines, which would
// otherwise make copied output and golden files fragile.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) Write(p []byte) (int, error) { return t.tw.Write(p) }

// Flush writes the aligned table.
func (t *table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	lines := bytes.SplitAfter(t.buf.Bytes(), []byte("\n"))
	for _, l := range lines {
		nl := bytes.HasSuffix(l, []byte("\n"))
		l = bytes.TrimRight(l, " \n")
		if nl {
			l = append(l, '\n')
		}
		if _, err := t.w.Write(l); err != nil {
			return err
		}
	}
	t.buf.Reset()
	return nil
}
