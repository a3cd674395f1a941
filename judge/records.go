package judge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// guestResults is what the guest's records say, by disk and case.
type guestResults struct {
	// cases is keyed by "<disk>/<case>".
	cases map[string]cases.Result
	// unmounted is keyed by disk.
	unmounted map[string]cases.DiskResult
	// bad are the records that could not be read, each quoted in full.
	bad []badRecord
}

// badRecord is a line of results.jsonl the judge could not use.
type badRecord struct {
	// Name is the record's name ("<disk>/<case>"), empty if the line was
	// not a record at all.
	Name string
	Line string
	Err  string
}

func (b badRecord) String() string {
	return fmt.Sprintf("undecodable result line (%s): %q", b.Err, b.Line)
}

// IsUnmount reports whether r is a disk's unmount record: the Unmount
// type, or a Result named "<disk>/umount" from an older agent whose data
// is not a case's (a case's Result has its case name in it, so a case
// named "umount" is never taken for the disk's record).
func IsUnmount(r proto.Record) bool {
	if r.Type == proto.Unmount {
		return true
	}
	if r.Type != proto.Result || !strings.HasSuffix(r.Name, "/umount") {
		return false
	}
	var probe struct {
		Case string `json:"case"`
	}
	return json.Unmarshal(r.Data, &probe) == nil && probe.Case == ""
}

// readRecords sorts the guest's records into case results and unmount
// records; what does not decode is kept, with its line, for the verdicts.
func readRecords(records []proto.Record) guestResults {
	g := guestResults{cases: map[string]cases.Result{}, unmounted: map[string]cases.DiskResult{}}
	quote := func(r proto.Record) string {
		if r.Raw != "" {
			return r.Raw
		}
		b, _ := json.Marshal(r)
		return string(b)
	}
	for _, r := range records {
		switch {
		case r.Type == proto.Undecodable:
			g.bad = append(g.bad, badRecord{Line: r.Raw, Err: r.Error})
		case IsUnmount(r):
			var dr cases.DiskResult
			if err := r.Decode(&dr); err != nil || dr.Disk == "" {
				if err == nil {
					err = fmt.Errorf("no disk")
				}
				g.bad = append(g.bad, badRecord{Name: strings.TrimSuffix(r.Name, "/umount"), Line: quote(r), Err: err.Error()})
				continue
			}
			g.unmounted[dr.Disk] = dr
		case r.Type == proto.Result:
			var cr cases.Result
			if err := r.Decode(&cr); err != nil || cr.Disk == "" || cr.Case == "" {
				if err == nil {
					err = fmt.Errorf("no disk or case")
				}
				g.bad = append(g.bad, badRecord{Name: r.Name, Line: quote(r), Err: err.Error()})
				continue
			}
			g.cases[cr.Disk+"/"+cr.Case] = cr
		}
	}
	return g
}

// badFor returns the undecodable records named name and removes them from
// g.bad, so what is left belongs to no case of the plan.
func (g *guestResults) badFor(name string) []badRecord {
	var out []badRecord
	kept := g.bad[:0]
	for _, b := range g.bad {
		if b.Name == name {
			out = append(out, b)
		} else {
			kept = append(kept, b)
		}
	}
	g.bad = kept
	return out
}

// badVerdicts turns the undecodable lines no case claimed into ERROR
// verdicts, one per line, so none is dropped.
func badVerdicts(revision string, bad []badRecord) []Verdict {
	var vs []Verdict
	for i, b := range bad {
		v := Verdict{Case: fmt.Sprintf("(result line %d)", i+1), Revision: revision, Status: Pass}
		if b.Name != "" {
			v.Case = fmt.Sprintf("(result %s)", b.Name)
		}
		v.Errorf(CheckResults, "%s", b)
		vs = append(vs, v)
	}
	return vs
}

// openImage opens an image for judging; tests replace it with a fake.
var openImage = OpenImage
