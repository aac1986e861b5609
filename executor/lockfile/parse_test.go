package lockfile

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
	"lattice.dev/lattice/compiler/plan"
)

// The sample text, line by line:
//
//	 1 # lattice.lock: …
//	 2 # Commit it …
//	 3 lattice-lock 1
//	 4 keys 1 "…"
//	 5
//	 6 dataset vitals path "data/vitals.csv"
//	 7 dataset vitals digest blake3:…
//	 8
//	 9 stage train key blake3:…
//	10 stage train backend "docker"
//	11 stage train platform "linux/amd64"
//	12 stage train image "sha256:…"
//	13 stage train code ""
//	14 stage train argv "python3" "train.py" "--lr" "0.1"
//	15 stage train env "OMP_NUM_THREADS" "1"
//	16 stage train secret "API_TOKEN"
//	17 stage train param "lr" number "0.1"
//	18 stage train input "features" "out/features.csv" blake3:…
//	19 stage train output "model" "out/model.npz" model blake3:…
//	20 stage train network false

// replace returns the sample text with line n replaced by the given lines
// (none deletes it).
func replace(n int, lines ...string) string {
	all := strings.Split(sampleText(), "\n")
	all = slices.Replace(all, n-1, n, lines...)
	return strings.Join(all, "\n")
}

// insert returns the sample text with lines inserted before line n.
func insert(n int, lines ...string) string {
	all := strings.Split(sampleText(), "\n")
	all = slices.Insert(all, n-1, lines...)
	return strings.Join(all, "\n")
}

// twoEditedStages is the sample text with its train stage's param edited,
// followed by a copy of that stage named eval.
func twoEditedStages() string {
	text := replace(17, `stage train param "lr" number "0.3"`)
	stage := text[strings.Index(text, "stage train key"):]
	return text + "\n" + strings.ReplaceAll(stage, "stage train ", "stage eval ")
}

