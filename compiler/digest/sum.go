package digest

import (
	"context"
	"fmt"
	"io"
	"math/bits"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"lukechampine.com/blake3/guts"
)

// defaultSegmentSize is the unit of work when one file is hashed on several
// cores. It is a power-of-two number of BLAKE3 chunks, so every segment that
// starts at a multiple of it is a complete subtree of the file's BLAKE3 tree
// and can be hashed on its own core; the subtrees are then joined in order.
// 1 MiB measured best on the reference machine: large enough that joining
// costs nothing, small enough that a worker's buffer stays in its L2 cache.
const defaultSegmentSize = 1 << 20

// groupSize is the number of bytes the vectorised compression function of
// the BLAKE3 library takes at once: 16 chunks.
const groupSize = guts.MaxSIMD * guts.ChunkSize

// treeState is the BLAKE3 subtree stack of a file being hashed: the chaining
// values of completed subtrees, at most one per height. It mirrors the state
// inside blake3.Hasher, which cannot be fed precomputed subtrees; holding it
// here lets several cores compute disjoint subtrees and join them afterwards.
type treeState struct {
	stack [64][8]uint32
	// counter is the number of chunks absorbed so far. Its set bits mark
	// which heights of stack hold a subtree.
	counter uint64
}

// push adds the chaining value of a complete subtree of 2^height chunks that
// starts at chunk s.counter, merging it with equal-height subtrees before it.
func (s *treeState) push(cv [8]uint32, height int) {
	i := height
	for s.counter&(1<<i) != 0 {
		cv = guts.ChainingValue(guts.ParentNode(s.stack[i], cv, &guts.IV, 0))
		i++
	}
	s.stack[i] = cv
	s.counter += 1 << height
}

// root finishes the hash with the file's final chunk, which may be partial
// and is empty only for an empty file.
func (s *treeState) root(last []byte) [Size]byte {
	n := guts.CompressChunk(last, &guts.IV, s.counter, 0)
	for i := bits.TrailingZeros64(s.counter); i < bits.Len64(s.counter); i++ {
		if s.counter&(1<<i) != 0 {
			n = guts.ParentNode(s.stack[i], guts.ChainingValue(n), &guts.IV, 0)
		}
	}
	n.Flags |= guts.FlagRoot
	out := guts.WordsToBytes(guts.CompressNode(n))
	var sum [Size]byte
	copy(sum[:], out[:])
	return sum
}

// subtreeCV returns the chaining value of buf, which holds 2^h complete
// chunks starting at chunk counter. It runs on the calling goroutine only:
// blake3.Hasher starts a goroutine per 16 KiB, which costs about a third of
// its throughput, and the callers here already provide the parallelism.
func subtreeCV(buf []byte, counter uint64) [8]uint32 {
	n := len(buf) / guts.ChunkSize
	switch {
	case n == 1:
		return guts.ChainingValue(guts.CompressChunk(buf, &guts.IV, counter, 0))
	case n <= guts.MaxSIMD:
		// The vectorised path reads a whole group even when fewer chunks
		// count, so a short tail is copied into an array of full size.
		var group *[groupSize]byte
		if cap(buf) >= groupSize {
			group = (*[groupSize]byte)(buf[:groupSize])
		} else {
			group = new([groupSize]byte)
			copy(group[:], buf)
		}
		return guts.ChainingValue(guts.CompressBuffer(group, len(buf), &guts.IV, counter, 0))
	default:
		var s treeState
		for off := 0; off < len(buf); off += groupSize {
			g := (*[groupSize]byte)(buf[off : off+groupSize])
			s.push(guts.ChainingValue(guts.CompressBuffer(g, groupSize, &guts.IV, counter+s.counter, 0)), 4)
		}
		// A power-of-two count of groups leaves exactly one subtree.
		return s.stack[bits.TrailingZeros64(s.counter)]
	}
}

// sumOptions tunes sumReaderAt. Tests shrink the segment so that the
// multi-segment paths run on small inputs.
type sumOptions struct {
	segmentSize int
	workers     int
	// buffer returns a scratch buffer of at least segmentSize bytes and
	// release gives it back.
	buffer  func() []byte
	release func([]byte)
}

// sumReaderAt computes the BLAKE3 digest of the first size bytes of r. Whole
// segments are read and hashed by up to opts.workers goroutines, each with
// its own buffer, so that reading and hashing both proceed on every core; the
// final partial segment is hashed by the caller. It fails if r holds fewer
// than size bytes.
func sumReaderAt(ctx context.Context, r io.ReaderAt, size int64, opts sumOptions) ([Size]byte, error) {
	seg := int64(opts.segmentSize)
	segChunks := uint64(seg / guts.ChunkSize)
	segHeight := bits.TrailingZeros64(segChunks)

	chunks := uint64((size + guts.ChunkSize - 1) / guts.ChunkSize)
	if chunks == 0 {
		chunks = 1
	}
	// The final chunk is special (it carries the root flag when alone), so
	// segments cover only the chunks before it.
	nseg := int64((chunks - 1) / segChunks)

	cvs := make([][8]uint32, nseg)
	if err := sumSegments(ctx, r, cvs, opts); err != nil {
		return [Size]byte{}, err
	}
	var s treeState
	for _, cv := range cvs {
		s.push(cv, segHeight)
	}

	buf := opts.buffer()
	defer opts.release(buf)
	off := nseg * seg
	tail := buf[:size-off]
	if err := readFullAt(r, tail, off); err != nil {
		return [Size]byte{}, err
	}
	rest := chunks - 1 - s.counter
	for _, h := range guts.Eigentrees(s.counter, rest) {
		n := (1 << h) * guts.ChunkSize
		s.push(subtreeCV(tail[:n], s.counter), h)
		tail = tail[n:]
	}
	return s.root(tail), nil
}

// sumSegments fills cvs[k] with the chaining value of segment k of r.
func sumSegments(ctx context.Context, r io.ReaderAt, cvs [][8]uint32, opts sumOptions) error {
	if len(cvs) == 0 {
		return nil
	}
	seg := opts.segmentSize
	workers := min(max(opts.workers, 1), len(cvs))
	// A worker that fails cancels the others through ctx.
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	work := func() error {
		buf := opts.buffer()
		defer opts.release(buf)
		buf = buf[:seg]
		for {
			k := next.Add(1) - 1
			if k >= int64(len(cvs)) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			off := k * int64(seg)
			if err := readFullAt(r, buf, off); err != nil {
				return err
			}
			cvs[k] = subtreeCV(buf, uint64(k)*uint64(seg/guts.ChunkSize))
		}
	}
	for range workers {
		g.Go(work)
	}
	return g.Wait()
}

// readFullAt fills buf from r at off. io.ReaderAt may report io.EOF along
// with a full buffer; only a short read is an error, and a file that ends
// early has shrunk since it was measured.
func readFullAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(buf), off, err)
}
