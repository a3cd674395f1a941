package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// TestMinimisePlantedDisagreement plants a model/guest disagreement with the
// test hook (every expected content is corrupted, so any sequence that
// writes data fails the content check) into a 24-op random sequence and
// minimises it on the real kernel. With every expected byte pattern
// corrupted, any one op that writes data fails on its own, so the 1-minimal
// repro is exactly one op, and one that writes.
func TestMinimisePlantedDisagreement(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel once per candidate")
	}
	bin, root := buildCLI(t)
	dir := t.TempDir()

	ops := cases.Random(7, 24, 4096, "ext4")
	seq := filepath.Join(dir, "seq.ops")
	var buf bytes.Buffer
	require.NoError(t, cases.WriteSequence(&buf, ops, cases.SequenceHeader(7, "ext4", 4096)))
	require.NoError(t, os.WriteFile(seq, buf.Bytes(), 0o644))

	cmd := exec.Command(bin, "minimise", seq, "--fs", "ext4", "--bs", "4096", "--budget", "40", "--out", filepath.Join(dir, "min"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "IOMAPCT_TEST_CORRUPT_EXPECTED=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, exitFail, ee.ExitCode(), "minimise exits 1: it hands back a failing repro")

	min, err := cases.ReadSequence(bytes.NewReader(stdout.Bytes()))
	require.NoError(t, err)
	require.Len(t, min, 1, "one data write alone fails: %v", min)
	assert.True(t, min[0].Writes(), "the op left must write data: %v", min[0])
	saved, err := os.ReadFile(filepath.Join(dir, "min", "minimal.ops"))
	require.NoError(t, err)
	assert.Equal(t, stdout.String(), string(saved))
}
