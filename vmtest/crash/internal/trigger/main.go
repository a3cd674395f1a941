//go:build linux

// Command trigger is the /init of the VMs that record the crash
// classifier's test logs. It plays a tiny guest agent: it logs the case
// markers for disk/case1..3 exactly as the real agent does, and during
// case 3 it has LKDTM provoke the crash named by iomapct.trigger= on the
// kernel command line (WARNING, BUG, EXCEPTION, PANIC, HUNG_TASK,
// SOFTLOCKUP, ...; see drivers/misc/lkdtm/core.c) or RCU_STALL (ours, see
// provoke). Without a trigger it is a clean run. It then reboots, which ends the VM (QEMU -no-reboot).
//
// Build it static: CGO_ENABLED=0 GOAMD64=v1 go build.
package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/vmtest/guest"
)

const (
	debugfs = "/sys/kernel/debug"
	direct  = debugfs + "/provoke-crash/DIRECT"
	// giveUp bounds the wait for the kernel's report: under TCG on a busy
	// host a hung-task check takes a few seconds, never minutes. It stays
	// below the recorder's VM timeout so that the console says why.
	giveUp = 90 * time.Second
)

func main() {
	// The child: the process that writes to DIRECT and so takes the
	// crash (an oops kills it; a hung task leaves it in D state), while
	// PID 1 survives to finish the run.
	if len(os.Args) >= 3 && os.Args[1] == "provoke" {
		if len(os.Args) == 4 && os.Args[3] == "churn-rcu" {
			go churnRCU()
		}
		if err := os.WriteFile(direct, []byte(os.Args[2]), 0); err != nil {
			say("write %s to %s: %v", os.Args[2], direct, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if err := setup(); err != nil {
		say("%v", err)
		guest.Leave()
	}
	trigger := cmdlineParam("iomapct.trigger")
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("disk/case%d", i)
		guest.Mark("case %s start", name)
		if i == 3 && trigger != "" {
			if err := provoke(trigger); err != nil {
				say("%v", err)
			}
		}
		guest.Mark("case %s end", name)
	}
	guest.Leave()
}

func setup() error {
	if err := guest.Setup(); err != nil {
		return err
	}
	if err := unix.Mount("debugfs", debugfs, "debugfs", 0, ""); err != nil {
		return fmt.Errorf("mount debugfs on %s (CONFIG_DEBUG_FS): %w", debugfs, err)
	}
	return nil
}

// provoke sets the detectors up for the crash type, has a child process
// trigger it and waits until the kernel has printed the whole report.
func provoke(crash string) error {
	// Lower the detectors' thresholds so a hang is reported in seconds;
	// a soft lockup never ends on one CPU, so let it panic the VM.
	// RCU_STALL is not an LKDTM type: it is SOFTLOCKUP with RCU's stall
	// timeout at its minimum and panic_on_rcu_stall, so that RCU reports
	// the spinning CPU and panics. RCU only notices while a grace period
	// is in progress, which is a race on an idle guest (churnRCU narrows
	// it): when RCU misses it, the soft-lockup detector, set well above
	// RCU's timeout, ends the VM instead and the recorder tries again.
	settings := map[string]map[string]string{
		"HUNG_TASK":  {"/proc/sys/kernel/hung_task_timeout_secs": "2"},
		"SOFTLOCKUP": {"/proc/sys/kernel/watchdog_thresh": "2", "/proc/sys/kernel/softlockup_panic": "1"},
		"RCU_STALL": {"/proc/sys/kernel/watchdog_thresh": "10", "/proc/sys/kernel/softlockup_panic": "1",
			"/proc/sys/kernel/panic_on_rcu_stall": "1", "/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout": "3"},
	}
	for k, v := range settings[crash] {
		if err := os.WriteFile(k, []byte(v), 0); err != nil {
			return fmt.Errorf("set %s=%s: %w", k, v, err)
		}
	}
	lkdtm := crash
	if crash == "RCU_STALL" {
		lkdtm = "SOFTLOCKUP"
	}
	// Read the kernel log from its current end before triggering, so the
	// report's closing line cannot slip past.
	kmsg, err := os.Open("/dev/kmsg")
	if err != nil {
		return err
	}
	defer kmsg.Close()
	if _, err := kmsg.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("seek /dev/kmsg to end: %w", err)
	}
	done := make(chan error, 2)
	go func() { done <- waitReport(kmsg, crash) }()

	args := []string{"provoke", lkdtm}
	if crash == "RCU_STALL" {
		args = append(args, "churn-rcu")
	}
	child := exec.Command("/proc/self/exe", args...)
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		return fmt.Errorf("start provoking child: %w", err)
	}
	// An oops kills only the child's faulting thread, so the child may
	// never exit: the kernel log, not the child, says when we are done.
	go func() {
		err := child.Wait()
		if crash == "WARNING" || crash == "WARNING_MESSAGE" {
			done <- err // the WARN was printed in full before write returned
		}
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(giveUp):
		return fmt.Errorf("no %s report on /dev/kmsg after %v", crash, giveUp)
	}
}

// waitReport reads kmsg records until the line that closes the report of
// the given crash type. PANIC, SOFTLOCKUP and RCU_STALL never get here:
// their panic reboots the VM.
func waitReport(kmsg *os.File, crash string) error {
	hung := false
	buf := make([]byte, 8192)
	for {
		// One read returns one record: "prio,seq,usec,flags;message\n"
		// followed by " KEY=value" dictionary lines.
		n, err := kmsg.Read(buf)
		if err != nil {
			return fmt.Errorf("read /dev/kmsg: %w", err)
		}
		rec := string(buf[:n])
		_, msg, ok := strings.Cut(rec, ";")
		if !ok {
			continue
		}
		msg, _, _ = strings.Cut(msg, "\n")
		switch {
		case strings.HasPrefix(msg, "---[ end trace"):
			return nil
		case strings.Contains(msg, "blocked for more than"):
			hung = true
		case hung && strings.TrimSpace(msg) == "</TASK>":
			return nil
		}
	}
}

// churnRCU keeps RCU grace periods running: RCU only checks for a stall
// while a grace period is in progress, and an idle one-CPU guest may have
// none when the CPU starts spinning. Unmounting frees the mount through
// RCU and waits for a grace period.
func churnRCU() {
	for {
		if err := unix.Mount("tmpfs", "/mnt", "tmpfs", 0, ""); err != nil {
			say("mount tmpfs on /mnt: %v", err)
			return
		}
		if err := unix.Unmount("/mnt", 0); err != nil {
			say("umount /mnt: %v", err)
			return
		}
	}
}

// cmdlineParam returns key's value from /proc/cmdline, "" if absent.
func cmdlineParam(key string) string {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// say writes to the console, where the recorded log keeps it.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "iomapct-trigger: "+format+"\n", args...)
}
