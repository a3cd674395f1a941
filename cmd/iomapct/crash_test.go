package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// TestCrashCatchesPlantedFsyncBug runs one crash case on ext4-4k with a
// planted patch (testdata/planted-fsync: ext4_sync_file skips
// file_write_and_wait_range, so fsync commits the journal without the
// data) and without it. Unpatched, every crash point passes; patched, the
// crash points after the fsync returned find the file empty, and the
// failure names the crash point: the log entry where the power was cut and
// the fsync that had returned. The patch is a one-file rebuild in the
// shared work tree.
func TestCrashCatchesPlantedFsyncBug(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a one-file kernel variant and boots it")
	}
	bin, root := buildCLI(t)
	run := func(extra ...string) (int, string, *runner.Report) {
		out := filepath.Join(t.TempDir(), "crash")
		args := append([]string{"crash", "--fs", "ext4", "--bs", "4096", "--cases", "crash-write-fsync", "--out", out}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("%v\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		data, err := os.ReadFile(filepath.Join(out, "report.json"))
		require.NoError(t, err)
		var rep runner.Report
		require.NoError(t, json.Unmarshal(data, &rep))
		return code, stdout.String(), &rep
	}

	code, _, base := run("--revision", "baseline")
	require.Equal(t, exitPass, code, "the unpatched kernel keeps what fsync promised")
	statuses := map[string]runner.Status{}
	for _, v := range base.Verdicts {
		statuses[v.Case] = v.Status
	}
	assert.Equal(t, map[string]runner.Status{"crash-write-fsync": runner.Pass, "(crash recovery+fsck)": runner.Pass}, statuses)

	code, stdout, rep := run("--revision", "planted", "--series", filepath.Join("cmd", "iomapct", "testdata", "planted-fsync"))
	require.Equal(t, exitFail, code)
	var v *runner.Verdict
	for i := range rep.Verdicts {
		if rep.Verdicts[i].Case == "crash-write-fsync" {
			v = &rep.Verdicts[i]
		}
	}
	require.NotNil(t, v)
	require.Equal(t, runner.Fail, v.Status)
	require.NotEmpty(t, v.Failures)
	f := v.Failures[0]
	assert.True(t, strings.HasPrefix(string(f.Check), "crash-"), f.Check)
	assert.Regexp(t, `^power cut at log entry \d+ of ext4-4k \(\d+ writes on disk\) after op 1 \(fsync\) of crash-write-fsync returned`, f.Msg)
	assert.Contains(t, stdout, "repro: iomapct crash --ops ")
}

// Bad crash flags are usage errors (exit 2) before anything is built.
func TestCrashFlagErrors(t *testing.T) {
	assert.Equal(t, exitUsage, run(context.Background(), []string{"run", "--crash", "bogus"}))
	assert.Equal(t, exitUsage, run(context.Background(), []string{"crash", "stray-argument"}))
	assert.NoError(t, checkCrashMode("quick"))
	assert.ErrorContains(t, checkCrashMode("all"), `"all" is not off, quick or full`)
}
