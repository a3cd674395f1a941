package judge

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// Known marks a failure that matches a recorded finding on the kernel: the
// kernel really misbehaves (established from its source), the check stays
// as strict as ever, and the verdict says so visibly instead of passing.
const Known Status = "KNOWN"

// Finding is a recorded deviation of a kernel from the model, with the
// evidence that the kernel, not the model, is wrong, and the model of the
// deviation itself (May): a verdict is KNOWN only when the kernel's image
// matches the recorded deviation exactly, and any other difference in the
// same case leaves it a FAIL.
type Finding struct {
	ID string
	// Kernel is the version prefix the finding was established on.
	Kernel string
	FS     []string
	// BlockSizes restricts the finding; empty means every block size.
	BlockSizes []int64
	// Cases are the catalogue cases built to show the finding: where two
	// findings explain a verdict equally, the one naming the case is
	// reported.
	Cases []string
	// Checks are the failure kinds the deviation produces: "content" for
	// bytes that differ from the model, "holes" for blocks allocated
	// because the deviation put data in them. A verdict with any other
	// failure is not covered.
	Checks []string
	// May is the deviation as the model predicts it for the case: the
	// bytes it can change (where the model says zero) and what they then
	// hold. Every differing byte must be one of them, with that value.
	May    func(reference.Geometry, []cases.Op) ([]reference.Allowance, error)
	Reason string
	// Flaky: whether the deviation shows depends on state the case does
	// not control (recycled memory), so a PASS in one run and KNOWN in the
	// next is not a difference between revisions. Its bytes are still
	// bounded by May.
	Flaky bool
}

// polluted is May for the findings that keep polluteeof's garbage: the
// bytes each polluteeof stored past the EOF of its time, holding
// PolluteByte (reference.Polluted).
func polluted(after cases.Kind) func(reference.Geometry, []cases.Op) ([]reference.Allowance, error) {
	return func(g reference.Geometry, ops []cases.Op) ([]reference.Allowance, error) {
		return reference.Polluted(g, ops, after)
	}
}

