package runner

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestComparisonMarksDifferences(t *testing.T) {
	mk := func(rev string, st ...Status) *Report {
		r := &Report{Revision: rev, SeriesID: rev + "id"}
		for i, s := range st {
			r.Verdicts = append(r.Verdicts, Verdict{Disk: "xfs-4k", Case: []string{"a", "b"}[i], Status: s})
		}
		return r
	}
	c := &Comparison{Cells: map[string][]Status{}}
	c.add("baseline", mk("baseline", Pass, Pass))
	c.add("v1", mk("v1", Pass, Fail))
	crashed := mk("v2", Pass)
	crashed.Crash = "guest died"
	c.add("v2", crashed)
	assert.False(t, c.Differs("xfs-4k a"))
	assert.True(t, c.Differs("xfs-4k b"))
	assert.Equal(t, []Status{Pass, Fail, "-"}, c.Cells["xfs-4k b"])
	assert.Equal(t, []Status{Pass, Pass, Error}, c.Cells["(vm) crash"])
	var buf bytes.Buffer
	PrintComparison(&buf, c)
	assert.Contains(t, buf.String(), "<> xfs-4k b")
	assert.NotContains(t, buf.String(), "   xfs-4k a", "agreeing rows only with -v")
	assert.Contains(t, buf.String(), "2 of 3 rows differ")
	// Each disagreeing row says what each revision found.
	assert.Contains(t, buf.String(), "\n<> (vm) crash\n   baseline  no crash\n   v1        no crash\n   v2        guest died\n")
	buf.Reset()
	PrintComparisonAll(&buf, c)
	assert.Contains(t, buf.String(), "   xfs-4k a")
}

// A differing row names the check and message of each revision's verdict,
// and the table ends with every revision's run directory.
func TestComparisonSaysWhy(t *testing.T) {
	c := &Comparison{Cells: map[string][]Status{}}
	c.add("baseline", &Report{Revision: "baseline", Out: "runs/x/baseline", Verdicts: []Verdict{{Disk: "gfs2-4k", Case: "j", Status: Pass}}})
	c.add("v2b", &Report{Revision: "v2b", Out: "runs/x/v2b", Verdicts: []Verdict{{Disk: "gfs2-4k", Case: "j", Status: Fail,
		Failures: []Failure{{Check: "callouts", Offset: -1, Msg: "callout 1 of op 2: folio_done missing"}}}}})
	var buf bytes.Buffer
	PrintComparison(&buf, c)
	assert.Contains(t, buf.String(), "\n<> gfs2-4k j\n   baseline  PASS\n   v2b       FAIL callouts: callout 1 of op 2: folio_done missing\n")
	assert.Contains(t, buf.String(), "run directory v2b: runs/x/v2b\n")
}

func TestComparisonToleratesFlakyFindingOnly(t *testing.T) {
	rep := func(rev string, st Status, finding string) *Report {
		return &Report{Revision: rev, Verdicts: []Verdict{{Disk: "xfs-4k", Case: "random-xfs-7", Status: st, Finding: finding}}}
	}
	c := &Comparison{Cells: map[string][]Status{}}
	c.add("baseline", rep("baseline", Known, "iomap-short-copy-uptodate: stale"))
	c.add("v1", rep("v1", Pass, ""))
	assert.False(t, c.Differs("xfs-4k random-xfs-7"))
	assert.True(t, c.Flaky("xfs-4k random-xfs-7"))

	// A deterministic finding appearing or going away is a real difference.
	d := &Comparison{Cells: map[string][]Status{}}
	d.add("baseline", rep("baseline", Known, "ext2-eof-garbage: x"))
	d.add("v1", rep("v1", Pass, ""))
	assert.True(t, d.Differs("xfs-4k random-xfs-7"))
	// And a flaky finding does not hide a FAIL.
	e := &Comparison{Cells: map[string][]Status{}}
	e.add("baseline", rep("baseline", Known, "iomap-short-copy-uptodate: stale"))
	e.add("v1", rep("v1", Fail, ""))
	assert.True(t, e.Differs("xfs-4k random-xfs-7"))
}

// A FAIL that fits a flaky finding without a byte model (a race's lost
// data) against a PASS is no difference between revisions, and is marked
// "~"; a FAIL that fits none is, and so is one beside it in another
// revision.
func TestComparisonToleratesUnmodelledFlakyFail(t *testing.T) {
	rep := func(rev string, st Status, unmodelled string) *Report {
		return &Report{Revision: rev, Verdicts: []Verdict{{Disk: "gfs2-4k", Case: "race-pressure-append", Status: st, Unmodelled: unmodelled}}}
	}
	const row = "gfs2-4k race-pressure-append"
	c := &Comparison{Cells: map[string][]Status{}}
	c.add("baseline", rep("baseline", Pass, ""))
	c.add("v2", rep("v2", Fail, "gfs2-append-fdatasync-lost-data"))
	assert.False(t, c.Differs(row))
	assert.True(t, c.Flaky(row))
	var buf bytes.Buffer
	PrintComparison(&buf, c)
	assert.Contains(t, buf.String(), "~  "+row)
	assert.Contains(t, buf.String(), "0 of 1 rows differ")

	d := &Comparison{Cells: map[string][]Status{}}
	d.add("baseline", rep("baseline", Pass, ""))
	d.add("v2", rep("v2", Fail, ""))
	assert.True(t, d.Differs(row), "a FAIL that fits no finding")

	e := &Comparison{Cells: map[string][]Status{}}
	e.add("baseline", rep("baseline", Fail, "gfs2-append-fdatasync-lost-data"))
	e.add("v1", rep("v1", Pass, ""))
	e.add("v2", rep("v2", Fail, ""))
	assert.True(t, e.Differs(row), "a FAIL that fits no finding, beside one that does")
}
