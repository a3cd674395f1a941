package cases

import (
	"fmt"
	"strings"
)

// MaxReadLen bounds a Read or MapRead: the guest sends the bytes it read
// back in its result record, which must stay small.
const MaxReadLen = 64 << 10

// RWFNames are the pwritev2 flags the vocabulary knows, in the order RWF
// lists them: RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND
// (include/uapi/linux/fs.h).
var RWFNames = []string{"dsync", "sync", "nowait", "append"}

// SyncModes are the values of Op.Sync: the descriptor a PWrite or a
// Fallocate uses is opened with O_SYNC or O_DSYNC.
var SyncModes = []string{"osync", "odsync"}

// HasRWF reports whether a PWritev2 carries the named RWF flag.
func (o Op) HasRWF(name string) bool {
	if o.RWF == "" {
		return false
	}
	for _, f := range strings.Split(o.RWF, ",") {
		if f == name {
			return true
		}
	}
	return false
}

// EAGAIN is what the guest records as a write's return value when the
// kernel answered EAGAIN (a RWF_NOWAIT write that would block): -EAGAIN.
const EAGAIN = -11

// validateReadShiftSync checks the fields of the read, shift and sync-write
// kinds (and that no other kind carries them).
func (o Op) validateReadShiftSync() error {
	switch o.Kind {
	case Read, MapRead:
		if o.Len <= 0 || o.Len > MaxReadLen {
			return fmt.Errorf("op %s: read length must be in [1, %d]", o, MaxReadLen)
		}
	case Collapse, Insert:
		if o.Len <= 0 {
			return fmt.Errorf("op %s: %s needs a positive length", o, o.Kind)
		}
	}
	if o.Sync != "" {
		if o.Kind != PWrite && o.Kind != Fallocate {
			return fmt.Errorf("op %s: only pwrite and fallocate take sync=", o.Kind)
		}
		ok := false
		for _, m := range SyncModes {
			ok = ok || m == o.Sync
		}
		if !ok {
			return fmt.Errorf("op %s: sync=%s is not one of %s", o, o.Sync, strings.Join(SyncModes, ","))
		}
	}
	if o.Kind != PWritev2 {
		if o.RWF != "" {
			return fmt.Errorf("op %s: only pwritev2 takes rwf=", o.Kind)
		}
		return nil
	}
	if o.Len <= 0 {
		return fmt.Errorf("op %s: pwritev2 needs a positive length", o)
	}
	if o.RWF == "" {
		return fmt.Errorf("op %s: pwritev2 needs rwf= (one or more of %s)", o, strings.Join(RWFNames, ","))
	}
	// One canonical spelling per flag set, so that replay files and
	// minimised sequences compare equal.
	next := 0
	for _, f := range strings.Split(o.RWF, ",") {
		i := next
		for i < len(RWFNames) && RWFNames[i] != f {
			i++
		}
		if i == len(RWFNames) {
			return fmt.Errorf("op %s: rwf=%s: %q is unknown or out of order (flags in the order %s, each once)", o, o.RWF, f, strings.Join(RWFNames, ","))
		}
		next = i + 1
	}
	if o.HasRWF("append") && o.Off != 0 {
		return fmt.Errorf("op %s: with rwf=append the kernel writes at EOF; write the offset as 0", o)
	}
	return nil
}
