package cases

import (
	"fmt"
	"math/rand"

	"github.com/iomapct/iomapct/filesystems"
)

// RandomMaxSize bounds the file a random sequence builds: big enough for
// several extents and large folios, small enough that many sequences share
// one 64 MiB image and the model stays fast.
const RandomMaxSize = 512 << 10

// randomKind is one entry of the generator's menu: a kind, its weight, and
// the filesystems that lack it.
type randomKind struct {
	kind   Kind
	weight int
	// needs says which filesystems have the op (nil: all of them).
	needs func(filesystems.Caps) bool
}

func hasFallocate(c filesystems.Caps) bool { return c.Fallocate }
func hasZeroRange(c filesystems.Caps) bool { return c.ZeroRange }
func hasShift(c filesystems.Caps) bool     { return c.Shift }

// The menu, fsx-like: mostly writes and size changes, some flushes and
// cache drops so partial writes meet cold caches, rare remounts (each one
// is an unmount/mount in the guest).
var randomMenu = []randomKind{
	{PWrite, 30, nil},
	{Writev, 6, nil},
	{Append, 4, nil},
	{DirectWrite, 4, nil},
	{ShortCopy, 3, nil},
	{MmapWrite, 5, nil},
	{PolluteEOF, 4, nil},
	{Truncate, 10, nil},
	{Fallocate, 5, hasFallocate},
	{PunchHole, 5, hasFallocate},
	{ZeroRange, 5, hasZeroRange},
	{Fsync, 3, nil},
	{Fdatasync, 2, nil},
	{Sync, 1, nil},
	{DropCaches, 3, nil},
	{Remount, 1, nil},
	// Reads, range shifts and sync writes (random_read.go).
	{Read, 5, nil},
	{MapRead, 3, nil},
	{Collapse, 2, hasShift},
	{Insert, 2, hasShift},
	{PWritev2, 4, nil},
}

// randomGen holds the state of one generation: the file size so far decides
// where "near EOF" is and keeps the file bounded.
type randomGen struct {
	r    *rand.Rand
	bs   int64
	fs   string
	size int64
	menu []randomKind
	sum  int
}

// Random returns n ops drawn from seed, valid on filesystem fs with block
// size bs: no fallocate family on ext2, no zero range on gfs2, O_DIRECT
// writes aligned to bs in offset and length, the file never above
// RandomMaxSize. On gfs2 a quarter of the seeds start with chattr +j (on the
// empty file, as gfs2 jdata needs) and then use no O_DIRECT and no
// fallocate or punch hole, which jdata files refuse. The same arguments give the same ops.
func Random(seed int64, n int, bs int64, fs string) []Op {
	g := &randomGen{r: rand.New(rand.NewSource(seed)), bs: bs, fs: fs}
	n = max(n, 0) // a negative count is no ops, not a panic
	out := make([]Op, 0, n)
	caps := filesystems.Get(fs).Caps
	jdata := caps.JournalData && n > 0 && g.r.Intn(4) == 0
	if jdata {
		out = append(out, jdataOp)
	}
	mg := newMultiGen(seed)
	for _, k := range randomMenu {
		if k.needs != nil && !k.needs(caps) || (jdata && jdataLacks(k.kind)) {
			continue
		}
		// No polluteeof in a sequence with a second file: the recorded
		// garbage findings are modelled per file (reference/deviation.go),
		// and their garbage carried into the other file by
		// copy_file_range could not be told from a new bug.
		if mg.on && k.kind == PolluteEOF {
			continue
		}
		g.menu = append(g.menu, k)
		g.sum += k.weight
	}
	for len(out) < n {
		for _, o := range append(mg.maybe(g), g.next()...) {
			if len(out) < n {
				out = append(out, o)
			}
		}
	}
	return out
}

// jdataLacks reports the ops a gfs2 jdata file refuses: gfs2_open_common
// grants FMODE_CAN_ODIRECT only to non-jdata files (gfs2/file.c:636-637, so
// open(O_DIRECT) fails with EINVAL), and gfs2_fallocate returns EOPNOTSUPP
// for jdata (file.c:1388-1389), punch hole included.
func jdataLacks(k Kind) bool {
	return k == DirectWrite || k == Fallocate || k == PunchHole
}

