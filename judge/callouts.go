package judge

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// The trace events the series under test adds (kernel/patches/
// iomap-write-ops/README.md, "Trace events"). The guest enables whichever
// of them the kernel has and lists those in its ready record.
const (
	evBegin     = "iomap_write_begin"
	evEnd       = "iomap_write_end"
	evFolioDone = "iomap_folio_done"
	// evPutFolio (v3) follows a step's end as evFolioDone does in v2: the
	// file system's iomap_write_ops->put_folio ran.
	evPutFolio = "iomap_put_folio"
)

// postFolioHook is the hook whose event the kernel exports, which tells the
// revision's callout model apart (reference.PostFolioHook).
func postFolioHook(events []string) reference.PostFolioHook {
	switch {
	case slices.Contains(events, evPutFolio):
		return reference.PostFolioPut
	case slices.Contains(events, evFolioDone):
		return reference.PostFolioDone
	}
	return reference.PostFolioNone
}

// CalloutCheck says whether a run compared the recorded callout sequence
// with the model, and why not if it did not.
type CalloutCheck struct {
	// Events are the callout trace events the kernel exports.
	Events []string `json:"events"`
	// Applies is true when the kernel exports both iomap_write_begin and
	// iomap_write_end, so every judged case's sequence was compared.
	Applies bool `json:"applies"`
	// Note is the one-line account printed with the report.
	Note string `json:"note"`
}

// NewCalloutCheck is the callout check of a kernel that exports events
// (the guest lists them in its ready record).
func NewCalloutCheck(events []string) CalloutCheck {
	c := CalloutCheck{Events: events}
	c.Applies = slices.Contains(events, evBegin) && slices.Contains(events, evEnd)
	switch {
	case c.Applies && slices.Contains(events, evFolioDone):
		c.Note = "compared with the model (iomap_write_begin, iomap_write_end, iomap_folio_done)"
	case c.Applies && slices.Contains(events, evPutFolio):
		c.Note = "compared with the model (iomap_write_begin, iomap_write_end, iomap_put_folio)"
	case c.Applies:
		c.Note = "compared with the model (iomap_write_begin, iomap_write_end)"
	case len(events) == 0:
		c.Note = "NOT CHECKED: this kernel exports no iomap_write_begin/iomap_write_end trace events (the unpatched kernel has none)"
	default:
		c.Note = fmt.Sprintf("NOT CHECKED: this kernel exports only %s, not both iomap_write_begin and iomap_write_end", strings.Join(events, ", "))
	}
	return c
}

// callout is one per-folio step as the comparison sees it: the model's
// Callout without the op index and folio, which the trace does not carry
// (the op is kept beside it for the report), plus what only the trace
// shows.
type callout struct {
	reference.Callout
	// Status is write_begin's return value; a failed begin has no end.
	Status int
	// NoEnd: write_begin succeeded but no write_end followed (a stale
	// mapping makes iomap_write_iter break out after the begin).
	NoEnd bool
	// Done: the file system's post-step hook ran after the end (v2's
	// folio_done, v3's put_folio).
	Done bool
	// Unshare: the step belongs to iomap_unshare_iter (op WRITE|UNSHARE),
	// from FALLOC_FL_UNSHARE_RANGE.
	Unshare bool
	// MapUnpredicted: the mapping type and IOMAP_F_NEW were left out of
	// the comparison (xfs, see mappingPredicted).
	MapUnpredicted bool
	// LenUnpredicted: the length of a step whose copy fell short was left
	// out: it ends at the mapping's end when that comes before the folio's.
	LenUnpredicted bool
	// Stale: the mapping carried IOMAP_F_STALE. Such a begin is dropped
	// while parsing; the model never sets it.
	Stale bool
}

// iomapFStale is IOMAP_F_STALE, which IOMAP_F_FLAGS_STRINGS does not name.
const iomapFStale = 1 << 9

func (c callout) String() string {
	kind := c.Kind.String()
	if c.Unshare {
		kind = "unshare"
	}
	mp := c.Map.String()
	if c.MapUnpredicted {
		mp = "(not compared)"
	}
	ln := fmt.Sprintf("%#x", c.Len)
	if c.LenUnpredicted {
		ln = "(not compared)"
	}
	s := fmt.Sprintf("%s pos=%#x len=%s copied=%#x written=%#x map=%s", kind, c.Pos, ln, c.Copied, c.Written, mp)
	if f := c.Flags & reference.PredictedFlags; f != 0 {
		s += " flags=" + f.String()
	}
	if c.Status != 0 {
		s += fmt.Sprintf(" begin-status=%d", c.Status)
	}
	if c.NoEnd {
		s += " (no write_end)"
	}
	if c.Done {
		s += " +folio_done"
	}
	return s
}