// Findings are the deviations recorded so far. Each reason cites the code
// that makes the kernel deviate.
var Findings = []Finding{
	{
		ID: "ext2-eof-garbage", Kernel: "6.12", FS: []string{"ext2"},
		Cases:  []string{"pollute-after-fsync-then-write"},
		Checks: []string{"content", "holes"}, May: polluted(""),
		Reason: "ext2 never zeroes the cached bytes past the old EOF when the size grows: ext2_setsize " +
			"(fs/ext2/inode.c:1274-1310) zeroes only the tail of the NEW EOF block (block_truncate_page), and " +
			"a write or mmap store past EOF goes through block_write_begin/block_page_mkwrite, which treat the " +
			"old EOF block's buffers as uptodate; an O_DIRECT write past EOF moves i_size in " +
			"ext2_dio_write_end_io (fs/ext2/file.c:198-202) and invalidates only its own range; garbage stored " +
			"past EOF through mmap (fsx -e) becomes file data, and its blocks are allocated and written back",
	},
	{
		ID: "bh-new-block-in-uptodate-folio", Kernel: "6.12", FS: []string{"ext4"}, BlockSizes: []int64{512, 1024, 2048},
		Cases:  []string{"pollute-then-mmapwrite-extend", "pollute-then-truncate-up-then-write-hole"},
		Checks: []string{"content"}, May: polluted(""),
		Reason: "with blocks smaller than a page, __block_write_begin_int (fs/buffer.c:2111-2186) does not zero " +
			"a newly allocated buffer when its folio is already uptodate, so garbage stored past EOF through " +
			"mmap in a later block of the EOF page survives into that new block",
	},
	{
		ID: "ext4-dio-extend-eof-garbage", Kernel: "6.12", FS: []string{"ext4"},
		Cases:  []string{"pollute-then-dio-extend"},
		Checks: []string{"content"}, May: polluted(cases.DirectWrite),
		Reason: "an O_DIRECT write past EOF moves i_size in ext4_handle_inode_extension (fs/ext4/file.c:315-338) " +
			"without zeroing the old EOF block's tail in the page cache, which ext4's buffered write_end paths do " +
			"(pagecache_isize_extended + ext4_zero_partial_blocks, fs/ext4/inode.c:1322-1323, 1441-1442, 3062-3073); " +
			"garbage stored past EOF through mmap, still dirty in the EOF folio, is inside i_size when that folio is " +
			"written back, so it becomes file data",
	},
	{
		ID: "iomap-short-copy-uptodate", Kernel: "6.12", FS: []string{"xfs"},
		Cases:  []string{"shortcopy-hole-recycled-page"},
		Checks: []string{"content"},
		May: func(g reference.Geometry, ops []cases.Op) ([]reference.Allowance, error) {
			return reference.ShortCopyTails(g, ops), nil
		},
		Flaky: true,
		Reason: "__iomap_write_begin (fs/iomap/buffered-io.c:760-774) zeroes a new partial block only outside " +
			"[from, to) yet marks the whole block uptodate; __iomap_write_end (:878-900) then accepts a short " +
			"copy because the folio is uptodate, so [pos+copied, to) keeps whatever the freshly allocated page " +
			"held (recycled page-cache memory) and writeback puts it on disk: stale data exposure",
	},
	{
		// No May yet: the byte model cannot replay a race, so this finding
		// is recorded (and shown here) but matches nothing: the failure
		// stays a FAIL until its bytes can be predicted exactly.
		ID: "dio-mmap-large-folio-stale", Kernel: "6.12", FS: []string{"xfs"},
		Cases:  []string{"race-dio-vs-mmap-neighbour"},
		Checks: []string{"content"},
		Flaky:  true,
		Reason: "a completed O_DIRECT write into a block of a large folio (xfs, THP) while another thread stores " +
			"through mmap into the next page of that folio, with sync_file_range pushing writeback: once in seven " +
			"whole-catalogue baseline runs the direct write's block read back with the bytes it replaced (a lost " +
			"write, which no ordering of the ops gives). A DIO write excludes no page fault, the fault reads and " +
			"page_mkwrite dirties the whole folio (iomap_dirty_folio, fs/iomap/buffered-io.c:682-690), and the " +
			"DIO path only invalidates the folio afterwards (fs/iomap/direct-io.c:120-121); the kernel logged no " +
			"\"Page cache invalidation failure\" (mm/filemap.c:3951-3977) that run, so the exact interleaving " +
			"that let the stale copy be written back is not established yet. In a later baseline run (xfs-1k, " +
			"2026-12-05) the kernel did log it, and the mmap store's msync and the sync_file_range pusher then " +
			"returned EIO: dio_warn_stale_pagecache sets EIO on the mapping's wb_err (mm/filemap.c:3957) when " +
			"invalidate_inode_pages2_range fails after a direct write (:3968-3976), the kernel's own statement " +
			"that the page cache and the disk may now disagree",
	},
	{
		// No May: which bytes are lost is not predictable yet, so the
		// finding is recorded (and shown) but matches nothing: the failure
		// stays a FAIL. Free-space poison inside a cleanly unmounted file
		// needs no model to be wrong.
		ID: "gfs2-append-fdatasync-lost-data", Kernel: "6.12", FS: []string{"gfs2"},
		Cases:  []string{"race-append-fdatasync-evict", "race-pressure-append"},
		Checks: []string{"content", "stale-data", "eof-tail"},
		Flaky:  true,
		Reason: "appends racing an fdatasync loop lose written data: after a clean unmount, with fsck.gfs2 clean " +
			"and the size and block map right, the file's data blocks hold the poison of free space (never " +
			"written) or zeroes, often from offset 0. Minimised to one thread appending 4097 bytes 24 times to " +
			"a 1-byte file while another loops fdatasync (cases/testdata/findings/gfs2-append-fdatasync-lost-data.ops): " +
			"21 of 31 runs on gfs2-4k (6.12.118); never with a sync_file_range pusher, an fadvise loop or no " +
			"actor instead, never on ext4 or xfs. The mechanism, from 6.12.118's source and confirmed with printks " +
			"(cases/testdata/findings/gfs2-debug-evict-dirty-pages.patch): fdatasync's sync_inode_metadata calls " +
			"gfs2_write_inode, which takes the inode off the log's ordered-write list (gfs2_ordered_del_inode, " +
			"fs/gfs2/super.c:470-473, behind a test of inode->i_flags & I_DIRTY, an i_state mask no regular file's i_flags match) " +
			"even when the appender has dirtied its pages again; at unmount gfs2_kill_sb flushes the log, whose " +
			"ordered write no longer covers that inode (fs/gfs2/ops_fstype.c:1782), then gfs2_evict_inodes sets " +
			"SDF_EVICTING (:1749, :1789), so gfs2_drop_inode drops every inode (super.c:1059-1060) and iput_final " +
			"skips write_inode_now: gfs2_evict_inode's truncate_inode_pages_final throws the dirty pages away " +
			"(super.c:1440-1441) before kill_block_super's sync_filesystem runs (:1800). Every data-losing inode " +
			"in five instrumented runs (24 of 24) was evicted dirty before the sync and had been taken off the " +
			"ordered list with dirty pages",
	},
}

