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

// TestKnownFindingPlusSecondCorruptionFails runs a case that shows a
// recorded finding (ext2-eof-garbage: pollute-then-write-far leaves 0xee
// in [2051, 4096) on ext2-4k) on the real baseline kernel: as it is, it is
// KNOWN; with the test hook flipping the last expected data byte (a second
// difference, after the garbage), it must FAIL, since the image no longer
// matches the recorded deviation exactly.
func TestKnownFindingPlusSecondCorruptionFails(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the baseline kernel")
	}
	bin, root := buildCLI(t)
	run := func(hook string) runner.Verdict {
		out := filepath.Join(t.TempDir(), "run")
		cmd := exec.Command(bin, "run", "--fs", "ext2", "--bs", "4096", "--cases", "pollute-then-write-far", "--out", out)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "IOMAPCT_TEST_CORRUPT_EXPECTED="+hook)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("hook %q:\n%s\n%s", hook, stderr.String(), stdout.String())
		if hook == "" {
			require.NoError(t, err, "a known finding alone passes the run")
		} else {
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, exitFail, ee.ExitCode())
		}
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		var rep runner.Report
		require.NoError(t, json.Unmarshal(b, &rep))
		for _, v := range rep.Verdicts {
			if v.Case == "pollute-then-write-far" {
				return v
			}
		}
		t.Fatal("no verdict for pollute-then-write-far")
		return runner.Verdict{}
	}
	known := run("")
	assert.Equal(t, runner.Known, known.Status)
	assert.Contains(t, known.Finding, "ext2-eof-garbage:")

	second := run("last")
	assert.Equal(t, runner.Fail, second.Status)
	assert.Empty(t, second.Finding)
	require.NotEmpty(t, second.Failures)
	// The first difference is still the known garbage; the message points
	// at the second.
	assert.Equal(t, int64(2051), second.Failures[0].Offset)
	assert.Contains(t, second.Failures[0].Msg, "more bytes differ from offset")
}