// traceField picks "name value" pairs out of an event's text; a value may
// be empty (flags with no bit set print nothing).
var traceField = regexp.MustCompile(`(?:^| )(dev|ino|pos|len|copied|written|size|status|type|srctype|flags|op|fn) (\S*)`)

type traceEvent struct {
	name   string
	fields map[string]string
}

func parseTraceLine(line string) (traceEvent, error) {
	name, rest, ok := strings.Cut(line, ": ")
	if !ok {
		return traceEvent{}, fmt.Errorf("trace line %q: no event name", line)
	}
	ev := traceEvent{name: name, fields: map[string]string{}}
	for _, m := range traceField.FindAllStringSubmatch(rest, -1) {
		ev.fields[m[1]] = m[2]
	}
	return ev, nil
}

func (e traceEvent) num(key string) (int64, error) {
	s, ok := e.fields[key]
	if !ok {
		return 0, fmt.Errorf("%s event has no %s field", e.name, key)
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%s event: %s %q is not a number", e.name, key, s)
	}
	return v, nil
}

var mapTypes = map[string]reference.MapType{
	"HOLE": reference.MapHole, "DELALLOC": reference.MapDelalloc, "MAPPED": reference.MapMapped,
	"UNWRITTEN": reference.MapUnwritten, "INLINE": reference.MapInline,
}

// mapping reads the type, flags and operation every event carries.
func (e traceEvent) mapping(c *callout) error {
	t, ok := mapTypes[e.fields["type"]]
	if !ok {
		return fmt.Errorf("%s event: unknown mapping type %q", e.name, e.fields["type"])
	}
	c.Map = t
	c.Flags = 0
	c.Stale = false
	for _, f := range strings.Split(e.fields["flags"], "|") {
		switch f {
		case "NEW":
			c.Flags |= reference.FlagNew
		case "MERGED":
			c.Flags |= reference.FlagMerged
		case "BH":
			c.Flags |= reference.FlagBufferHead
		default:
			// Bits without a name print as one hex number; among them
			// IOMAP_F_STALE (1 << 9, include/linux/iomap.h).
			if v, err := strconv.ParseUint(f, 0, 16); err == nil && v&iomapFStale != 0 {
				c.Stale = true
			}
		}
	}
	ops := strings.Split(e.fields["op"], "|")
	switch {
	case slices.Contains(ops, "ZERO"):
		c.Kind = reference.CalloutZero
	case slices.Contains(ops, "WRITE"):
		c.Kind = reference.CalloutWrite
		c.Unshare = slices.Contains(ops, "UNSHARE")
	default:
		return fmt.Errorf("%s event: operation %q is neither a write nor a zero", e.name, e.fields["op"])
	}
	return nil
}

// parseTrace turns one file's recorded events into callouts: a begin, its
// end (whose len is the step's length after clamping to the folio; the
// begin's len is the length asked for), and a folio_done if one ran.
func parseTrace(lines []string) ([]callout, error) {
	var out []callout
	open := false // out's last entry is a begin still waiting for its end
	for i, line := range lines {
		ev, err := parseTraceLine(line)
		if err != nil {
			return nil, err
		}
		pos, err := ev.num("pos")
		if err != nil {
			return nil, fmt.Errorf("trace line %d: %w", i, err)
		}
		if open && out[len(out)-1].Stale && ev.name != evEnd {
			// A begin that found its mapping stale (->iomap_valid
			// failed) puts the folio back untouched, and iomap_iter
			// maps the same range again (buffered-io.c:843-852, 995-996,
			// iter.c:22-37): a revalidation, which the model does not
			// make, not a step.
			out, open = out[:len(out)-1], false
		}
		switch ev.name {
		case evBegin:
			c := callout{NoEnd: true}
			c.Pos = pos
			if c.Len, err = ev.num("len"); err == nil {
				var st int64
				st, err = ev.num("status")
				c.Status = int(st)
			}
			if err == nil {
				err = ev.mapping(&c)
			}
			if err != nil {
				return nil, fmt.Errorf("trace line %d: %w", i, err)
			}
			// A failed begin gets no end: it is complete as it is.
			c.NoEnd = c.Status == 0
			open = c.Status == 0
			out = append(out, c)
		case evEnd:
			if !open || out[len(out)-1].Pos != pos {
				return nil, fmt.Errorf("trace line %d: write_end at pos %#x without a write_begin there", i, pos)
			}
			c := &out[len(out)-1]
			c.NoEnd, open = false, false
			for key, dst := range map[string]*int64{"len": &c.Len, "copied": &c.Copied, "written": &c.Written} {
				if *dst, err = ev.num(key); err != nil {
					return nil, fmt.Errorf("trace line %d: %w", i, err)
				}
			}
			if err := ev.mapping(c); err != nil {
				return nil, fmt.Errorf("trace line %d: %w", i, err)
			}
		case evFolioDone, evPutFolio:
			if len(out) == 0 || open || out[len(out)-1].Pos != pos || out[len(out)-1].Done {
				return nil, fmt.Errorf("trace line %d: %s at pos %#x does not follow a write_end there", i, strings.TrimPrefix(ev.name, "iomap_"), pos)
			}
			out[len(out)-1].Done = true
		default:
			return nil, fmt.Errorf("trace line %d: unexpected event %q", i, ev.name)
		}
	}
	if open && out[len(out)-1].Stale {
		out = out[:len(out)-1]
	}
	return out, nil
}

