//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/cases/execute"
	"github.com/iomapct/iomapct/vmtest/guest"
	"github.com/iomapct/iomapct/vmtest/logwrites"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// runCrashDisk runs a disk's cases for a power cut: it mounts, and for each
// file creates it durably (fsync of the file and of the root directory),
// then runs its ops, writing a marker to the raw device past the
// filesystem after the set-up and after every op. It never unmounts. The
// host reads the disk's write log and cuts the power at every flush.
func runCrashDisk(em *proto.Emitter, klog *guest.KernelLog, d cases.DiskPlan) {
	mnt := filepath.Join("/mnt", d.Name)
	os.MkdirAll(mnt, 0o755)
	fail := func(err error) {
		for _, f := range d.Files {
			em.Emit(proto.Result, d.Name+"/"+f.Case, cases.Result{Disk: d.Name, Case: f.Case, File: f.File, Err: err.Error()}, err)
		}
	}
	if err := unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts); err != nil {
		fail(fmt.Errorf("mount -t %s %s %s -o %q: %w", d.FS, d.Device, mnt, d.MountOpts, err))
		return
	}
	mk, err := openMarker(d.Device, d.MarkerOffset)
	if err != nil {
		fail(err)
		return
	}
	defer mk.close()
	for fi, f := range d.Files {
		name := d.Name + "/" + f.Case
		guest.Mark("case %s start (crash)", name)
		em.Emit(proto.Start, name, nil, nil)
		klog.Drain(7)
		path := filepath.Join(mnt, f.File)
		var res cases.Result
		if err := createDurably(mnt, path); err != nil {
			res.Err = err.Error()
		} else if err := mk.write(uint32(fi), -1); err != nil {
			res.Err = err.Error()
		} else {
			env := execute.Env{
				AfterOp: func(i int) error { return mk.write(uint32(fi), int32(i)) },
				// A remount is a clean unmount in the middle: durable.
				Remount: func() error {
					if err := unix.Unmount(mnt, 0); err != nil {
						return fmt.Errorf("umount %s: %w", mnt, err)
					}
					return unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts)
				},
			}
			res = execute.File(env, path, f.Ops)
		}
		res.Kernel = klog.Drain(4)
		res.Disk, res.Case, res.File = d.Name, f.Case, f.File
		em.Emit(proto.Result, name, res, nil)
	}
}

// createDurably creates an empty file and makes its directory entry
// durable (fsync of the file and of its directory), so that every crash
// point after it may expect the file to exist.
func createDurably(dir, path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	err = unix.Fsync(fd)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if err := unix.Fsync(dfd); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// marker writes logwrites markers to the raw device with O_DIRECT|O_DSYNC:
// the write is on the device (and, with the FUA the block layer turns into
// a flush, in the write log before any later write) when it returns.
// Writing a mounted device needs bdev_allow_write_mounted=1 on the kernel
// command line (CONFIG_BLK_DEV_WRITE_MOUNTED is off).
type marker struct {
	fd  int
	off int64
	buf []byte
	seq uint32
}

func openMarker(dev string, off int64) (*marker, error) {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_DIRECT|unix.O_DSYNC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s for markers (needs bdev_allow_write_mounted=1): %w", dev, err)
	}
	buf, err := unix.Mmap(-1, 0, logwrites.MarkerSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &marker{fd: fd, off: off, buf: buf}, nil
}

func (m *marker) write(file uint32, op int32) error {
	m.seq++
	copy(m.buf, logwrites.Marker{Seq: m.seq, File: file, Op: op}.Encode())
	n, err := unix.Pwrite(m.fd, m.buf, m.off)
	if err == nil && n != len(m.buf) {
		err = fmt.Errorf("short write %d", n)
	}
	if err != nil {
		return fmt.Errorf("marker %d: %w", m.seq, err)
	}
	return nil
}

func (m *marker) close() {
	unix.Munmap(m.buf)
	unix.Close(m.fd)
}

func crashPlan(p cases.Plan) bool {
	for _, d := range p.Disks {
		if d.Crash {
			return true
		}
	}
	return false
}

// powerCut ends the VM at once: no sync, no unmount (QEMU runs with
// -no-reboot, so a restart is its exit).
func powerCut() {
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

// recoverDisk mounts a crash image, which replays its journal or log, and
// unmounts it; the host then reads and checks the image.
func recoverDisk(em *proto.Emitter, klog *guest.KernelLog, d cases.DiskPlan) {
	mnt := filepath.Join("/mnt", d.Name)
	os.MkdirAll(mnt, 0o755)
	klog.Drain(7)
	dr := cases.DiskResult{Disk: d.Name}
	if err := unix.Mount(d.Device, mnt, d.FS, 0, d.MountOpts); err != nil {
		dr.MountErr = fmt.Sprintf("mount -t %s %s: %v", d.FS, d.Device, err)
	} else if err := unix.Unmount(mnt, 0); err != nil {
		dr.UnmountErr = err.Error()
	}
	dr.Kernel = klog.Drain(4)
	em.Emit(proto.Result, d.Name+"/umount", dr, nil)
}
