package cases

// Writes spanning many folios and extents: iomap_iter (fs/iomap/iter.c) and
// iomap_write_iter split them per extent then per folio; xfs uses large
// folios (mapping_set_large_folios), so one write can touch several folio
// sizes. File sizes stay at or below 4 MiB: every case of a run shares one
// 64 MiB image.
var largeCases = []Case{
	{
		Name: "large-1mib-aligned",
		Doc:  "one 1 MiB pwrite at offset 0 into an empty file: many folios, one extent (iomap_write_iter's chunking)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 1<<20), fsyncOp) },
	},
	{
		Name: "large-1mib-unaligned",
		Doc:  "a 1 MiB + 20 byte pwrite starting 7 bytes before a page boundary: partial first and last blocks around many whole folios",
		Gen:  func(bs int64) []Op { return ops(pwrite(pageSize-7, 1<<20+20), fsyncOp) },
	},
	{
		Name: "large-fragmented-fill",
		Doc:  "every other block of 64 written and synced, then one write from mid block 0 to mid block 63 fills the holes: the write alternates MAPPED and HOLE mappings (iomap_iter per extent)",
		Gen: func(bs int64) []Op {
			var o []Op
			for b := int64(0); b < 64; b += 2 {
				o = append(o, pwrite(b*bs, bs))
			}
			return append(o, fsyncOp, pwrite(bs/2, 63*bs), fsyncOp)
		},
	},
	{
		Name: "large-fragmented-cold-overwrite",
		Doc:  "every other block written, caches dropped, then a 1 MiB unaligned write over the lot: edge blocks read if mapped, zeroed if holes",
		Gen: func(bs int64) []Op {
			var o []Op
			for b := int64(1); b < 48; b += 2 {
				o = append(o, pwrite(b*bs+bs/4, bs/2))
			}
			return append(o, dropCachesOp, pwrite(bs/3, 1<<20), fsyncOp)
		},
	},
	{
		Name: "large-sparse-then-span",
		Doc:  "one byte every 64 KiB up to 2 MiB, then a 1 MiB write spanning many of them: alternating small extents and long holes",
		Gen: func(bs int64) []Op {
			var o []Op
			for off := int64(100); off < 2<<20; off += 64 << 10 {
				o = append(o, pwrite(off, 1))
			}
			return append(o, fsyncOp, pwrite(300<<10+1, 1<<20), fsyncOp)
		},
	},
	{
		Name: "large-2mib-folio-boundary",
		Doc:  "4 MiB written (xfs may cache it in PMD-size folios), synced, caches dropped, then a write straddling the 2 MiB boundary",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4<<20), fsyncOp, dropCachesOp, pwrite(2<<20-3, 6), fsyncOp)
		},
	},
	{
		Name: "large-truncate-middle",
		Doc:  "1 MiB written, truncated to an unaligned point in the middle, then grown back: the tail of the new EOF block is zero and the rest reads zero",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 1<<20), fsyncOp, truncate(300<<10+5), truncate(1<<20), fsyncOp)
		},
	},
}
