package runner

import (
	"slices"
	"strings"
)

// Known marks a failure that matches a recorded finding on the kernel: the
// kernel really misbehaves (established from its source), the check stays
// as strict as ever, and the verdict says so visibly instead of passing.
const Known Status = "KNOWN"

// Finding is a recorded deviation of a kernel from the model, with the
// evidence that the kernel, not the model, is wrong.
type Finding struct {
	ID string
	// Kernel is the version prefix the finding was established on.
	Kernel string
	FS     []string
	// BlockSizes restricts the finding; empty means every block size.
	BlockSizes []int64
	// CasePrefix and Cases select catalogue cases; WithOp selects any case
	// (a random sequence, a replay) that contains an op of that kind, the
	// trigger the finding needs. Any of the three matches. AndOp, if set,
	// is a second op kind the case must contain as well, whichever of the
	// three matched.
	CasePrefix string
	Cases      []string
	WithOp     string
	AndOp      string
	// Checks are the failure kinds the deviation produces; a verdict with
	// any other failure is not covered.
	Checks []string
	// Garbage: the deviation puts bytes where the model says zero, so a
	// content failure at a byte the model has data for is not covered
	// (wrong data is another bug, whatever ops the case shares).
	Garbage bool
	Reason  string
	// Flaky: whether the deviation shows depends on state the case does
	// not control (recycled memory), so a PASS in one run and KNOWN in the
	// next is not a difference between revisions.
	Flaky bool
}

// Findings are the deviations recorded so far. Each reason cites the code
// that makes the kernel deviate.
var Findings = []Finding{
	{
		ID: "ext2-eof-garbage", Kernel: "6.12", FS: []string{"ext2"}, CasePrefix: "pollute-", WithOp: "polluteeof",
		Checks: []string{"content", "holes"}, Garbage: true,
		Reason: "ext2 never zeroes the cached bytes past the old EOF when the size grows: ext2_setsize " +
			"(fs/ext2/inode.c:1274-1310) zeroes only the tail of the NEW EOF block (block_truncate_page), and " +
			"a write or mmap store past EOF goes through block_write_begin/block_page_mkwrite, which treat the " +
			"old EOF block's buffers as uptodate; garbage stored past EOF through mmap (fsx -e) becomes file " +
			"data, and its blocks are allocated and written back",
	},
	{
		ID: "bh-new-block-in-uptodate-folio", Kernel: "6.12", FS: []string{"ext4"}, BlockSizes: []int64{512, 1024, 2048},
		Cases:  []string{"pollute-then-mmapwrite-extend", "pollute-then-truncate-up-then-write-hole"},
		WithOp: "polluteeof",
		Checks: []string{"content"}, Garbage: true,
		Reason: "with blocks smaller than a page, __block_write_begin_int (fs/buffer.c:2111-2186) does not zero " +
			"a newly allocated buffer when its folio is already uptodate, so garbage stored past EOF through " +
			"mmap in a later block of the EOF page survives into that new block",
	},
	{
		ID: "ext4-dio-extend-eof-garbage", Kernel: "6.12", FS: []string{"ext4"},
		Cases:  []string{"pollute-then-dio-extend"},
		WithOp: "polluteeof", AndOp: "dwrite",
		Checks: []string{"content"}, Garbage: true,
		Reason: "an O_DIRECT write past EOF moves i_size in ext4_handle_inode_extension (fs/ext4/file.c:315-338) " +
			"without zeroing the old EOF block's tail in the page cache, which ext4's buffered write_end paths do " +
			"(pagecache_isize_extended + ext4_zero_partial_blocks, fs/ext4/inode.c:1322-1323, 1441-1442, 3062-3073); " +
			"garbage stored past EOF through mmap, still dirty in the EOF folio, is inside i_size when that folio is " +
			"written back, so it becomes file data",
	},
	{
		ID: "iomap-short-copy-uptodate", Kernel: "6.12", FS: []string{"xfs"},
		Cases:  []string{"shortcopy-hole-recycled-page"},
		WithOp: "shortcopy",
		Checks: []string{"content"}, Garbage: true,
		Flaky: true,
		Reason: "__iomap_write_begin (fs/iomap/buffered-io.c:760-774) zeroes a new partial block only outside " +
			"[from, to) yet marks the whole block uptodate; __iomap_write_end (:878-900) then accepts a short " +
			"copy because the folio is uptodate, so [pos+copied, to) keeps whatever the freshly allocated page " +
			"held (recycled page-cache memory) and writeback puts it on disk: stale data exposure",
	},
}

// matchFinding returns the finding that covers a failed verdict. A finding
// that names the case (Cases, CasePrefix) wins over one that only matches
// an op the case contains: a catalogue case built for one deviation is
// attributed to it even where a broader finding's trigger op is present.
func matchFinding(kernelVersion string, v Verdict) *Finding {
	if v.Status != Fail {
		return nil
	}
	byName := func(f *Finding) bool {
		return f.CasePrefix != "" && strings.HasPrefix(v.Case, f.CasePrefix) || slices.Contains(f.Cases, v.Case)
	}
	byOp := func(f *Finding) bool { return f.WithOp != "" && hasOp(v.Ops, f.WithOp) }
	for _, selects := range []func(*Finding) bool{byName, byOp} {
		for i := range Findings {
			f := &Findings[i]
			if selects(f) && covers(f, kernelVersion, v) {
				return f
			}
		}
	}
	return nil
}

// covers reports whether f applies to the verdict's kernel, filesystem,
// block size and ops, and explains every one of its failures.
func covers(f *Finding, kernelVersion string, v Verdict) bool {
	if !strings.HasPrefix(kernelVersion, f.Kernel) || !slices.Contains(f.FS, v.FS) {
		return false
	}
	if len(f.BlockSizes) > 0 && !slices.Contains(f.BlockSizes, v.BlockSize) {
		return false
	}
	if f.AndOp != "" && !hasOp(v.Ops, f.AndOp) {
		return false
	}
	for _, fl := range v.Failures {
		check := string(fl.Check)
		if f.Garbage && check == "read" {
			// The garbage the deviation leaves in the page cache is
			// what a read during the sequence returns, as the disk
			// does after the unmount.
			check = "content"
		}
		if !slices.Contains(f.Checks, check) {
			return false
		}
		if f.Garbage && check == "content" && !fl.ModelZero {
			return false
		}
	}
	return true
}

// applyFindings turns covered failures into KNOWN verdicts that name the
// finding; the failures themselves stay in the verdict.
func applyFindings(kernelVersion string, vs []Verdict) {
	for i := range vs {
		if f := matchFinding(kernelVersion, vs[i]); f != nil {
			vs[i].Status = Known
			vs[i].Finding = f.ID + ": " + f.Reason
		}
	}
}

func hasOp(ops []string, kind string) bool {
	for _, o := range ops {
		if o == kind || strings.HasPrefix(o, kind+" ") {
			return true
		}
	}
	return false
}

// flakyFinding reports whether a KNOWN verdict's finding is Flaky.
func flakyFinding(v Verdict) bool {
	if v.Status != Known {
		return false
	}
	id, _, _ := strings.Cut(v.Finding, ":")
	for _, f := range Findings {
		if f.ID == id {
			return f.Flaky
		}
	}
	return false
}
