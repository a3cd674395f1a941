package runner

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/vmtest/logwrites"
)

func TestVirtioName(t *testing.T) {
	assert.Equal(t, "/dev/vda", virtioName(0))
	assert.Equal(t, "/dev/vdz", virtioName(25))
	assert.Equal(t, "/dev/vdaa", virtioName(26))
	assert.Equal(t, "/dev/vdaz", virtioName(51))
	assert.Equal(t, "/dev/vdba", virtioName(52))
}

// The marker names the file and op that last returned: earlier files had
// every op return, later ones had not even been created durably.
func TestOpsReturned(t *testing.T) {
	m := logwrites.Marker{Seq: 9, File: 2, Op: 3}
	assert.Equal(t, 5, opsReturned(m, 0, 5))
	assert.Equal(t, 4, opsReturned(m, 2, 5))
	assert.Equal(t, -1, opsReturned(m, 3, 5))
	assert.Equal(t, 0, opsReturned(logwrites.Marker{Seq: 1, File: 0, Op: -1}, 0, 5))
	assert.Equal(t, -1, opsReturned(logwrites.Marker{}, 0, 5))
}

func TestDescribePointNamesTheReturnedOp(t *testing.T) {
	d := cases.DiskPlan{Name: "xfs-4k", Files: []cases.FilePlan{{Case: "c", Ops: []cases.Op{{Kind: cases.PWrite, Len: 1}, {Kind: cases.Fsync}}}}}
	p := logwrites.CrashPoint{Entry: 17, Writes: 9, Returned: logwrites.Marker{Seq: 3, File: 0, Op: 1}}
	assert.Equal(t, "power cut at log entry 17 of xfs-4k (9 writes on disk) after op 1 (fsync) of c returned", describePoint(p, d))
	p.Returned.Op = -1
	assert.Contains(t, describePoint(p, d), "after c's file was created durably")
	assert.Equal(t, "ops 0..0 returned, op 1 (fsync) in flight", opsDone(d.Files[0].Ops, 1))
}

// A crash finding covers a verdict only when every failure is a durability
// failure of a range made durable by the listed op kind, on the listed
// filesystem; a lost never-synced range, or another filesystem, stays FAIL.
func TestApplyCrashFindings(t *testing.T) {
	mk := func(fs string, checks ...string) Verdict {
		v := Verdict{FS: fs, Status: Pass}
		for _, c := range checks {
			v.Failf(Check(c), 0, "x")
		}
		return v
	}
	v := mk("ext2", "crash-size", "crash-content")
	applyCrashFindings("6.12.118", &v, []cases.Kind{cases.Sync, cases.Sync})
	assert.Equal(t, Known, v.Status)
	assert.Contains(t, v.Finding, "ext2-sync-no-cache-flush: ")

	v = mk("ext2", "crash-size", "crash-content")
	applyCrashFindings("6.12.118", &v, []cases.Kind{cases.Sync, ""})
	assert.Equal(t, Fail, v.Status, "a failure no sync made durable is not covered")

	v = mk("ext2", "crash-size")
	applyCrashFindings("6.12.118", &v, []cases.Kind{cases.Fsync})
	assert.Equal(t, Fail, v.Status, "ext2's fsync flushes: not covered")

	v = mk("ext4", "crash-size")
	applyCrashFindings("6.12.118", &v, []cases.Kind{cases.Sync})
	assert.Equal(t, Fail, v.Status)

	v = mk("gfs2", "crash-content", "console")
	applyCrashFindings("6.12.118", &v, []cases.Kind{cases.Fdatasync, ""})
	assert.Equal(t, Fail, v.Status)
}

func TestPickSubsets(t *testing.T) {
	assert.Nil(t, pickSubsets([]int{4}, 3, 1), "one write has no proper subset")
	assert.Nil(t, pickSubsets([]int{4, 5}, 0, 1))
	subs := pickSubsets([]int{4, 5, 7, 9}, 5, 42)
	assert.NotEmpty(t, subs)
	seen := map[string]bool{}
	for _, s := range subs {
		assert.True(t, len(s) > 0 && len(s) < 4, "%v is a proper non-empty subset", s)
		assert.IsIncreasing(t, s)
		assert.False(t, seen[fmt.Sprint(s)], "duplicate %v", s)
		seen[fmt.Sprint(s)] = true
	}
	assert.Equal(t, subs, pickSubsets([]int{4, 5, 7, 9}, 5, 42), "deterministic")
}

// The gfs2 log-ordering finding covers recovery failures at write-subset
// crash points only: the same failure at a flush point stays FAIL.
func TestApplyDiskCrashFindings(t *testing.T) {
	v := Verdict{FS: "gfs2", Status: Pass}
	v.Failf("recovery", -1, "x")
	v.Failf("recovery", -1, "y")
	applyDiskCrashFindings("6.12.118", &v, []bool{true, true})
	assert.Equal(t, Known, v.Status)
	assert.Contains(t, v.Finding, "gfs2-log-header-before-log-blocks")

	v = Verdict{FS: "gfs2", Status: Pass}
	v.Failf("recovery", -1, "x")
	v.Failf("recovery", -1, "y")
	applyDiskCrashFindings("6.12.118", &v, []bool{true, false})
	assert.Equal(t, Fail, v.Status)

	v = Verdict{FS: "xfs", Status: Pass}
	v.Failf("recovery", -1, "x")
	applyDiskCrashFindings("6.12.118", &v, []bool{true})
	assert.Equal(t, Fail, v.Status)
}
