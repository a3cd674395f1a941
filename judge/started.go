package judge

import (
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// CaseTimes returns which cases the guest started (or reported; and
// which disks it unmounted, under UnmountKey) and, for those it finished, how long each took (by the guest's own record times).
func CaseTimes(records []proto.Record) (started map[string]bool, took map[string]float64) {
	started, took = map[string]bool{}, map[string]float64{}
	at := map[string]float64{}
	for _, r := range records {
		switch r.Type {
		case proto.Start:
			started[r.Name] = true
			at[r.Name] = r.T
		case proto.Unmount:
			started[UnmountKey(r.Name)] = true
		case proto.Result:
			if IsUnmount(r) { // an older agent's
				started[UnmountKey(strings.TrimSuffix(r.Name, "/umount"))] = true
				continue
			}
			started[r.Name] = true // a result implies a start, even unrecorded
			if t0, ok := at[r.Name]; ok && r.T >= t0 {
				took[r.Name] = r.T - t0
			}
		}
	}
	return started, took
}

// UnmountKey is where CaseTimes notes a disk's unmount record: no case
// name can make it (a case named "umount" is d.Name+"/umount").
func UnmountKey(disk string) string { return disk + "\x00unmount" }

// DiskStarted reports whether the guest started any case of the disk.
func DiskStarted(started map[string]bool, d cases.DiskPlan) bool {
	for _, f := range d.Files {
		if started[d.Name+"/"+f.Case] {
			return true
		}
	}
	return false
}
