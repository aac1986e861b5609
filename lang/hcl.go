package lang

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"lattice.dev/lattice/lang/diag"
)

// hclToCUE converts an HCL spec file into a CUE file whose value is the one
// the equivalent CUE spec would have, so that the HCL front end shares the
// schema check, and everything after it, with the CUE front end.
//
// Every node of the result carries a position in the HCL source: labels point
// at the attribute or block name, values at the start of their expression.
// That lets later checks report file:line:col in the file the user wrote.
//
// The mapping is:
//
//   - an attribute becomes a field of the same name;
//   - a labelled block such as dataset "x" { ... } becomes datasets: x: {...},
//     and likewise stage, experiment, input, output, metric and (inside
//     random) param become stages, experiments, inputs, outputs, metrics and
//     params;
//   - an unlabelled block such as resources { ... } becomes a struct field of
//     the same name;
//   - a block of an unknown type T becomes T: label: {...}, or T: {...}
//     without a label, so that the schema check reports it as an unknown
//     field rather than it vanishing.
//
// Inside a stage, params.NAME, inputs.NAME and outputs.NAME evaluate to the
// placeholder text "${params.NAME}" and so on, which the compiler replaces
// later; a name the stage does not declare is an error here, where its
// position is still known.
//
// Some HCL is an error here because CUE would accept it silently or the
// schema could not point at it: a block or object key given twice (CUE
// would unify the two), a field set both by an attribute and by blocks, a
// block with the wrong number of names, and null, which specs do not have.
//
// hclToCUE reports every problem it finds. It returns a nil file when the
// source does not parse; otherwise it returns the file even when there are
// errors, leaving out the values that were in error.
func hclToCUE(filename string, src []byte) (*ast.File, diag.Diagnostics) {
	c := &hclConverter{
		filename: filename,
		src:      src,
		file:     token.NewFile(filename, -1, len(src)),
		lines:    hclLineStarts(src),
	}
	c.file.SetLinesForContent(src)

	f, ds := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if ds.HasErrors() || f == nil {
		// A body recovered from a syntax error misses parts of what the
		// user wrote, and checking it would report problems that are only
		// echoes of the syntax error.
		c.addHCL(hclSyntaxErrors(src, filename, ds), "")
		return nil, c.diags.Sort()
	}
	c.addHCL(ds, "")
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		// ParseConfig always returns a native syntax body; this guards
		// against a future change of the library rather than user input.
		c.diags = append(c.diags, diag.Errorf(diag.Range{Filename: filename}, "", "%s is not in HCL native syntax", filename))
		return nil, c.diags
	}
	decls := c.body(body, hclScopeProject, "", nil, 0)
	return &ast.File{Filename: filename, Decls: decls}, c.diags
}

// hclSyntaxErrors returns the syntax errors of src, given ds, those of
// parsing it whole.
//
// After its first error HCL's parser stops reporting errors, so as not to
// report echoes of that error from its guesses at recovery. To report the
// later mistakes too, the items (attributes and blocks) that begin after the
// first error are parsed again one by one, and so, recursively, are the items
// of the blocks among them. An item ends at a newline outside brackets,
// braces and strings, which is where HCL's grammar ends it too, so an item
// that is fine in the file parses fine on its own.
func hclSyntaxErrors(src []byte, filename string, ds hcl.Diagnostics) hcl.Diagnostics {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return append(ds, hclLaterErrors(src, filename, toks, hclFirstError(ds, len(src)))...)
}

// hclLaterErrors returns the errors of the items of toks that start after
// byte offset after; for a block holding that offset, it looks at the items
// of the block's body.
func hclLaterErrors(src []byte, filename string, toks hclsyntax.Tokens, after int) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, item := range hclSplitItems(toks) {
		start, end := item[0].Range.Start, item[len(item)-1].Range.End.Byte
		if end <= after {
			continue
		}
		if start.Byte <= after {
			if inner, ok := hclBlockInner(item); ok {
				out = append(out, hclLaterErrors(src, filename, inner, after)...)
			}
			continue
		}
		_, ds := hclsyntax.ParseConfig(src[start.Byte:end], filename, start)
		if !ds.HasErrors() {
			continue
		}
		out = append(out, ds...)
		if inner, ok := hclBlockInner(item); ok {
			out = append(out, hclLaterErrors(src, filename, inner, hclFirstError(ds, end))...)
		}
	}
	return out
}

// hclFirstError returns the byte offset of the first error of ds, or def
// if no error has a position.
func hclFirstError(ds hcl.Diagnostics, def int) int {
	first := def
	for _, d := range ds {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			first = min(first, d.Subject.Start.Byte)
		}
	}
	return first
}

// hclSplitItems splits tokens into items, each ending with a newline that is
// outside any brackets, braces, parentheses, strings or templates. Items
// holding only newlines and comments are left out.
func hclSplitItems(toks hclsyntax.Tokens) []hclsyntax.Tokens {
	var items []hclsyntax.Tokens
	depth, start, blank := 0, 0, true
	for i, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			// A stray closer ends nothing; the item it is in reports it.
			depth = max(0, depth-1)
		}
		// A line comment's token holds the newline that ends it.
		newline := tok.Type == hclsyntax.TokenNewline ||
			tok.Type == hclsyntax.TokenComment && bytes.HasSuffix(tok.Bytes, []byte("\n"))
		if tok.Type == hclsyntax.TokenEOF {
			if !blank {
				items = append(items, toks[start:i])
			}
			break
		}
		if tok.Type != hclsyntax.TokenNewline && tok.Type != hclsyntax.TokenComment {
			blank = false
		}
		if newline && depth == 0 {
			if !blank {
				items = append(items, toks[start:i+1])
			}
			start, blank = i+1, true
		}
	}
	if !blank && start < len(toks) && toks[len(toks)-1].Type != hclsyntax.TokenEOF {
		items = append(items, toks[start:])
	}
	return items
}

