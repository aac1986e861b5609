package lang

import (
	"bytes"
	"fmt"
	"path/filepath"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"lattice.dev/lattice/lang/diag"
)

// Formattable reports whether Format knows how to format a file: CUE and
// HCL files can be; YAML and JSON are left as they are.
func Formattable(name string) bool {
	k := specKind(filepath.Base(name))
	return k == kindCUE || k == kindHCL
}

// Format returns src in canonical form: cue fmt's for CUE files, the HCL
// canonical style for HCL files. A file that does not parse gets
// diagnostics instead.
func Format(name string, src []byte) ([]byte, diag.Diagnostics) {
	switch specKind(filepath.Base(name)) {
	case kindCUE:
		out, err := format.Source(src, format.Simplify())
		if err != nil {
			var ds diag.Diagnostics
			for _, e := range errors.Errors(err) {
				var at diag.Range
				if ps := errors.Positions(e); len(ps) > 0 {
					p := ps[0]
					at = diag.Range{Filename: name, Start: diag.Pos{Line: p.Line(), Column: p.Column(), Byte: p.Offset()}}
					at.End = at.Start
				}
				format, args := e.Msg()
				ds = append(ds, diag.Errorf(at, "", "CUE syntax error: %s", fmt.Sprintf(format, args...)))
			}
			return nil, ds
		}
		return out, nil
	case kindHCL:
		_, hd := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if hd.HasErrors() {
			return nil, convertHCLDiags(hd)
		}
		return hclwrite.Format(src), nil
	}
	return nil, diag.Diagnostics{diag.Errorf(diag.Range{Filename: name}, "", "%s is not a CUE or HCL file", name)}
}

// convertHCLDiags converts HCL's diagnostics for parse-only callers.
func convertHCLDiags(hd hcl.Diagnostics) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, d := range hd {
		x := &diag.Diagnostic{Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			x.Severity = diag.Warning
		}
		if d.Subject != nil {
			x.Subject = diag.Range{Filename: d.Subject.Filename,
				Start: diag.Pos{Line: d.Subject.Start.Line, Column: d.Subject.Start.Column, Byte: d.Subject.Start.Byte},
				End:   diag.Pos{Line: d.Subject.End.Line, Column: d.Subject.End.Column, Byte: d.Subject.End.Byte}}
		}
		ds = append(ds, x)
	}
	return ds
}

// Changed reports whether formatting would change src.
func Changed(src, formatted []byte) bool { return !bytes.Equal(src, formatted) }
