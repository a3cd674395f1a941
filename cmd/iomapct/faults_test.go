package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// qemuOf lists the live QEMU processes whose command line mentions dir
// (their images live there), by scanning the process table.
func qemuOf(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("qemu-system")) || !bytes.Contains(cmd, []byte(dir)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if _, rest, _ := strings.Cut(string(st), ") "); strings.HasPrefix(rest, "Z") {
				continue // dead, waiting to be reaped
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// poll waits for a fact of the process table or the file system, which
// offer nothing to block on, until it holds or the deadline passes.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRun starts a real run long enough to interrupt: one filesystem, many
// random sequences, one VM. It returns the command, its run directory and
// its stderr.
func startRun(t *testing.T) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	bin, root := buildCLI(t)
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "run", "--fs", "ext4", "--bs", "4096", "--vms", "1", "--random", "300", "--random-ops", "60", "--out", out)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		for _, pid := range qemuOf(out) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return cmd, out, &stderr
}

// someCaseDone waits until the guest has reported a case.
func someCaseDone(t *testing.T, out string) {
	poll(t, 10*time.Minute, "no case finished", func() bool {
		b, _ := os.ReadFile(filepath.Join(out, "results.jsonl"))
		return bytes.Contains(b, []byte(`"type":"result"`))
	})
}

func exitOf(t *testing.T, cmd *exec.Cmd) int {
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// reportsHoldFinishedCases checks report.json and junit.xml: the finished
// cases are there, the unrun ones are listed once with cause.
func reportsHoldFinishedCases(t *testing.T, out, cause string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err, "report.json is written")
	var rep runner.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.NotEmpty(t, rep.Verdicts, "the finished cases are in report.json")
	require.Len(t, rep.NotRun, 1, "unrun cases are listed once, with one cause")
	assert.Contains(t, rep.NotRun[0].Because, cause)
	assert.NotEmpty(t, rep.NotRun[0].Cases)
	for _, v := range rep.Verdicts {
		for _, f := range v.Failures {
			assert.NotEqual(t, "the guest never reported this case", f.Msg)
		}
	}
	j, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	require.NoError(t, err, "junit.xml is written")
	var doc struct {
		Suites []struct {
			Cases []struct{} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(j, &doc))
	n := 0
	for _, s := range doc.Suites {
		n += len(s.Cases)
	}
	assert.Equal(t, len(rep.Verdicts), n, "junit.xml holds the finished cases")
	repros, _ := filepath.Glob(filepath.Join(out, "repro", "*"))
	assert.Empty(t, repros, "no repro file for cases the stop cut short or never ran")
	for _, v := range rep.Verdicts {
		if v.Status == runner.Error {
			assert.Contains(t, v.Failures[0].Msg, "the run was stopped: ", "a cut-short case names the stop")
		}
	}
}

// SIGTERM (CI timeouts, kill), SIGINT (^C) and SIGHUP (a closed terminal)
// end a real run alike: QEMU is stopped, the finished cases are judged and
// written, the rest are "not run because interrupted by <signal>", exit 2,
// and no QEMU survives.
func TestSignalsWriteReportsAndKillQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, out, stderr := startRun(t)
			someCaseDone(t, out)
			require.NoError(t, cmd.Process.Signal(sig))
			code := exitOf(t, cmd)
			t.Logf("%s", stderr)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr.String(), "interrupted by "+sig.String())
			assert.Empty(t, qemuOf(out), "no QEMU outlives iomapct")
			reportsHoldFinishedCases(t, out, "interrupted by "+sig.String())
		})
	}
}

// SIGKILL leaves iomapct no chance to clean up; the kernel kills QEMU
// (PR_SET_PDEATHSIG), so none is left in the process table.
func TestSIGKILLLeavesNoQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	cmd, out, _ := startRun(t)
	poll(t, 10*time.Minute, "QEMU never started", func() bool { return len(qemuOf(out)) > 0 })
	qemu := qemuOf(out)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	poll(t, 10*time.Second, fmt.Sprintf("QEMU %v outlived a SIGKILLed iomapct", qemu), func() bool { return len(qemuOf(out)) == 0 })
}

// A QEMU killed from outside mid-run: the finished cases are reported, the
// rest once as not run because QEMU was killed, exit 2 (infrastructure,
// not the kernel).
func TestKilledQEMUReportsUnrunCasesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	cmd, out, stderr := startRun(t)
	someCaseDone(t, out)
	for _, pid := range qemuOf(out) {
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	}
	code := exitOf(t, cmd)
	t.Logf("%s", stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "QEMU was killed from outside (killed)")
	reportsHoldFinishedCases(t, out, "QEMU was killed from outside")
}

// A disk that fills during a real run (--out on a tmpfs with room for the
// image and a few KiB more, less than the results and reports of the
// catalogue and 30 random sequences need): the error names ENOSPC and the
// file, the exit status is 2, and the verdicts of the cases that ran still
// reach stdout. 30 sequences keep the image at runner.ImageSize (64 MiB):
// from about 40 on, the image grows with the plan (runner/imagesize.go)
// and would no longer fit the tmpfs at all.
func TestFullDiskNamesENOSPCAndTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	bin, root := buildCLI(t)
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=65560k", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mounting a small tmpfs (needs root): %s", out)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	// -v: every verdict's line, which the assertions below read.
	cmd := exec.Command(bin, "run", "-v", "--fs", "ext4", "--bs", "4096", "--vms", "1", "--random", "30", "--out", filepath.Join(dir, "run"))
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	code := exitOf(t, cmd)
	t.Logf("%s\n%s", stderr.String(), stdout.String())
	assert.Equal(t, exitUsage, code)
	assert.Regexp(t, `write \S+/run/(results\.jsonl|console\.log|report\.json|junit\.xml): no space left on device`, stderr.String())
	assert.Regexp(t, `(?m)^(PASS|KNOWN) +ext4-4k `, stdout.String(), "the cases that ran are reported")
	assert.Empty(t, qemuOf(dir))
}
