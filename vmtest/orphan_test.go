package vmtest

import (
	"context"
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
)

const (
	// fakePIDEnv names a file where the fake QEMU writes its PID.
	fakePIDEnv = "IOMAPCT_FAKE_QEMU_PIDFILE"
	// fakeHostEnv makes the test binary a host that runs a fake QEMU in
	// the directory it names, as iomapct would, until it is killed.
	fakeHostEnv = "IOMAPCT_FAKE_HOST"
)

func writePID(path string) {
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644)
	os.Rename(tmp, path) // whole or absent for the reader
}

func fakeHost(dir string) {
	os.Unsetenv(fakeHostEnv) // its QEMU is to play QEMU, not another host
	exe, _ := os.Executable()
	_, err := Run(context.Background(), Machine{QEMU: exe, Kernel: "k", Initramfs: "i", Dir: dir, CaseTimeout: -1, Timeout: time.Hour})
	fmt.Fprintln(os.Stderr, "fake host:", err)
	os.Exit(1)
}

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// waitFor polls cond (a process-table or file fact with no event to wait
// on) until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// QEMU never outlives the process that started it, even one killed by
// SIGKILL, which can run no clean-up: the kernel kills QEMU
// (PR_SET_PDEATHSIG). It also runs in its own process group, so a signal
// to the host's group does not reach it.
func TestQEMUDiesWithItsHostEvenOnSIGKILL(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "qemu.pid")
	exe, err := os.Executable()
	require.NoError(t, err)
	host := exec.Command(exe)
	host.Env = append(os.Environ(), fakeHostEnv+"="+dir, fakeEnv+"=ready;start d/a;stay", fakePIDEnv+"="+pidFile, "GORACE=atexit_sleep_ms=0")
	require.NoError(t, host.Start())
	defer host.Process.Kill()
	waitFor(t, 30*time.Second, "the fake QEMU never started", func() bool { _, err := os.Stat(pidFile); return err == nil })
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	qemu, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	require.True(t, alive(qemu))
	t.Cleanup(func() { syscall.Kill(qemu, syscall.SIGKILL) }) // should it have survived
	pgid, err := syscall.Getpgid(qemu)
	require.NoError(t, err)
	assert.Equal(t, qemu, pgid, "QEMU leads its own process group")

	require.NoError(t, host.Process.Signal(syscall.SIGKILL))
	host.Wait()
	waitFor(t, 10*time.Second, fmt.Sprintf("QEMU (pid %d) outlived its SIGKILLed host", qemu), func() bool { return !alive(qemu) })
}
