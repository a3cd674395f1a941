package runner

import (
	"slices"
	"strings"

	"github.com/iomapct/iomapct/cases"
)

// CrashFinding is a recorded way a 6.12 filesystem breaks what a
// persistence call promises across a power cut, with the code that shows
// it. A crash verdict is KNOWN (never PASS) when every one of its failures
// is a durability failure of a range made durable by an op of one of the
// listed kinds on one of the listed filesystems.
type CrashFinding struct {
	ID        string
	FS        []string
	DurableBy []cases.Kind
	Reason    string
	Kernel    string
}

// CrashFindings are the deviations found by `iomapct crash` on the
// unpatched kernel.
var CrashFindings = []CrashFinding{
	{
		ID: "ext2-sync-no-cache-flush", Kernel: "6.12", FS: []string{"ext2"}, DurableBy: []cases.Kind{cases.Sync},
		Reason: "sync(2) on ext2 writes everything but never flushes the disk's volatile cache: ksys_sync " +
			"(fs/sync.c) writes inodes, calls ->sync_fs and writes the block devices' page cache (sync_bdevs) " +
			"without a flush; ext2_sync_fs (fs/ext2/super.c) only rewrites the superblock (ext2_sync_super, " +
			"sync_dirty_buffer: no PREFLUSH/FUA), unlike ext2's own fsync (generic_buffers_fsync: " +
			"blkdev_issue_flush) and ext4 without a journal (ext4_sync_fs issues blkdev_issue_flush); the write " +
			"log shows sync's writes followed by no flush before it returned, so a power cut loses them although " +
			"sync(2) promises what fsync of every file does",
	},
	{
		ID: "gfs2-fdatasync-overwrite-no-cache-flush", Kernel: "6.12", FS: []string{"gfs2"}, DurableBy: []cases.Kind{cases.Fdatasync},
		Reason: "fdatasync of an in-place overwrite on gfs2 (ordered data, no size change) writes the data and " +
			"returns without flushing the disk's volatile cache: gfs2_fsync (fs/gfs2/file.c:742-777) drops " +
			"I_DIRTY_PAGES for non-jdata files and I_DIRTY_SYNC for datasync, so with only timestamps dirty " +
			"sync_state is 0 and neither sync_inode_metadata nor gfs2_ail_flush (the log flush, whose " +
			"PREFLUSH would flush the cache) runs, and nothing else issues blkdev_issue_flush; the write log " +
			"shows the data write with no flush before fdatasync returned",
	},
}

// applyCrashFindings marks a failed crash verdict KNOWN when a finding
// covers every failure: kinds[i] is the op kind that made failure i's
// range durable ("" when it was not a durability failure).
func applyCrashFindings(kernelVersion string, v *Verdict, kinds []cases.Kind) {
	if v.Status != Fail || len(kinds) != len(v.Failures) {
		return
	}
	for _, f := range CrashFindings {
		if !strings.HasPrefix(kernelVersion, f.Kernel) || !slices.Contains(f.FS, v.FS) {
			continue
		}
		covered := true
		for i, fl := range v.Failures {
			if (fl.Check != "crash-content" && fl.Check != "crash-size") || !slices.Contains(f.DurableBy, kinds[i]) {
				covered = false
				break
			}
		}
		if covered {
			v.Status = Known
			v.Finding = f.ID + ": " + f.Reason
			return
		}
	}
}

// DiskCrashFinding is a recorded way a 6.12 filesystem fails its own
// recovery, limited to crash images that hold only a subset of the writes
// between two flushes (CrashOptions.Subsets): the filesystem relied on an
// ordering the block layer does not give.
type DiskCrashFinding struct {
	ID     string
	Kernel string
	FS     []string
	Reason string
}

// DiskCrashFindings are those deviations.
var DiskCrashFindings = []DiskCrashFinding{
	{
		ID: "gfs2-log-header-before-log-blocks", Kernel: "6.12", FS: []string{"gfs2"},
		Reason: "gfs2 writes a log header with REQ_PREFLUSH|REQ_FUA without waiting for the log blocks it " +
			"covers, which are still in flight (log_write_header, fs/gfs2/log.c:911-931: log_flush_wait runs " +
			"before the header only with SDF_NOBARRIERS, otherwise after it); a PREFLUSH makes only completed " +
			"writes durable (Documentation/block/writeback_cache_control.rst), and the write log shows the " +
			"header and the block before it with no flush between, so a disk cache may keep the header and " +
			"lose the block: recovery then withdraws the filesystem (gfs2_make_fs_rw consistency error) or " +
			"leaves what fsck.gfs2 reports",
	},
}

// applyDiskCrashFindings marks a failed disk verdict KNOWN when every
// failure is a recovery failure at a write-subset crash point
// (subset[i] for failure i) on a filesystem a finding names.
func applyDiskCrashFindings(kernelVersion string, v *Verdict, subset []bool) {
	if v.Status != Fail || len(subset) != len(v.Failures) {
		return
	}
	for _, f := range DiskCrashFindings {
		if !strings.HasPrefix(kernelVersion, f.Kernel) || !slices.Contains(f.FS, v.FS) {
			continue
		}
		covered := true
		for i, fl := range v.Failures {
			if fl.Check != "recovery" || !subset[i] {
				covered = false
				break
			}
		}
		if covered {
			v.Status = Known
			v.Finding = f.ID + ": " + f.Reason
			return
		}
	}
}