// hclBlockInner returns the tokens of the body of the block item, between
// its braces, or everything after the opening brace when it is not closed.
// It reports false when item is not a block.
func hclBlockInner(item hclsyntax.Tokens) (hclsyntax.Tokens, bool) {
	open := -1
	for i, tok := range item {
		if tok.Type == hclsyntax.TokenOBrace {
			open = i
			break
		}
		if tok.Type != hclsyntax.TokenIdent && tok.Type != hclsyntax.TokenOQuote &&
			tok.Type != hclsyntax.TokenQuotedLit && tok.Type != hclsyntax.TokenCQuote {
			return nil, false
		}
	}
	if open < 0 {
		return nil, false
	}
	depth := 0
	for i := open; i < len(item); i++ {
		switch item[i].Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth--
			if depth == 0 {
				return item[open+1 : i], true
			}
		}
	}
	return item[open+1:], true
}

// hclScope says which kind of block a body belongs to, which decides how
// the blocks inside it map to fields.
type hclScope int

const (
	hclScopeProject hclScope = iota
	hclScopeStage
	hclScopeExperiment
	hclScopeSpace
	hclScopeRandom
	// hclScopeLeaf is a block that holds no known blocks, such as dataset,
	// input or resources, and also a block of an unknown type.
	hclScopeLeaf
)

// hclBlockRule says how a block type known in some scope maps to a field.
type hclBlockRule struct {
	// field is the name of the field the block becomes.
	field string
	// labelled says whether the block takes exactly one name (and becomes
	// field: name: {...}) or none (and becomes field: {...}).
	labelled bool
	// scope is the scope of the block's own body.
	scope hclScope
}

// hclBlockRuleFor returns the rule for blocks of type typ in scope, if the
// type is known there.
func hclBlockRuleFor(scope hclScope, typ string) (hclBlockRule, bool) {
	switch scope {
	case hclScopeProject:
		switch typ {
		case "dataset":
			return hclBlockRule{"datasets", true, hclScopeLeaf}, true
		case "stage":
			return hclBlockRule{"stages", true, hclScopeStage}, true
		case "experiment":
			return hclBlockRule{"experiments", true, hclScopeExperiment}, true
		}
	case hclScopeStage:
		switch typ {
		case "input":
			return hclBlockRule{"inputs", true, hclScopeLeaf}, true
		case "output":
			return hclBlockRule{"outputs", true, hclScopeLeaf}, true
		case "resources":
			return hclBlockRule{"resources", false, hclScopeLeaf}, true
		}
	case hclScopeExperiment:
		switch typ {
		case "stage":
			return hclBlockRule{"stage", false, hclScopeStage}, true
		case "space":
			return hclBlockRule{"space", false, hclScopeSpace}, true
		case "metric":
			return hclBlockRule{"metrics", true, hclScopeLeaf}, true
		case "select":
			return hclBlockRule{"select", false, hclScopeLeaf}, true
		}
	case hclScopeSpace:
		if typ == "random" {
			return hclBlockRule{"random", false, hclScopeRandom}, true
		}
	case hclScopeRandom:
		if typ == "param" {
			return hclBlockRule{"params", true, hclScopeLeaf}, true
		}
	}
	return hclBlockRule{}, false
}

// hclKnownBlockTypes lists the block types known in scope, for suggestions.
func hclKnownBlockTypes(scope hclScope) []string {
	var types []string
	for _, typ := range []string{"dataset", "stage", "experiment", "input", "output", "resources", "space", "metric", "select", "random", "param"} {
		if _, ok := hclBlockRuleFor(scope, typ); ok {
			types = append(types, typ)
		}
	}
	return types
}

// hclPlaceholderRoots returns the variables a stage's expressions may refer
// to.
func hclPlaceholderRoots() []string { return []string{"params", "inputs", "outputs"} }

// hclStageEnv is what the expressions of one stage may refer to.
type hclStageEnv struct {
	// what names the stage in messages: `stage "train"`, or `the stage of
	// experiment "sweep"`.
	what string
	// names maps each placeholder root to the sorted names declared for it.
	names map[string][]string
	ctx   *hcl.EvalContext
}

// hclEnv is the evaluation environment of a body.
type hclEnv struct {
	// stage is set inside a stage, including the blocks nested in it.
	stage *hclStageEnv
	// spaceParams are the parameter names of the enclosing experiment's
	// space, which its stage may use as params.
	spaceParams []string
	// experiment is the name of the enclosing experiment, for messages.
	experiment string
}

// hclConverter holds the state of one conversion.
type hclConverter struct {
	filename string
	src      []byte
	file     *token.File
	// lines holds the byte offset at which each line starts, so that
	// columns can be given in bytes whatever HCL counted.
	lines []int
	diags diag.Diagnostics
}

// hclOwner records what first set a field of a struct, to report a second
// setting of the same field.
type hclOwner struct {
	// blockType is the block type that set the field, or "" for an
	// attribute.
	blockType string
	labelled  bool
	rng       hcl.Range
	// group is the struct holding the labelled blocks of the field.
	group *ast.StructLit
	// labels maps the name of each labelled block in group to the range
	// of its label.
	labels map[string]hcl.Range
}

