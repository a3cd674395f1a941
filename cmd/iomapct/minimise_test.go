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
	"github.com/iomapct/iomapct/reference"
)

// TestMinimisePlantedDisagreement plants a model/guest disagreement with the
// test hook (every expected content is corrupted, so any sequence that
// writes data fails the content check) into a 24-op random sequence and
// minimises it on the real kernel. With every expected content corrupted,
// any one op that leaves a byte in the file (a write, a truncate up) fails
// on its own, so the 1-minimal repro is exactly one such op.
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
	require.Len(t, min, 1, "one op alone fails: %v", min)
	// The hook flips the first non-zero expected byte, or the first byte:
	// the op left must give the file at least one byte (a write, or a
	// truncate up), else there is nothing to flip and it could not fail.
	m, err := reference.Run(reference.Geometry{FS: "ext4", BlockSize: 4096, PageSize: 4096, MaxFolio: 4096}, min)
	require.NoError(t, err)
	assert.Positive(t, m.Size(), "the op left must leave bytes in the file: %v", min[0])
	saved, err := os.ReadFile(filepath.Join(dir, "min", "minimal.ops"))
	require.NoError(t, err)
	assert.Equal(t, stdout.String(), string(saved))
}
