package cases

import (
	"math/rand"

	"github.com/iomapct/iomapct/filesystems"
)

// Random sequences with a second file. Half of the seeds (chosen by a
// generator of their own, so the other half draw exactly the sequences
// they drew before files were numbered) mix in ops on file 1 and ops
// between the two files: copy_file_range everywhere, and on xfs clone,
// dedupe and unshare. The sizes of both files are tracked, so every clone
// and dedupe is one the kernel accepts (aligned, within the source's EOF,
// a partial EOF block only at or past the destination's EOF).

// multiGen draws the second-file ops of one sequence.
type multiGen struct {
	r     *rand.Rand
	on    bool
	size1 int64
}

func newMultiGen(seed int64) *multiGen {
	r := rand.New(rand.NewSource(seed*7919 + 104729))
	return &multiGen{r: r, on: r.Intn(2) == 0}
}

// maybe returns the ops to put before the next base op (most often none).
func (mg *multiGen) maybe(g *randomGen) []Op {
	if !mg.on || mg.r.Intn(4) != 0 {
		return nil
	}
	xfs := filesystems.Get(g.fs).Caps.Reflink
	bs := g.bs
	switch k := mg.r.Intn(10); {
	case k < 3:
		off := mg.offset(g, mg.size1)
		n := min(1+mg.r.Int63n(4*bs), RandomMaxSize-off)
		mg.size1 = max(mg.size1, off+n)
		return ops(on(1, pwrite(off, n)))
	case k == 3:
		if mg.r.Intn(2) == 0 {
			return ops(on(1, fsyncOp))
		}
		size := mg.offset(g, mg.size1)
		mg.size1 = size
		return ops(on(1, truncate(size)))
	case k < 6:
		return mg.copyRange(g)
	case xfs && k < 8:
		return mg.clone(g)
	case xfs && k == 8:
		return mg.dedupe(g)
	case xfs:
		f := mg.r.Intn(2)
		size := []int64{g.size, mg.size1}[f]
		off := mg.offset(g, size)
		n := min(1+mg.r.Int63n(8*bs), RandomMaxSize-off)
		o := on(f, unshare(off, n))
		if mg.r.Intn(2) == 0 {
			o.KeepSize = false
			if f == 0 {
				g.size = max(g.size, off+n)
			} else {
				mg.size1 = max(mg.size1, off+n)
			}
		}
		return ops(o)
	}
	return nil
}

// offset picks an offset in the file of size size: near EOF or anywhere
// in it, block aligned half the time.
func (mg *multiGen) offset(g *randomGen, size int64) int64 {
	var off int64
	if size > 0 && mg.r.Intn(3) > 0 {
		off = mg.r.Int63n(size)
	} else {
		off = size + mg.r.Int63n(2*g.bs)
	}
	if mg.r.Intn(2) == 0 {
		off = off / g.bs * g.bs
	}
	return min(off, RandomMaxSize-1)
}

// dir picks the source and destination files and their sizes.
func (mg *multiGen) dir(g *randomGen) (src, dst int, ssize, dsize int64) {
	if mg.r.Intn(3) == 0 {
		return 1, 0, mg.size1, g.size
	}
	return 0, 1, g.size, mg.size1
}

func (mg *multiGen) setSize(g *randomGen, f int, v int64) {
	if f == 0 {
		g.size = max(g.size, v)
	} else {
		mg.size1 = max(mg.size1, v)
	}
}

func (mg *multiGen) copyRange(g *randomGen) []Op {
	src, dst, ssize, dsize := mg.dir(g)
	if ssize == 0 {
		return nil
	}
	soff := mg.r.Int63n(ssize)
	if mg.r.Intn(2) == 0 {
		soff = soff / g.bs * g.bs
	}
	doff := mg.offset(g, dsize)
	n := 1 + mg.r.Int63n(8*g.bs)
	if mg.r.Intn(3) == 0 {
		n = ssize - soff + mg.r.Int63n(g.bs) // to the source's EOF or past it
	}
	n = max(1, min(n, RandomMaxSize-doff))
	if got := min(n, ssize-soff); got > 0 {
		mg.setSize(g, dst, doff+got)
	}
	return ops(copyRange(src, soff, dst, doff, n))
}

func (mg *multiGen) clone(g *randomGen) []Op {
	bs := g.bs
	src, dst, ssize, dsize := mg.dir(g)
	if ssize < bs {
		return nil
	}
	soff := mg.r.Int63n(ssize/bs) * bs
	doff := soff // same offsets most of the time, so later dedupes find equal bytes
	if mg.r.Intn(3) == 0 {
		doff = mg.r.Int63n((dsize+2*bs)/bs+1) * bs
	}
	var n int64
	whole := (ssize - soff) / bs
	if eof := soff + (ssize - soff); mg.r.Intn(3) == 0 && doff+(eof-soff) >= dsize {
		n = ssize - soff // through the source's partial EOF block
	} else if whole > 0 {
		n = (1 + mg.r.Int63n(whole)) * bs
	} else {
		return nil
	}
	if doff+n > RandomMaxSize {
		return nil
	}
	mg.setSize(g, dst, doff+n)
	return ops(clone(src, soff, dst, doff, n))
}

func (mg *multiGen) dedupe(g *randomGen) []Op {
	bs := g.bs
	src, dst, ssize, dsize := mg.dir(g)
	lim := min(ssize, dsize) / bs
	if lim == 0 {
		return nil
	}
	off := mg.r.Int63n(lim) * bs
	n := (1 + mg.r.Int63n(lim-off/bs)) * bs
	return ops(dedupe(src, off, dst, off, n))
}
