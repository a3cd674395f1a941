package runner

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/reference"
	"github.com/iomapct/iomapct/vmtest/logwrites"
)

// crashScratch is where crash images live while they are recovered and
// judged: memory (/dev/shm) when there is one, since every crash point is a
// full image copy, written once, mounted once, read once and deleted.
func crashScratch(out string) (string, error) {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "iomapct-crash-"); err == nil {
			return d, nil
		}
	}
	return os.MkdirTemp(out, "crash-scratch-")
}

// crashPipeline replays each disk's log onto a copy of its base image one
// crash point after the other, copies the image at each point into a
// batch, and hands full batches to o.VMs workers that recover (one VM per
// batch) and judge them. At most o.VMs+1 batches exist at once, which
// bounds the scratch space to (VMs+1) * PerVM images.
func crashPipeline(ctx context.Context, o Options, co CrashOptions, plan *cases.Plan, boot, agent, initramfsCache string, j *crashJudge) (int, []string, error) {
	scratch, err := crashScratch(o.Out)
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(scratch)
	batches := make(chan []*crashImage)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	setErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	nb := 0
	for w := 0; w < o.VMs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				mu.Lock()
				b := nb
				nb++
				mu.Unlock()
				if err := recoverBatch(ctx, o, plan, boot, agent, initramfsCache, b, batch); err != nil {
					setErr(err)
				}
				j.judgeAll(batch)
			}
		}()
	}
	npoints, perDisk, err := produceCrashImages(o, co, plan, scratch, batches)
	close(batches)
	wg.Wait()
	if err != nil {
		return npoints, perDisk, err
	}
	return npoints, perDisk, firstErr
}

func produceCrashImages(o Options, co CrashOptions, plan *cases.Plan, scratch string, batches chan<- []*crashImage) (int, []string, error) {
	var batch []*crashImage
	var perDisk []string
	total := 0
	for di, d := range plan.Disks {
		pts, err := func() ([]logwrites.CrashPoint, error) {
			lf, err := os.Open(crashLogPath(o.Out, d.Name))
			if err != nil {
				return nil, err
			}
			defer lf.Close()
			fi, err := lf.Stat()
			if err != nil {
				return nil, err
			}
			l, err := logwrites.Read(lf, fi.Size())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Name, err)
			}
			pts, err := l.CrashPoints(d.MarkerOffset)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Name, err)
			}
			work := filepath.Join(scratch, d.Name+".work.img")
			if err := copyFile(crashBasePath(o.Out, d.Name), work); err != nil {
				return nil, err
			}
			defer os.Remove(work)
			wf, err := os.OpenFile(work, os.O_RDWR, 0)
			if err != nil {
				return nil, err
			}
			defer wf.Close()
			from := 0
			var prev logwrites.CrashPoint
			emit := func(ci *crashImage) {
				batch = append(batch, ci)
				if len(batch) == co.PerVM {
					batches <- batch
					batch = nil
				}
			}
			var subsets []logwrites.CrashPoint
			for pi, p := range pts {
				// Subsets of the writes since the previous point, on top of
				// its image: promised what the previous point promised
				// (the power failed before this flush completed).
				for k, sub := range pickSubsets(l.WritesBetween(from, p.Entry), co.Subsets, int64(di)<<32|int64(p.Entry)) {
					sp := logwrites.CrashPoint{Entry: p.Entry, Writes: prev.Writes + len(sub), Applied: prev.Applied, Returned: prev.Returned, Subset: sub}
					if pi == 0 {
						sp.Returned = logwrites.Marker{}
					}
					ci := &crashImage{disk: di, point: sp, name: fmt.Sprintf("%s@%ds%d", d.Name, p.Entry, k),
						path: filepath.Join(scratch, fmt.Sprintf("%s-%s-%d.img", d.Name, sp.Name(), k))}
					if err := copyFile(work, ci.path); err != nil {
						return nil, err
					}
					sf, err := os.OpenFile(ci.path, os.O_RDWR, 0)
					if err != nil {
						return nil, err
					}
					err = l.ApplyEntries(sf, CrashImageSize+markerArea, sub)
					sf.Close()
					if err != nil {
						return nil, fmt.Errorf("%s: %w", d.Name, err)
					}
					subsets = append(subsets, sp)
					emit(ci)
				}
				prev = p
				if err := l.Apply(wf, CrashImageSize+markerArea, from, p.Entry); err != nil {
					return nil, fmt.Errorf("%s: %w", d.Name, err)
				}
				from = p.Entry
				ci := &crashImage{disk: di, point: p, name: fmt.Sprintf("%s@%d", d.Name, p.Entry),
					path: filepath.Join(scratch, fmt.Sprintf("%s-%s.img", d.Name, p.Name()))}
				if err := copyFile(work, ci.path); err != nil {
					return nil, err
				}
				emit(ci)
			}
			note := fmt.Sprintf("%s %d of %d log entries", d.Name, len(pts), len(l.Entries))
			if len(subsets) > 0 {
				note += fmt.Sprintf(" + %d write subsets", len(subsets))
			}
			perDisk = append(perDisk, note)
			return append(pts, subsets...), nil
		}()
		if err != nil {
			return total, perDisk, err
		}
		total += len(pts)
	}
	if len(batch) > 0 {
		batches <- batch
	}
	return total, perDisk, nil
}

