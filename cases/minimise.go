package cases

// Minimise shrinks a failing op sequence: fails(ops) must be true for the
// input. It first runs delta debugging (Zeller's ddmin) over the op list,
// removing chunks of ops, then shrinks each remaining op on its own
// (shorter lengths, smaller offsets, fewer iovec segments, KEEP_SIZE
// dropped), and repeats both until nothing more can be removed. Every
// candidate it keeps still fails, so the result fails too. fails is called
// only with ops that pass Validate; O_DIRECT writes keep the alignment their
// offset and length had.
func Minimise(ops []Op, fails func([]Op) bool) []Op {
	cur := append([]Op(nil), ops...)
	for {
		before := len(cur)
		cur = ddmin(cur, fails)
		shrunk := false
		cur, shrunk = shrinkOps(cur, fails)
		if !shrunk && len(cur) == before {
			return cur
		}
	}
}

// ddmin removes chunks of ops while the rest still fails, refining the chunk
// size from halves down to single ops.
func ddmin(ops []Op, fails func([]Op) bool) []Op {
	n := 2
	for len(ops) >= 2 {
		chunk := (len(ops) + n - 1) / n
		removed := false
		for start := 0; start < len(ops); start += chunk {
			end := min(start+chunk, len(ops))
			// Try the complement first: it removes the most.
			cand := append(append([]Op(nil), ops[:start]...), ops[end:]...)
			if len(cand) > 0 && fails(cand) {
				ops = cand
				n = max(n-1, 2)
				removed = true
				break
			}
		}
		if removed {
			continue
		}
		if chunk == 1 {
			break
		}
		n = min(n*2, len(ops))
	}
	return ops
}

// shrinkOps tries smaller variants of each op in turn and keeps the first
// that still fails, until no op shrinks further.
func shrinkOps(ops []Op, fails func([]Op) bool) ([]Op, bool) {
	any := false
	for i := 0; i < len(ops); i++ {
		for progress := true; progress; {
			progress = false
			for _, v := range smaller(ops[i]) {
				if v.Validate() != nil {
					continue
				}
				cand := append([]Op(nil), ops...)
				cand[i] = v
				if fails(cand) {
					ops, progress, any = cand, true, true
					break
				}
			}
		}
	}
	return ops, any
}

// smaller lists variants of o that are strictly simpler, most aggressive
// first: the shrink loop takes the first that still fails.
func smaller(o Op) []Op {
	var out []Op
	align := int64(1)
	if o.Kind == DirectWrite || o.Kind == Collapse || o.Kind == Insert {
		// Range shifts need block alignment as O_DIRECT does.
		align = directAlign(o)
	}
	if o.Kind == Clone || o.Kind == Dedupe {
		// FICLONERANGE and FIDEDUPERANGE want block-aligned offsets and
		// lengths: keep the alignment of the original, as for O_DIRECT.
		v := o
		v.Off |= o.SrcOff
		align = directAlign(v)
	}
	lens := shrinkValues(o.Len, align, 1)
	offs := shrinkValues(o.Off, align, 0)
	switch o.Kind {
	case Writev:
		// Fewer segments first (merge all into one), then shorter ones by
		// trimming the last segment.
		if len(o.Segs) > 1 {
			v := o
			v.Segs = []int64{o.Len}
			out = append(out, v)
			v = o
			v.Segs = o.Segs[:len(o.Segs)-1]
			v.Len = o.Len - o.Segs[len(o.Segs)-1]
			out = append(out, v)
		}
		for _, l := range lens {
			if len(o.Segs) == 1 {
				v := o
				v.Len, v.Segs = l, []int64{l}
				out = append(out, v)
			}
		}
	case ShortCopy:
		for _, c := range shrinkValues(o.Copied, 1, 0) {
			v := o
			v.Copied = c
			out = append(out, v)
		}
		for _, l := range lens {
			if l > o.Copied {
				v := o
				v.Len = l
				out = append(out, v)
			}
		}
	case Truncate:
		// Off is the size; Len is unused.
	default:
		if o.Len > 0 {
			for _, l := range lens {
				// Trim the tail, then the head (keeping the end): together
				// they bisect towards any single byte that matters.
				v := o
				v.Len = l
				out = append(out, v)
				v.Off = o.Off + o.Len - l
				out = append(out, v)
			}
		}
	}
	for _, off := range offs {
		v := o
		v.Off = off
		out = append(out, v)
	}
	if o.KeepSize {
		v := o
		v.KeepSize = false
		out = append(out, v)
	}
	if o.Sync != "" {
		v := o
		v.Sync = ""
		out = append(out, v)
	}
	return out
}

// shrinkValues lists smaller values than v, multiples of align, not below
// floor, biggest cut first: the floor (0, or one alignment unit), then v
// less v/2, v/4, v/8, ... down to v less one unit. The shrink loop keeps
// the first that still fails, so each step removes the largest cut that
// works and a value reaches its smallest failing size in O(log² v) calls
// of the predicate, not O(v): each call may be a VM run.
func shrinkValues(v, align, floor int64) []int64 {
	var out []int64
	add := func(c int64) {
		c = c / align * align
		if c < floor || c >= v {
			return
		}
		for _, x := range out {
			if x == c {
				return
			}
		}
		out = append(out, c)
	}
	if floor == 0 {
		add(0)
	} else {
		add(align)
	}
	for d := v / 2; d >= align; d /= 2 {
		add(v - d)
	}
	add(v - align)
	return out
}

// directAlign is the largest power of two dividing both the offset and the
// length of an O_DIRECT write, so shrinking keeps the alignment the
// filesystem required of the original (its block size divides both). It is
// capped at 4 KiB, the largest block size tested here (mkfs.Supported), so
// that an op that merely happens to be 64 KiB-aligned can still shrink far.
func directAlign(o Op) int64 {
	a := int64(4096)
	for a > 1 && (o.Off%a != 0 || o.Len%a != 0) {
		a /= 2
	}
	return a
}
