package runner

import (
	"context"
	"io"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/kernel"
)

// DefaultMatrix is every filesystem at 1k and 4k blocks.
func DefaultMatrix() []Target {
	var out []Target
	for _, fs := range filesystems.Names() {
		for _, bs := range []int64{1024, 4096} {
			out = append(out, Target{FS: fs, BlockSize: bs})
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

// withDefaults fills what the caller left unset: no log, the baseline
// revision, the given matrix and catalogue (Run's and RunCrash's differ),
// DefaultVMs.
func (o Options) withDefaults(matrix func() []Target, catalogue []cases.Case) Options {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Revision == "" {
		o.Revision = "baseline"
	}
	if len(o.Matrix) == 0 {
		o.Matrix = matrix()
	}
	if len(o.Cases) == 0 {
		o.Cases = catalogue
	}
	if o.VMs <= 0 {
		o.VMs = DefaultVMs
	}
	return o
}
