package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/logwrites"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// CrashImageSize is the filesystem size of a crash run's images: every
// crash point is a full copy of the image, so it is kept small (each
// filesystem here makes and mounts at 16 MiB, and the crash cases stay
// under a few dozen blocks).
const CrashImageSize = 16 << 20

// markerArea is the device space past the filesystem where the guest writes
// its markers (logwrites.Marker): the device is this much bigger than the
// filesystem, which never touches it.
const markerArea = 64 << 10

// DefaultCrashPerVM is how many crash images a recovery VM mounts: the
// boot is the cost (a mount takes a tenth of a second, a boot one to
// several seconds), the scratch memory the bound ((VMs+1) * 48 * 16 MiB).
const DefaultCrashPerVM = 48

// CrashOptions tune `iomapct crash` beyond the run options.
type CrashOptions struct {
	// PerVM is how many crash images one recovery VM mounts (default
	// DefaultCrashPerVM, at most vmtest.MaxPackedDisks).
	PerVM int
	// Keep keeps every crash image; by default only failing ones are.
	Keep bool
	// Subsets adds, between consecutive crash points, up to this many
	// images holding a random subset of the writes since the earlier
	// flush (what a disk with a volatile cache may have persisted).
	Subsets int
}

// DefaultCrashMatrix is every filesystem at 4k blocks: the crash cases are
// about persistence, not block geometry (--bs 1024 adds it).
func DefaultCrashMatrix() []Target {
	var out []Target
	for _, fs := range filesystems.Names() {
		out = append(out, Target{FS: fs, BlockSize: 4096})
	}
	return out
}

// crashImage is one crash point of one disk, materialised.
type crashImage struct {
	disk  int // index in the plan
	point logwrites.CrashPoint
	path  string
	name  string // disk name in the recovery plan
	// recovery is the recovery VM's report (ok false: none came).
	recovery cases.DiskResult
	ok       bool
}

