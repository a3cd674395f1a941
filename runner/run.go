package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/crash"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// Target is one filesystem at one block size.
type Target struct {
	FS        string
	BlockSize int64
}

// Name is the disk name used in plans and reports, e.g. "xfs-4k".
func (t Target) Name() string {
	if t.BlockSize%1024 == 0 {
		return fmt.Sprintf("%s-%dk", t.FS, t.BlockSize/1024)
	}
	return fmt.Sprintf("%s-%d", t.FS, t.BlockSize)
}

// DefaultMatrix is every filesystem at 1k and 4k blocks.
func DefaultMatrix() []Target {
	var out []Target
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		for _, bs := range []int64{1024, 4096} {
			out = append(out, Target{fs, bs})
		}
	}
	return out
}

// Options configure one run of one revision.
type Options struct {
	// Source is the kernel tree; zero means Debian's linux-source-6.12.
	Source *kernel.Source
	// SeriesDir holds the series; empty means none (the unpatched kernel).
	SeriesDir string
	// Series, if set, is used instead of reading SeriesDir (bisect passes
	// prefixes this way).
	Series *kernel.Series
	// AllowFuzz accepts hunks of SeriesDir's series that apply only with
	// fuzz (kernel.Series.AllowFuzz).
	AllowFuzz bool
	// Revision names the series revision in reports ("baseline", "v1").
	Revision string
	// ConfigDir replaces the embedded kernel/config fragments.
	ConfigDir string
	Debug     bool
	Matrix    []Target
	Cases     []cases.Case
	// Out is the run directory: images, console log, results, reports.
	Out string
	// Agent is a prebuilt static guest agent; empty builds one.
	Agent string
	// Jobs is make -j for the kernel build (0: the number of CPUs).
	Jobs int
	// VMs is how many VMs run the plan's disks in parallel; 0 means
	// DefaultVMs. Never more than there are disks.
	VMs int
	// Log receives progress and stage timings.
	Log io.Writer
	// VMTimeout bounds the VM; 0 means 10 minutes.
	VMTimeout time.Duration
	// CaseTimeout bounds each case in the guest; 0 means
	// vmtest.DefaultCaseTimeout (see vmtest.Machine.CaseTimeout).
	CaseTimeout time.Duration
	// largeFolios is read from the built kernel's config by Run.
	largeFolios bool
	// Coverage, if set, runs a gcov kernel (kernel.Spec.Coverage); the
	// guest then sends its counters (vmtest/guest/gcov.go).
	Coverage *kernel.Coverage
	// Prebuilt, if set, is the kernel to boot (run --kernel DIR, from
	// build --export): no source tree or compiler is needed, and Source,
	// SeriesDir, Series and ConfigDir are not read. PrebuiltVersion is its
	// source's kernel release.
	Prebuilt        *kernel.Artifact
	PrebuiltVersion string
	// KeepImages keeps every filesystem image; by default the images of
	// filesystems whose cases all passed are removed after judging.
	KeepImages bool
	// Shard, if set, runs only that part of the (case, image) pairs; see
	// shardPlan and `iomapct merge`.
	Shard *Shard
	// Repeat runs every case this many times (each in its own file, the
	// repetitions named case@2, case@3, ...); Reproductions counts how
	// often a failing case failed. 0 means once.
	Repeat int
	// CorruptExpected is a test hook: it flips one expected byte per case so
	// a test can prove the verdict fails and names the offset.
	CorruptExpected bool
	// CorruptExpectedLast is the same hook flipping the last non-zero
	// expected byte instead: past a known finding's garbage, it proves a
	// second difference in the case makes it FAIL, not KNOWN.
	CorruptExpectedLast bool
}

// Stage is one timed step of a run.
type Stage struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	Note     string        `json:"note,omitempty"`
}

