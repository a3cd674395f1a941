package runner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/cases"
)

// planCPUs is how many vCPUs a VM running plan needs: RaceCPUs when it
// holds a race, else one (more would only slow a TCG boot).
func planCPUs(plan *cases.Plan) int {
	for _, d := range plan.Disks {
		for _, f := range d.Files {
			if f.Race != nil {
				return RaceCPUs
			}
		}
	}
	return 1
}

// raceOf is a catalogue case's race at block size bs (nil for an ordinary
// case).
func raceOf(c cases.Case, bs int64) (*cases.Race, error) {
	if c.Race == nil {
		return nil, nil
	}
	r := c.Race(bs)
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return r, nil
}

// RepeatName is the case name of repetition k (0-based) of a case run
// --repeat times; the first keeps the case's own name.
func RepeatName(name string, k int) string {
	if k == 0 {
		return name
	}
	return fmt.Sprintf("%s@%d", name, k+1)
}

// repeatBase strips RepeatName's suffix.
func repeatBase(name string) string {
	if i := strings.LastIndex(name, "@"); i > 0 {
		return name[:i]
	}
	return name
}

// Reproduction is how often one case failed over its repetitions on one
// disk.
type Reproduction struct {
	Disk, Case   string
	Failed, Runs int
	// First is the first failure's one-line summary.
	First string
}

// Reproductions counts, per case and disk, how many of its repetitions
// (--repeat) failed; only cases that failed at least once are listed.
func Reproductions(vs []Verdict) []Reproduction {
	idx := map[[2]string]*Reproduction{}
	var order [][2]string
	for _, v := range vs {
		if v.Case == "(unmount+fsck)" {
			continue
		}
		key := [2]string{v.Disk, repeatBase(v.Case)}
		r := idx[key]
		if r == nil {
			r = &Reproduction{Disk: key[0], Case: key[1]}
			idx[key] = r
			order = append(order, key)
		}
		r.Runs++
		if v.Status == Fail || v.Status == Error {
			r.Failed++
			if r.First == "" {
				r.First = v.Line()
			}
		}
	}
	var out []Reproduction
	for _, k := range order {
		if idx[k].Failed > 0 {
			out = append(out, *idx[k])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Disk != out[j].Disk {
			return out[i].Disk < out[j].Disk
		}
		return out[i].Case < out[j].Case
	})
	return out
}
