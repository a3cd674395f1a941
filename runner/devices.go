package runner

import "fmt"

// MaxDisks is how many images one run's plan takes: the plan names its
// disks /dev/vda../dev/vdz, one letter each (makePlan and the VM split),
// and every disk is a virtio-blk PCI device of the one VM a plan may run
// in.
const MaxDisks = 26

// CheckMatrix says whether a matrix fits one run's plan (MaxDisks).
func CheckMatrix(m []Target) error {
	if len(m) > MaxDisks {
		return fmt.Errorf("at most %d filesystem images per VM (%d asked for)", MaxDisks, len(m))
	}
	return nil
}