// Report is everything a run found.
type Report struct {
	Revision string    `json:"revision"`
	SourceID string    `json:"source_id"`
	SeriesID string    `json:"series_id"`
	Patches  int       `json:"patches"`
	Kernel   string    `json:"kernel"`
	Verdicts []Verdict `json:"verdicts"`
	Stages   []Stage   `json:"stages"`
	// Callouts says whether the callout sequences were compared.
	Callouts CalloutCheck `json:"callouts"`
	// Crash is set when a guest did not finish (no done record); with
	// several VMs it names each VM that crashed and its disks.
	Crash string `json:"crash,omitempty"`
	// NotRun lists the cases that never ran and why (once per cause, not
	// as an error per case).
	NotRun []NotRun `json:"not_run,omitempty"`
	// Console is the console log (one per VM, comma-separated).
	Console string `json:"console_log"`
	// Repro is the QEMU command line of the run (one line per VM).
	Repro string  `json:"repro,omitempty"`
	VMs   []VMRun `json:"vms"`
	Out   string  `json:"out"`
	// KernelKey is the kernel's cache key (source, series and config).
	KernelKey string `json:"kernel_key,omitempty"`
	// ImagesRemoved lists the disks whose images were removed after
	// judging because every case on them passed (run --keep-images keeps
	// them).
	ImagesRemoved []string `json:"images_removed,omitempty"`
	// Shard is set on a sharded run: which part of which plan it ran.
	Shard *ShardInfo `json:"shard,omitempty"`
}

// Passed reports whether every verdict passed (or was skipped).
func (r *Report) Passed() bool {
	if r.Crash != "" || len(r.NotRun) > 0 {
		return false
	}
	if len(r.Verdicts) == 0 {
		// Nothing judged is a failure, except for a shard that was
		// given nothing to run (more shards than pairs).
		return r.Shard != nil && r.Shard.Kept == 0
	}
	for _, v := range r.Verdicts {
		if v.Status != Pass && v.Status != Skip && v.Status != Known {
			return false
		}
	}
	return true
}

type stager struct {
	r    *Report
	log  io.Writer
	last time.Time
}

func (s *stager) done(name, note string) {
	d := time.Since(s.last)
	s.last = time.Now()
	s.r.Stages = append(s.r.Stages, Stage{Name: name, Duration: d, Note: note})
	fmt.Fprintf(s.log, "stage %-9s %7.1fs  %s\n", name, d.Seconds(), note)
}

// KernelSpec resolves what to build: the source (Debian's tarball unless
// one is given), the series (Series, else SeriesDir, else none) and the
// config fragments. `iomapct build` and Run share it.
func (o Options) KernelSpec(ctx context.Context, cache string) (kernel.Spec, error) {
	spec := kernel.Spec{Jobs: o.Jobs, Progress: o.Log, Coverage: o.Coverage}
	var err error
	if o.Source != nil {
		spec.Source = *o.Source
	} else if spec.Source, err = kernel.FromTarball(ctx, cache, kernel.DebianTarball); err != nil {
		return spec, err
	}
	if o.Series != nil {
		spec.Series = *o.Series
	} else if o.SeriesDir != "" {
		if spec.Series, err = kernel.ReadSeries(o.SeriesDir); err != nil {
			return spec, err
		}
		spec.Series.AllowFuzz = o.AllowFuzz
	}
	spec.Fragments, err = kernel.DefaultFragments(o.ConfigDir, o.Debug)
	return spec, err
}