// body converts the attributes and blocks of b, in the order they were
// written, into the declarations of a struct.
//
// openLine is the line of the body's opening brace, or 0 for the file's
// top-level body; it and the lines of the items decide the layout of the
// formatted CUE, which follows the HCL's.
func (c *hclConverter) body(b *hclsyntax.Body, scope hclScope, path string, env *hclEnv, openLine int) []ast.Decl {
	type item struct {
		start   int
		line    int
		endLine int
		attr    *hclsyntax.Attribute
		block   *hclsyntax.Block
	}
	items := make([]item, 0, len(b.Attributes)+len(b.Blocks))
	for _, a := range b.Attributes {
		items = append(items, item{start: a.NameRange.Start.Byte, line: a.NameRange.Start.Line, endLine: a.SrcRange.End.Line, attr: a})
	}
	for _, blk := range b.Blocks {
		items = append(items, item{start: blk.TypeRange.Start.Byte, line: blk.TypeRange.Start.Line, endLine: blk.CloseBraceRange.End.Line, block: blk})
	}
	// Attributes is a map, so only sorting by position keeps the order the
	// user wrote, which the formatted CUE and its error messages follow.
	sort.Slice(items, func(i, j int) bool { return items[i].start < items[j].start })

	var decls []ast.Decl
	owners := map[string]*hclOwner{}
	prevLine := openLine
	for _, it := range items {
		rel := hclRel(prevLine, it.line)
		if openLine == 0 && len(decls) == 0 {
			rel = token.NoRelPos
		}
		prevLine = it.endLine
		if a := it.attr; a != nil {
			fpath := hclJoin(path, a.Name)
			if prev, ok := owners[a.Name]; ok {
				c.setTwice(a.Name, prev, a.NameRange, "", fpath)
				// The value is still converted, so that its own
				// mistakes are reported along with this one.
				c.expr(a.Expr, fpath, env)
				continue
			}
			owners[a.Name] = &hclOwner{rng: a.NameRange}
			if v := c.expr(a.Expr, fpath, env); v != nil {
				decls = append(decls, c.field(a.Name, a.NameRange, rel, v))
			}
			continue
		}
		decls = c.block(it.block, scope, path, env, rel, owners, decls)
	}
	return decls
}

// block converts blk, one of the blocks of a body in scope, appending to
// decls the field it adds, if any, and returns decls.
func (c *hclConverter) block(blk *hclsyntax.Block, scope hclScope, path string, env *hclEnv, rel token.RelPos, owners map[string]*hclOwner, decls []ast.Decl) []ast.Decl {
	rule, known := hclBlockRuleFor(scope, blk.Type)
	if !known {
		rule = hclBlockRule{field: blk.Type, labelled: len(blk.Labels) > 0, scope: hclScopeLeaf}
		if c.unknownBlock(blk, scope, path) {
			// The body is still checked, so that its own mistakes are
			// reported along with this one.
			c.body(blk.Body, rule.scope, hclJoin(path, blk.Type), env, blk.OpenBraceRange.Start.Line)
			return decls
		}
	}

	fpath := hclJoin(path, rule.field)
	if rule.labelled && !c.oneLabel(blk, fpath) {
		c.body(blk.Body, rule.scope, fpath, c.childEnv(blk, rule, env), blk.OpenBraceRange.Start.Line)
		return decls
	}
	if !rule.labelled && len(blk.Labels) > 0 {
		d := diag.Errorf(c.rng(blk.LabelRanges[0]), fpath, "%s block takes no name", blk.Type).
			WithHint("write %s { ... }", blk.Type)
		if scope == hclScopeExperiment && blk.Type == "stage" {
			d.Detail = "An experiment's stage is the template its trials run; it has no name of its own."
		}
		c.diags = append(c.diags, d)
		// The block is still converted, without its names, so that the
		// schema check does not also report it as missing.
	}

	prev, seen := owners[rule.field]
	if seen && !(rule.labelled && prev.labelled && prev.blockType == blk.Type) {
		c.setTwice(rule.field, prev, blk.TypeRange, blk.Type, fpath)
		c.blockBody(blk, rule, fpath, env)
		return decls
	}

	if !rule.labelled {
		owners[rule.field] = &hclOwner{blockType: blk.Type, rng: blk.TypeRange}
		v := c.blockBody(blk, rule, fpath, env)
		return append(decls, c.field(rule.field, blk.TypeRange, rel, v))
	}

	name, nameRange := blk.Labels[0], blk.LabelRanges[0]
	lpath := hclJoin(fpath, name)
	if !seen {
		// The blocks of one type are gathered into one struct, placed
		// where the first of them is; its braces have no text of their
		// own in the HCL, so they take the position of that block's type.
		group := &ast.StructLit{
			Lbrace: c.posRel(blk.TypeRange.Start, token.Blank),
			Rbrace: c.posRel(blk.TypeRange.Start, token.Newline),
		}
		prev = &hclOwner{blockType: blk.Type, labelled: true, rng: blk.TypeRange, group: group, labels: map[string]hcl.Range{}}
		owners[rule.field] = prev
		decls = append(decls, c.field(rule.field, blk.TypeRange, rel, group))
	}
	if first, dup := prev.labels[name]; dup {
		c.diags = append(c.diags, diag.Errorf(c.rng(nameRange), lpath, "%s %q is declared twice", blk.Type, name).
			WithNote(c.rng(first), "%s %q is first declared here", blk.Type, name))
		c.blockBody(blk, rule, lpath, env)
		return decls
	}
	prev.labels[name] = nameRange
	v := c.blockBody(blk, rule, lpath, env)
	prev.group.Elts = append(prev.group.Elts, c.field(name, nameRange, token.Newline, v))
	return decls
}

// unknownBlock reports a block whose type is not known in scope when it
// cannot be mapped to a field of its own name, and says whether it did.
//
// Most unknown blocks become a field named after their type, which the
// schema check then reports as an unknown field. Two kinds cannot: a block
// with several names, which no spec field could hold, and a block named
// after the field a known block type maps to (stages "x" { ... }), which
// would otherwise be silently accepted as if the user had written stage.
func (c *hclConverter) unknownBlock(blk *hclsyntax.Block, scope hclScope, path string) bool {
	fpath := hclJoin(path, blk.Type)
	for _, typ := range hclKnownBlockTypes(scope) {
		if rule, _ := hclBlockRuleFor(scope, typ); rule.field == blk.Type && typ != blk.Type {
			c.diags = append(c.diags, diag.Errorf(c.rng(blk.TypeRange), fpath, "%s is not a block type", blk.Type).
				WithHint("did you mean %q?", typ))
			return true
		}
	}
	if len(blk.Labels) > 1 {
		d := diag.Errorf(c.rng(blk.LabelRanges[1]), fpath, "unknown block type %s has %d names", blk.Type, len(blk.Labels))
		if known := hclKnownBlockTypes(scope); len(known) > 0 {
			d.Detail = "The block types known here are " + strings.Join(known, ", ") + "."
			if s := hclSuggest(blk.Type, known); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", s)
			}
		}
		c.diags = append(c.diags, d)
		return true
	}
	return false
}

