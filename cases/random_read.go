package cases

import "github.com/iomapct/iomapct/filesystems"

// nextReadShiftSync draws a read, a range shift or a sync write. The
// generator's size is exact for what it draws, so a shift is drawn only
// where the kernel accepts it (block-aligned; collapse ending before EOF,
// insert starting before it) and a RWF_NOWAIT write only inside EOF, where
// an EAGAIN or a short count leaves the size as it was.
func (g *randomGen) nextReadShiftSync(k Kind) []Op {
	switch k {
	case Read:
		off := g.offset()
		n := min(g.length(), MaxReadLen, RandomMaxSize-off)
		return ops(read(off, n))
	case MapRead:
		limit := min((g.size+pageSize-1)/pageSize*pageSize, RandomMaxSize)
		if limit == 0 {
			return g.nextReadShiftSync(Read)
		}
		off := min(g.offset(), limit-1)
		n := min(g.length(), MaxReadLen, limit-off)
		return ops(mapread(off, n))
	case Collapse:
		n := g.shiftLen()
		if g.size/g.bs*g.bs <= n {
			return g.nextReadShiftSync(Read)
		}
		// off + n < size: off in [0, size - n), block-aligned.
		last := (g.size - n - 1) / g.bs
		off := g.r.Int63n(last+1) * g.bs
		g.size -= n
		return ops(collapse(off, n))
	case Insert:
		n := g.shiftLen()
		if g.size == 0 || g.size+n > RandomMaxSize {
			return g.nextReadShiftSync(Read)
		}
		last := (g.size - 1) / g.bs
		off := g.r.Int63n(last+1) * g.bs
		g.size += n
		return ops(insert(off, n))
	}
	off, n := g.span()
	switch g.r.Intn(6) {
	case 0:
		return g.grow(pwriteSync(off, n, "osync"))
	case 1:
		return g.grow(pwriteSync(off, n, "odsync"))
	case 2:
		return g.grow(pwritev2(off, n, "dsync"))
	case 3:
		return g.grow(pwritev2(off, n, "sync"))
	case 4:
		n = max(1, min(n, RandomMaxSize-g.size))
		g.size += n
		if g.r.Intn(2) == 0 {
			return ops(pwritev2(0, n, "append"))
		}
		return ops(pwritev2(0, n, "dsync,append"))
	}
	if filesystems.Get(g.fs).Caps.NoWait && g.size > 0 {
		off = min(off, g.size-1)
		n = max(1, min(n, g.size-off))
		return ops(pwritev2(off, n, "nowait"))
	}
	return g.grow(pwritev2(off, n, "dsync"))
}

// shiftLen picks a range-shift length: one to four blocks, or a page or a
// 16 KiB run (folio edges).
func (g *randomGen) shiftLen() int64 {
	switch g.r.Intn(4) {
	case 0:
		return max(g.bs, pageSize)
	case 1:
		return max(g.bs, 16<<10)
	}
	return (1 + g.r.Int63n(4)) * g.bs
}