// Run builds, boots, runs the cases and judges them. The report is
// returned (and written to Out) even when a later stage fails, so results
// already produced are never lost.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Revision == "" {
		o.Revision = "baseline"
	}
	if len(o.Matrix) == 0 {
		o.Matrix = DefaultMatrix()
	}
	if len(o.Cases) == 0 {
		o.Cases = cases.Catalogue
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	// Every op must be one the guest can run and the model can judge:
	// checked before anything is built or booted.
	if err := validateCases(o); err != nil {
		return nil, err
	}
	rep := &Report{Revision: o.Revision, Out: o.Out}
	st := &stager{r: rep, log: o.Log, last: time.Now()}
	// Whatever ends the run early (an interrupt during the build, a
	// missing tool), report.json and junit.xml say how far it got.
	reported := false
	defer func() {
		if !reported {
			WriteReports(rep)
		}
	}()
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}

	art, version, err := o.kernel(ctx, cache, st)
	if err != nil {
		return rep, err
	}
	rep.Kernel, rep.KernelKey = art.BzImage, art.Key
	if o.largeFolios, err = largeFolios(art.Config); err != nil {
		return rep, err
	}

	// Images, plan, initramfs.
	plan, err := makePlan(ctx, o, rep)
	if err != nil {
		return rep, err
	}
	if err := savePlan(o, plan, version); err != nil {
		// plan.json only serves `iomapct judge` later: a run that cannot
		// write it (a full disk) still runs and says so.
		fmt.Fprintf(o.Log, "warning: %v (iomapct judge cannot re-judge this run)\n", err)
	}
	pairs := 0
	for _, d := range plan.Disks {
		pairs += len(d.Files)
	}
	note := fmt.Sprintf("%d filesystems, %d cases selected, %d (case, image) pairs", len(plan.Disks), len(o.Cases), pairs)
	if rep.Shard != nil {
		note += fmt.Sprintf(", shard %s: %d of %d (case, image) pairs", rep.Shard.Shard, rep.Shard.Kept, rep.Shard.Pairs)
	}
	st.done("images", note)
	if len(plan.Disks) == 0 {
		// More shards than pairs: this one has nothing to run, and says so.
		return rep, WriteReports(rep)
	}
	agent := o.Agent
	if agent == "" {
		if agent, err = BuildAgent(ctx, filepath.Join(cache, "agent")); err != nil {
			return rep, err
		}
	}

	// Boot and run: the plan's disks split across o.VMs machines.
	total := 0
	for _, d := range plan.Disks {
		total += len(d.Files)
	}
	var mu sync.Mutex // OnRecord runs on each VM's reader goroutine
	doneCases := 0
	progress := func(r proto.Record) {
		if r.Type != proto.Result || isUnmount(r) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		doneCases++
		// About twenty progress lines per run, whatever its size, and
		// every case whose guest side went wrong.
		if doneCases == total || doneCases%max(1, total/20) == 0 || r.Error != "" || strings.Contains(string(r.Data), `"err":`) {
			fmt.Fprintf(o.Log, "  [%d/%d] %s\n", doneCases, total, r.Name)
		}
	}
	machines, runs, cachedN, err := prepareVMs(o, plan, vmtest.BootImage(art.BzImage, art.Vmlinux), agent, filepath.Join(cache, "initramfs"), progress)
	if err != nil {
		return rep, err
	}
	if len(machines) == 1 {
		st.done("initramfs", map[bool]string{true: "cached", false: "packed"}[cachedN == 1])
	} else {
		st.done("initramfs", fmt.Sprintf("%d VMs, %d cached", len(machines), cachedN))
	}
	outs := runVMs(ctx, machines, runs)
	records, events, vmErr := mergeOutcomes(rep, outs)
	var boot time.Duration
	for _, vm := range rep.VMs {
		boot = max(boot, vm.Boot)
	}
	if boot > 0 {
		st.r.Stages = append(st.r.Stages, Stage{Name: "boot", Duration: boot})
		note := "to agent ready"
		if len(outs) > 1 {
			note += fmt.Sprintf(" (slowest of %d VMs)", len(outs))
		}
		fmt.Fprintf(o.Log, "stage %-9s %7.1fs  %s\n", "boot", boot.Seconds(), note)
	}
	// The cases stage is the wall time of the slowest VM after its boot.
	var caseTime time.Duration
	for _, vm := range rep.VMs {
		caseTime = max(caseTime, vm.Wall-vm.Boot)
	}
	st.r.Stages = append(st.r.Stages, Stage{Name: "cases", Duration: caseTime, Note: fmt.Sprintf("%d cases", doneCases)})
	fmt.Fprintf(o.Log, "stage %-9s %7.1fs  %d cases\n", "cases", caseTime.Seconds(), doneCases)
	st.last = time.Now()

	// Judge what came back, even when a VM failed to run: results already
	// produced are reported before the error is.
	rep.Callouts = newCalloutCheck(events)
	// Judged to the end even after an interrupt: fsck of a disk the guest
	// unmounted must not die of the cancelled context and read as a
	// failure of the kernel.
	rep.Verdicts = judge(context.WithoutCancel(ctx), o, plan, records, rep.Callouts)
	rep.NotRun = notRun(plan, records, notRunCause(vmErr, rep.Crash))
	if vmErr != nil {
		markStopped(rep.Verdicts, vmErr.Error())
	}
	applyFindings(version, rep.Verdicts)
	writeRepros(o, rep.Verdicts)
	if !o.KeepImages {
		rep.ImagesRemoved = dropPassingImages(o.Out, rep.Verdicts)
	}
	st.done("check", summary(rep.Verdicts))
	reported = true
	if err := WriteReports(rep); err != nil {
		return rep, err
	}
	return rep, vmErr
}

