//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/cases/execute"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// runShell is iomapct shell's guest side: every disk mounted at
// /mnt/<disk>, each file's ops run (a replayed case, --after), then a shell
// on the console until it exits; then the disks are unmounted, so what the
// session wrote reaches the images, and the VM leaves.
func runShell(em *proto.Emitter, plan cases.Plan) {
	var mounted []string
	fmt.Println()
	for _, d := range plan.Disks {
		mnt := filepath.Join("/mnt", d.Name)
		os.MkdirAll(mnt, 0o755)
		if err := unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts); err != nil {
			fmt.Printf("iomapct shell: mount -t %s %s %s: %v\n", d.FS, d.Device, mnt, err)
			continue
		}
		mounted = append(mounted, mnt)
		fmt.Printf("iomapct shell: %s (%s, %d-byte blocks) on %s mounted at %s\n", d.Name, d.FS, d.BlockSize, d.Device, mnt)
		env := execute.Env{Remount: func() error {
			if err := unix.Unmount(mnt, 0); err != nil {
				return err
			}
			return unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts)
		}}
		for _, f := range d.Files {
			path := filepath.Join(mnt, f.File)
			res := execute.File(env, path, f.Ops)
			status := fmt.Sprintf("%d ops done, size %d", res.OpsDone, res.Size)
			if res.Err != "" {
				status += ": " + res.Err
			}
			fmt.Printf("iomapct shell: replayed %s into %s: %s\n", f.Case, path, status)
		}
	}
	fmt.Printf("iomapct shell: commands in %s: %s\n", plan.Shell.Path, shellCommands(plan.Shell.Path))
	fmt.Println("iomapct shell: 'exit' (or end of input) unmounts the disks and powers off")
	em.Emit(proto.Start, "shell", nil, nil)
	cmd := exec.Command(plan.Shell.Shell, plan.Shell.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = []string{"PATH=" + plan.Shell.Path, "HOME=/", "TERM=vt100", "PS1=iomapct# "}
	cmd.Dir = "/mnt"
	err := cmd.Run()
	if err != nil {
		fmt.Println("iomapct shell:", err)
	}
	unix.Sync()
	for _, mnt := range mounted {
		if err := unix.Unmount(mnt, 0); err != nil {
			fmt.Printf("iomapct shell: umount %s: %v\n", mnt, err)
		}
	}
	em.Emit(proto.Result, "shell", nil, err)
}

func shellCommands(dir string) string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
