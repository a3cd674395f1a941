package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelftestKillsAndReportsSurvivors is the CI subset of `make
// selftest`: two mutants of kernel/mutants (one-file rebuilds: fs/ext2/
// balloc.c, fs/gfs2/bmap.c), each on one filesystem image with the case
// known to kill it. Both must be killed by the check they name. Then the
// same gfs2 mutant with a case that cannot reach it (its kernel now
// cached) must be reported SURVIVED and fail the command.
func TestSelftestKillsAndReportsSurvivors(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds two mutant kernels and boots each")
	}
	bin, root := buildCLI(t)
	run := func(args ...string) (string, int) {
		args = append([]string{"selftest", "--bs", "4096", "--out", filepath.Join(t.TempDir(), "st")}, args...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("iomapct %v:\n%s\n%s", args, stderr.String(), stdout.String())
		if ee, ok := err.(*exec.ExitError); ok {
			return stdout.String(), ee.ExitCode()
		}
		require.NoError(t, err)
		return stdout.String(), 0
	}

	out, code := run("--mutants", "ext2-free-blocks-group-count,gfs2-unstuff-at-exact-max",
		"--cases", "truncate-aligned-down-then-up,gfs2-stuffed-exact-max")
	assert.Equal(t, exitPass, code, "every mutant killed")
	assert.Regexp(t, regexp.MustCompile(`(?m)^ext2-free-blocks-group-count\s+fsck\s+\d+s\s+KILLED by 1 verdict\(s\): fsck×1; e\.g\. ext2-4k \(unmount\+fsck\)$`), out)
	assert.Regexp(t, regexp.MustCompile(`(?m)^gfs2-unstuff-at-exact-max\s+stuffed\s+\d+s\s+KILLED by 1 verdict\(s\): stuffed×1; e\.g\. gfs2-4k gfs2-stuffed-exact-max$`), out)
	assert.Contains(t, out, "2 killed, 0 survived")

	out, code = run("--mutants", "gfs2-unstuff-at-exact-max", "--cases", "straddle-exact-blocks")
	assert.Equal(t, exitFail, code, "a survivor fails the self-test")
	assert.Regexp(t, regexp.MustCompile(`(?m)^gfs2-unstuff-at-exact-max\s+stuffed\s+\d+s\s+SURVIVED$`), out)
}