// crashJudge holds the verdicts of a crash run while batches come back.
type crashJudge struct {
	ctx     context.Context
	o       Options
	co      CrashOptions
	plan    *cases.Plan
	results map[string]cases.Result

	mu       sync.Mutex
	files    map[crashKey]*Verdict
	judged   map[crashKey]int
	oracles  map[crashKey]*reference.CrashOracle
	disks    []*Verdict
	points   []int
	failures int
	// durableKind[k][i] is the kind of the op that made failure i of
	// file k's range durable (for CrashFindings).
	durableKind map[crashKey]map[int]cases.Kind
	// subsetFail[d][i]: failure i of disk d's verdict is at a write-subset
	// crash point (for DiskCrashFindings).
	subsetFail map[int]map[int]bool
	// kernelVersion is the source's version, for CrashFindings.
	kernelVersion string
}

type crashKey struct{ disk, file int }

func newCrashJudge(ctx context.Context, o Options, co CrashOptions, plan *cases.Plan, results map[string]cases.Result) *crashJudge {
	j := &crashJudge{ctx: ctx, o: o, co: co, plan: plan, results: results,
		files: map[crashKey]*Verdict{}, judged: map[crashKey]int{}, oracles: map[crashKey]*reference.CrashOracle{},
		durableKind: map[crashKey]map[int]cases.Kind{}, subsetFail: map[int]map[int]bool{},
		disks: make([]*Verdict, len(plan.Disks)), points: make([]int, len(plan.Disks))}
	for di, d := range plan.Disks {
		// The disk's own filesystem and block size, not the matrix entry
		// at the same index: a plan need not list every target, or in order.
		t := Target{FS: d.FS, BlockSize: d.BlockSize}
		j.disks[di] = &Verdict{Case: "(crash recovery+fsck)", Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
		for fi, f := range d.Files {
			v := &Verdict{Case: f.Case, Disk: d.Name, FS: d.FS, BlockSize: d.BlockSize, Revision: o.Revision, Status: Pass}
			for _, op := range f.Ops {
				v.Ops = append(v.Ops, op.String())
			}
			k := crashKey{di, fi}
			j.files[k] = v
			res, ok := results[d.Name+"/"+f.Case]
			switch {
			case !ok:
				v.Errorf("crash", "the guest never reported this case")
			case res.Err != "":
				v.Errorf("guest", "%s", res.Err)
			}
			if ok {
				judge.KernelReports(v, res.Kernel)
			}
			orc, err := reference.NewCrashOracle(geometry(t, o.largeFolios), f.Ops)
			if err != nil {
				v.Errorf("model", "%v", err)
				continue
			}
			j.oracles[k] = orc
		}
	}
	return j
}

// judgeAll judges a recovered batch, two images at a time (fsck is the
// cost), and deletes each image unless it failed or Keep is set (failing
// images are moved into the run directory).
func (j *crashJudge) judgeAll(batch []*crashImage) {
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, ci := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.judge(ci)
		}()
	}
	wg.Wait()
}

type fileOutcome struct {
	fi   int
	ms   []reference.CrashMismatch
	errs []string
}

