// Package race is the model's answer for a concurrent case (cases.Race):
// not one outcome but the set of legal ones, checked byte by byte.
//
// The rules, for a file the setup ops left as the model predicts (pre):
//
//   - every byte comes from one of the race's ops that covered it (a write,
//     mmap store or O_DIRECT write: its own byte for that offset), or is
//     zero where a truncate below it, a punch or a zero range covered it or
//     where nobody wrote past the old size, or is the setup's byte where no
//     race op covered it at all. So bytes only one op covers are exact,
//     bytes nobody covers are untouched, and poison or garbage is never
//     legal;
//   - buffered writes are atomic with respect to each other and to
//     O_DIRECT writes: every filesystem here takes the inode's i_rwsem
//     exclusively around a buffered write (xfs_file_buffered_write,
//     fs/xfs/xfs_file.c:782-783; ext4_buffered_write_iter,
//     fs/ext4/file.c:294; generic_file_write_iter for ext2,
//     mm/filemap.c:4198 via fs/ext2/file.c:306; gfs2_file_write_iter,
//     fs/gfs2/file.c:1120) and an O_DIRECT write holds it at least shared
//     (xfs_file_dio_write_aligned, fs/xfs/xfs_file.c:594-597). So where two
//     such writes overlap, one of them came last over all of their
//     overlap: if a byte shows A's data where B also wrote, A ran after B,
//     and the "ran after" relation the bytes imply must have no cycle. A
//     torn pair (A's bytes here, B's there, over both) is a cycle. mmap
//     stores take no i_rwsem and are left out of this rule;
//   - appends land where O_APPEND put them (the guest reports each landing
//     offset), whole and, unless a truncate raced, disjoint (the position
//     is taken under i_rwsem, generic_write_checks, fs/read_write.c);
//   - the size is the setup's size grown by the race's extending ops, or,
//     where a truncate raced, one of the sizes an op set that is no smaller
//     than what the last truncating round and the rounds after it must
//     leave.
package race

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// Problem is one rule the file breaks.
type Problem struct {
	// Check: content, atomicity, append, size, guest, model.
	Check  string
	Offset int64 // -1 when not about a byte
	Msg    string
	// ModelZero: a content problem where zero is the only legal byte
	// other than what the ops wrote (garbage where nobody wrote).
	ModelZero bool
}

func (p Problem) String() string {
	if p.Offset >= 0 {
		return fmt.Sprintf("%s at offset %d (%#x): %s", p.Check, p.Offset, p.Offset, p.Msg)
	}
	return p.Check + ": " + p.Msg
}

// Outcome is what the file holds after the race (read from the image).
type Outcome struct {
	Size    int64
	Content []byte
}

// writer is one race op instance that stores bytes.
type writer struct {
	lo, hi int64
	// base is the offset FillData was given for byte lo (appends fill
	// from 0: the guest does not know where they land beforehand).
	base int64
	ro   cases.RaceOp
	// excl: a buffered write (i_rwsem exclusive); shared: O_DIRECT.
	excl, shared bool
}

func (w writer) value(p int64) byte {
	var b [1]byte
	cases.FillData(b[:], w.ro.Index, w.base+(p-w.lo))
	return b[0]
}

// zeroer is a race op that zeroes [lo, hi) (a truncate: everything past
// its target) in round round.
type zeroer struct {
	lo, hi int64
	round  int
}

// Expected is the model's answer for a race: the setup's file and every
// op instance's effect.
type Expected struct {
	Pre     []byte
	PreSize int64
	writers []writer
	zeroers []zeroer
	// sizeCands are sizes some op may have left; minSize is the least the
	// final size may be; exact is set when no truncate raced.
	sizeCands map[int64]bool
	minSize   int64
	exact     bool
}

