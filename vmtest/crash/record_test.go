package crash_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest"
)

var (
	record       = flag.Bool("record", false, "boot a real kernel under QEMU and re-record testdata/*.log")
	recordKernel = flag.String("kernel", "", "bzImage for -record; default: the newest /root/.cache/iomapct/kernels/*/bzImage")
	recordOnly   = flag.String("only", "", "with -record, re-record only this file, e.g. hung-task.log")
)

// recordings says which LKDTM crash type (drivers/misc/lkdtm/core.c)
// each recorded log provokes during case 3 ("" is a clean run), and any
// extra kernel parameters.
var recordings = []struct {
	file, trigger, append string
	cpus                  int
}{
	{"clean.log", "", "", 0},
	{"warning.log", "WARNING", "", 0},
	{"warning-message.log", "WARNING_MESSAGE", "", 0},
	{"bug.log", "BUG", "", 0},
	{"oops.log", "EXCEPTION", "", 0},
	// oops=panic (panic_on_oops): the oops is followed by "Kernel panic -
	// not syncing: Fatal exception" after the registers are printed again.
	{"oops-panic.log", "EXCEPTION", "oops=panic", 0},
	{"panic.log", "PANIC", "", 0},
	{"hung-task.log", "HUNG_TASK", "", 0},
	{"soft-lockup.log", "SOFTLOCKUP", "", 0},
	// The same endless loop with the soft-lockup detector off: RCU's
	// stall detector reports it. The trigger's PID 1 needs a second CPU.
	{"rcu-stall.log", "RCU_STALL", "", 2},
}

// TestRecord re-records testdata/*.log from a real kernel built with the
// project's config (CONFIG_LKDTM, CONFIG_DEBUG_FS, hung-task and
// soft-lockup detectors):
//
//	go test ./vmtest/crash -run TestRecord -record [-kernel bzImage] [-only hung-task.log]
//
// Plain `go test` only reads testdata.
func TestRecord(t *testing.T) {
	if !*record {
		t.Skip("pass -record to boot a kernel and re-record testdata")
	}
	kernel := *recordKernel
	if kernel == "" {
		kernel = newestKernel(t)
	}
	_, err := exec.LookPath("qemu-system-x86_64")
	require.NoError(t, err, "qemu-system-x86_64 missing: apt-get install qemu-system-x86")

	work := t.TempDir()
	initBin := filepath.Join(work, "init")
	build := exec.Command("go", "build", "-trimpath", "-o", initBin, "./internal/trigger")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOAMD64=v1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build trigger: %s", out)
	initramfs, _, err := vmtest.Initramfs(work, []vmtest.File{{Path: "init", Host: initBin}})
	require.NoError(t, err)

	for _, rec := range recordings {
		if *recordOnly != "" && rec.file != *recordOnly {
			continue
		}
		t.Run(rec.file, func(t *testing.T) {
			dir := filepath.Join(work, rec.file)
			m := vmtest.Machine{
				Kernel: kernel, Initramfs: initramfs, Dir: dir,
				// A stuck recording (a detector that never fires) must not
				// hang the tool; a TCG boot takes well under a minute.
				Timeout: 4 * time.Minute,
				CPUs:    rec.cpus,
			}
			// Machine sets loglevel=5, which hides the agent's <5>
			// markers (the console prints levels below loglevel) and the
			// hung-task call trace (sched_show_task prints at KERN_INFO);
			// the later loglevel=7 wins.
			m.Append = "loglevel=7"
			if rec.trigger != "" {
				m.Append += " iomapct.trigger=" + rec.trigger
			}
			if rec.append != "" {
				m.Append += " " + rec.append
			}
			o, err := vmtest.Run(context.Background(), m)
			require.NoError(t, err)
			log, err := os.ReadFile(o.ConsoleLog)
			require.NoError(t, err)
			if o.TimedOut {
				// Keep the evidence: the temporary directory goes away.
				keep := filepath.Join(os.TempDir(), "iomapct-record-"+rec.file)
				require.NoError(t, os.WriteFile(keep, log, 0o644))
				t.Fatalf("VM for %s timed out; console kept in %s", rec.file, keep)
			}
			require.NoError(t, os.WriteFile(filepath.Join("testdata", rec.file), log, 0o644))
			t.Logf("%s: %d bytes, VM ran %v; cmdline: %s", rec.file, len(log), o.Ended.Sub(o.Started).Round(time.Second), o.Cmdline)
		})
	}
}

func newestKernel(t *testing.T) string {
	found, _ := filepath.Glob("/root/.cache/iomapct/kernels/*/bzImage")
	require.NotEmpty(t, found, "no kernel in /root/.cache/iomapct/kernels/*/bzImage: build one (iomapct kernel build) or pass -kernel")
	sort.Slice(found, func(i, j int) bool {
		a, _ := os.Stat(found[i])
		b, _ := os.Stat(found[j])
		return a.ModTime().After(b.ModTime())
	})
	return found[0]
}