func TestParseErrors(t *testing.T) {
	d := sum("x")
	tests := []struct {
		name string
		text string
		want string
	}{
		{"empty file", "", `lattice.lock:1: not a lattice lockfile (missing "lattice-lock 1" header)`},
		{"only comments", "# nothing\n# here\n", `lattice.lock:1: not a lattice lockfile (missing "lattice-lock 1" header)`},
		{"not a lockfile", "{\"stages\": {}}\n", `lattice.lock:1: not a lattice lockfile (missing "lattice-lock 1" header)`},
		{"header after comments", replace(3, "lattice-lck 1"), `lattice.lock:3: not a lattice lockfile (missing "lattice-lock 1" header)`},
		{"future version", replace(3, "lattice-lock 2"), `lattice.lock:3: lockfile format 2 is newer than this lattice understands (1); upgrade lattice`},
		{"version not a number", replace(3, "lattice-lock one"), `lattice.lock:3: unknown lockfile format "one" (this lattice understands 1)`},
		{"version zero", replace(3, "lattice-lock 0"), `lattice.lock:3: unknown lockfile format "0" (this lattice understands 1)`},
		{"missing keys line", replace(4), `lattice.lock:5: missing "keys" line after the header`},
		{"header only", "lattice-lock 1\n", `lattice.lock:1: missing "keys" line after the header`},
		{"bad keys line", replace(4, "keys 1"), `lattice.lock:4: bad keys line (want keys FORMAT "SALT")`},
		{"unknown line kind", replace(9, "stag train key "+d), `lattice.lock:9: unexpected "stag" (want a dataset or stage line)`},
		{"line without name", replace(10, "stage"), `lattice.lock:10: stage line has no name`},
		{"line without field", replace(10, "stage train"), `lattice.lock:10: stage "train" line has no field`},
		{"unknown stage field", replace(12, `stage train imgae "sha256:x"`), `lattice.lock:12: unknown field "imgae" for stage "train"`},
		{"unknown dataset field", replace(6, `dataset vitals pth "data/vitals.csv"`), `lattice.lock:6: unknown field "pth" for dataset "vitals"`},
		{"quoted field name", replace(10, `stage train "backend" "docker"`), `lattice.lock:10: field name "backend" of stage "train" must not be quoted`},
		{"bare name needing quotes", replace(9, "stage tr:ain key "+d), `lattice.lock:9: stage name "tr:ain" must be quoted (bare names hold only letters, digits and _.,=[]+-)`},
		{"short digest", replace(7, "dataset vitals digest blake3:abcd"), `lattice.lock:7: dataset "vitals" digest: digest "blake3:abcd" has 4 hex digits, want 64`},
		{"unknown digest algorithm", replace(9, "stage train key md5:"+strings.Repeat("0", 64)), `lattice.lock:9: stage "train" key: digest "md5:0000000000000000000000000000000000000000000000000000000000000000" uses unknown algorithm "md5" (want blake3 or sha256)`},
		{"uppercase digest", replace(9, "stage train key blake3:"+strings.Repeat("A", 64)), `lattice.lock:9: stage "train" key: digest "blake3:` + strings.Repeat("A", 64) + `" must use lowercase hex`},
		{"quoted digest", replace(9, `stage train key "`+d+`"`), `lattice.lock:9: stage "train" key: want a bare digest at column 17, got a quoted string`},
		{"unterminated quote", replace(14, `stage train argv "python3 "train.py"`), `lattice.lock:14: missing space after the quoted string at column 18`},
		{"quote runs to end", replace(14, `stage train argv "python3`), `lattice.lock:14: bad quoted string at column 18 (unterminated, or an invalid escape)`},
		{"bad escape", replace(14, `stage train argv "py\qthon3"`), `lattice.lock:14: bad quoted string at column 18 (unterminated, or an invalid escape)`},
		{"quote inside a word", replace(17, `stage train param "lr" num"ber "0.1"`), `lattice.lock:17: unexpected quote at column 27 inside the word "num"`},
		{"unquoted string", replace(10, "stage train backend docker"), `lattice.lock:10: stage "train" backend: want a quoted string at column 21, got docker`},
		{"bad bool", replace(20, "stage train network yes"), `lattice.lock:20: stage "train" network: want true or false at column 21, got yes`},
		{"wrong arity", replace(15, `stage train env "OMP_NUM_THREADS"`), `lattice.lock:15: stage "train" env wants "NAME" "VALUE", got 1 value`},
		{"output without digest", replace(19, `stage train output "model" "out/model.npz" model`), `lattice.lock:19: stage "train" output wants "NAME" "PATH" KIND DIGEST, got 3 values`},
		{"duplicate scalar", insert(14, `stage train image ""`), `lattice.lock:14: duplicate image line for stage "train" (first on line 12)`},
		{"duplicate dataset field", insert(8, "dataset vitals digest "+d), `lattice.lock:8: duplicate digest line for dataset "vitals" (first on line 7)`},
		{"duplicate param", insert(18, `stage train param "lr" number "0.2"`), `lattice.lock:18: duplicate param "lr" for stage "train"`},
		{"duplicate param out of order", insert(18, `stage train param "a" number "1"`, `stage train param "lr" number "0.2"`), `lattice.lock:19: duplicate param "lr" for stage "train"`},
		{"duplicate output", insert(20, `stage train output "model" "x" model `+d), `lattice.lock:20: duplicate output "model" for stage "train"`},
		{"stage missing key", replace(9), `lattice.lock:9: stage "train" has no key line`},
		{"stage missing network", replace(20), `lattice.lock:9: stage "train" has no network line`},
		{"dataset missing digest", replace(7), `lattice.lock:6: dataset "vitals" has no digest line`},
		{"earliest missing field wins", replace(7, "", "stage a backend \"x\""), `lattice.lock:6: dataset "vitals" has no digest line`},
		{"edited param", replace(17, `stage train param "lr" number "0.3"`), `lattice.lock: the key of stage "train" does not match its recorded fields; the file was edited by hand or damaged — delete the stage's lines and re-run lattice apply`},
		{"edited stages", twoEditedStages(),
			`lattice.lock: the keys of stages "eval", "train" do not match their recorded fields; the file was edited by hand or damaged — delete those stages' lines and re-run lattice apply`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse("lattice.lock", []byte(tt.text))
			if err == nil {
				t.Fatalf("Parse succeeded (%d stages), want error %q\n%s", len(l.Stages), tt.want, tt.text)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse error:\n got %s\nwant %s", got, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "lattice.lock" {
				t.Errorf("error %#v is not a *ParseError for lattice.lock", err)
			}
		})
	}
}