// oneLabel reports a block that should have exactly one name but does not,
// and says whether it has one.
func (c *hclConverter) oneLabel(blk *hclsyntax.Block, path string) bool {
	switch len(blk.Labels) {
	case 1:
		return true
	case 0:
		c.diags = append(c.diags, diag.Errorf(c.rng(blk.TypeRange), path, "%s block needs a name", blk.Type).
			WithHint("write %s \"NAME\" { ... }", blk.Type))
	default:
		c.diags = append(c.diags, diag.Errorf(c.rng(blk.LabelRanges[1]), path, "%s block takes one name, not %d", blk.Type, len(blk.Labels)).
			WithHint("write %s \"NAME\" { ... }", blk.Type))
	}
	return false
}

// setTwice reports a field set a second time, at rng, by an attribute
// (blockType "") or by a block of blockType.
func (c *hclConverter) setTwice(field string, prev *hclOwner, rng hcl.Range, blockType, path string) {
	describe := func(blockType string) string {
		if blockType == "" {
			return "an attribute"
		}
		return "a " + blockType + " block"
	}
	var d *diag.Diagnostic
	if blockType != "" && blockType == prev.blockType {
		d = diag.Errorf(c.rng(rng), path, "%s block is declared twice", blockType).
			WithNote(c.rng(prev.rng), "%s block is first declared here", blockType)
	} else {
		d = diag.Errorf(c.rng(rng), path, "%s is set both by %s and by %s", field, describe(prev.blockType), describe(blockType)).
			WithNote(c.rng(prev.rng), "%s is first set here", field)
	}
	c.diags = append(c.diags, d)
}

// blockBody converts the body of blk, which maps to a field by rule.
func (c *hclConverter) blockBody(blk *hclsyntax.Block, rule hclBlockRule, path string, env *hclEnv) *ast.StructLit {
	open, close := blk.OpenBraceRange.Start, blk.CloseBraceRange.Start
	decls := c.body(blk.Body, rule.scope, path, c.childEnv(blk, rule, env), open.Line)
	lastLine := open.Line
	if len(blk.Body.Attributes)+len(blk.Body.Blocks) > 0 {
		lastLine = hclLastLine(blk.Body)
	}
	return &ast.StructLit{
		Lbrace: c.posRel(open, token.Blank),
		Elts:   decls,
		Rbrace: c.posRel(close, hclRel(lastLine, close.Line)),
	}
}

// childEnv returns the environment of the body of blk.
func (c *hclConverter) childEnv(blk *hclsyntax.Block, rule hclBlockRule, env *hclEnv) *hclEnv {
	switch rule.scope {
	case hclScopeExperiment:
		name := ""
		if len(blk.Labels) > 0 {
			name = blk.Labels[0]
		}
		return &hclEnv{experiment: name, spaceParams: hclSpaceParams(blk.Body)}
	case hclScopeStage:
		var what string
		var extra []string
		if env != nil && rule.field == "stage" {
			what = fmt.Sprintf("the stage of experiment %q", env.experiment)
			extra = env.spaceParams
		} else if len(blk.Labels) > 0 {
			what = fmt.Sprintf("stage %q", blk.Labels[0])
		} else {
			what = "this stage"
		}
		return &hclEnv{stage: hclNewStageEnv(blk.Body, what, extra)}
	}
	return env
}

