package vmtest

import (
	"context"
	"errors"
	"flag"
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

	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/vmtest/proto"
)

var testKernel = flag.String("kernel", "", "kernel image for the real-kernel tests; default: the project's default kernel from the build cache (built if missing)")

// realKernel is the image of the kernel the project runs by default, from
// the cache, as the runner boots it.
func realKernel(t *testing.T) string {
	t.Helper()
	if *testKernel != "" {
		return *testKernel
	}
	a := defaultArtifact(t)
	return BootImage(a.BzImage, a.Vmlinux)
}

func defaultArtifact(t *testing.T) *kernel.Artifact {
	t.Helper()
	ctx := context.Background()
	cache, err := kernel.CacheDir()
	require.NoError(t, err)
	src, err := kernel.FromTarball(ctx, cache, kernel.DebianTarball)
	require.NoError(t, err, "the kernel source comes from Debian: apt-get install linux-source-6.12 (make deps does)")
	frags, err := kernel.DefaultFragments("", false)
	require.NoError(t, err)
	a, err := kernel.Build(ctx, cache, kernel.Spec{Source: src, Fragments: frags})
	require.NoError(t, err)
	return a
}

// The default config has CONFIG_PVH, so runs boot the vmlinux directly
// (the watchdog tests below boot it).
func TestDefaultKernelBootsThroughPVH(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the built kernel (and builds it if the cache is cold)")
	}
	a := defaultArtifact(t)
	assert.Equal(t, a.Vmlinux, BootImage(a.BzImage, a.Vmlinux))
}

// hangMachine boots the real kernel with hangguest as /init: two cases
// that finish, then hang/case3 stuck in D state for good.
func hangMachine(t *testing.T) Machine {
	t.Helper()
	bz := realKernel(t)
	work := t.TempDir()
	bin := filepath.Join(work, "init")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./internal/hangguest")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build hangguest: %s", out)
	initrd, _, err := Initramfs(work, []File{{Path: "init", Host: bin}})
	require.NoError(t, err)
	// The VM deadline is a backstop far beyond the case limit.
	return Machine{Kernel: bz, Initramfs: initrd, Dir: filepath.Join(work, "vm"), Timeout: 5 * time.Minute}
}

func results(s *proto.Stream) []string {
	var out []string
	for _, r := range s.Records {
		if r.Type == proto.Result {
			out = append(out, r.Name)
		}
	}
	return out
}

// A case stuck in D state on the real kernel: the watchdog names it and
// how long it ran, the console shows its stack from the sysrq-w dump, and
// the two cases before it keep their results.
func TestWatchdogOnRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the real kernel (and builds it if the cache is cold)")
	}
	m := hangMachine(t)
	// Well below the guest's hung-task timeout (30 s), so the stack on
	// the console can only come from the watchdog's dump.
	m.CaseTimeout = 5 * time.Second
	o, err := Run(context.Background(), m)
	require.NoError(t, err)
	con, _ := os.ReadFile(o.ConsoleLog)
	require.NotNil(t, o.Hang, "no hang reported; console:\n%s", con)
	assert.Equal(t, "hang/case3", o.Hang.Case)
	assert.GreaterOrEqual(t, o.Hang.For, 5*time.Second)
	assert.False(t, o.TimedOut)
	assert.Equal(t, []string{"hang/case1", "hang/case2"}, results(o.Stream))
	assert.True(t, o.Hang.Dumped, "console:\n%s", con)
	assert.Contains(t, string(con), "sysrq: Show Blocked State")
	assert.Contains(t, string(con), "lkdtm_HUNG_TASK", "the stuck task's stack")
	assert.NotContains(t, string(con), "blocked for more than", "the kernel's own hung-task report came first")
	if !KVM() {
		assert.Contains(t, o.Cmdline, "tsc_early_khz=")
		assert.NotContains(t, string(con), "Unable to calibrate against PIT", "the guest was given its TSC rate")
	}
	t.Logf("%s; QEMU ran %.1fs", o.Hang, o.Ended.Sub(o.Started).Seconds())
}

// QEMU killed by someone else while the real guest is stuck: a
// *KilledError naming the signal and the case, and the earlier results.
func TestOutsideKillOnRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the real kernel (and builds it if the cache is cold)")
	}
	m := hangMachine(t)
	m.CaseTimeout = time.Hour
	killErr := make(chan error, 1)
	m.OnRecord = func(r proto.Record) {
		if r.Type == proto.Start && r.Name == "hang/case3" {
			killErr <- killChild("qemu-system-x86")
		}
	}
	o, err := Run(context.Background(), m)
	require.NoError(t, <-killErr)
	var ke *KilledError
	require.True(t, errors.As(err, &ke), "want a *KilledError, got %v", err)
	assert.Equal(t, "hang/case3", ke.Case)
	assert.Contains(t, err.Error(), "QEMU was killed from outside (killed) while the guest ran case hang/case3")
	require.NotNil(t, o)
	assert.Nil(t, o.Hang)
	assert.Equal(t, []string{"hang/case1", "hang/case2"}, results(o.Stream))
}

// killChild SIGKILLs this process's child whose command name is comm.
func killChild(comm string) error {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || s[open+1:close] != comm {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(s)[0])
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	return errors.New("no child named " + comm)
}