// expectedCallouts is the model's sequence as the kernel would trace it
// (reference's Model.ExpectedTrace: no buffer-head steps, no unshare steps,
// which checkUnshare compares as byte ranges, and the post-step hook's
// event where the revision's hook runs), in the comparison's form.
func expectedCallouts(m *reference.Model, hook reference.PostFolioHook) []attributedCallout {
	var in []attributedCallout
	for _, c := range m.ExpectedTrace(hook) {
		e := callout{Callout: c.Callout, Done: c.Done}
		// The trace side carries the begin's status outside the
		// model's Callout: move it there, so both compare alike.
		e.Status, e.BeginStatus = c.BeginStatus, 0
		in = append(in, attributedCallout{c: e, op: c.Op})
	}
	return in
}

// attributedCallout is a callout and the case op that made it (-1 when not
// known: the trace does not say).
type attributedCallout struct {
	c  callout
	op int
}

// repeatedFailedBegin reports whether c is a RWF_NOWAIT write_begin that
// failed with EAGAIN at the very position of the step before it, which
// failed alike. When a begin fails after the iteration made progress,
// iomap_write_iter returns that progress (fs/iomap/buffered-io.c:991-994,
// :1051), iomap_iter starts a new iteration at the failed position
// (:1070-1071), and its first begin fails again; whether that happens
// depends on where the filesystem's mapping ended, which the model does
// not predict where mappings are not compared (xfs). The second failure
// adds nothing: the write returned the progress either way.
func repeatedFailedBegin(prev []attributedCallout, c callout) bool {
	if len(prev) == 0 || c.Status != cases.EAGAIN || c.Kind != reference.CalloutWrite {
		return false
	}
	p := prev[len(prev)-1].c
	return p.Status == c.Status && p.Kind == c.Kind && p.Pos == c.Pos
}

// mappingPredicted says whether the model predicts the mapping type and
// IOMAP_F_NEW of a filesystem's callouts: the model's policy
// (reference.PredictsMapping; not on xfs, whose speculative preallocation
// and delalloc conversion the model leaves out).
func mappingPredicted(fs string) bool { return reference.PredictsMapping(fs) }

