package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// PlanFile is what Run saves in the run directory (plan.json) besides the
// images, the guest's records and report.json, so that Rejudge can judge
// the run again without booting: the plan the guest ran and every input of
// judging that is not in report.json.
type PlanFile struct {
	Plan *cases.Plan `json:"plan"`
	// LargeFolios is read from the kernel's .config (the model's folio
	// geometry depends on it).
	LargeFolios bool `json:"large_folios"`
	// KernelVersion selects the kernel findings (e.g. "6.12.117").
	KernelVersion string `json:"kernel_version"`
	// SeriesDir goes into the repro lines.
	SeriesDir string `json:"series_dir,omitempty"`
	// CorruptExpected: the run used the IOMAPCT_TEST_CORRUPT_EXPECTED hook,
	// so re-judging flips the same bytes.
	CorruptExpected bool `json:"corrupt_expected,omitempty"`
}

// planFileName is the file Run writes and Rejudge reads.
const planFileName = "plan.json"

// savePlan writes plan.json into the run directory.
func savePlan(o Options, plan *cases.Plan, kernelVersion string) error {
	b, err := json.MarshalIndent(PlanFile{Plan: plan, LargeFolios: o.largeFolios,
		KernelVersion: kernelVersion, SeriesDir: o.SeriesDir, CorruptExpected: o.CorruptExpected}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.Out, planFileName), b, 0o644)
}

// RunRecordName is where Rejudge keeps the run's own report.json the first
// time it rewrites it, so the verdicts the run gave are never lost.
const RunRecordName = "report.run.json"

// Rejudged is what Rejudge did.
type Rejudged struct {
	Report *Report
	// Missing lists the disks whose image is gone (a run removes the
	// images of filesystems whose cases all passed unless KeepImages,
	// --keep-images): their verdicts are report.json's, not judged again.
	Missing []string
}

// Rejudge judges a finished run again from its directory: its images,
// the guest's records (results.jsonl, or vm-N/results.jsonl with several
// VMs), plan.json and report.json (revision, callout check, crash and
// stages). It never boots. It rewrites report.json and junit.xml with the
// new verdicts and the re-judging time as the "check" stage; every other
// stage is the run's. With the same model and findings, the verdicts are
// those of the run's report, byte for byte.
func Rejudge(ctx context.Context, dir string, log io.Writer) (*Rejudged, error) {
	if log == nil {
		log = io.Discard
	}
	start := time.Now()
	var pf PlanFile
	if err := readJSON(filepath.Join(dir, planFileName), &pf); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no %s: it is not a run directory, or the run predates re-judging", dir, planFileName)
		}
		return nil, err
	}
	if pf.Plan == nil {
		return nil, fmt.Errorf("%s: no plan in it", filepath.Join(dir, planFileName))
	}
	rep := &Report{}
	if err := readJSON(filepath.Join(dir, "report.json"), rep); err != nil {
		return nil, err
	}
	records, err := savedRecords(dir, rep)
	if err != nil {
		return nil, err
	}

	// Judge the disks whose image is still there; keep the others'
	// verdicts from the report.
	// Repro lines name the run directory as the run spelt it; keep that
	// spelling when dir is the same directory.
	out := dir
	if rep.Out != "" && sameDir(rep.Out, dir) {
		out = rep.Out
	}
	o := Options{Out: out, Revision: rep.Revision, SeriesDir: pf.SeriesDir, largeFolios: pf.LargeFolios, CorruptExpected: pf.CorruptExpected}
	plan := &cases.Plan{}
	var missing []string
	for _, d := range pf.Plan.Disks {
		if _, err := os.Stat(imagePath(dir, d.Name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			missing = append(missing, d.Name)
			continue
		}
		plan.Disks = append(plan.Disks, d)
	}
	vs := judge.Judge(ctx, o.judgeConfig(), plan, records, rep.Callouts)
	judge.ApplyFindings(pf.KernelVersion, vs)
	reproErr := writeRepros(o, vs)
	for _, v := range rep.Verdicts {
		if slices.Contains(missing, v.Disk) {
			vs = append(vs, v)
		}
	}
	sortVerdicts(vs)

	if _, err := os.Stat(filepath.Join(dir, RunRecordName)); errors.Is(err, fs.ErrNotExist) {
		b, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, RunRecordName), b, 0o644); err != nil {
			return nil, err
		}
	}
	rep.Verdicts = vs
	rep.Out = out
	d := time.Since(start)
	note := "re-judged: " + summary(vs)
	if len(missing) > 0 {
		note += fmt.Sprintf("; %d image(s) missing, kept from the report", len(missing))
	}
	replaced := false
	for i := range rep.Stages {
		if rep.Stages[i].Name == "check" {
			rep.Stages[i] = Stage{Name: "check", Duration: d, Note: note}
			replaced = true
		}
	}
	if !replaced {
		rep.Stages = append(rep.Stages, Stage{Name: "check", Duration: d, Note: note})
	}
	fmt.Fprintf(log, "stage %-9s %7.1fs  %s\n", "check", d.Seconds(), note)
	return &Rejudged{Report: rep, Missing: missing}, joinErrors(reproErr, WriteReports(rep))
}

// savedRecords reads the guest's records of every VM of the run, in VM
// order as Run merged them.
func savedRecords(dir string, rep *Report) ([]proto.Record, error) {
	paths := []string{filepath.Join(dir, "results.jsonl")}
	if len(rep.VMs) > 1 {
		paths = nil
		for _, vm := range rep.VMs {
			paths = append(paths, filepath.Join(dir, fmt.Sprintf("vm-%d", vm.Index), "results.jsonl"))
		}
	}
	var records []proto.Record
	var absent []string
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			absent = append(absent, p)
			continue // that VM never started; its disks are judged as never reported
		}
		if err != nil {
			return nil, err
		}
		s, err := proto.Read(f, nil)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		records = append(records, s.Records...)
	}
	if len(absent) == len(paths) {
		return nil, fmt.Errorf("%s: no guest records (%s)", dir, strings.Join(absent, ", "))
	}
	return records, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func sameDir(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
