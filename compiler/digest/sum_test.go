package digest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"lukechampine.com/blake3"
)

// testBuffers returns buffer functions for sumOptions that allocate afresh,
// so that a test also catches reads past a buffer's length.
func testBuffers(size int) (func() []byte, func([]byte)) {
	return func() []byte { return make([]byte, size) }, func([]byte) {}
}

// TestSumReaderAtMatchesBLAKE3 checks the segmented, parallel hash against
// the reference library at every boundary the tree shape depends on: empty
// input, block and chunk edges, the 16-chunk vector group, and one, several
// and a non-power-of-two number of segments plus a partial tail.
func TestSumReaderAtMatchesBLAKE3(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 200<<10+777)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lengths := []int{0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 4095, 4096, 4097,
		8191, 8192, 8193, 16383, 16384, 16385, 17408, 32768, 32769, 65536, 65537, 99999, len(data)}
	for range 40 {
		lengths = append(lengths, rng.IntN(len(data)+1))
	}
	segments := []int{1 << 10, 4 << 10, 16 << 10, 64 << 10, defaultSegmentSize}
	for _, seg := range segments {
		for _, workers := range []int{1, 3} {
			buffer, release := testBuffers(seg)
			opts := sumOptions{segmentSize: seg, workers: workers, buffer: buffer, release: release}
			for _, n := range lengths {
				name := fmt.Sprintf("seg=%d/workers=%d/len=%d", seg, workers, n)
				got, err := sumReaderAt(context.Background(), bytes.NewReader(data[:n]), int64(n), opts)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if want := blake3.Sum256(data[:n]); got != want {
					t.Errorf("%s: got %x, want %x", name, got, want)
				}
			}
		}
	}
}

func TestSumReaderAtShortInput(t *testing.T) {
	buffer, release := testBuffers(4 << 10)
	opts := sumOptions{segmentSize: 4 << 10, workers: 2, buffer: buffer, release: release}
	for _, n := range []int64{10, 5000, 50000} {
		r := bytes.NewReader(make([]byte, n-1))
		_, err := sumReaderAt(context.Background(), r, n, opts)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("size %d with one byte missing: got error %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestSumReaderAtCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	buffer, release := testBuffers(4 << 10)
	opts := sumOptions{segmentSize: 4 << 10, workers: 2, buffer: buffer, release: release}
	_, err := sumReaderAt(ctx, bytes.NewReader(make([]byte, 1<<20)), 1<<20, opts)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
}
