package digest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	hx := strings.Repeat("ab", Size)
	tests := []struct {
		in      string
		want    Digest
		wantErr bool
	}{
		{in: "blake3:" + hx, want: Digest{Algo: BLAKE3, Sum: [Size]byte(bytesOf(0xab))}},
		{in: "sha256:" + hx, want: Digest{Algo: SHA256, Sum: [Size]byte(bytesOf(0xab))}},
		{in: hx, wantErr: true},
		{in: "md5:" + hx, wantErr: true},
		{in: "blake3:" + hx[:10], wantErr: true},
		{in: "blake3:" + strings.ToUpper(hx), wantErr: true},
		{in: "blake3:" + strings.Repeat("zz", Size), wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse error = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func bytesOf(b byte) []byte {
	s := make([]byte, Size)
	for i := range s {
		s[i] = b
	}
	return s
}