// hclNewStageEnv collects the names a stage declares: its params and
// extra, and the names of its inputs and outputs.
//
// Each may be written as blocks (input "x" { ... }) or as an attribute
// holding an object (inputs = { x = { ... } }): both give the same CUE, so
// both declare names.
func hclNewStageEnv(b *hclsyntax.Body, what string, extra []string) *hclStageEnv {
	names := map[string]map[string]bool{"params": {}, "inputs": {}, "outputs": {}}
	for _, n := range extra {
		names["params"][n] = true
	}
	for root := range names {
		if a, ok := b.Attributes[root]; ok {
			for _, n := range hclObjectKeys(a.Expr) {
				names[root][n] = true
			}
		}
	}
	for _, blk := range b.Blocks {
		switch {
		case blk.Type == "input" && len(blk.Labels) == 1:
			names["inputs"][blk.Labels[0]] = true
		case blk.Type == "output" && len(blk.Labels) == 1:
			names["outputs"][blk.Labels[0]] = true
		case blk.Type == "params" && len(blk.Labels) == 0:
			for n := range blk.Body.Attributes {
				names["params"][n] = true
			}
		}
	}
	env := &hclStageEnv{
		what:  what,
		names: map[string][]string{},
		ctx:   &hcl.EvalContext{Variables: map[string]cty.Value{}},
	}
	for _, root := range hclPlaceholderRoots() {
		attrs := map[string]cty.Value{}
		var sorted []string
		for n := range names[root] {
			attrs[n] = cty.StringVal("${" + root + "." + n + "}")
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		env.names[root] = sorted
		env.ctx.Variables[root] = cty.ObjectVal(attrs)
	}
	return env
}

// hclSpaceParams collects the parameter names of an experiment's space: the
// keys of its grid, the keys of its list's items and the names of its
// random params, whether the space is written as a block or an attribute.
func hclSpaceParams(b *hclsyntax.Body) []string {
	var names []string
	list := func(e hclsyntax.Expression) {
		if list, ok := e.(*hclsyntax.TupleConsExpr); ok {
			for _, item := range list.Exprs {
				names = append(names, hclObjectKeys(item)...)
			}
		}
	}
	if a, ok := b.Attributes["space"]; ok {
		names = append(names, hclObjectKeys(hclObjectItem(a.Expr, "grid"))...)
		list(hclObjectItem(a.Expr, "list"))
		names = append(names, hclObjectKeys(hclObjectItem(hclObjectItem(a.Expr, "random"), "params"))...)
	}
	for _, space := range b.Blocks {
		if space.Type != "space" {
			continue
		}
		if a, ok := space.Body.Attributes["grid"]; ok {
			names = append(names, hclObjectKeys(a.Expr)...)
		}
		if a, ok := space.Body.Attributes["list"]; ok {
			list(a.Expr)
		}
		if a, ok := space.Body.Attributes["random"]; ok {
			names = append(names, hclObjectKeys(hclObjectItem(a.Expr, "params"))...)
		}
		for _, random := range space.Body.Blocks {
			if random.Type != "random" {
				continue
			}
			if a, ok := random.Body.Attributes["params"]; ok {
				names = append(names, hclObjectKeys(a.Expr)...)
			}
			for _, p := range random.Body.Blocks {
				if p.Type == "param" && len(p.Labels) == 1 {
					names = append(names, p.Labels[0])
				}
			}
		}
	}
	return names
}

// hclObjectItem returns the value of the item with a literal key in an
// object expression, or nil.
func hclObjectItem(e hclsyntax.Expression, key string) hclsyntax.Expression {
	obj, ok := e.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	for _, it := range obj.Items {
		if k, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr); ok && !k.ForceNonLiteral && hcl.ExprAsKeyword(k.Wrapped) == key {
			return it.ValueExpr
		}
		if hclHugeNumber(it.KeyExpr) != nil {
			continue
		}
		if k, ds := it.KeyExpr.Value(nil); !ds.HasErrors() && k.IsKnown() && !k.IsNull() && k.Type() == cty.String && k.AsString() == key {
			return it.ValueExpr
		}
	}
	return nil
}

// hclObjectKeys returns the keys of an object expression, as far as they can
// be known without evaluating anything else. Problems with the expression
// are reported when it is converted, not here.
func hclObjectKeys(e hclsyntax.Expression) []string {
	if e == nil {
		return nil
	}
	if obj, ok := e.(*hclsyntax.ObjectConsExpr); ok {
		var keys []string
		for _, it := range obj.Items {
			if hclHugeNumber(it.KeyExpr) != nil {
				continue
			}
			k, ds := it.KeyExpr.Value(nil)
			if ds.HasErrors() || !k.IsWhollyKnown() || k.IsNull() {
				continue
			}
			if k, err := convert.Convert(k, cty.String); err == nil {
				keys = append(keys, k.AsString())
			}
		}
		return keys
	}
	if hclHugeNumber(e) != nil {
		return nil
	}
	v, ds := e.Value(nil)
	if ds.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil
	}
	var keys []string
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		keys = append(keys, k.AsString())
	}
	return keys
}

// expr converts an expression. It returns nil when the expression is in
// error, after reporting why.
func (c *hclConverter) expr(e hclsyntax.Expression, path string, env *hclEnv) ast.Expr {
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return c.expr(e.Expression, path, env)

	case *hclsyntax.TupleConsExpr:
		// Tuples and objects are converted item by item, rather than
		// evaluated whole, so that each item keeps its own position and
		// objects keep the order of their keys.
		list := &ast.ListLit{Lbrack: c.posRel(e.OpenRange.Start, token.Blank)}
		prevLine := e.OpenRange.Start.Line
		for i, item := range e.Exprs {
			rng := item.Range()
			rel := hclRel(prevLine, rng.Start.Line)
			prevLine = rng.End.Line
			if v := c.expr(item, fmt.Sprintf("%s[%d]", path, i), env); v != nil {
				ast.SetRelPos(v, rel)
				list.Elts = append(list.Elts, v)
			}
		}
		list.Rbrack = c.endPos(e.SrcRange, hclRel(prevLine, e.SrcRange.End.Line))
		return list

	case *hclsyntax.ObjectConsExpr:
		return c.object(e, path, env)

	case *hclsyntax.LiteralValueExpr:
		if lit := c.numberText(e, e.SrcRange.Start); lit != nil {
			return lit
		}

	case *hclsyntax.UnaryOpExpr:
		// A negative number is an operator applied to a literal in HCL, as
		// in CUE; converting it as such keeps the literal's text.
		if lv, ok := e.Val.(*hclsyntax.LiteralValueExpr); ok && e.Op == hclsyntax.OpNegate {
			if lit := c.numberText(lv, lv.SrcRange.Start); lit != nil {
				ast.SetRelPos(lit, token.NoSpace)
				return &ast.UnaryExpr{OpPos: c.pos(e.SymbolRange.Start), Op: token.SUB, X: lit}
			}
		}
	}

	if !c.checkVariables(e, path, env) || !c.checkNumbers(e, path) {
		return nil
	}
	var ctx *hcl.EvalContext
	if env != nil && env.stage != nil {
		ctx = env.stage.ctx
	}
	v, ds := e.Value(ctx)
	c.addHCL(ds, path)
	if ds.HasErrors() {
		return nil
	}
	return c.value(v, e.Range(), path)
}

// hclMaxBits bounds the binary exponent of the numbers HCL computes with.
// It is a little beyond a float64's, which is as far as any spec value
// goes.
const hclMaxBits = 1100

