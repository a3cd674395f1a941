package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// TestPlantedReadBugFailsTheReadCheck runs two read cases on a kernel with
// a planted read-side bug (testdata/planted-read: iomap_readpage_iter reads
// the uptodate blocks iomap_adjust_read_range skipped, so a folio read in
// around a dirty block gets the disk's older bytes there). The write path
// is unchanged, so only the reads during the sequence can see it: both
// cases must fail, first on the read check, at the dirty block (0x400 on
// xfs-1k). One one-file kernel build (cached by the series' content).
func TestPlantedReadBugFailsTheReadCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a kernel with a planted bug and boots it")
	}
	bin, root := buildCLI(t)
	// Exit 1: a case failed.
	seen := runForReport(t, bin, root, exitFail, "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-read"),
		"--revision", "planted-read", "--fs", "xfs", "--bs", "1024",
		"--cases", "read-partial-uptodate-block,read-mapread-partial-uptodate")
	want := map[string]string{
		"read-partial-uptodate-block":   "op 5 (read 0x0 0x1000)",
		"read-mapread-partial-uptodate": "op 4 (mapread 0x0 0x1000)",
	}
	for name, v := range seen {
		op, ok := want[name]
		if !ok {
			continue
		}
		delete(want, v.Case)
		require.Equal(t, runner.Fail, v.Status, v.Case)
		require.NotEmpty(t, v.Failures, v.Case)
		assert.Equal(t, runner.Check("read"), v.Failures[0].Check, v.Case)
		assert.Equal(t, int64(0x400), v.Failures[0].Offset, v.Case)
		assert.Contains(t, v.Failures[0].Msg, op, v.Case)
	}
	assert.Empty(t, want, "cases without a verdict")
}