// coalesce applies reference.CoalesceCallouts to a sequence without the op
// index and folio, which the trace lacks: consecutive fully accepted steps
// that continue each other merge, whichever op or folio they were in, on
// both sides alike. The op of the first merged step is kept. Without
// predicted mappings the type and IOMAP_F_NEW are cleared first, so that
// steps merge alike on both sides whatever xfs allocated.
//
// cuts, if any (sorted), are positions where zero steps are split and
// never merged across: the edges of ranges the model passed over as holes,
// so that a zero step the kernel makes inside one is seen apart from the
// expected steps around it, on both sides alike.
func coalesce(in []attributedCallout, mappings, largeFolios bool, cuts []int64) []attributedCallout {
	var out []attributedCallout
	isCut := func(pos int64) bool { _, ok := slices.BinarySearch(cuts, pos); return ok }
	add := func(a attributedCallout) {
		apart := a.c.Kind == reference.CalloutZero && isCut(a.c.Pos)
		if n := len(out); n > 0 && !apart && mergeable(out[n-1].c, a.c) {
			if m := reference.CoalesceCallouts([]reference.Callout{out[n-1].c.Callout, a.c.Callout}); len(m) == 1 {
				out[n-1].c.Callout = m[0]
				return
			}
		}
		out = append(out, a)
	}
	for _, a := range in {
		a.c.Op, a.c.FolioPos, a.c.FolioSize = 0, 0, 0
		if !mappings && largeFolios && a.c.Status == 0 && !a.c.NoEnd && a.c.Written == 0 && a.c.Copied > 0 && a.c.Copied < a.c.Len {
			// A refused short copy, retried at once with the copied
			// bytes (buffered-io.c:1034-1041). Whether a step is refused
			// depends on its folio being uptodate, and with large folios
			// the folio's size follows the length asked for, which the
			// mapping's end bounds (iomap_get_folio's fgf_set_order):
			// unpredicted mapping edges, unpredicted refusals. The retry
			// and what it accepts are compared.
			continue
		}
		if !mappings {
			a.c.Map, a.c.MapUnpredicted = reference.MapNone, true
			a.c.Flags &^= reference.FlagNew
			if a.c.Status == 0 && !a.c.NoEnd && a.c.Copied < a.c.Len {
				if a.c.Copied > 0 && a.c.Written == a.c.Copied {
					// A short step that kept what it copied wrote
					// [pos, pos+copied), as a full step of that length
					// would; which of the two a side shows depends on an
					// unpredicted mapping edge cutting the step
					// (random-xfs-83 at seed 51, random-xfs-110 at seed
					// 101, xfs-1k). As a full step it merges with what
					// it continues, on both sides alike.
					a.c.Len = a.c.Copied
				} else {
					a.c.Len, a.c.LenUnpredicted = 0, true
				}
			}
		}
		a.c.Callout = reference.CoalesceCallouts([]reference.Callout{a.c.Callout})[0] // masks the flags
		if a.c.Kind == reference.CalloutZero && a.c.Status == 0 && !a.c.NoEnd && a.c.Written == a.c.Len && a.c.Copied == a.c.Len {
			// Split a whole zero step at the cuts inside it.
			end := a.c.Pos + a.c.Len
			i, _ := slices.BinarySearch(cuts, a.c.Pos+1)
			for ; i < len(cuts) && cuts[i] < end; i++ {
				piece := a
				piece.c.Len = cuts[i] - a.c.Pos
				piece.c.Copied, piece.c.Written = piece.c.Len, piece.c.Len
				add(piece)
				a.c.Pos = cuts[i]
				a.c.Len = end - a.c.Pos
				a.c.Copied, a.c.Written = a.c.Len, a.c.Len
			}
		}
		add(a)
	}
	return out
}

// mergeable: what only the trace shows agrees, and both steps completed.
func mergeable(p, c callout) bool {
	return p.Status == 0 && c.Status == 0 && !p.NoEnd && !c.NoEnd && p.Done == c.Done && p.Unshare == c.Unshare
}

// checkCallouts compares the callouts the kernel recorded for a case with
// the model's, v2's folio_done included if folioDone, and fails the verdict
// at the first difference.
func checkCallouts(v *Verdict, m *reference.Model, ops []cases.Op, trace []string, folioDone bool) {
	hook := reference.PostFolioNone
	if folioDone {
		hook = reference.PostFolioDone
	}
	checkCalloutsWith(v, m, ops, trace, hook)
}