// checkNumbers reports a number literal in e too large or too small for
// HCL to compute with, and says whether there is none.
//
// HCL evaluates such numbers, but writing one into a string, as in
// "${1e999999999}", spells out every digit: a billion of them. Literals
// that are not computed with keep their text and never reach this check.
func (c *hclConverter) checkNumbers(e hclsyntax.Expression, path string) bool {
	lit := hclHugeNumber(e)
	if lit == nil {
		return true
	}
	c.diags = append(c.diags, diag.Errorf(c.rng(lit.SrcRange), path, "number is out of range").
		WithDetail("Numbers used in an expression must lie within the range of a 64-bit float."))
	return false
}

// hclHugeNumber returns the first number literal in e whose binary exponent
// is beyond hclMaxBits either way, or nil.
func hclHugeNumber(e hclsyntax.Expression) *hclsyntax.LiteralValueExpr {
	var found *hclsyntax.LiteralValueExpr
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		lit, ok := n.(*hclsyntax.LiteralValueExpr)
		if !ok || found != nil || lit.Val.Type() != cty.Number || !lit.Val.IsKnown() || lit.Val.IsNull() {
			return nil
		}
		f := lit.Val.AsBigFloat()
		if exp := f.MantExp(nil); f.Sign() != 0 && (exp > hclMaxBits || exp < -hclMaxBits) || f.IsInf() {
			found = lit
		}
		return nil
	})
	return found
}

// object converts an object expression into a struct, in the order its
// keys were written.
func (c *hclConverter) object(e *hclsyntax.ObjectConsExpr, path string, env *hclEnv) ast.Expr {
	s := &ast.StructLit{Lbrace: c.posRel(e.OpenRange.Start, token.Blank)}
	seen := map[string]hcl.Range{}
	prevLine := e.OpenRange.Start.Line
	for _, it := range e.Items {
		keyRange := it.KeyExpr.Range()
		rel := hclRel(prevLine, keyRange.Start.Line)
		prevLine = it.ValueExpr.Range().End.Line
		key, ok := c.objectKey(it.KeyExpr, path, env)
		if !ok {
			continue
		}
		kpath := hclJoin(path, key)
		if first, dup := seen[key]; dup {
			c.diags = append(c.diags, diag.Errorf(c.rng(keyRange), kpath, "key %q is set twice", key).
				WithNote(c.rng(first), "key %q is first set here", key))
			continue
		}
		seen[key] = keyRange
		if v := c.expr(it.ValueExpr, kpath, env); v != nil {
			s.Elts = append(s.Elts, c.field(key, keyRange, rel, v))
		}
	}
	s.Rbrace = c.endPos(e.SrcRange, hclRel(prevLine, e.SrcRange.End.Line))
	return s
}

// objectKey evaluates the key of an object item to a string.
func (c *hclConverter) objectKey(e hclsyntax.Expression, path string, env *hclEnv) (string, bool) {
	// A bare name is a literal key, not a reference. A dotted name is
	// neither, which HCL reports as ambiguous; any other key is an
	// expression that may refer to variables.
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		_, isTraversal := k.Wrapped.(*hclsyntax.ScopeTraversalExpr)
		if k.ForceNonLiteral || !isTraversal && hcl.ExprAsKeyword(k.Wrapped) == "" {
			if !c.checkVariables(k.Wrapped, path, env) {
				return "", false
			}
		}
	}
	if !c.checkNumbers(e, path) {
		return "", false
	}
	var ctx *hcl.EvalContext
	if env != nil && env.stage != nil {
		ctx = env.stage.ctx
	}
	v, ds := e.Value(ctx)
	c.addHCL(ds, path)
	if ds.HasErrors() {
		return "", false
	}
	if v.IsKnown() && !v.IsNull() {
		if s, err := convert.Convert(v, cty.String); err == nil {
			return s.AsString(), true
		}
	}
	c.diags = append(c.diags, diag.Errorf(c.rng(e.Range()), path, "key must be a string, not %s", hclTypeName(v)))
	return "", false
}

// checkVariables reports references to variables that are not defined
// where e is, and says whether there were none.
//
// HCL would report them too, but only as "Unsupported attribute" or
// "Unknown variable"; checking here can name the stage and suggest the
// name that was probably meant.
func (c *hclConverter) checkVariables(e hclsyntax.Expression, path string, env *hclEnv) bool {
	ok := true
	for _, tr := range e.Variables() {
		if len(tr) == 0 || tr.IsRelative() {
			continue
		}
		root := tr.RootName()
		isPlaceholder := slices.Contains(hclPlaceholderRoots(), root)
		text := hclTraversalText(tr)
		if env == nil || env.stage == nil {
			d := diag.Errorf(c.rng(tr.SourceRange()), path, "%s cannot be used here", text)
			if isPlaceholder {
				d.Detail = fmt.Sprintf("%s.NAME refers to a stage's %s, so it may be used only inside a stage.", root, root)
			} else {
				d.Detail = "Specs have no variables; only params.NAME, inputs.NAME and outputs.NAME may be used, inside a stage."
			}
			c.diags = append(c.diags, d)
			ok = false
			continue
		}
		st := env.stage
		if !isPlaceholder {
			d := diag.Errorf(c.rng(tr.SourceRange()), path, "%s is not defined in %s", text, st.what).
				WithDetail("Inside a stage, only params.NAME, inputs.NAME and outputs.NAME may be used.")
			if s := hclSuggest(root, hclPlaceholderRoots()); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", s)
			}
			c.diags = append(c.diags, d)
			ok = false
			continue
		}
		if len(tr) < 2 {
			// The whole object is a value HCL can evaluate; what it
			// becomes is for the schema check to judge.
			continue
		}
		var name string
		switch step := tr[1].(type) {
		case hcl.TraverseAttr:
			name = step.Name
		case hcl.TraverseIndex:
			if !step.Key.IsKnown() || step.Key.IsNull() || step.Key.Type() != cty.String {
				continue
			}
			name = step.Key.AsString()
		default:
			continue
		}
		declared := st.names[root]
		if i := sort.SearchStrings(declared, name); i < len(declared) && declared[i] == name {
			continue
		}
		d := diag.Errorf(c.rng(hcl.RangeBetween(tr[0].SourceRange(), tr[1].SourceRange())), path,
			"%s.%s is not declared in %s", root, name, st.what)
		if len(declared) == 0 {
			d.Detail = fmt.Sprintf("There are no %s declared.", root)
		} else {
			d.Detail = fmt.Sprintf("The declared %s are: %s.", root, strings.Join(declared, ", "))
		}
		if s := hclSuggest(name, declared); s != "" {
			d.Hint = fmt.Sprintf("did you mean %q?", s)
		}
		c.diags = append(c.diags, d)
		ok = false
	}
	return ok
}

