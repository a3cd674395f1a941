package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
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

// CrashOptions tune `iomapct crash` beyond the run options.
type CrashOptions struct {
	// PerVM is how many crash images one recovery VM mounts (default 24:
	// the pc machine's free PCI slots bound the virtio disks).
	PerVM int
	// Keep keeps every crash image; by default only failing ones are.
	Keep bool
}

// DefaultCrashMatrix is every filesystem at 4k blocks: the crash cases are
// about persistence, not block geometry (--bs 1024 adds it).
func DefaultCrashMatrix() []Target {
	var out []Target
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		out = append(out, Target{fs, 4096})
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
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Revision == "" {
		o.Revision = "baseline"
	}
	if len(o.Matrix) == 0 {
		o.Matrix = DefaultCrashMatrix()
	}
	if len(o.Cases) == 0 {
		o.Cases = cases.CrashCatalogue
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if co.PerVM <= 0 {
		co.PerVM = 24
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
	spec, err := o.KernelSpec(ctx, cache)
	if err != nil {
		return nil, err
	}
	rep.SourceID, rep.SeriesID, rep.Patches = spec.Source.ID, spec.Series.ID()[:16], len(spec.Series.Patches)
	st.done("source", spec.Source.ID)
	art, err := kernel.Build(ctx, cache, spec)
	if err != nil {
		return rep, err
	}
	rep.Kernel = art.BzImage
	if o.largeFolios, err = largeFolios(art.Config); err != nil {
		return rep, err
	}
	st.done("build", map[bool]string{true: "cached ", false: "built "}[art.Cached]+art.Key)

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

	// Crash points, materialised disk by disk, recovered in batches.
	imgs, perDisk, err := materialise(o, plan)
	if err != nil {
		return rep, err
	}
	st.done("replay", fmt.Sprintf("%d crash points (%s)", len(imgs), strings.Join(perDisk, ", ")))
	if err := recoverAll(ctx, o, co, plan, boot, agent, filepath.Join(cache, "initramfs"), imgs); err != nil {
		return rep, err
	}
	st.done("recovery", fmt.Sprintf("%d crash images mounted, %d per VM", len(imgs), co.PerVM))

	rep.Verdicts = judgeCrash(ctx, o, co, plan, results, imgs)
	writeRepros(o, rep.Verdicts)
	for i := range rep.Verdicts {
		v := &rep.Verdicts[i]
		if v.Repro != "" {
			v.Repro = strings.Replace(v.Repro, "iomapct replay ", "iomapct crash --ops ", 1)
		}
	}
	st.done("check", summary(rep.Verdicts))
	if err := WriteReports(rep); err != nil {
		return rep, err
	}
	return rep, vmErr
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

// materialise replays each disk's log onto a copy of its base image, one
// crash point after the other, and copies the image at each point.
func materialise(o Options, plan *cases.Plan) ([]*crashImage, []string, error) {
	var imgs []*crashImage
	var perDisk []string
	dir := filepath.Join(o.Out, "crash")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	for di, d := range plan.Disks {
		lf, err := os.Open(crashLogPath(o.Out, d.Name))
		if err != nil {
			return nil, nil, err
		}
		fi, _ := lf.Stat()
		l, err := logwrites.Read(lf, fi.Size())
		if err != nil {
			lf.Close()
			return nil, nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		pts, err := l.CrashPoints(d.MarkerOffset)
		if err != nil {
			lf.Close()
			return nil, nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		work := filepath.Join(dir, d.Name+".work.img")
		if err := copyFile(crashBasePath(o.Out, d.Name), work); err != nil {
			lf.Close()
			return nil, nil, err
		}
		wf, err := os.OpenFile(work, os.O_RDWR, 0)
		if err != nil {
			lf.Close()
			return nil, nil, err
		}
		from := 0
		for _, p := range pts {
			if err := l.Apply(wf, CrashImageSize+markerArea, from, p.Entry); err != nil {
				wf.Close()
				lf.Close()
				return nil, nil, fmt.Errorf("%s: %w", d.Name, err)
			}
			from = p.Entry
			ci := &crashImage{disk: di, point: p, name: fmt.Sprintf("%s@%d", d.Name, p.Entry),
				path: filepath.Join(dir, fmt.Sprintf("%s-%s.img", d.Name, p.Name()))}
			if err := copyFile(work, ci.path); err != nil {
				wf.Close()
				lf.Close()
				return nil, nil, err
			}
			imgs = append(imgs, ci)
		}
		wf.Close()
		lf.Close()
		os.Remove(work)
		perDisk = append(perDisk, fmt.Sprintf("%s %d of %d log entries", d.Name, len(pts), len(l.Entries)))
	}
	return imgs, perDisk, nil
}

// recoverAll mounts and unmounts every crash image in the guest (journal
// and log recovery are the kernel's), PerVM images per VM, o.VMs VMs at a
// time. ext2 has no journal to recover: its images go straight to the
// host's e2fsck.
func recoverAll(ctx context.Context, o Options, co CrashOptions, plan *cases.Plan, boot, agent, initramfsCache string, imgs []*crashImage) error {
	var todo []*crashImage
	for _, ci := range imgs {
		if plan.Disks[ci.disk].FS == "ext2" {
			ci.ok = true
			continue
		}
		todo = append(todo, ci)
	}
	var batches [][]*crashImage
	for len(todo) > 0 {
		n := min(co.PerVM, len(todo))
		batches = append(batches, todo[:n])
		todo = todo[n:]
	}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, o.VMs)
	var wg sync.WaitGroup
	for b, batch := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := recoverBatch(ctx, o, plan, boot, agent, initramfsCache, b, batch)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func recoverBatch(ctx context.Context, o Options, plan *cases.Plan, boot, agent, initramfsCache string, b int, batch []*crashImage) error {
	sub := &cases.Plan{}
	var disks []string
	for j, ci := range batch {
		d := plan.Disks[ci.disk]
		sub.Disks = append(sub.Disks, cases.DiskPlan{Name: ci.name, FS: d.FS, BlockSize: d.BlockSize,
			Device: virtioName(j), MountOpts: d.MountOpts, Recover: true})
		disks = append(disks, ci.path)
	}
	planJSON, _ := json.MarshalIndent(sub, "", " ")
	initrd, _, err := vmtest.Initramfs(initramfsCache, []vmtest.File{{Path: "init", Host: agent}, {Path: "plan.json", Data: planJSON}})
	if err != nil {
		return fmt.Errorf("recovery VM %d: initramfs: %w", b, err)
	}
	m := vmtest.Machine{Kernel: boot, Initramfs: initrd, Disks: disks, Dir: filepath.Join(o.Out, "recovery", fmt.Sprintf("vm-%d", b)),
		Timeout: o.VMTimeout, CaseTimeout: o.CaseTimeout}
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

// fsckCrash checks a recovered image: the journaling filesystems must be
// clean (mkfs.Check, read-only); ext2 has no journal, so e2fsck repairing
// it is its recovery, and only damage it cannot repair is a failure.
func fsckCrash(ctx context.Context, fs, path string) error {
	if fs != "ext2" {
		return mkfs.Check(ctx, fs, path)
	}
	out, err := exec.CommandContext(ctx, "e2fsck", "-f", "-y", path).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() < 4 {
		return nil // 1, 2: errors corrected
	}
	if err != nil {
		return fmt.Errorf("e2fsck -f -y %s: %v\n%s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
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

// judgeCrash judges every crash image: per case, its file at every crash
// point after its creation was durable; per disk, recovery and fsck.
func judgeCrash(ctx context.Context, o Options, co CrashOptions, plan *cases.Plan, results map[string]cases.Result, imgs []*crashImage) []Verdict {
	type key struct{ disk, file int }
	verdicts := map[key]*Verdict{}
	judged := map[key]int{}
	oracles := map[key]*reference.CrashOracle{}
	diskV := make([]*Verdict, len(plan.Disks))
	points := make([]int, len(plan.Disks))
	for di, d := range plan.Disks {
		t := o.Matrix[di]
		diskV[di] = &Verdict{Case: "(crash recovery+fsck)", Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
		for fi, f := range d.Files {
			v := &Verdict{Case: f.Case, Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
			for _, op := range f.Ops {
				v.Ops = append(v.Ops, op.String())
			}
			k := key{di, fi}
			verdicts[k] = v
			res, ok := results[d.Name+"/"+f.Case]
			switch {
			case !ok:
				v.errorf("crash", "the guest never reported this case")
			case res.Err != "":
				v.errorf("guest", "%s", res.Err)
			}
			if ok {
				kernelReports(v, res.Kernel)
			}
			orc, err := reference.NewCrashOracle(geometry(t, o.largeFolios), f.Ops)
			if err != nil {
				v.errorf("model", "%v", err)
				continue
			}
			oracles[k] = orc
		}
	}
	// Judge in parallel (fsck is the cost), two at a time like the VMs.
	var mu sync.Mutex
	sem := make(chan struct{}, max(2, o.VMs))
	var wg sync.WaitGroup
	for _, ci := range imgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := plan.Disks[ci.disk]
			where := describePoint(ci.point, d)
			type fileOutcome struct {
				fi   int
				ms   []reference.CrashMismatch
				errs []string
			}
			var fileOuts []fileOutcome
			var diskFails []string
			var kernel []string
			failed := false
			switch {
			case !ci.ok:
				diskFails = append(diskFails, "recovery: no report from the recovery VM")
			case ci.recovery.MountErr != "":
				diskFails = append(diskFails, "recovery mount failed: "+ci.recovery.MountErr)
			case ci.recovery.UnmountErr != "":
				diskFails = append(diskFails, "unmount after recovery failed: "+ci.recovery.UnmountErr)
			}
			kernel = ci.recovery.Kernel
			if len(diskFails) == 0 {
				if err := fsckCrash(ctx, d.FS, ci.path); err != nil {
					diskFails = append(diskFails, "fsck after recovery: "+err.Error())
				}
			}
			if len(diskFails) == 0 || d.FS == "ext2" {
				img, err := os.Open(ci.path)
				if err == nil {
					r, oerr := OpenImage(d.FS, img)
					if oerr != nil {
						diskFails = append(diskFails, "host reader: "+oerr.Error())
					} else {
						for fi, f := range d.Files {
							orc := oracles[key{ci.disk, fi}]
							ret := opsReturned(ci.point.Returned, fi, len(f.Ops))
							if orc == nil || ret < 0 {
								continue
							}
							if res, ok := results[d.Name+"/"+f.Case]; ok && res.Err != "" {
								ret = min(ret, res.OpsDone)
							}
							fo := fileOutcome{fi: fi}
							ino, err := r.Lookup("/" + f.File)
							if err != nil {
								fo.errs = append(fo.errs, fmt.Sprintf("%s: the file, created and made durable before op 0, is gone: %v", where, err))
							} else if in, err := r.Inode(ino); err != nil {
								fo.errs = append(fo.errs, fmt.Sprintf("%s: inode %d: %v", where, ino, err))
							} else if got, err := r.ReadFile(ino); err != nil {
								fo.errs = append(fo.errs, fmt.Sprintf("%s: read inode %d: %v", where, ino, err))
							} else {
								fo.ms = orc.Judge(ret, in.Size, got, d.FS == "ext2")
							}
							fileOuts = append(fileOuts, fo)
						}
					}
					img.Close()
				}
			}
			mu.Lock()
			defer mu.Unlock()
			points[ci.disk]++
			dv := diskV[ci.disk]
			for _, f := range diskFails {
				dv.fail("recovery", -1, "%s: %s", where, f)
				failed = true
			}
			if len(kernel) > 0 {
				before := len(dv.Failures)
				kernelReports(dv, kernel)
				for i := before; i < len(dv.Failures); i++ {
					dv.Failures[i].Msg = where + ": " + dv.Failures[i].Msg
				}
				failed = failed || len(dv.Failures) > before
			}
			for _, fo := range fileOuts {
				k := key{ci.disk, fo.fi}
				v := verdicts[k]
				judged[k]++
				f := d.Files[fo.fi]
				ret := opsReturned(ci.point.Returned, fo.fi, len(f.Ops))
				for _, e := range fo.errs {
					v.fail("crash-durability", -1, "%s", e)
					failed = true
				}
				for _, m := range fo.ms {
					v.fail("crash-"+m.Check, m.Off, "%s, %s: %s", where, opsDone(f.Ops, ret), m.Msg)
					failed = true
				}
			}
			if !failed && !co.Keep {
				os.Remove(ci.path)
			} else if failed {
				dv.Console = append(dv.Console, fmt.Sprintf("crash image kept: %s", ci.path))
			}
		}()
	}
	wg.Wait()
	var vs []Verdict
	for di, d := range plan.Disks {
		for fi := range d.Files {
			v := verdicts[key{di, fi}]
			if v.Status == Pass && judged[key{di, fi}] == 0 {
				v.errorf("crash", "no crash point was judged for this case (its markers never reached the log)")
			}
			vs = append(vs, *v)
		}
		dv := diskV[di]
		if points[di] == 0 {
			dv.errorf("crash", "no crash points: the write log of %s holds no flush after a write", d.Name)
		}
		vs = append(vs, *dv)
	}
	sortVerdicts(vs)
	return vs
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