// RunCrash runs the crash cases with every disk's writes recorded, cuts the
// power at every flush in the record, has the kernel recover each crash
// image, and judges each case's file at each crash point against
// reference.CrashOracle, and each recovered filesystem with its fsck.
func RunCrash(ctx context.Context, o Options, co CrashOptions) (*Report, error) {
	o = o.withDefaults(DefaultCrashMatrix, cases.CrashCatalogue)
	if co.PerVM <= 0 {
		co.PerVM = DefaultCrashPerVM
	}
	if co.PerVM > vmtest.MaxPackedDisks {
		return nil, fmt.Errorf("at most %d crash images per recovery VM, not %d", vmtest.MaxPackedDisks, co.PerVM)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	rep := &Report{Revision: o.Revision, Out: o.Out}
	st := &stager{r: rep, log: o.Log, last: time.Now()}
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	// The same source and build stages as Run (a prebuilt --kernel too).
	art, version, err := o.kernel(ctx, cache, st)
	if err != nil {
		return rep, err
	}
	rep.Kernel, rep.KernelKey = art.BzImage, art.Key
	if o.largeFolios, err = largeFolios(art.Config); err != nil {
		return rep, err
	}

	plan, err := makeCrashPlan(ctx, o)
	if err != nil {
		return rep, err
	}
	st.done("images", fmt.Sprintf("%d filesystems, %d MiB each", len(plan.Disks), CrashImageSize>>20))
	agent := o.Agent
	if agent == "" {
		if agent, err = BuildAgent(ctx, filepath.Join(cache, "agent")); err != nil {
			return rep, err
		}
	}
	boot := vmtest.BootImage(art.BzImage, art.Vmlinux)

	// The workload: every disk recorded through blklogwrites.
	machines, runs, _, err := prepareVMs(o, plan, boot, agent, filepath.Join(cache, "initramfs"), nil)
	if err != nil {
		return rep, err
	}
	for g := range machines {
		for _, name := range runs[g].Disks {
			machines[g].WriteLogs = append(machines[g].WriteLogs, crashLogPath(o.Out, name))
		}
		// The guest writes its markers to the mounted device.
		machines[g].Append = strings.TrimSpace(machines[g].Append + " bdev_allow_write_mounted=1")
	}
	outs := runVMs(ctx, machines, runs)
	records, _, vmErr := mergeOutcomes(rep, outs)
	if vmErr != nil && len(records) == 0 {
		return rep, vmErr
	}
	results := map[string]cases.Result{}
	for _, r := range records {
		var cr cases.Result
		if r.Type == proto.Result && !strings.HasSuffix(r.Name, "/umount") && r.Decode(&cr) == nil {
			results[cr.Disk+"/"+cr.Case] = cr
		}
	}
	st.done("workload", fmt.Sprintf("%d cases written with every write recorded", len(results)))

	// Crash points, materialised disk by disk, recovered in batches and
	// judged as each batch comes back.
	j := newCrashJudge(ctx, o, co, plan, results)
	j.kernelVersion = version
	npoints, perDisk, err := crashPipeline(ctx, o, co, plan, boot, agent, filepath.Join(cache, "initramfs"), j)
	if err != nil {
		return rep, err
	}
	st.done("crash", fmt.Sprintf("%d crash points replayed, recovered and judged (%s)", npoints, strings.Join(perDisk, ", ")))
	rep.Verdicts = j.verdicts()
	reproErr := writeRepros(o, rep.Verdicts)
	for i := range rep.Verdicts {
		v := &rep.Verdicts[i]
		if v.Repro != "" {
			v.Repro = strings.Replace(v.Repro, "iomapct replay ", "iomapct crash --ops ", 1)
		}
	}
	st.done("check", summary(rep.Verdicts))
	if err := WriteReports(rep); err != nil {
		return rep, joinErrors(err, vmErr, reproErr)
	}
	return rep, joinErrors(vmErr, reproErr)
}

func crashLogPath(out, disk string) string { return filepath.Join(out, "logs", disk+".log") }
func crashBasePath(out, disk string) string {
	return filepath.Join(out, "images", disk+".base.img")
}

// makeCrashPlan makes each image (kept as the replay's base), grows the
// device past the filesystem for the markers, and creates the empty logs.
func makeCrashPlan(ctx context.Context, o Options) (*cases.Plan, error) {
	plan := &cases.Plan{}
	for _, dir := range []string{"images", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.Out, dir), 0o755); err != nil {
			return nil, err
		}
	}
	for i, t := range o.Matrix {
		d := cases.DiskPlan{Name: t.Name(), FS: t.FS, BlockSize: t.BlockSize, Device: fmt.Sprintf("/dev/vd%c", 'a'+i),
			Crash: true, MarkerOffset: CrashImageSize}
		img := imagePath(o.Out, d.Name)
		if err := mkfs.Make(ctx, mkfs.Spec{FS: t.FS, BlockSize: t.BlockSize, Size: CrashImageSize, Path: img}); err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Name, err)
		}
		if err := os.Truncate(img, CrashImageSize+markerArea); err != nil {
			return nil, err
		}
		if err := copyFile(img, crashBasePath(o.Out, d.Name)); err != nil {
			return nil, err
		}
		if err := os.WriteFile(crashLogPath(o.Out, d.Name), nil, 0o644); err != nil {
			return nil, err
		}
		for _, c := range o.Cases {
			if !c.AppliesTo(t.FS) {
				continue
			}
			ops, err := c.Ops(t.BlockSize)
			if err != nil {
				return nil, err
			}
			d.Files = append(d.Files, cases.FilePlan{Case: c.Name, File: c.Name, Ops: ops})
		}
		plan.Disks = append(plan.Disks, d)
	}
	return plan, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func recoverBatch(ctx context.Context, o Options, plan *cases.Plan, boot, agent, initramfsCache string, b int, batch []*crashImage) error {
	sub := &cases.Plan{}
	var disks []string
	for _, ci := range batch {
		d := plan.Disks[ci.disk]
		if !filesystems.Get(d.FS).Caps.Journal {
			ci.ok = true // no journal: the host's fsck is its recovery (mkfs.CheckRecovered)
			continue
		}
		j := len(disks)
		sub.Disks = append(sub.Disks, cases.DiskPlan{Name: ci.name, FS: d.FS, BlockSize: d.BlockSize,
			Device: virtioName(j), MountOpts: d.MountOpts, Recover: true})
		disks = append(disks, ci.path)
	}
	if len(disks) == 0 {
		return nil
	}
	planJSON, _ := json.MarshalIndent(sub, "", " ")
	initrd, _, err := vmtest.Initramfs(initramfsCache, []vmtest.File{{Path: "init", Host: agent}, {Path: "plan.json", Data: planJSON}})
	if err != nil {
		return fmt.Errorf("recovery VM %d: initramfs: %w", b, err)
	}
	m := vmtest.Machine{Kernel: boot, Initramfs: initrd, Disks: disks, Dir: filepath.Join(o.Out, "recovery", fmt.Sprintf("vm-%d", b)),
		Timeout: o.VMTimeout, CaseTimeout: o.CaseTimeout, PackDisks: true}
	out, err := vmtest.Run(ctx, m)
	if err != nil {
		return fmt.Errorf("recovery VM %d: %w", b, err)
	}
	byName := map[string]*crashImage{}
	for _, ci := range batch {
		byName[ci.name] = ci
	}
	for _, r := range out.Stream.Records {
		var dr cases.DiskResult
		if r.Type == proto.Result && strings.HasSuffix(r.Name, "/umount") && r.Decode(&dr) == nil {
			if ci := byName[dr.Disk]; ci != nil {
				ci.recovery, ci.ok = dr, true
			}
		}
	}
	if !out.Stream.Complete {
		for _, ci := range batch {
			if !ci.ok {
				ci.recovery.MountErr = "the recovery VM ended before mounting this image: " + crashSummary(out)
			}
		}
	}
	return nil
}

