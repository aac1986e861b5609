// Package digest owns content digests: the Digest type, the hashing of files
// and directory trees, the manifests that describe trees, the stat cache
// that spares re-reading unchanged files, and the store that keeps
// manifests by digest.
//
// Both the compiler (which pins dataset digests into a plan) and the
// executor (which digests stage outputs) import it, so it is a leaf: it
// imports only the standard library, the BLAKE3 implementation and
// golang.org/x packages. A test enforces this.
//
// Invariants:
//
//   - A Digest always names its algorithm; its text form is "algo:hex" with
//     lowercase hex. Inside the code digests are fixed-size arrays.
//   - A file's digest is the BLAKE3 hash of its bytes, however it was
//     computed: serially, in parallel segments, or recalled from the stat
//     cache.
//   - A directory's digest is the digest of its Manifest's canonical text:
//     one line per regular file or symlink, sorted by slash-separated path
//     relative to the directory, carrying kind (file, executable, symlink),
//     size and digest. It does not depend on where the tree lives, on file
//     times or ownership, on the order files were created in, or on empty
//     directories.
//   - The stat cache is an optimisation only. An entry is used only when
//     the file's size, modification and change times, inode, device and
//     mode all match, and only when it was recorded at least two seconds
//     after the file's modification time, so a file rewritten within one
//     timestamp tick of being hashed is read again. A cache file that is
//     missing, truncated, of another version or fails its checksum is
//     ignored, never trusted, and never an error.
//   - Files that this package writes (stat cache, manifests) are written
//     whole and atomically: temporary file, fsync, rename, fsync of the
//     directory. Readers see the old content or the new, never a mixture.
package digest
