package runner

import (
	"fmt"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// NotRun is the cases a run never started, reported once with the reason
// (an interrupt, a killed or crashed VM) instead of one error each: a case
// that never ran says nothing about the kernel.
type NotRun struct {
	// Because says why, e.g. "VM 0 (ext4-4k): VM run interrupted: context
	// canceled".
	Because string `json:"because"`
	// Cases are disk/case names, e.g. "ext4-4k/append-series".
	Cases []string `json:"cases"`
}

// notRun lists the planned cases the guest never started, and the disks
// it never got to (their unmount+fsck), with the reason: a disk the guest
// could not mount gives its own (the mount error and the kernel's lines),
// the rest share because.
func notRun(plan *cases.Plan, records []proto.Record, because string) []NotRun {
	started, _ := judge.CaseTimes(records)
	mountErr := map[string]string{}
	for _, r := range records {
		var dr cases.DiskResult
		if judge.IsUnmount(r) && r.Decode(&dr) == nil && dr.MountErr != "" {
			mountErr[dr.Disk] = dr.MountErr
		}
	}
	var out []NotRun
	add := func(cause, name string) {
		for i := range out {
			if out[i].Because == cause {
				out[i].Cases = append(out[i].Cases, name)
				return
			}
		}
		out = append(out, NotRun{Because: cause, Cases: []string{name}})
	}
	for _, d := range plan.Disks {
		cause := because
		if e, ok := mountErr[d.Name]; ok {
			cause = "the guest could not mount " + d.Name + ": " + e
		}
		for _, f := range d.Files {
			if n := d.Name + "/" + f.Case; !started[n] {
				add(cause, n)
			}
		}
		if !judge.DiskStarted(started, d) && !started[judge.UnmountKey(d.Name)] {
			add(cause, d.Name+"/(unmount+fsck)")
		}
	}
	return out
}

// notRunCause is the reason for the unrun cases: the host-side error that
// ended the VMs (an interrupt, a kill), else the guest's crash.
func notRunCause(vmErr error, crash string) string {
	switch {
	case vmErr != nil:
		return vmErr.Error()
	case crash != "":
		return "the guest stopped: " + crash
	}
	return "the guest never reported them"
}

// line is the one line the human report gives them.
func (n *NotRun) line() string {
	disks := map[string]bool{}
	var order []string
	for _, c := range n.Cases {
		d, _, _ := strings.Cut(c, "/")
		if !disks[d] {
			disks[d] = true
			order = append(order, d)
		}
	}
	return fmt.Sprintf("NOT RUN %d case(s) on %s, because %s", len(n.Cases), strings.Join(order, ", "), n.Because)
}

// markStopped rewrites the verdicts that failed only because the guest
// stopped (check "crash": never reported, or its disk never unmounted)
// when the host stopped it (an interrupt, a QEMU killed from outside):
// the cause is the stop, not the case, so the check becomes "stopped",
// names the cause, and no repro file is written for it.
func markStopped(vs []Verdict, cause string) {
	for i := range vs {
		v := &vs[i]
		if v.Status != Error || len(v.Failures) == 0 {
			continue
		}
		only := true
		for _, f := range v.Failures {
			only = only && f.Check == "crash"
		}
		if !only {
			continue
		}
		for j := range v.Failures {
			v.Failures[j].Check = "stopped"
			v.Failures[j].Msg += "; the run was stopped: " + cause
		}
	}
}

// stopped reports whether markStopped marked v.
func stopped(v Verdict) bool {
	return len(v.Failures) > 0 && v.Failures[0].Check == "stopped"
}