// virtioName is the kernel's name for the j-th virtio disk (vda..vdz,
// vdaa..., virtblk_name_format).
func virtioName(j int) string {
	if j < 26 {
		return fmt.Sprintf("/dev/vd%c", 'a'+j)
	}
	return fmt.Sprintf("/dev/vd%c%c", 'a'+j/26-1, 'a'+j%26)
}

// fsckCrash checks a recovered image (mkfs.CheckRecovered): the
// journaling filesystems must be clean; without a journal (ext2) the
// checker's repair is the recovery, and only damage it cannot repair is a
// failure.
func fsckCrash(ctx context.Context, fs, path string) error {
	return mkfs.CheckRecovered(ctx, fs, path)
}

// opsReturned is how many of file fi's ops had returned when the marker m
// was written (-1: the file's creation was not yet durable).
func opsReturned(m logwrites.Marker, fi, nops int) int {
	switch {
	case m.Seq == 0 || uint32(fi) > m.File:
		return -1
	case uint32(fi) < m.File:
		return nops
	}
	return int(m.Op) + 1
}

// describePoint names a crash point for a failure: where in the log the
// power was cut and which op had last returned.
func describePoint(p logwrites.CrashPoint, d cases.DiskPlan) string {
	last := "before any case's file was durable"
	if p.Returned.Seq > 0 && int(p.Returned.File) < len(d.Files) {
		f := d.Files[p.Returned.File]
		if p.Returned.Op < 0 {
			last = fmt.Sprintf("after %s's file was created durably", f.Case)
		} else if int(p.Returned.Op) < len(f.Ops) {
			last = fmt.Sprintf("after op %d (%s) of %s returned", p.Returned.Op, f.Ops[p.Returned.Op], f.Case)
		}
	}
	if len(p.Subset) > 0 {
		return fmt.Sprintf("power cut before log entry %d of %s with only writes %v of those since the previous flush on disk, %s", p.Entry, d.Name, p.Subset, last)
	}
	return fmt.Sprintf("power cut at log entry %d of %s (%d writes on disk) %s", p.Entry, d.Name, p.Writes, last)
}

func opsDone(ops []cases.Op, returned int) string {
	switch {
	case returned <= 0:
		return "no op of this case had returned"
	case returned >= len(ops):
		return "all its ops had returned"
	}
	return fmt.Sprintf("ops 0..%d returned, op %d (%s) in flight", returned-1, returned, ops[returned])
}
