package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEnd is the walking skeleton run for real: build (or reuse) the
// kernel, boot it under QEMU, write on all four filesystems, judge from the
// host. Then the same run with the expected bytes corrupted by the test hook
// must fail, name each filesystem and the first differing offset, and exit 1.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the end-to-end run builds and boots a kernel")
	}
	bin, root := buildCLI(t)

	run := func(corrupt bool) (string, int) {
		// -v: every verdict's line, which the assertions below read.
		cmd := exec.Command(bin, "run", "-v", "--out", filepath.Join(t.TempDir(), "run"))
		cmd.Dir = root
		cmd.Env = os.Environ()
		if corrupt {
			cmd.Env = append(cmd.Env, "IOMAPCT_TEST_CORRUPT_EXPECTED=1")
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("iomapct run (corrupt=%v):\n%s\n%s", corrupt, stderr.String(), stdout.String())
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return stdout.String(), code
	}

	stdout, code := run(false)
	require.Equal(t, exitPass, code, "a clean run must pass")
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^PASS `+fs+`$`), stdout)
	}

	stdout, code = run(true)
	require.Equal(t, exitFail, code, "corrupted expectations must fail the run")
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^FAIL `+fs+`$`), stdout)
		assert.Regexp(t, regexp.MustCompile(`(?m)^FAIL\s+`+fs+`-\dk\s+straddle-beyond-eof: content at offset \d+ \(0x[0-9a-f]+\)`), stdout)
	}
}