// checkCalloutsWith is checkCallouts for the revision whose post-step hook
// is hook (postFolioHook of the kernel's events).
func checkCalloutsWith(v *Verdict, m *reference.Model, ops []cases.Op, trace []string, hook reference.PostFolioHook) {
	got, err := parseTrace(trace)
	if err != nil {
		v.Failf("callouts", -1, "cannot read the recorded trace: %v", err)
		return
	}
	g := m.Geometry()
	mappings, large := mappingPredicted(g.FS), g.MaxFolio > g.PageSize
	var gotA []attributedCallout
	for _, c := range got {
		if !mappings && repeatedFailedBegin(gotA, c) {
			continue
		}
		gotA = append(gotA, attributedCallout{c: c, op: -1})
	}
	var skips []reference.Span
	var cuts []int64
	if !mappings {
		skips = m.ZeroSkips()
		for _, s := range skips {
			cuts = append(cuts, s.Pos, s.Pos+s.Len)
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
	}
	want := coalesce(dropAbsent(expectedCallouts(m, hook), got), mappings, large, cuts)
	have := coalesce(gotA, mappings, large, cuts)
	opName := func(i int) string {
		if i < 0 || i >= len(ops) {
			return "no op"
		}
		return fmt.Sprintf("op %d (%s)", i, ops[i])
	}
	// A recorded zero step the model has no counterpart for may lie in a
	// range the model passed over as a hole, in one of the ops between the
	// expected steps around it: on xfs the kernel may hold blocks there
	// (see mappingPredicted and Model.ZeroSkips), zeroes them, and they
	// read zero either way. Such a step is passed over too.
	skippable := func(c callout, lo, hi int) bool {
		if c.Kind != reference.CalloutZero || c.Unshare || c.Status != 0 || c.NoEnd || c.Written != c.Len {
			return false
		}
		return covered(c.Pos, c.Pos+c.Len, skips, lo, hi)
	}
	i, j := 0, 0
	for i < len(want) || j < len(have) {
		lo, hi := 0, len(ops)-1
		if i > 0 {
			lo = want[i-1].op
		}
		if i < len(want) {
			hi = want[i].op
		}
		if j < len(have) && (i >= len(want) || !cmp.Equal(want[i].c, have[j].c)) && skippable(have[j].c, lo, hi) {
			j++
			continue
		}
		switch {
		case i >= len(want):
			after := "before any callout the model expects"
			if len(want) > 0 {
				after = "after the model's last, from " + opName(want[len(want)-1].op)
			}
			v.Failf("callouts", -1, "callout %d: expected none, got %s (%d unexpected, %s)", j, have[j].c, len(have)-j, after)
			return
		case j >= len(have):
			v.Failf("callouts", -1, "callout %d of %s (%d of the case): expected %s, got none (%d missing)", inOp(want, i), opName(want[i].op), i, want[i].c, len(want)-i)
			return
		case !cmp.Equal(want[i].c, have[j].c):
			v.Failf("callouts", -1, "callout %d of %s (%d of the case) %s; the model's step: %s", inOp(want, i), opName(want[i].op), i,
				calloutDiff(want[i].c, have[j].c), want[i].c)
			return
		}
		i, j = i+1, j+1
	}
}

// inOp is the index of want[i] among the steps of its own op.
func inOp(want []attributedCallout, i int) int {
	n := 0
	for k := i - 1; k >= 0 && want[k].op == want[i].op; k-- {
		n++
	}
	return n
}

// calloutDiff names the fields in which two steps differ, each with both
// values, so the reader need not compare two long records by eye.
func calloutDiff(want, got callout) string {
	var d []string
	add := func(name string, w, g any) {
		d = append(d, fmt.Sprintf("%s: kernel %v, model %v", name, g, w))
	}
	yes := func(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }
	if want.Kind != got.Kind || want.Unshare != got.Unshare {
		add("kind", want.Kind, got.Kind)
	}
	if want.Pos != got.Pos {
		add("pos", fmt.Sprintf("%#x", want.Pos), fmt.Sprintf("%#x", got.Pos))
	}
	if want.Len != got.Len && !want.LenUnpredicted && !got.LenUnpredicted {
		add("len", fmt.Sprintf("%#x", want.Len), fmt.Sprintf("%#x", got.Len))
	}
	if want.Copied != got.Copied {
		add("copied", fmt.Sprintf("%#x", want.Copied), fmt.Sprintf("%#x", got.Copied))
	}
	if want.Written != got.Written {
		add("written", fmt.Sprintf("%#x", want.Written), fmt.Sprintf("%#x", got.Written))
	}
	if want.Map != got.Map && !want.MapUnpredicted && !got.MapUnpredicted {
		add("map", want.Map, got.Map)
	}
	if wf, gf := want.Flags&reference.PredictedFlags, got.Flags&reference.PredictedFlags; wf != gf {
		add("flags", wf, gf)
	}
	if want.Status != got.Status {
		add("begin-status", want.Status, got.Status)
	}
	if want.NoEnd != got.NoEnd {
		add("write_end", yes(!want.NoEnd), yes(!got.NoEnd))
	}
	if want.Done != got.Done {
		add("folio_done/put_folio after it", yes(want.Done), yes(got.Done))
	}
	if len(d) == 0 {
		return "differs"
	}
	return "differs in " + strings.Join(d, "; ")
}

// covered reports whether [a, b) lies within the union of the spans made
// by ops lo..hi.
func covered(a, b int64, spans []reference.Span, lo, hi int) bool {
	for a < b {
		next := a
		for _, s := range spans {
			if s.Op >= lo && s.Op <= hi && s.Pos <= a && s.Pos+s.Len > next {
				next = s.Pos + s.Len
			}
		}
		if next == a {
			return false
		}
		a = next
	}
	return true
}