// value converts an evaluated value; every node gets the position of the
// start of the expression it came from.
func (c *hclConverter) value(v cty.Value, at hcl.Range, path string) ast.Expr {
	pos := c.pos(at.Start)
	switch {
	case !v.IsWhollyKnown():
		// Unknown values come only from errors, which HCL has reported;
		// this guards against an unknown value without one.
		c.diags = append(c.diags, diag.Errorf(c.rng(at), path, "value cannot be computed"))
		return nil
	case v.IsNull():
		c.diags = append(c.diags, diag.Errorf(c.rng(at), path, "null is not allowed").
			WithDetail("Specs have no null values.").
			WithHint("leave it out instead"))
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		lit := ast.NewString(v.AsString())
		lit.ValuePos = pos
		return lit
	case t == cty.Bool:
		lit := ast.NewBool(v.True())
		lit.ValuePos = pos
		return lit
	case t == cty.Number:
		return c.number(v.AsBigFloat(), at, path)
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		list := &ast.ListLit{Lbrack: pos, Rbrack: pos.WithRel(token.NoSpace)}
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, elem := it.Element()
			if x := c.value(elem, at, fmt.Sprintf("%s[%d]", path, i)); x != nil {
				list.Elts = append(list.Elts, x)
			}
		}
		return list
	case t.IsMapType() || t.IsObjectType():
		// cty iterates over keys in sorted order; the written order is
		// kept only for object expressions, which object converts.
		s := &ast.StructLit{Lbrace: pos, Rbrace: pos.WithRel(token.NoSpace)}
		for it := v.ElementIterator(); it.Next(); {
			k, elem := it.Element()
			key := k.AsString()
			if x := c.value(elem, at, hclJoin(path, key)); x != nil {
				s.Elts = append(s.Elts, c.field(key, at, token.Blank, x))
			}
		}
		return s
	}
	c.diags = append(c.diags, diag.Errorf(c.rng(at), path, "a value of type %s is not allowed", hclTypeName(v)))
	return nil
}

// numberText converts a number literal, keeping the text it was written
// with, so that 0.10 stays the float 0.10 and 2 the integer 2, as in CUE.
// It returns nil when e is not a number literal.
func (c *hclConverter) numberText(e *hclsyntax.LiteralValueExpr, at hcl.Pos) ast.Expr {
	if e.Val.Type() != cty.Number || e.Val.IsNull() || !e.Val.IsKnown() {
		return nil
	}
	start, end := e.SrcRange.Start.Byte, e.SrcRange.End.Byte
	if start < 0 || end > len(c.src) || start >= end {
		return nil
	}
	text := string(c.src[start:end])
	if !hclIsNumberText(text) {
		return nil
	}
	if !strings.ContainsAny(text, ".eE") {
		// CUE reads a leading zero as the start of a prefixed literal,
		// so 007 is written 7.
		text = strings.TrimLeft(text, "0")
		if text == "" {
			text = "0"
		}
		return &ast.BasicLit{ValuePos: c.pos(at), Kind: token.INT, Value: text}
	}
	// The text has a fraction or an exponent, so CUE reads it as a float,
	// with the value HCL's does.
	return &ast.BasicLit{ValuePos: c.pos(at), Kind: token.FLOAT, Value: text}
}

// hclIsNumberText reports whether s has the form of an HCL number literal:
// digits, then optionally a fraction and an exponent.
func hclIsNumberText(s string) bool {
	i := 0
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// number converts a computed number: integral values become CUE integers,
// others floats in the shortest form that reads back the same.
func (c *hclConverter) number(f *big.Float, at hcl.Range, path string) ast.Expr {
	pos := c.pos(at.Start)
	if f.IsInf() {
		c.diags = append(c.diags, diag.Errorf(c.rng(at), path, "number is infinite"))
		return nil
	}
	neg := f.Sign() < 0
	abs := new(big.Float).Abs(f)
	var lit *ast.BasicLit
	switch {
	case abs.IsInt() && abs.MantExp(nil) <= hclMaxBits:
		i, _ := abs.Int(nil)
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: i.String()}
	default:
		// HCL computes with 512-bit floats, so 0.1 + 0.2 is 0.3 give or
		// take a digit in the 150th place. Rounding to a float64 and
		// writing the shortest text that reads back as it gives the 0.3
		// the user expects.
		f64, _ := abs.Float64()
		if f64 == 0 || math.IsInf(f64, 0) {
			c.diags = append(c.diags, diag.Errorf(c.rng(at), path, "number is out of range").
				WithDetail("Computed numbers must lie within the range of a 64-bit float."))
			return nil
		}
		text := strconv.FormatFloat(f64, 'g', -1, 64)
		if !strings.ContainsAny(text, ".e") {
			text += ".0"
		}
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.FLOAT, Value: text}
	}
	if neg {
		lit.ValuePos = lit.ValuePos.WithRel(token.NoSpace)
		return &ast.UnaryExpr{OpPos: pos, Op: token.SUB, X: lit}
	}
	return lit
}