// kernel finds the kernel to boot, and the version of its source: the one
// given prebuilt (run --kernel), or the source and series built, or found
// in the cache. It fills the report's source and series fields and logs the
// source and build stages.
func (o Options) kernel(ctx context.Context, cache string, st *stager) (*kernel.Artifact, string, error) {
	rep := st.r
	if o.Prebuilt != nil {
		a := o.Prebuilt
		rep.SourceID, rep.SeriesID, rep.Patches = a.SourceID, a.SeriesID, a.Patches
		st.done("source", a.SourceID+" (prebuilt)")
		st.done("build", "prebuilt "+a.Key+", every file checked against its manifest")
		return a, o.PrebuiltVersion, nil
	}
	spec, err := o.KernelSpec(ctx, cache)
	if err != nil {
		return nil, "", err
	}
	rep.SourceID, rep.SeriesID, rep.Patches = spec.Source.ID, spec.Series.ID()[:16], len(spec.Series.Patches)
	st.done("source", spec.Source.ID)
	art, err := kernel.Build(ctx, cache, spec)
	if err != nil {
		return nil, "", err
	}
	note := "built " + art.Key
	if art.Cached {
		note = "cached " + art.Key
	}
	st.done("build", note)
	return art, spec.Source.Version, nil
}

func imagePath(out, disk string) string { return filepath.Join(out, "images", disk+".img") }

// ImageSize is the size of a test image: small, so poisoning, copying
// and reading it is quick, yet big enough for the catalogue; a plan whose
// files need more (many random sequences) gets more (DiskImageSize).
const ImageSize = 64 << 20

// makePlan lists every image's cases, keeps the shard's part when the run
// is sharded (rep.Shard says which), and makes the images that are left.
func makePlan(ctx context.Context, o Options, rep *Report) (*cases.Plan, error) {
	plan, err := planCases(o)
	if err != nil {
		return nil, err
	}
	if o.Shard != nil {
		info := shardPlan(plan, *o.Shard)
		rep.Shard = &info
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "images"), 0o755); err != nil {
		return nil, err
	}
	for i, d := range plan.Disks {
		plan.Disks[i].Device = fmt.Sprintf("/dev/vd%c", 'a'+i)
		if err := mkfs.Make(ctx, mkfs.Spec{FS: d.FS, BlockSize: d.BlockSize, Size: DiskImageSize(d), Path: imagePath(o.Out, d.Name)}); err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Name, err)
		}
	}
	return plan, nil
}

// planCases is the whole run's plan, without images: every target with
// the cases that apply to it.
func planCases(o Options) (*cases.Plan, error) {
	plan := &cases.Plan{}
	for _, t := range o.Matrix {
		d := cases.DiskPlan{Name: t.Name(), FS: t.FS, BlockSize: t.BlockSize}
		for _, c := range o.Cases {
			if !c.AppliesTo(t.FS) {
				continue
			}
			ops, err := c.Ops(t.BlockSize)
			if err != nil {
				return nil, err
			}
			r, err := raceOf(c, t.BlockSize)
			if err != nil {
				return nil, err
			}
			for k := 0; k < max(1, o.Repeat); k++ {
				name := RepeatName(c.Name, k)
				d.Files = append(d.Files, cases.FilePlan{Case: name, File: name, Ops: ops, Race: r})
			}
		}
		plan.Disks = append(plan.Disks, d)
	}
	return plan, nil
}