// Expect builds the answer from the setup ops (run through the model) and
// the race, with the landing offsets of the appends the guest reported.
func Expect(g reference.Geometry, setup []cases.Op, r *cases.Race, rr *cases.RaceResult) (*Expected, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	m, err := reference.Run(g, setup)
	if err != nil {
		return nil, fmt.Errorf("setup ops: %w", err)
	}
	e := &Expected{Pre: m.Content(), PreSize: m.Size(), sizeCands: map[int64]bool{m.Size(): true}}
	appendsSeen := make([]int, len(r.Threads))
	lastTR := -1
	var ends []struct {
		round int
		end   int64
	}
	var targets []cases.RaceOp
	for _, ro := range r.Instances() {
		o := ro.O
		switch o.Kind {
		case cases.PWrite, cases.Writev, cases.DirectWrite, cases.MmapWrite:
			if o.Kind == cases.MmapWrite && o.Off+o.Len > e.PreSize {
				// The guest would ftruncate first, racing the other
				// threads' size changes: not a race we can bound.
				return nil, fmt.Errorf("%s: an mmap store in a race must lie within the size the setup leaves (%d)", ro, e.PreSize)
			}
			e.writers = append(e.writers, writer{lo: o.Off, hi: o.Off + o.Len, base: o.Off, ro: ro,
				excl: o.Kind == cases.PWrite || o.Kind == cases.Writev, shared: o.Kind == cases.DirectWrite})
			ends = append(ends, struct {
				round int
				end   int64
			}{ro.Round, o.Off + o.Len})
		case cases.Append:
			if rr == nil || ro.Thread >= len(rr.Threads) || appendsSeen[ro.Thread] >= len(rr.Threads[ro.Thread].Appends) {
				return nil, fmt.Errorf("%s: the guest reported no landing offset for this append", ro)
			}
			at := rr.Threads[ro.Thread].Appends[appendsSeen[ro.Thread]]
			appendsSeen[ro.Thread]++
			e.writers = append(e.writers, writer{lo: at, hi: at + o.Len, base: 0, ro: ro, excl: true})
			ends = append(ends, struct {
				round int
				end   int64
			}{ro.Round, at + o.Len})
		case cases.Truncate:
			e.zeroers = append(e.zeroers, zeroer{o.Off, 1 << 62, ro.Round})
			targets = append(targets, ro)
			lastTR = max(lastTR, ro.Round)
		case cases.PunchHole:
			e.zeroers = append(e.zeroers, zeroer{o.Off, o.Off + o.Len, ro.Round})
		case cases.ZeroRange, cases.Fallocate:
			if o.Kind == cases.ZeroRange {
				e.zeroers = append(e.zeroers, zeroer{o.Off, o.Off + o.Len, ro.Round})
			}
			if !o.KeepSize {
				ends = append(ends, struct {
					round int
					end   int64
				}{ro.Round, o.Off + o.Len})
			}
		}
	}
	for t, th := range r.Threads {
		if rr != nil && t < len(rr.Threads) && appendsSeen[t] != len(rr.Threads[t].Appends) {
			return nil, fmt.Errorf("race thread %d: the guest reported %d append landings, the race ran %d appends", t, len(rr.Threads[t].Appends), appendsSeen[t])
		}
		_ = th
	}
	e.exact = lastTR < 0
	e.minSize = e.PreSize
	if e.exact {
		for _, x := range ends {
			e.minSize = max(e.minSize, x.end)
		}
		return e, nil
	}
	// A truncate raced: the last round with one leaves at least its
	// smallest target, and later rounds' extending ops happen after it.
	lowest := int64(1 << 62)
	for _, ro := range targets {
		e.sizeCands[ro.O.Off] = true
		if ro.Round == lastTR {
			lowest = min(lowest, ro.O.Off)
		}
	}
	e.minSize = lowest
	for _, x := range ends {
		e.sizeCands[x.end] = true
		if x.round > lastTR {
			e.minSize = max(e.minSize, x.end)
		}
	}
	return e, nil
}