// field builds a field whose label is at rng; rel places the field after
// what precedes it.
func (c *hclConverter) field(name string, rng hcl.Range, rel token.RelPos, v ast.Expr) *ast.Field {
	ast.SetRelPos(v, token.Blank)
	pos := c.posRel(rng.Start, rel)
	var label ast.Label
	if hclPlainLabel(name) {
		label = &ast.Ident{NamePos: pos, Name: name}
	} else {
		lit := ast.NewString(name)
		lit.ValuePos = pos
		label = lit
	}
	return &ast.Field{Label: label, Value: v}
}

// hclPlainLabel reports whether name can be written as a CUE identifier
// label, without quotes. Names that would be definitions or hidden fields
// (#x, _x), or are keywords, are quoted so that they stay regular fields and
// the formatted CUE parses.
func hclPlainLabel(name string) bool {
	if ast.StringLabelNeedsQuoting(name) {
		return false
	}
	switch name {
	case "package", "import", "for", "in", "if", "let", "func", "true", "false", "null", "try", "fallback":
		return false
	}
	return true
}

// pos returns the CUE position of an HCL position, to be placed after
// whatever precedes it with a single blank.
func (c *hclConverter) pos(p hcl.Pos) token.Pos {
	return c.posRel(p, token.Blank)
}

// posRel returns the CUE position of an HCL position, with rel telling the
// CUE formatter how to place it after what precedes it.
func (c *hclConverter) posRel(p hcl.Pos, rel token.RelPos) token.Pos {
	return c.file.Pos(c.clamp(p.Byte), rel)
}

// endPos returns the CUE position of the last byte of r, such as a closing
// bracket.
func (c *hclConverter) endPos(r hcl.Range, rel token.RelPos) token.Pos {
	end := r.End.Byte - 1
	if end < r.Start.Byte {
		end = r.Start.Byte
	}
	return c.file.Pos(c.clamp(end), rel)
}

// hclRel returns how to place something written on line after something
// that ended on prevLine: on the same line, on the next, or after a blank
// line, as the HCL has it.
func hclRel(prevLine, line int) token.RelPos {
	switch {
	case line > prevLine+1:
		return token.NewSection
	case line > prevLine:
		return token.Newline
	}
	return token.Blank
}

// hclLastLine returns the line on which the last item of b ends.
func hclLastLine(b *hclsyntax.Body) int {
	last := 0
	for _, a := range b.Attributes {
		last = max(last, a.SrcRange.End.Line)
	}
	for _, blk := range b.Blocks {
		last = max(last, blk.CloseBraceRange.End.Line)
	}
	return last
}

func (c *hclConverter) clamp(b int) int {
	return max(0, min(b, len(c.src)))
}

// rng converts an HCL range into a diagnostic range. HCL counts columns in
// characters, diagnostics in bytes, so columns are computed afresh from the
// byte offsets.
func (c *hclConverter) rng(r hcl.Range) diag.Range {
	filename := r.Filename
	if filename == "" {
		filename = c.filename
	}
	return diag.Range{Filename: filename, Start: c.diagPos(r.Start), End: c.diagPos(r.End)}
}

func (c *hclConverter) diagPos(p hcl.Pos) diag.Pos {
	b := c.clamp(p.Byte)
	line := sort.SearchInts(c.lines, b+1) - 1
	return diag.Pos{Line: line + 1, Column: b - c.lines[line] + 1, Byte: b}
}

// hclLineStarts returns the byte offset at which each line of src starts.
func hclLineStarts(src []byte) []int {
	lines := []int{0}
	for i := 0; ; {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			return lines
		}
		i += j + 1
		lines = append(lines, i)
	}
}

// addHCL translates HCL's diagnostics; path is the spec path they concern.
func (c *hclConverter) addHCL(ds hcl.Diagnostics, path string) {
	for _, d := range ds {
		sev := diag.Error
		if d.Severity == hcl.DiagWarning {
			sev = diag.Warning
		}
		out := &diag.Diagnostic{
			Severity: sev,
			Summary:  strings.TrimSuffix(d.Summary, "."),
			Detail:   d.Detail,
			Path:     path,
		}
		if d.Subject != nil {
			out.Subject = c.rng(*d.Subject)
		}
		c.diags = append(c.diags, out)
	}
}

// hclTraversalText renders a traversal as written, such as params.lr.
func hclTraversalText(tr hcl.Traversal) string {
	var b strings.Builder
	for _, step := range tr {
		switch step := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(step.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + step.Name)
		case hcl.TraverseIndex:
			if step.Key.IsKnown() && !step.Key.IsNull() && step.Key.Type() == cty.String {
				b.WriteString("[" + strconv.Quote(step.Key.AsString()) + "]")
			} else if f, ok := hclSmallNumber(step.Key); ok {
				b.WriteString("[" + strconv.FormatFloat(f, 'g', -1, 64) + "]")
			} else {
				b.WriteString("[...]")
			}
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// hclSmallNumber returns v as a float64 if it is a known number within a
// float64's range, which is cheap to print, unlike a big.Float with a huge
// exponent.
func hclSmallNumber(v cty.Value) (float64, bool) {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	return f, !math.IsInf(f, 0)
}

// hclTypeName names the type of v in plain words.
func hclTypeName(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.Type().FriendlyName()
}

// hclJoin appends a field name to a dotted spec path.
func hclJoin(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// hclSuggest returns the candidate closest to name within an edit distance
// of 2, or "" if there is none. Shorter names need a closer match, so that a
// one-letter typo does not suggest an unrelated one-letter name.
func hclSuggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, cand := range candidates {
		d := hclEditDistance(name, cand)
		if d < bestDist && d < utf8.RuneCountInString(name) {
			best, bestDist = cand, d
		}
	}
	return best
}

// hclEditDistance is the Levenshtein distance between a and b, in runes.
func hclEditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
