package crash_test

import (
	"bytes"
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
	// must, if set, is a line the log must contain: the recorder boots
	// again (up to recordAttempts times) when a racy detector missed.
	must string
}{
	{"clean.log", "", "", ""},
	{"warning.log", "WARNING", "", ""},
	{"warning-message.log", "WARNING_MESSAGE", "", ""},
	{"bug.log", "BUG", "", ""},
	{"oops.log", "EXCEPTION", "", ""},
	// oops=panic (panic_on_oops): the oops is followed by "Kernel panic -
	// not syncing: Fatal exception" after the registers are printed again.
	{"oops-panic.log", "EXCEPTION", "oops=panic", ""},
	{"panic.log", "PANIC", "", ""},
	{"hung-task.log", "HUNG_TASK", "", ""},
	{"soft-lockup.log", "SOFTLOCKUP", "", ""},
	// The same endless loop, reported by RCU's stall detector first (it
	// then panics: panic_on_rcu_stall); see RCU_STALL in the trigger.
	{"rcu-stall.log", "RCU_STALL", "rcupdate.rcu_cpu_stall_timeout=3", "detected stalls"},
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
				// hang the tool; a recording takes well under a minute.
				Timeout: 2 * time.Minute,
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
			var (
				o   *vmtest.Outcome
				log []byte
			)
			for attempt := 1; ; attempt++ {
				var err error
				o, err = vmtest.Run(context.Background(), m)
				require.NoError(t, err)
				log, err = os.ReadFile(o.ConsoleLog)
				require.NoError(t, err)
				if o.TimedOut {
					// Keep the evidence: the temporary directory goes away.
					keep := filepath.Join(os.TempDir(), "iomapct-record-"+rec.file)
					require.NoError(t, os.WriteFile(keep, log, 0o644))
					t.Fatalf("VM for %s timed out; console kept in %s", rec.file, keep)
				}
				if rec.must == "" || bytes.Contains(log, []byte(rec.must)) {
					break
				}
				require.Less(t, attempt, recordAttempts, "%q never showed up in %s", rec.must, rec.file)
				t.Logf("%s: attempt %d lacks %q, booting again", rec.file, attempt, rec.must)
			}
			require.NoError(t, os.WriteFile(filepath.Join("testdata", rec.file), log, 0o644))
			t.Logf("%s: %d bytes, VM ran %v; cmdline: %s", rec.file, len(log), o.Ended.Sub(o.Started).Round(time.Second), o.Cmdline)
		})
	}
}

// recordAttempts bounds the boots for a recording whose detector races.
const recordAttempts = 10

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