// Check holds an outcome against the answer and returns every rule it
// breaks (nil: a legal outcome).
func (e *Expected) Check(got Outcome) []Problem {
	var ps []Problem
	ps = append(ps, e.checkSize(got.Size)...)
	ps = append(ps, e.checkAppends()...)
	content, edges := e.checkContent(got.Content)
	ps = append(ps, content...)
	ps = append(ps, e.checkOrder(edges)...)
	return ps
}

func (e *Expected) checkSize(size int64) []Problem {
	if e.exact {
		if size != e.minSize {
			return []Problem{{Check: "size", Offset: -1, Msg: fmt.Sprintf("size %d; no truncate raced, so it must be %d (the setup's %d grown by the race's writes)", size, e.minSize, e.PreSize)}}
		}
		return nil
	}
	if !e.sizeCands[size] || size < e.minSize {
		var legal []int64
		for s := range e.sizeCands {
			if s >= e.minSize {
				legal = append(legal, s)
			}
		}
		slices.Sort(legal)
		return []Problem{{Check: "size", Offset: -1, Msg: fmt.Sprintf("size %d is no size an op of the race could leave; legal: %v", size, legal)}}
	}
	return nil
}

// checkAppends: appends landed disjoint, unless a truncate raced (a
// truncate between two appends moves EOF back under the first).
func (e *Expected) checkAppends() []Problem {
	if !e.exact {
		return nil
	}
	var aps []writer
	for _, w := range e.writers {
		if w.ro.O.Kind == cases.Append {
			aps = append(aps, w)
		}
	}
	sort.Slice(aps, func(i, j int) bool { return aps[i].lo < aps[j].lo })
	for i := 1; i < len(aps); i++ {
		if aps[i].lo < aps[i-1].hi {
			return []Problem{{Check: "append", Offset: aps[i].lo, Msg: fmt.Sprintf("%s landed at %d, inside %s at [%d, %d): O_APPEND positions must not overlap",
				aps[i].ro, aps[i].lo, aps[i-1].ro, aps[i-1].lo, aps[i-1].hi)}}
		}
	}
	return nil
}

// checkContent checks every byte against its legal values and collects
// the order the bytes imply between atomic writes.
func (e *Expected) checkContent(got []byte) ([]Problem, map[[2]int]int64) {
	// Segments between consecutive boundaries have one set of covering
	// writers and zeroers.
	bounds := []int64{0, int64(len(got)), e.PreSize}
	for _, w := range e.writers {
		bounds = append(bounds, w.lo, w.hi)
	}
	for _, z := range e.zeroers {
		bounds = append(bounds, z.lo, min(z.hi, int64(len(got))))
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	edges := map[[2]int]int64{}
	var ps []Problem
	var bad struct {
		lo, hi int64
		n      int64
		legal  string
		got    []byte
		zero   bool
	}
	bad.lo = -1
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], min(bounds[i+1], int64(len(got)))
		if a >= int64(len(got)) {
			break
		}
		var ws []int
		for k, w := range e.writers {
			if w.lo <= a && b <= w.hi {
				ws = append(ws, k)
			}
		}
		// A zeroing op can only have cut what was written by its round:
		// rounds are barriers, later rounds' writes came after it.
		lastW := -1
		for _, k := range ws {
			lastW = max(lastW, e.writers[k].ro.Round)
		}
		zeroed := false
		for _, z := range e.zeroers {
			if z.lo <= a && b <= z.hi && z.round >= lastW {
				zeroed = true
			}
		}
		zeroOK := zeroed || (len(ws) == 0 && a >= e.PreSize)
		preOK := len(ws) == 0 && !zeroed && a < e.PreSize
		for p := a; p < b; p++ {
			v := got[p]
			match := -1
			matches := 0
			for _, k := range ws {
				if e.writers[k].value(p) == v {
					match, matches = k, matches+1
				}
			}
			ok := matches > 0 || (zeroOK && v == 0) || (preOK && v == e.Pre[p])
			if !ok {
				if bad.lo < 0 {
					bad.lo, bad.hi, bad.legal, bad.zero = p, p+1, e.describe(ws, zeroOK, preOK, p), len(ws) == 0 && !preOK
				}
				if p == bad.hi && p-bad.lo < 16 {
					bad.got = append(bad.got, v)
				}
				if p == bad.hi {
					bad.hi = p + 1
				}
				bad.n++
				continue
			}
			// A byte only one atomic writer can explain orders it after
			// every other atomic writer over it.
			ambiguous := (zeroOK && v == 0) || (preOK && v == e.Pre[p])
			if matches != 1 || ambiguous {
				continue
			}
			wa := e.writers[match]
			if !wa.excl && !wa.shared {
				continue
			}
			for _, k := range ws {
				wb := e.writers[k]
				if k == match || (!wb.excl && !wb.shared) || (!wa.excl && !wb.excl) {
					continue
				}
				key := [2]int{match, k}
				if _, seen := edges[key]; !seen {
					edges[key] = p
				}
			}
		}
	}
	if bad.lo >= 0 {
		if len(bad.got) == 0 {
			bad.got = []byte{got[bad.lo]}
		}
		ps = append(ps, Problem{Check: "content", Offset: bad.lo, ModelZero: bad.zero,
			Msg: fmt.Sprintf("%d byte(s) are no legal outcome, the first run [%d, %d): got % x; legal there: %s",
				bad.n, bad.lo, bad.hi, bad.got, bad.legal)})
	}
	return ps, edges
}

