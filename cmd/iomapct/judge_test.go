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

	"github.com/iomapct/iomapct/vmtest/crash"
)

// iomapct judge on a real run (ext4 at 1k and 4k, two VMs, three cases, two
// of them KNOWN) reproduces the run's report.json: the verdicts byte for
// byte, and every other field except the stages (the "check" stage is the
// re-judging's time; the others stay the run's). Then, with one image
// removed and the plan's corruption hook switched on, it names the missing
// image, keeps that disk's verdicts, and re-judges the other disk into
// failures: the verdicts are recomputed, not copied. On the way, the run's
// console logs show the guest's case markers (crash attribution works).
func TestJudgeReproducesARealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs a real run (builds and boots the baseline kernel)")
	}
	bin, root := buildCLI(t)
	dir := filepath.Join(t.TempDir(), "run")
	cli := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		t.Logf("iomapct %v: exit %d\n%s\n%s", args, code, stderr.String(), stdout.String())
		return stdout.String(), stderr.String(), code
	}
	runOut, _, code := cli("run", "--fs", "ext4", "--bs", "1024,4096", "--vms", "2", "--keep-images", "--out", dir,
		"--cases", "straddle-beyond-eof,append-series,pollute-then-dio-extend")
	require.Equal(t, exitPass, code)
	ran, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)

	// The guest's case markers reach the loglevel=5 console, so console
	// lines (a WARN, a panic) are attributed to the case that ran.
	attributed := map[string]bool{}
	for _, vm := range []string{"vm-0", "vm-1"} {
		con, err := os.ReadFile(filepath.Join(dir, vm, "console.log"))
		require.NoError(t, err)
		for name := range crash.Attribute(con) {
			attributed[name] = true
		}
	}
	for _, disk := range []string{"ext4-1k", "ext4-4k"} {
		for _, c := range []string{"straddle-beyond-eof", "append-series", "pollute-then-dio-extend"} {
			assert.True(t, attributed[disk+"/"+c], "no console markers for %s/%s", disk, c)
		}
	}

	judgeOut, _, code := cli("judge", dir)
	require.Equal(t, exitPass, code)
	assert.Equal(t, runOut, judgeOut, "the same human report")
	judged, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	before, after := fields(t, ran), fields(t, judged)
	assert.Contains(t, string(before["verdicts"]), `"status": "KNOWN"`, "the run has findings to reproduce")
	assert.Equal(t, string(before["verdicts"]), string(after["verdicts"]), "verdicts byte for byte")
	for k := range before {
		if k != "stages" {
			assert.Equal(t, string(before[k]), string(after[k]), "report field %s", k)
		}
	}
	kept, err := os.ReadFile(filepath.Join(dir, "report.run.json"))
	require.NoError(t, err)
	assert.Equal(t, ran, kept, "the run's own report is kept")

	// Re-judged for real: a missing image is named, the other disk is
	// judged with the corruption hook and fails.
	require.NoError(t, os.Remove(filepath.Join(dir, "images", "ext4-4k.img")))
	plan, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	require.NoError(t, err)
	plan = bytes.Replace(plan, []byte(`"large_folios"`), []byte(`"corrupt_expected": true, "large_folios"`), 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plan.json"), plan, 0o644))
	out, stderr, code := cli("judge", "-v", dir)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "images missing, not re-judged (verdicts kept from report.json): ext4-4k; run with --keep-images")
	assert.Contains(t, out, "FAIL  ext4-1k  straddle-beyond-eof: content at offset")
	assert.Contains(t, out, "PASS  ext4-4k  straddle-beyond-eof")
}

func fields(t *testing.T, report []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(report, &m))
	return m
}