// evidence is what a failed case's judgement keeps for the findings: the
// model's bytes and the image's, the blocks whose allocation differed,
// and what was run.
type evidence struct {
	geometry reference.Geometry
	ops      []cases.Op
	want     []byte
	got      []byte
	// badBlocks are the blocks the holes check found wrong.
	badBlocks []int64
}

// matchFinding returns the finding whose modelled deviation explains a
// failed verdict exactly, preferring one that names the case.
func matchFinding(kernelVersion string, v Verdict) *Finding {
	if v.Status != Fail || v.evidence == nil {
		return nil
	}
	var match *Finding
	for i := range Findings {
		f := &Findings[i]
		if !applies(f, kernelVersion, v) || !explains(f, v) {
			continue
		}
		if slices.Contains(f.Cases, v.Case) {
			return f
		}
		if match == nil {
			match = f
		}
	}
	return match
}

// applies reports whether f was recorded for the verdict's kernel,
// filesystem and block size.
func applies(f *Finding, kernelVersion string, v Verdict) bool {
	if !strings.HasPrefix(kernelVersion, f.Kernel) || !slices.Contains(f.FS, v.FS) {
		return false
	}
	return len(f.BlockSizes) == 0 || slices.Contains(f.BlockSizes, v.BlockSize)
}

