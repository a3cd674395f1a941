package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// ReadReport loads a run directory's report.json.
func ReadReport(dir string) (*Report, error) {
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "report.json"), err)
	}
	return &r, nil
}

// Merge builds one report from the run directories of every shard of one
// run. It fails, naming them, on a shard that is missing or given twice,
// on a run directory that is not a shard, and on shards that disagree on
// what they ran (another kernel, revision or plan: shards of different
// runs must never be counted as one).
func Merge(dirs []string) (*Report, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("merge: give the run directories of the shards")
	}
	var errs *multierror.Error
	var reps []*Report
	for _, d := range dirs {
		r, err := ReadReport(d)
		if err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		if r.Shard == nil {
			errs = multierror.Append(errs, fmt.Errorf("%s is not a shard (its run had no --shard)", d))
			continue
		}
		r.Out = d
		reps = append(reps, r)
	}
	if err := errs.ErrorOrNil(); err != nil {
		return nil, err
	}
	first := reps[0]
	// Every shard must be of the same run.
	same := func(what string, get func(*Report) string) {
		for _, r := range reps[1:] {
			if a, b := get(first), get(r); a != b {
				errs = multierror.Append(errs, fmt.Errorf("shards of different runs: %s has %s %q, %s has %q", first.Out, what, a, r.Out, b))
			}
		}
	}
	same("kernel", func(r *Report) string { return r.KernelKey })
	same("source", func(r *Report) string { return r.SourceID })
	same("series", func(r *Report) string { return r.SeriesID })
	same("revision", func(r *Report) string { return r.Revision })
	same("plan", func(r *Report) string { return r.Shard.Plan })
	same("shard total", func(r *Report) string { return fmt.Sprint(r.Shard.Total) })
	if err := errs.ErrorOrNil(); err != nil {
		return nil, err
	}
	total := first.Shard.Total
	seen := make([]string, total)
	for _, r := range reps {
		i := r.Shard.Index
		if seen[i] != "" {
			errs = multierror.Append(errs, fmt.Errorf("shard %d/%d given twice: %s and %s", i, total, seen[i], r.Out))
			continue
		}
		seen[i] = r.Out
	}
	var missing []string
	for i, d := range seen {
		if d == "" {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		errs = multierror.Append(errs, fmt.Errorf("shard(s) %s of %d missing: the merged report would silently lack their cases", strings.Join(missing, ", "), total))
	}
	if err := errs.ErrorOrNil(); err != nil {
		return nil, err
	}
	sort.Slice(reps, func(a, b int) bool { return reps[a].Shard.Index < reps[b].Shard.Index })

	m := &Report{Revision: first.Revision, SourceID: first.SourceID, SeriesID: first.SeriesID, Patches: first.Patches,
		Kernel: first.Kernel, KernelKey: first.KernelKey, Callouts: first.Callouts,
		Shard: &ShardInfo{Shard: Shard{Index: 0, Total: 1, From: "merge of " + fmt.Sprint(total) + " shards"}, Plan: first.Shard.Plan, Pairs: first.Shard.Pairs}}
	var consoles, crashes, repros []string
	fsck := map[string]int{} // disk -> index in m.Verdicts of its (unmount+fsck) verdict
	for _, r := range reps {
		m.Shard.Kept += r.Shard.Kept
		if r.Console != "" {
			consoles = append(consoles, r.Console)
		}
		if r.Repro != "" {
			repros = append(repros, r.Repro)
		}
		if r.Crash != "" {
			crashes = append(crashes, fmt.Sprintf("shard %d (%s): %s", r.Shard.Index, r.Out, r.Crash))
		}
		if r.Callouts.Applies && !m.Callouts.Applies {
			m.Callouts = r.Callouts
		}
		for _, vm := range r.VMs {
			vm.Index = len(m.VMs)
			m.VMs = append(m.VMs, vm)
		}
		for _, st := range r.Stages {
			st.Note = fmt.Sprintf("shard %d: %s", r.Shard.Index, st.Note)
			m.Stages = append(m.Stages, st)
		}
		for _, v := range r.Verdicts {
			if v.Case != fsckCase {
				m.Verdicts = append(m.Verdicts, v)
				continue
			}
			// Each shard that wrote to an image checked that image; the
			// image passes only if every shard's check of it passed.
			i, ok := fsck[v.Disk]
			if !ok {
				fsck[v.Disk] = len(m.Verdicts)
				m.Verdicts = append(m.Verdicts, v)
				continue
			}
			w := &m.Verdicts[i]
			w.Failures = append(w.Failures, v.Failures...)
			w.Console = append(w.Console, v.Console...)
			w.Status = worse(w.Status, v.Status)
		}
	}
	if m.Shard.Kept != m.Shard.Pairs {
		return nil, fmt.Errorf("shards ran %d (case, image) pairs between them, the plan has %d", m.Shard.Kept, m.Shard.Pairs)
	}
	m.Console = strings.Join(consoles, ", ")
	m.Repro = strings.Join(repros, "\n  ")
	m.Crash = strings.Join(crashes, "; ")
	sortVerdicts(m.Verdicts)
	return m, nil
}

// worse orders statuses by what the reader must hear first.
func worse(a, b Status) Status {
	rank := map[Status]int{Pass: 0, Skip: 1, Known: 2, Fail: 3, Error: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
