package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
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
// zero; bisect must take the full series' failures as its signature, test
// 4 (bad), 0 (good), 2 (good), 3 (bad) and name patch 3.
func TestBisectNamesPlantedPatch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds three kernel prefixes and boots each")
	}
	bin, root := buildCLI(t)
	out := filepath.Join(t.TempDir(), "bisect")
	// The steps in order, each with its verdict and run directory; the
	// signature is what the full series failed.
	stdout, steps := runBisect(t, bin, root, "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-series"),
		"--fs", "xfs", "--bs", "4096", "--cases", "straddle-beyond-eof,straddle-two-bytes-first-boundary", "--out", out)
	assert.Equal(t, []string{"4 bad", "0 good", "2 good", "3 bad"}, steps)
	assert.Contains(t, stdout, "      "+filepath.Join(out, "prefix-3")+"\n")
	assert.Contains(t, stdout, "  xfs-4k straddle-beyond-eof [content]\n")
	assert.Contains(t, stdout, "first bad patch: 3 0003-iomap-planted-bug-a-new-block-s-first-zeroed-byte-is.patch "+
		"[PATCH 3/4] iomap: planted bug: a new block's first zeroed byte is 0xa5\n  prefix 2 is good and prefix 3 bad for the signature\n")

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

// TestBisectFollowsACalloutOnlySignature bisects v2 plus a fifth patch that
// drops ->folio_done from iomap_zero_iter (testdata/planted-callout-series):
// on gfs2 a journaled-data truncate then misses its folio_done step, which
// only the callout check sees, and only prefixes with v2's trace events
// (patch 4) can see it. The full series' failure is the signature; the
// unpatched kernel cannot run that check (untestable, not passing); the
// search then looks from the bad end down, finds prefix 4 good, and names
// patch 5, not the tracepoints patch that makes the failure visible.
func TestBisectFollowsACalloutOnlySignature(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds v2's prefix and a planted patch on top, and boots each")
	}
	bin, root := buildCLI(t)
	stdout, steps := runBisect(t, bin, root, "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-callout-series"),
		"--fs", "gfs2", "--bs", "4096", "--cases", "gfs2-jdata-truncate-down-up", "--out", filepath.Join(t.TempDir(), "bisect"))
	assert.Equal(t, []string{"5 bad", "0 untestable", "4 good"}, steps)
	assert.Contains(t, stdout, "  gfs2-4k gfs2-jdata-truncate-down-up [callouts]\n")
	assert.Contains(t, stdout, "first bad patch: 5 0005-iomap-planted-bug-zeroing-never-calls-folio_done.patch")
	assert.Contains(t, stdout, "[callouts]: NOT CHECKED", "the untestable step says why")
}

// runBisect runs `iomapct bisect` with args, requires exit 1 (a bad patch
// found), and returns its stdout and the steps it printed ("N verdict").
func runBisect(t *testing.T, bin, root string, args ...string) (string, []string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, bin, root, append([]string{"bisect"}, args...)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, exitFail, code, "bisect exits 1 when it found a bad patch")
	var steps []string
	for _, m := range regexp.MustCompile(`(?m)^  (\d+) patches: (\w+)`).FindAllStringSubmatch(stdout, -1) {
		steps = append(steps, m[1]+" "+m[2])
	}
	return stdout, steps
}
