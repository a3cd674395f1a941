//go:build linux

// Command iomapct-agent is PID 1 of the test VM. It reads /plan.json, and for
// each disk mounts it, runs every case's ops with real syscalls, reports each
// case on the result port as it ends, unmounts, and leaves the VM. The host
// judges; the agent only does and tells.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/cases/execute"
	"github.com/iomapct/iomapct/vmtest/guest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

func main() {
	defer guest.Leave()
	// guest.Start also answers the host's watchdog, which asks for a stack
	// dump before killing a hung case.
	port, em, err := guest.Start()
	if err != nil {
		fmt.Println("iomapct-agent:", err)
		return
	}
	defer port.Close()
	// A panic would otherwise die silently in the deferred reboot: say it
	// on the console and to the host (which reports it as the crash's
	// cause) before leaving.
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("%v\n%s", r, debug.Stack())
			fmt.Println("iomapct-agent: panic:", msg)
			em.Emit(proto.Log, proto.AgentPanic, nil, errors.New(msg))
		}
	}()
	var plan cases.Plan
	b, err := os.ReadFile("/plan.json")
	if err == nil {
		err = json.Unmarshal(b, &plan)
	}
	if err != nil {
		em.Emit(proto.Log, "plan", nil, err)
		return
	}
	// The series under test exports its per-folio callouts as trace events;
	// record them per case where the kernel has them.
	tr := guest.EnableTrace("iomap", "iomap_write_begin", "iomap_write_end", "iomap_folio_done", "iomap_put_folio")
	klog, err := guest.OpenKernelLog()
	if err != nil {
		em.Emit(proto.Log, "kmsg", nil, err)
		return
	}
	cov = guest.OpenGcov() // a coverage kernel's counters, sent after each step
	em.Emit(proto.Ready, "", tr.Events(), nil)
	if plan.Shell != nil {
		runShell(em, plan)
		em.Emit(proto.Done, "", nil, nil)
		return
	}
	for _, d := range plan.Disks {
		if d.Crash {
			runCrashDisk(em, klog, d)
			continue
		}
		if d.Recover {
			recoverDisk(em, klog, d)
			continue
		}
		runDisk(em, tr, klog, d)
	}
	em.Emit(proto.Done, "", nil, nil)
	if crashPlan(plan) {
		powerCut() // no sync, no unmount: the host judges the write log
	}
}

func runDisk(em *proto.Emitter, tr *guest.Tracer, klog *guest.KernelLog, d cases.DiskPlan) {
	mnt := filepath.Join("/mnt", d.Name)
	os.MkdirAll(mnt, 0o755)
	mount := func() error {
		if err := unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts); err != nil {
			return fmt.Errorf("mount -t %s %s %s -o %q: %w", d.FS, d.Device, mnt, d.MountOpts, err)
		}
		return nil
	}
	klog.Drain(7) // what came before belongs to no mount
	if err := mount(); err != nil {
		// One record for the disk, with the kernel's own explanation
		// (e.g. "EXT2-fs (vda): error: bad blocksize 65536"): its cases
		// never ran, which the host reports once.
		dr := cases.DiskResult{Disk: d.Name, MountErr: err.Error(), Kernel: klog.Drain(4)}
		if len(dr.Kernel) > 0 {
			dr.MountErr += "; kernel: " + strings.Join(dr.Kernel, "; ")
		}
		em.Emit(proto.Unmount, d.Name, dr, err)
		return
	}
	cov.Send(em, d.Name+"/mount")
	env := execute.Env{Remount: func() error {
		if err := unix.Unmount(mnt, 0); err != nil {
			return fmt.Errorf("umount %s: %w", mnt, err)
		}
		return mount()
	}}
	for _, f := range d.Files {
		name := d.Name + "/" + f.Case
		guest.Mark("case %s start", name)
		em.Emit(proto.Start, name, nil, nil)
		beforeCase(name)
		tr.Reset()
		klog.Drain(7) // whatever came before belongs to no case
		var res cases.Result
		if f.Race != nil {
			res = execute.Race(env, filepath.Join(mnt, f.File), f.Ops, f.Race)
		} else {
			res = execute.File(env, filepath.Join(mnt, f.File), f.Ops)
		}
		if res.Err != "" {
			res.Err += planDrift(d.Name, f.Case, f.Ops)
		}
		res.Kernel = klog.Drain(4)
		res.Disk, res.Case, res.File = d.Name, f.Case, f.File
		// A race's callouts interleave several writers: not compared.
		if res.Ino != 0 && f.Race == nil {
			// Every file's events at once (reading consumes them), then
			// split by inode.
			all, err := tr.Lines(" ino ")
			if err != nil {
				res.TraceErr = err.Error() // the ops themselves went as res says
			}
			res.Trace = inoLines(all, res.Ino)
			for i := range res.Files {
				res.Files[i].Trace = inoLines(all, res.Files[i].Ino)
			}
		}
		guest.Mark("case %s end", name)
		em.Emit(proto.Result, name, res, nil)
		cov.Send(em, name)
	}
	dr := cases.DiskResult{Disk: d.Name}
	if err := unix.Unmount(mnt, 0); err != nil {
		dr.UnmountErr = err.Error()
	}
	dr.Kernel = klog.Drain(4)
	em.Emit(proto.Unmount, d.Name, dr, nil)
	cov.Send(em, d.Name+"/umount")
}

// inoLines picks the trace lines of inode ino.
func inoLines(lines []string, ino uint64) []string {
	key := fmt.Sprintf(" ino %#x ", ino)
	var out []string
	for _, l := range lines {
		if strings.Contains(l, key) {
			out = append(out, l)
		}
	}
	return out
}
