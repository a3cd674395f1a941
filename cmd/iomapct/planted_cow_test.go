package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// TestPlantedCopyOnWriteBugsFail runs the reflink cases on a kernel with
// two planted copy-on-write bugs (testdata/planted-cow, one build):
//
//  1. iomap_block_needs_zeroing decides on the destination mapping instead
//     of the srcmap, so a sub-block write into a shared xfs block zeroes
//     the rest of the block instead of reading it: clone-cow-subblock
//     must fail the content check where the model has the shared bytes;
//  2. iomap_unshare_iter skips clean uptodate folios, so their blocks stay
//     shared after FALLOC_FL_UNSHARE_RANGE: unshare-source-cached (a clone
//     leaves the source cached and clean) must fail the sharing check,
//     which reads the physical blocks from the image.
//
// The same cases pass on the unpatched kernel (catalogue runs). The series
// is a one-file change to fs/iomap/buffered-io.c: a rebuild in the shared
// work tree, then cached.
func TestPlantedCopyOnWriteBugsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a kernel with a planted series and boots it")
	}
	bin, root := buildCLI(t)
	// A planted bug is a kernel failure: exit 1.
	seen := runForReport(t, bin, root, exitFail, "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-cow"),
		"--revision", "planted-cow", "--fs", "xfs", "--bs", "4096",
		"--cases", "clone-cow-subblock,unshare-source-cached")
	cow := seen["clone-cow-subblock"]
	require.Equal(t, runner.Fail, cow.Status, "%+v", cow)
	assert.Equal(t, runner.Check("content"), cow.Failures[0].Check)
	// Op 5 writes 3 bytes at 2*4096+7 into the source's shared block 2:
	// the 7 bytes before it are the shared ones, read as zeros.
	assert.Equal(t, int64(2*4096), cow.Failures[0].Offset)
	assert.Contains(t, cow.Failures[0].Msg, "7 byte(s) differ")
	assert.False(t, cow.Failures[0].ModelZero, "the model has the shared bytes there")

	// (Its last op, a sub-block write into the clone, trips bug 1 too.)
	un := seen["unshare-source-cached"]
	require.Equal(t, runner.Fail, un.Status, "%+v", un)
	sharing := false
	for _, f := range un.Failures {
		if f.Check == "sharing" {
			sharing = true
			assert.Contains(t, f.Msg, "physical block")
		}
	}
	assert.True(t, sharing, "unshare-source-cached fails the sharing check: %+v", un.Failures)
	assert.Equal(t, runner.Pass, seen["(unmount+fsck)"].Status)
}