// explains reports whether the verdict's failures are exactly f's
// deviation: only the failure kinds f produces, every byte that differs
// from the model inside f's allowances with the value they predict (where
// the model says zero), every misallocated block overlapping one, and at
// least one such difference.
func explains(f *Finding, v Verdict) bool {
	ev := v.evidence
	if ev == nil || f.May == nil {
		return false
	}
	type readAt struct {
		off int64
		op  int // the read op's index; -1 when the message does not say
	}
	var reads []readAt // garbage a read returned mid-sequence
	for _, fl := range v.Failures {
		check := string(fl.Check)
		if check == "read" {
			// The garbage the deviation leaves in the page cache is what
			// a read during the sequence returns, as the disk does after
			// the unmount: held below to the deviation as it stood when
			// the read ran.
			if !fl.ModelZero {
				return false
			}
			op := -1
			if m := readOpMsg.FindStringSubmatch(fl.Msg); m != nil {
				op, _ = strconv.Atoi(m[1])
			}
			reads = append(reads, readAt{fl.Offset, op})
			check = "content"
		}
		if !slices.Contains(f.Checks, check) {
			return false
		}
	}
	if len(ev.want) != len(ev.got) {
		return false // a size difference is not a garbage deviation
	}
	// The deviation as it stands at the end may be empty (a truncate
	// removed the garbage) while a read during the sequence still saw it:
	// that read is held below to the deviation as it stood then.
	allow, err := f.May(ev.geometry, ev.ops)
	if err != nil {
		return false
	}
	allowed := func(off int64, b byte) bool {
		for _, a := range allow {
			if off >= a.Off && off < a.End && (a.Value == reference.AnyByte || int(b) == a.Value) {
				return true
			}
		}
		return false
	}
	inAllowance := func(off int64) bool {
		for _, a := range allow {
			if off >= a.Off && off < a.End {
				return true
			}
		}
		return false
	}
	deviations := 0
	for _, r := range reads {
		// A read reports its first differing byte only: that byte must be
		// one the deviation may have changed by the time the read ran
		// (the ops up to it), or, where the message names no op, by the
		// end.
		if r.op >= 0 && r.op < len(ev.ops) {
			then, err := f.May(ev.geometry, ev.ops[:r.op+1])
			if err != nil || !within(then, r.off) {
				return false
			}
		} else if !inAllowance(r.off) {
			return false
		}
		deviations++
	}
	for i := range ev.want {
		if ev.want[i] == ev.got[i] {
			continue
		}
		if ev.want[i] != 0 || !allowed(int64(i), ev.got[i]) {
			return false
		}
		deviations++
	}
	bs := ev.geometry.BlockSize
	for _, b := range ev.badBlocks {
		overlaps := false
		for _, a := range allow {
			if a.Off < (b+1)*bs && a.End > b*bs {
				overlaps = true
			}
		}
		if !overlaps {
			return false
		}
		deviations++
	}
	return deviations > 0
}

// readOpMsg finds the read op's index in a read failure's message
// (judge_read.go writes "op N (read ...): ...").
var readOpMsg = regexp.MustCompile(`^op (\d+) \(`)

// within reports whether off lies in one of the allowances.
func within(allow []reference.Allowance, off int64) bool {
	for _, a := range allow {
		if off >= a.Off && off < a.End {
			return true
		}
	}
	return false
}

// ApplyFindings turns failures that match a recorded deviation exactly
// into KNOWN verdicts that name the finding; the failures themselves stay
// in the verdict.
func ApplyFindings(kernelVersion string, vs []Verdict) {
	for i := range vs {
		if f := matchFinding(kernelVersion, vs[i]); f != nil {
			vs[i].Status = Known
			vs[i].Finding = f.ID + ": " + f.Reason
		} else if f := fitUnmodelled(kernelVersion, vs[i]); f != nil {
			vs[i].Unmodelled = f.ID
		}
	}
}

// fitUnmodelled returns the finding without a byte model (May) that a
// FAIL fits: recorded for its kernel, filesystem and block size, naming
// its case (a repetition, case@N, is its case), and every failure one of
// the finding's kinds.
func fitUnmodelled(kernelVersion string, v Verdict) *Finding {
	if v.Status != Fail || len(v.Failures) == 0 {
		return nil
	}
	name, _, _ := strings.Cut(v.Case, "@")
	for i := range Findings {
		f := &Findings[i]
		if f.May != nil || !applies(f, kernelVersion, v) || !slices.Contains(f.Cases, name) {
			continue
		}
		fits := true
		for _, fl := range v.Failures {
			if !slices.Contains(f.Checks, string(fl.Check)) {
				fits = false
				break
			}
		}
		if fits {
			return f
		}
	}
	return nil
}

// FlakyFinding reports whether a KNOWN verdict's finding, or the
// unmodelled finding a FAIL fits, is Flaky.
func FlakyFinding(v Verdict) bool {
	var id string
	switch {
	case v.Status == Known:
		id, _, _ = strings.Cut(v.Finding, ":")
	case v.Status == Fail && v.Unmodelled != "":
		id = v.Unmodelled
	default:
		return false
	}
	for _, f := range Findings {
		if f.ID == id {
			return f.Flaky
		}
	}
	return false
}