// describe lists the legal sources of byte p.
func (e *Expected) describe(ws []int, zeroOK, preOK bool, p int64) string {
	var parts []string
	for _, k := range ws {
		w := e.writers[k]
		parts = append(parts, fmt.Sprintf("%02x from %s", w.value(p), w.ro))
	}
	if zeroOK {
		parts = append(parts, "00 (zeroed or never written)")
	}
	if preOK {
		parts = append(parts, fmt.Sprintf("%02x from the setup ops", e.Pre[p]))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// checkOrder finds a cycle in the "ran after" relation between atomic
// writes (edges[{a, b}] = an offset whose byte shows a ran after b). A
// cycle means some write was not atomic: its bytes were interleaved with
// another's.
func (e *Expected) checkOrder(edges map[[2]int]int64) []Problem {
	next := map[int][]int{}
	for k := range edges {
		next[k[0]] = append(next[k[0]], k[1])
	}
	for _, n := range next {
		slices.Sort(n)
	}
	nodes := make([]int, 0, len(next))
	for n := range next {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	const (
		white = iota
		grey
		black
	)
	colour := map[int]int{}
	var stack []int
	var cycle []int
	var visit func(n int) bool
	visit = func(n int) bool {
		colour[n] = grey
		stack = append(stack, n)
		for _, m := range next[n] {
			switch colour[m] {
			case grey:
				i := slices.Index(stack, m)
				cycle = append([]int(nil), stack[i:]...)
				return true
			case white:
				if visit(m) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		colour[n] = black
		return false
	}
	for _, n := range nodes {
		if colour[n] == white && visit(n) {
			break
		}
	}
	if cycle == nil {
		return nil
	}
	var parts []string
	first := int64(-1)
	for i, a := range cycle {
		b := cycle[(i+1)%len(cycle)]
		off := edges[[2]int{a, b}]
		if first < 0 {
			first = off
		}
		parts = append(parts, fmt.Sprintf("%s ran after %s (byte %d)", e.writers[a].ro, e.writers[b].ro, off))
	}
	return []Problem{{Check: "atomicity", Offset: first, Msg: "writes serialised by i_rwsem were interleaved, the bytes imply a cycle: " + strings.Join(parts, "; ")}}
}