// next draws one op (two for an mmap store past EOF, which needs the file
// extended first, as fsx's domapwrite does) and tracks the size.
func (g *randomGen) next() []Op {
	w := g.r.Intn(g.sum)
	var k Kind
	for _, e := range g.menu {
		if w < e.weight {
			k = e.kind
			break
		}
		w -= e.weight
	}
	switch k {
	case PWrite:
		off, n := g.span()
		return g.grow(pwrite(off, n))
	case Writev:
		off, n := g.span()
		return g.grow(writev(off, g.segments(n)...))
	case Append:
		n := g.length()
		if g.size+n > RandomMaxSize {
			n = max(1, RandomMaxSize-g.size)
		}
		g.size += n
		return ops(appendOp(n))
	case DirectWrite:
		off := g.r.Int63n(RandomMaxSize/g.bs) * g.bs
		n := (1 + g.r.Int63n(8)) * g.bs
		if off+n > RandomMaxSize {
			off = RandomMaxSize - n
		}
		return g.grow(dwrite(off, n))
	case ShortCopy:
		off, n := g.span()
		if n < 2 {
			n, off = 2, min(off, RandomMaxSize-2)
		}
		o := shortcopy(off, n, 1+g.r.Int63n(n-1))
		// Only the copied prefix arrives, so only it can move EOF.
		g.size = max(g.size, off+o.Copied)
		return ops(o)
	case MmapWrite:
		off, n := g.span()
		var pre []Op
		if off+n > g.size {
			pre = ops(truncate(off + n))
		}
		return append(pre, g.grow(mmapw(off, n))...)
	case PolluteEOF:
		return ops(pollute)
	case Truncate:
		size := g.offset()
		g.size = size
		return ops(truncate(size))
	case Fallocate:
		off, n := g.span()
		if g.r.Intn(2) == 0 {
			return ops(fallocKeep(off, n))
		}
		return g.grow(falloc(off, n))
	case PunchHole:
		off, n := g.span()
		return ops(punch(off, n))
	case ZeroRange:
		off, n := g.span()
		if g.r.Intn(2) == 0 {
			return ops(zeroKeep(off, n))
		}
		return g.grow(zero(off, n))
	case Fsync:
		return ops(fsyncOp)
	case Fdatasync:
		return ops(fdatasyncOp)
	case Sync:
		return ops(syncOp)
	case DropCaches:
		return ops(dropCachesOp)
	case Remount:
		return ops(remountOp)
	case Read, MapRead, Collapse, Insert, PWritev2:
		return g.nextReadShiftSync(k)
	}
	panic("random: menu kind " + string(k) + " has no generator")
}

// grow records a size-extending op's effect on the size.
func (g *randomGen) grow(o Op) []Op {
	if end := o.Off + o.Len; end > g.size {
		g.size = end
	}
	return ops(o)
}

// offset picks a file offset: near EOF half the time (where the EOF rules
// live), else anywhere; block-aligned or a block edge often, since the
// interesting cases sit at block boundaries.
func (g *randomGen) offset() int64 {
	var off int64
	switch g.r.Intn(4) {
	case 0, 1:
		off = g.size + g.r.Int63n(4*g.bs) - 2*g.bs
	default:
		off = g.r.Int63n(RandomMaxSize)
	}
	switch g.r.Intn(4) {
	case 0:
		off = off / g.bs * g.bs
	case 1:
		off = off/g.bs*g.bs + g.bs - 1 - g.r.Int63n(3)
	}
	return min(max(off, 0), RandomMaxSize-1)
}

// length picks a write length: mostly under four blocks, sometimes up to
// 64 KiB so that writes span folios and extents.
func (g *randomGen) length() int64 {
	if g.r.Intn(8) == 0 {
		return 1 + g.r.Int63n(64<<10)
	}
	n := 1 + g.r.Int63n(4*g.bs)
	if g.r.Intn(4) == 0 {
		n = max(1, n/g.bs*g.bs)
	}
	return n
}

// span picks an in-bounds [off, off+n) with n >= 1.
func (g *randomGen) span() (int64, int64) {
	off := g.offset()
	n := min(g.length(), RandomMaxSize-off)
	return off, n
}

// segments splits n into 1..16 positive iovec lengths.
func (g *randomGen) segments(n int64) []int64 {
	k := min(int64(1+g.r.Intn(16)), n)
	segs := make([]int64, 0, k)
	left := n
	for i := int64(0); i < k-1; i++ {
		// Leave at least one byte for each remaining segment.
		s := 1 + g.r.Int63n(left-(k-1-i))
		segs = append(segs, min(s, left-(k-1-i)))
		left -= segs[len(segs)-1]
	}
	return append(segs, left)
}

// RandomCases wraps Random as catalogue-shaped cases, one per seed, named
// random-<fs>-<seed> and restricted to fs (a random sequence is drawn for
// one filesystem: the ops it may use differ). The runner can run them like
// any case; Gen draws the sequence for the block size it is given.
func RandomCases(fs string, seeds []int64, n int) []Case {
	out := make([]Case, 0, len(seeds))
	for _, seed := range seeds {
		seed := seed
		out = append(out, Case{
			Name: fmt.Sprintf("random-%s-%d", fs, seed),
			Doc:  fmt.Sprintf("%d random fsx-style ops drawn from seed %d for %s (Random)", n, seed, fs),
			Only: []string{fs},
			Gen:  func(bs int64) []Op { return Random(seed, n, bs, fs) },
		})
	}
	return out
}