// TestParseAccepts lists texts that are not what Format writes but are
// still valid: hand edits that change nothing, and line endings that
// tools introduce.
func TestParseAccepts(t *testing.T) {
	want := sampleLock()
	lines := strings.Split(strings.TrimSuffix(sampleText(), "\n"), "\n")
	reversed := slices.Clone(lines[4:])
	slices.Reverse(reversed)
	tests := map[string]string{
		"as written":        sampleText(),
		"CRLF":              strings.ReplaceAll(sampleText(), "\n", "\r\n"),
		"no final newline":  strings.TrimSuffix(sampleText(), "\n"),
		"lines reversed":    strings.Join(append(slices.Clone(lines[:4]), reversed...), "\n"),
		"extra spaces":      strings.ReplaceAll(sampleText(), "stage train key", "stage  train\tkey"),
		"comments anywhere": replace(13, "# a comment", `stage train code ""`, "", "   "),
		"quoted bare name":  strings.ReplaceAll(sampleText(), "stage train ", `stage "train" `),
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse("lattice.lock", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSetsDigest(t *testing.T) {
	text := []byte(sampleText())
	l, err := Parse("lattice.lock", text)
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.Bytes(text).String(); l.Digest != want {
		t.Errorf("Digest = %q, want %q", l.Digest, want)
	}
}

// TestVerifyCatchesEditedParam edits a param in the text and checks that
// the lock, once parsed without the check, fails Verify, and that Parse
// itself refuses it.
func TestVerifyCatchesEditedParam(t *testing.T) {
	l := realisticLock()
	const trial = "sweep[lr=0.1,l2=0.01]"
	l.Stages[trial].Preimage.Params[1].Value = "0.2" // "lr", after sorting
	if got, want := l.Verify(), []string{trial}; !slices.Equal(got, want) {
		t.Errorf("Verify() = %q, want %q", got, want)
	}
	text := strings.Replace(string(Format(realisticLock())),
		"stage "+trial+` param "lr" number "0.1"`, "stage "+trial+` param "lr" number "0.2"`, 1)
	_, err := Parse("lattice.lock", []byte(text))
	want := `lattice.lock: the key of stage "sweep[lr=0.1,l2=0.01]" does not match its recorded fields; ` +
		`the file was edited by hand or damaged — delete the stage's lines and re-run lattice apply`
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %s", err, want)
	}
}

// TestParseOtherKeys reads a lockfile whose keys were computed with
// another salt: its stages are void and dropped, its datasets kept, and
// its keys, which do not match, are not reported as hand edits.
func TestParseOtherKeys(t *testing.T) {
	text := strings.Replace(string(Format(realisticLock())), keysLine(), "keys 1 "+strconv.Quote(plan.Salt+"-old")+"\n", 1)
	// Stand-ins for keys computed with the old salt: valid digests that
	// this lattice's keys do not match.
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if before, _, ok := strings.Cut(line, " key blake3:"); ok {
			lines[i] = before + " key " + sum("old salt "+line)
		}
	}
	text = strings.Join(lines, "\n")
	l, err := Parse("lattice.lock", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := realisticLock()
	want.Stages = nil
	if diff := cmp.Diff(want, l, lockOpts()); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}