func crashSummary(out *vmtest.Outcome) string {
	switch {
	case out.Hang != nil:
		return out.Hang.String() + "; see " + out.ConsoleLog
	case out.TimedOut:
		return "the VM hit its deadline and was killed (no done record)"
	case out.Ready.IsZero():
		return "the guest agent never reported (kernel did not boot, or no result port); see " + out.ConsoleLog
	}
	last := "?"
	for _, r := range out.Stream.Records {
		if r.Type == proto.Start {
			last = r.Name
		}
		if r.Type == proto.Log && r.Name == proto.AgentPanic {
			first, _, _ := strings.Cut(r.Error, "\n")
			return fmt.Sprintf("the guest agent panicked while running %s: %s (stack in %s and on the console)", last, first, out.Results)
		}
	}
	msg := fmt.Sprintf("the guest died without a done record while running %s", last)
	if con, err := os.ReadFile(out.ConsoleLog); err == nil {
		for _, r := range crash.Classify(con) {
			if r.Fatal {
				msg += fmt.Sprintf(": %s (console line %d)", r.Title, r.Line)
				if r.Case != "" && r.Case != last {
					msg += fmt.Sprintf(", logged during case %s by the console's markers", r.Case)
				}
				break
			}
		}
	}
	return msg + "; see " + out.ConsoleLog
}

func summary(vs []Verdict) string {
	n := map[Status]int{}
	for _, v := range vs {
		n[v.Status]++
	}
	var parts []string
	for _, s := range []Status{Pass, Fail, Error, Skip, Known} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], strings.ToLower(string(s))))
		}
	}
	return strings.Join(parts, ", ")
}

// geometry is the reference geometry of a target on a kernel with or
// without large folios in the page cache.
func geometry(t Target, largeFolios bool) reference.Geometry {
	g := reference.Geometry{FS: t.FS, BlockSize: t.BlockSize, PageSize: 4096, MaxFolio: 4096}
	if t.FS == "xfs" && largeFolios {
		// xfs asks for large folios (mapping_set_large_folios);
		// MAX_PAGECACHE_ORDER is PMD order on x86_64.
		g.MaxFolio = 2 << 20
	}
	return g
}

// largeFolios reports whether a kernel, by its .config, gives page-cache
// mappings large folios: mapping_set_folio_order_range
// (include/linux/pagemap.h:408-413) returns without setting an order unless
// CONFIG_TRANSPARENT_HUGEPAGE is on, so without THP xfs's request is
// ignored, mapping_max_folio_size is PAGE_SIZE and every folio is one page.
func largeFolios(configPath string) (bool, error) {
	b, err := os.ReadFile(configPath)
	if err != nil {
		return false, fmt.Errorf("kernel config: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "CONFIG_TRANSPARENT_HUGEPAGE=y" {
			return true, nil
		}
	}
	return false, nil
}

// sortVerdicts orders by disk then case, for stable reports.
func sortVerdicts(vs []Verdict) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Disk != vs[j].Disk {
			return vs[i].Disk < vs[j].Disk
		}
		return vs[i].Case < vs[j].Case
	})
}

// writeRepros saves each failing case's ops as a replay file in the run
// directory and records the command that replays it alone.
func writeRepros(o Options, vs []Verdict) {
	dir := filepath.Join(o.Out, "repro")
	for i := range vs {
		v := &vs[i]
		if (v.Status != Fail && v.Status != Error) || len(v.Ops) == 0 || stopped(*v) {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return
		}
		p := filepath.Join(dir, v.Disk+"-"+v.Case+".ops")
		text := fmt.Sprintf("# %s on %s (%s), revision %s\n%s\n", v.Case, v.Disk, v.Status, v.Revision, strings.Join(v.Ops, "\n"))
		if os.WriteFile(p, []byte(text), 0o644) != nil {
			continue
		}
		v.Repro = replayCommand(o, p, v)
	}
}
