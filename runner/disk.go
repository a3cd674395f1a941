package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// dropPassingImages removes the image of every filesystem whose verdicts
// all passed (or were skipped, or match a recorded kernel finding, which
// the repro line reproduces): a run keeps only the images someone will want
// to open, instead of eight fully written 64 MiB images every time. It
// returns the disks whose images it removed.
func dropPassingImages(out string, vs []Verdict) []string {
	bad := map[string]bool{}
	disks := map[string]bool{}
	for _, v := range vs {
		disks[v.Disk] = true
		if v.Status == Fail || v.Status == Error {
			bad[v.Disk] = true
		}
	}
	var removed []string
	for d := range disks {
		if bad[d] {
			continue
		}
		if os.Remove(imagePath(out, d)) == nil {
			removed = append(removed, d)
		}
	}
	sort.Strings(removed)
	if len(removed) > 0 && len(removed) == len(disks) {
		os.Remove(filepath.Join(out, "images")) // empty now
	}
	return removed
}

// DefaultKeepRuns is how many run directories `runs/` keeps.
const DefaultKeepRuns = 20

// PruneRuns deletes all but the keep newest run directories in dir (by
// modification time), never the one named except, and returns what it
// deleted. Only directories are touched: dir is iomapct's own runs/.
func PruneRuns(dir string, keep int, except string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	type run struct {
		path string
		mod  time.Time
	}
	var runs []run
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() || p == filepath.Clean(except) {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		runs = append(runs, run{p, st.ModTime()})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].mod.After(runs[j].mod) })
	if except != "" {
		keep-- // the new run counts
	}
	var gone []string
	for i := max(keep, 0); i < len(runs); i++ {
		if err := os.RemoveAll(runs[i].path); err != nil {
			return gone, fmt.Errorf("prune %s: %w", runs[i].path, err)
		}
		gone = append(gone, runs[i].path)
	}
	return gone, nil
}
