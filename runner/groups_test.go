package runner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One root cause striking 52 random sequences at different offsets, among
// 700 passes and a few KNOWN findings, reads as one group: a header, the
// others named, one full example, then the summary, in under 40 lines.
func TestHumanOutputGroupsOneRootCause(t *testing.T) {
	r := &Report{Revision: "v2b", SourceID: "linux-6.12.118", SeriesID: "x", Patches: 4, Out: "runs/x",
		Console: "runs/x/console.log", Repro: "qemu-system-x86_64 …"}
	for i := range 700 {
		r.Verdicts = append(r.Verdicts, Verdict{Case: fmt.Sprintf("case-%d", i), Disk: "ext4-4k", FS: "ext4", Status: Pass})
	}
	for i := range 22 {
		r.Verdicts = append(r.Verdicts, Verdict{Case: fmt.Sprintf("known-%d", i), Disk: "xfs-4k", FS: "xfs", Status: Known,
			Finding:  "iomap-short-copy-uptodate: " + strings.Repeat("a long description ", 50),
			Failures: []Failure{{Check: "content", Offset: 1, Msg: strings.Repeat("00 ", 300)}}})
	}
	for i := range 52 {
		off := int64(4096*i + 17)
		r.Verdicts = append(r.Verdicts, Verdict{Revision: "v2b", Case: fmt.Sprintf("random-gfs2-%d", i), Disk: []string{"gfs2-1k", "gfs2-4k"}[i%2], FS: "gfs2", Status: Fail,
			Ops: make([]string, 40-i%30),
			Failures: []Failure{{Check: "callouts", Offset: -1,
				Msg: fmt.Sprintf("callout %d of op %d (pwrite %#x 0x10): expected write pos=%#x len=0x10 copied=0x10 +folio_done, got write pos=%#x len=0x10 copied=0x10", i%3, i, off, off, off)}}})
	}
	var b bytes.Buffer
	PrintHuman(&b, r)
	out := b.String()
	lines := strings.Count(out, "\n")
	assert.Less(t, lines, 40+40, "one group's example has up to 40 ops")
	assert.Equal(t, 1, strings.Count(out, "=== group"), out)
	assert.Contains(t, out, "=== group 1: FAIL callouts on gfs2: 52 case(s) on gfs2-1k, gfs2-4k\n")
	assert.Contains(t, out, "and 45 more")
	assert.NotContains(t, out, "PASS  ext4-4k", "passing verdicts are not listed by default")
	assert.Contains(t, out, "KNOWN kernel finding iomap-short-copy-uptodate: 22 case(s)")
	assert.NotContains(t, out, "a long description")
	// The example is the shortest failing case, in full.
	assert.Contains(t, out, "--- FAIL random-gfs2-29 on gfs2-4k (v2b)\nops:\n")
	assert.Contains(t, out, "\n700 passed, 52 failed, 22 skipped\n")
	// Without its 11-op example, the whole output is well under 40 lines.
	require.Less(t, lines-11, 40, out)

	b.Reset()
	PrintVerbose(&b, r)
	assert.Contains(t, b.String(), "PASS  ext4-4k  case-0\n")
	assert.Equal(t, 52, strings.Count(b.String(), "\n--- FAIL "))
}

func TestNormaliseKeepsTheShapeOfAMessage(t *testing.T) {
	a := normalise("3067 byte(s) differ in [1029, 4096): expected 00 00 00 …, got 5a 5a 5a …; last written by op 3 (pwrite 0x10 0x20)")
	b := normalise("12 byte(s) differ in [8, 20): expected 00 00, got a5 a5; last written by op 17 (pwrite 0x400 0x1000)")
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, normalise("on-disk size 10, model 12"))
}