func (j *crashJudge) judge(ci *crashImage) {
	d := j.plan.Disks[ci.disk]
	where := describePoint(ci.point, d)
	var diskFails []string
	switch {
	case !ci.ok:
		diskFails = append(diskFails, "recovery: no report from the recovery VM")
	case ci.recovery.MountErr != "":
		diskFails = append(diskFails, "recovery mount failed: "+ci.recovery.MountErr)
	case ci.recovery.UnmountErr != "":
		diskFails = append(diskFails, "unmount after recovery failed: "+ci.recovery.UnmountErr)
	}
	if len(diskFails) == 0 {
		if err := fsckCrash(j.ctx, d.FS, ci.path); err != nil {
			diskFails = append(diskFails, "fsck after recovery: "+err.Error())
		}
	}
	var outs []fileOutcome
	if len(diskFails) == 0 || !filesystems.Get(d.FS).Caps.Journal {
		outs, diskFails = j.readFiles(ci, d, where, diskFails)
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	failed := false
	j.points[ci.disk]++
	dv := j.disks[ci.disk]
	for _, f := range diskFails {
		if len(ci.point.Subset) > 0 {
			if j.subsetFail[ci.disk] == nil {
				j.subsetFail[ci.disk] = map[int]bool{}
			}
			j.subsetFail[ci.disk][len(dv.Failures)] = true
		}
		dv.Failf("recovery", -1, "%s: %s", where, f)
		failed = true
	}
	if len(ci.recovery.Kernel) > 0 {
		before := len(dv.Failures)
		judge.KernelReports(dv, ci.recovery.Kernel)
		for i := before; i < len(dv.Failures); i++ {
			dv.Failures[i].Msg = where + ": " + dv.Failures[i].Msg
		}
		failed = failed || len(dv.Failures) > before
	}
	for _, fo := range outs {
		k := crashKey{ci.disk, fo.fi}
		v := j.files[k]
		j.judged[k]++
		f := d.Files[fo.fi]
		ret := opsReturned(ci.point.Returned, fo.fi, len(f.Ops))
		for _, e := range fo.errs {
			v.Failf("crash-durability", -1, "%s", e)
			failed = true
		}
		for _, m := range fo.ms {
			if m.Durable && m.DurableBy >= 0 {
				if j.durableKind[k] == nil {
					j.durableKind[k] = map[int]cases.Kind{}
				}
				j.durableKind[k][len(v.Failures)] = f.Ops[m.DurableBy].Kind
			}
			v.Failf(Check("crash-"+m.Check), m.Off, "%s, %s: %s", where, opsDone(f.Ops, ret), m.Msg)
			failed = true
		}
	}
	switch {
	case failed || j.co.Keep:
		// Kept for the developer (failing images only, unless Keep),
		// a bounded number of them.
		if j.failures < 64 || j.co.Keep {
			j.failures++
			keep := filepath.Join(j.o.Out, "crash", filepath.Base(ci.path))
			if os.MkdirAll(filepath.Dir(keep), 0o755) == nil && copyFile(ci.path, keep) == nil {
				dv.Console = append(dv.Console, "crash image kept: "+keep)
			}
		}
		os.Remove(ci.path)
	default:
		os.Remove(ci.path)
	}
}

// readFiles reads each case file the crash point covers from the
// recovered image and holds it against its oracle.
func (j *crashJudge) readFiles(ci *crashImage, d cases.DiskPlan, where string, diskFails []string) ([]fileOutcome, []string) {
	img, err := os.Open(ci.path)
	if err != nil {
		return nil, append(diskFails, err.Error())
	}
	defer img.Close()
	r, err := judge.OpenImage(d.FS, img)
	if err != nil {
		return nil, append(diskFails, "host reader: "+err.Error())
	}
	var outs []fileOutcome
	for fi, f := range d.Files {
		orc := j.oracles[crashKey{ci.disk, fi}]
		ret := opsReturned(ci.point.Returned, fi, len(f.Ops))
		if orc == nil || ret < 0 {
			continue
		}
		if res, ok := j.results[d.Name+"/"+f.Case]; ok && res.Err != "" {
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
			fo.ms = orc.Judge(ret, in.Size, got, !filesystems.Get(d.FS).Caps.Journal)
		}
		outs = append(outs, fo)
	}
	return outs, diskFails
}

// verdicts returns every case's verdict and each disk's recovery verdict.
func (j *crashJudge) verdicts() []Verdict {
	j.mu.Lock()
	defer j.mu.Unlock()
	var vs []Verdict
	for di, d := range j.plan.Disks {
		for fi := range d.Files {
			v := j.files[crashKey{di, fi}]
			if v.Status == Pass && j.judged[crashKey{di, fi}] == 0 {
				v.Errorf("crash", "no crash point was judged for this case (its markers never reached the log)")
			}
			kinds := make([]cases.Kind, len(v.Failures))
			for i := range kinds {
				kinds[i] = j.durableKind[crashKey{di, fi}][i]
			}
			applyCrashFindings(j.kernelVersion, v, kinds)
			vs = append(vs, *v)
		}
		dv := j.disks[di]
		if j.points[di] == 0 {
			dv.Errorf("crash", "no crash points: the write log of %s holds no flush after a write", d.Name)
		}
		subset := make([]bool, len(dv.Failures))
		for i := range subset {
			subset[i] = j.subsetFail[di][i]
		}
		applyDiskCrashFindings(j.kernelVersion, dv, subset)
		vs = append(vs, *dv)
	}
	sortVerdicts(vs)
	return vs
}

// pickSubsets draws up to n distinct proper, non-empty subsets of the
// writes (deterministically from seed), each in log order; fewer than two
// writes have none.
func pickSubsets(writes []int, n int, seed int64) [][]int {
	if n <= 0 || len(writes) < 2 {
		return nil
	}
	r := rand.New(rand.NewSource(seed))
	seen := map[string]bool{}
	var out [][]int
	for try := 0; try < 4*n && len(out) < n; try++ {
		var sub []int
		for _, w := range writes {
			if r.Intn(2) == 0 {
				sub = append(sub, w)
			}
		}
		key := fmt.Sprint(sub)
		if len(sub) == 0 || len(sub) == len(writes) || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, sub)
	}
	return out
}
