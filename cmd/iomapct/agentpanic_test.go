package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// A panic in the guest agent, on a real guest: the agent built with the
// agentfault_panic tag panics as its second case starts. The host must
// name the panic (not "guest died without a done record"), exit 3 (a
// guest crash), write report.json and junit.xml with the case that
// finished (an ERROR saying why it was not judged on disk: the guest never
// unmounted, so its image may lack the case's data; a PASS would claim
// what nobody checked), the case that was running, and list the cases that
// never ran once, with the cause.
func TestAgentPanicOnRealGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the real kernel")
	}
	bin, root := buildCLI(t)
	agent := filepath.Join(t.TempDir(), "iomapct-agent")
	build := exec.Command("go", "build", "-tags", "agentfault_panic", "-trimpath", "-o", agent, "../iomapct-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "%s", b)

	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := runCLI(t, bin, root, "run", "--agent", agent, "--fs", "ext4", "--bs", "4096",
		"--vms", "1", "--no-races", "--crash", "off", "--out", out,
		"--cases", "straddle-beyond-eof,straddle-two-bytes-first-boundary,straddle-page-boundary")
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, 3, code, "a guest crash exits 3")
	assert.Contains(t, stdout+stderr, "the guest agent panicked while running ext4-4k/straddle-two-bytes-first-boundary: planted agent fault")
	assert.NotContains(t, stdout+stderr, "without a done record", "the panic, not its consequence, is the cause shown")

	rep, byCase := readReport(t, out)
	finished := byCase["straddle-beyond-eof"]
	require.NotEmpty(t, finished.Failures, "the finished case is in report.json")
	assert.Equal(t, runner.Error, finished.Status)
	assert.Contains(t, finished.Failures[0].Msg, "the guest never unmounted ext4-4k")
	running := byCase["straddle-two-bytes-first-boundary"]
	require.NotEmpty(t, running.Failures, "the running case is in report.json")
	assert.Contains(t, running.Failures[0].Msg, "it was running when the guest stopped")
	j, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	require.NoError(t, err, "junit.xml is written")
	assert.Contains(t, string(j), "straddle-beyond-eof")
	require.Len(t, rep.NotRun, 1, "the cases after the panic are listed once")
	assert.Contains(t, rep.NotRun[0].Cases, "ext4-4k/straddle-page-boundary")
}
