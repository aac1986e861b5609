// Package cache is Lattice's local cache of stage outputs. It owns one
// directory (by default ~/.cache/lattice, or $LATTICE_CACHE) and maps an
// action key — the digest of a stage's complete description, computed by the
// compiler — to the outputs that running the stage produced.
//
// # Layout
//
// The cache has three levels, each pointing only at the one below it:
//
//	actions/<hh>/<hex>  action entries, named by action key
//	trees/<hh>/<hex>    directory manifests (digest.Manifest text), named by
//	                    the manifest's digest
//	blobs/<hh>/<hex>    file contents, named by their BLAKE3 digest, mode 0444
//	tmp/                files being written; anything here is garbage
//	README              says the directory may be deleted at any time
//
// <hh> is the first two hex digits of <hex>; it keeps directories small.
// A digest whose algorithm is not BLAKE3 is named "<algo>-<hex>" instead.
//
// An action entry is a few lines of text (see Entry) ending in a checksum
// line, so that truncation, bit flips and garbage are all detected.
//
// # Invariants
//
//   - Data is written before the index that points to it: every blob of a
//     tree before the tree, every blob and tree of an entry before the entry.
//     Each file is written whole to a temporary name, synced, then renamed
//     into place, so a crash (even kill -9) at any moment leaves no entry
//     that points at missing or partial data. Because a file's data is
//     synced before its rename, even a power failure cannot leave a blob
//     with the right name and size but the wrong bytes; at worst it loses a
//     rename, which Get sees as a missing object, hence a miss.
//   - Objects are immutable once named. A name is the digest of the content,
//     so two writers of the same object write the same bytes, and whichever
//     rename lands last is as good as the first.
//   - Anything unreadable, corrupt or incomplete is a miss, never an error:
//     Get checks that an entry's checksum holds and that every object it
//     references exists with the recorded size. It does not re-hash blobs;
//     Verify does.
//   - Trim deletes entries before the objects they reference and never
//     deletes an object a surviving entry references, so an interrupted Trim
//     leaves a consistent cache. Objects that no entry references are kept
//     for a day, and objects written or reused since Trim began are kept
//     regardless, because a Put may be about to write the entry that refers
//     to them.
//   - Sources are copied into the cache, never moved or linked, so the
//     files a stage wrote stay usable and later edits to them cannot reach
//     the cache.
//
// The cache keeps no state in memory between calls; every method of Cache
// is safe for concurrent use by several goroutines, and several processes
// may share one directory. The worst a race between Trim and Put can do is
// turn the new entry into a miss.
//
// # Restoring outputs
//
// Restore materialises an output by reflink (FICLONE) where the filesystem
// supports it, else by a hard link to the blob, else by copying. Restored
// files are read-only (0444, or 0555 for executables) whichever method was
// used: a hard link shares the blob's inode, so a writable restored file
// would let an edit in the workspace corrupt the cache. Executable files are
// never hard-linked, because the shared inode would carry the blob's 0444
// mode; they are reflinked or copied instead.
package cache
