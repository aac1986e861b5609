package lockfile

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseChunks checks that a large lockfile, which Parse reads in
// parallel chunks, parses exactly as it would in one piece, and that every
// problem is still reported with the right line.
func TestParseChunks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	want := benchLock(3000)
	text := string(Format(want))
	lines := strings.Split(text, "\n") // ends with "", after the final newline

	head := newParser("lattice.lock")
	body, n, err := head.parseHead(text)
	check(t, err)
	if _, ok := parseChunks(head, body, n); !ok {
		t.Fatalf("parseChunks declined a %d-byte lockfile that Format wrote", len(text))
	}

	const trial = "sweep[lr=0.05,seed=1449]"
	keyLine := strings.Index(text, "stage "+trial+" key ")
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{name: "as written", text: text},
		{
			// Moving a stage's network line to the end of the file puts
			// the stage's lines in two chunks, which the parallel pass
			// cannot merge; the file is still valid.
			name: "stage split across chunks",
			text: strings.Replace(text, "stage "+trial+" network false\n", "", 1) + "\nstage " + trial + " network false\n",
		},
		{
			name:    "edited param",
			text:    strings.Replace(text, "stage "+trial+` param "seed" number "1449"`, "stage "+trial+` param "seed" number "1450"`, 1),
			wantErr: `lattice.lock: the key of stage "sweep[lr=0.05,seed=1449]" does not match its recorded fields; the file was edited by hand or damaged — delete the stage's lines and re-run lattice apply`,
		},
		{
			name:    "bad line late in the file",
			text:    text + "stage x imgae \"\"\n",
			wantErr: "lattice.lock:" + strconv.Itoa(len(lines)) + `: unknown field "imgae" for stage "x"`,
		},
		{
			name:    "missing key in the middle",
			text:    text[:keyLine] + strings.Replace(text[keyLine:], "stage "+trial+" key ", "stage "+trial+" kye ", 1),
			wantErr: "lattice.lock:" + strconv.Itoa(strings.Count(text[:keyLine], "\n")+1) + `: unknown field "kye" for stage "sweep[lr=0.05,seed=1449]"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("lattice.lock", []byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Parse error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, lockOpts()); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
