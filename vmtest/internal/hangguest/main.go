//go:build linux

// Command hangguest is the /init of the VM that tests the host's watchdog
// on the real kernel. It plays the agent's part of the result protocol:
// ready, then cases hang/case1 and hang/case2, each started and finished,
// then hang/case3, which has LKDTM's HUNG_TASK put it to sleep in D state
// for good (drivers/misc/lkdtm/bugs.c: TASK_UNINTERRUPTIBLE, schedule()).
// It serves the host's requests as the agent does, so the watchdog's
// sysrq-w dump shows that stuck task.
//
// Build it static: CGO_ENABLED=0 GOAMD64=v1 go build.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/vmtest/guest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

const debugfs = "/sys/kernel/debug"

func main() {
	defer guest.Leave()
	_, em, err := guest.Start()
	if err != nil {
		fmt.Println("hangguest:", err)
		return
	}
	em.Emit(proto.Ready, "", nil, nil)
	for _, c := range []string{"hang/case1", "hang/case2"} {
		em.Emit(proto.Start, c, nil, nil)
		em.Emit(proto.Result, c, map[string]string{"case": c}, nil)
	}
	em.Emit(proto.Start, "hang/case3", nil, nil)
	err = unix.Mount("debugfs", debugfs, "debugfs", 0, "")
	if err == nil {
		// Returns only if LKDTM is missing.
		err = os.WriteFile(debugfs+"/provoke-crash/DIRECT", []byte("HUNG_TASK"), 0)
	}
	err = fmt.Errorf("HUNG_TASK did not hang (CONFIG_LKDTM, CONFIG_DEBUG_FS?): %v", err)
	em.Emit(proto.Result, "hang/case3", nil, err)
	em.Emit(proto.Done, "", nil, nil)
}
