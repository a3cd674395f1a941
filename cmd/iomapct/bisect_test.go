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

// TestBisectNamesPlantedPatch bisects a four-patch series on the real
// kernel: patches 1, 2 and 4 only add comments (fs/iomap/iter.c, seek.c,
// direct-io.c); patch 3 makes __iomap_write_begin store 0xa5 into the first
// byte it zeroes in a new block (fs/iomap/buffered-io.c). Every prefix is a
// one-file rebuild in the shared work tree. On xfs-4k the straddling write
// at 0x2f9c starts inside new block 2, so its first byte (0x2000) must read
// zero; bisect must test 4 (fail), 0 (pass), 2 (pass), 3 (fail) and name
// patch 3.
func TestBisectNamesPlantedPatch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds three kernel prefixes and boots each")
	}
	bin, root := buildCLI(t)
	out := filepath.Join(t.TempDir(), "bisect")
	cmd := exec.Command(bin, "bisect", "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-series"),
		"--fs", "xfs", "--bs", "4096", "--cases", "straddle-beyond-eof,straddle-two-bytes-first-boundary", "--out", out)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitFail, ee.ExitCode(), "bisect exits 1 when it found a bad patch")

	assert.Equal(t, "  4 patches: FAIL\n  0 patches: pass\n  2 patches: pass\n  3 patches: FAIL\n"+
		"first bad patch: 3 0003-iomap-planted-bug-a-new-block-s-first-zeroed-byte-is.patch "+
		"[PATCH 3/4] iomap: planted bug: a new block's first zeroed byte is 0xa5\n", stdout.String())

	// The failing prefix failed for the planted reason: a5 at the start of
	// the new block, where the model says zero.
	data, err := os.ReadFile(filepath.Join(out, "prefix-3", "report.json"))
	require.NoError(t, err)
	var rep runner.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	found := false
	for _, v := range rep.Verdicts {
		if v.Case == "straddle-beyond-eof" {
			found = true
			require.Equal(t, runner.Fail, v.Status)
			require.NotEmpty(t, v.Failures)
			assert.Equal(t, runner.Check("content"), v.Failures[0].Check)
			assert.Equal(t, int64(0x2000), v.Failures[0].Offset)
			assert.Contains(t, v.Failures[0].Msg, "expected 00, got a5")
		}
	}
	assert.True(t, found, "prefix-3 has a straddle-beyond-eof verdict")
}
