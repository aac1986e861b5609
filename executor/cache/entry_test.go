package cache

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lattice.dev/lattice/compiler/digest"
)

func sampleEntry() *Entry {
	return &Entry{
		Key: key("k"),
		Outputs: []Output{
			{Name: "model", Path: "out/model.bin", Kind: "model", Digest: digest.String("m"), Size: 1},
			{Name: "a \"b\"\n", Path: "out/with space", Kind: "", Digest: digest.String("t"), Size: 1 << 40, Dir: true},
			{Name: "tool", Path: "bin/tool", Kind: "data", Digest: digest.String("x"), Size: 0, Exec: true},
		},
		Created:  time.Date(2026, 7, 1, 10, 0, 0, 123456789, time.UTC),
		Duration: 1*time.Hour + 2*time.Nanosecond,
		Meta:     map[string]string{"b": "2", "a": "", "": "empty key", "ünï": "\x00\xff"},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    *Entry
	}{
		{"full", sampleEntry()},
		{"no outputs or meta", &Entry{Key: key("empty"), Created: time.Unix(0, 0).UTC()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeEntry(tt.e)
			got, err := decodeEntry(data)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, data)
			}
			if diff := cmp.Diff(tt.e, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if again := encodeEntry(got); !bytes.Equal(again, data) {
				t.Errorf("encoding is not stable:\n%s\nthen\n%s", data, again)
			}
		})
	}
}

func TestEntryFormat(t *testing.T) {
	e := &Entry{
		Key:      digest.Digest{Algo: digest.BLAKE3},
		Outputs:  []Output{{Name: "m", Path: "out/m", Kind: "model", Digest: digest.Digest{Algo: digest.BLAKE3}, Size: 3}},
		Created:  time.Date(2026, 7, 1, 10, 0, 0, 500000000, time.UTC),
		Duration: 90 * time.Second,
		Meta:     map[string]string{"exit": "0"},
	}
	zero := "blake3:" + strings.Repeat("0", 64)
	body := "lattice-action 1\n" +
		"key " + zero + "\n" +
		"created 2026-07-01T10:00:00.5Z\n" +
		"duration 1m30s\n" +
		`output "m" "out/m" "model" file 3 ` + zero + "\n" +
		`meta "exit" "0"` + "\n"
	want := body + "checksum " + digest.String(body).String() + "\n"
	if diff := cmp.Diff(want, string(encodeEntry(e))); diff != "" {
		t.Errorf("encoding (-want +got):\n%s", diff)
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	good := encodeEntry(sampleEntry())
	// resum recomputes the checksum, so that the body's own checks are
	// what reject it.
	resum := func(body string) []byte {
		return []byte(body + "checksum " + digest.String(body).String() + "\n")
	}
	body, _, _ := cutLastLine(good)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one line", []byte("lattice-action 1\n")},
		{"no trailing newline", good[:len(good)-1]},
		{"truncated", good[:len(good)/2]},
		{"trailing garbage", append(bytes.Clone(good), "x\n"...)},
		{"flipped byte", func() []byte { b := bytes.Clone(good); b[40] ^= 1; return b }()},
		{"garbage", []byte("\x89PNG\r\n\x1a\nrandom bytes\n")},
		{"bad checksum digest", append(bytes.Clone(body), "checksum blake3:zz\n"...)},
		{"wrong version", resum(strings.Replace(string(body), "lattice-action 1", "lattice-action 2", 1))},
		{"missing key", resum("lattice-action 1\ncreated 2026-07-01T10:00:00Z\nduration 0s\n")},
		{"duplicate key", resum(string(body) + "key " + key("k").String() + "\n")},
		{"unknown line", resum(string(body) + "future stuff\n")},
		{"blank line", resum(string(body) + "\n")},
		{"bad output type", resum(strings.Replace(string(body), " dir ", " pipe ", 1))},
		{"negative size", resum(strings.Replace(string(body), " file 1 ", " file -1 ", 1))},
		{"negative duration", resum(strings.Replace(string(body), "duration 1h0m0.000000002s", "duration -1s", 1))},
		{"bad quoting", resum(strings.Replace(string(body), `"model" "out/model.bin"`, `"model "out/model.bin"`, 1))},
		{"duplicate meta", resum(string(body) + `meta "a" "again"` + "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := decodeEntry(tt.data); err == nil {
				t.Errorf("decodeEntry accepted:\n%s\ngiving %+v", tt.data, e)
			}
		})
	}
}
