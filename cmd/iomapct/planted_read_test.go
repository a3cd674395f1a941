package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
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
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "run", "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-read"),
		"--revision", "planted-read", "--fs", "xfs", "--bs", "1024",
		"--cases", "read-partial-uptodate-block,read-mapread-partial-uptodate", "--out", out)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitFail, ee.ExitCode(), "run exits 1 when a case failed")

	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep runner.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	want := map[string]string{
		"read-partial-uptodate-block":   "op 5 (read 0x0 0x1000)",
		"read-mapread-partial-uptodate": "op 4 (mapread 0x0 0x1000)",
	}
	for _, v := range rep.Verdicts {
		op, ok := want[v.Case]
		if !ok {
			continue
		}
		delete(want, v.Case)
		require.Equal(t, runner.Fail, v.Status, v.Case)
		require.NotEmpty(t, v.Failures, v.Case)
		assert.Equal(t, "read", v.Failures[0].Check, v.Case)
		assert.Equal(t, int64(0x400), v.Failures[0].Offset, v.Case)
		assert.Contains(t, v.Failures[0].Msg, op, v.Case)
	}
	assert.Empty(t, want, "cases without a verdict")
}
