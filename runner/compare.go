package runner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/iomapct/iomapct/judge"
)

// Revision is one series revision to run.
type Revision struct {
	Name string
	// Dir is the series directory; empty means no patches.
	Dir string
}

// Comparison is the verdict table of several revisions.
type Comparison struct {
	Revisions []string
	Reports   []*Report
	// Rows are (disk, case) keys in report order.
	Rows []string
	// Cells[row][revision] is the status, "-" if the revision lacks it.
	Cells map[string][]Status
	// flaky marks rows where some revision's verdict is KNOWN for a Flaky
	// finding.
	flaky map[string]bool
}

// Differs reports whether a row's revisions disagree. PASS against KNOWN
// for a flaky finding (one whose appearance depends on recycled memory or
// a race's timing) is not a disagreement: it is the same kernel bug
// showing or not. Nor is PASS against a FAIL that fits a flaky finding
// without a byte model (Verdict.Unmodelled), where every FAIL of the row
// fits it: a race's lost data on gfs2 shows in some runs of every
// revision.
func (c *Comparison) Differs(row string) bool {
	cells := c.Cells[row]
	for _, s := range cells[1:] {
		if s != cells[0] && !(c.flaky[row] && c.flakyOnly(row) && flakyPair(s, cells[0])) {
			return true
		}
	}
	return false
}

// flakyPair: two cells that a flaky finding alone can tell apart (PASS,
// KNOWN, and a FAIL that fits it).
func flakyPair(a, b Status) bool {
	ok := func(s Status) bool { return s == Pass || s == Known || s == Fail }
	return ok(a) && ok(b)
}

// flakyOnly reports whether every failing verdict of the row (any
// revision) is explained by a flaky finding: KNOWN for one, or a FAIL that
// fits one. A FAIL that fits none makes the row a real difference.
func (c *Comparison) flakyOnly(row string) bool {
	for i := range c.Reports {
		v, ok := c.verdict(i, row)
		if ok && (v.Status == Fail || v.Status == Known) && !judge.FlakyFinding(v) {
			return false
		}
	}
	return true
}

// Flaky reports whether a row's cells differ only by a flaky finding.
func (c *Comparison) Flaky(row string) bool {
	if !c.flaky[row] || c.Differs(row) {
		return false
	}
	cells := c.Cells[row]
	for _, s := range cells[1:] {
		if s != cells[0] {
			return true
		}
	}
	return false
}

// Compare runs every revision with the same matrix and cases (each into
// its own subdirectory of o.Out) and tabulates the verdicts. A revision
// that fails to build or boot stops the comparison, but the reports of the
// revisions before it are kept and returned.
func Compare(ctx context.Context, o Options, revs []Revision) (*Comparison, error) {
	c := &Comparison{Cells: map[string][]Status{}}
	base := o.Out
	for _, r := range revs {
		ro := o
		ro.Revision, ro.SeriesDir, ro.Out = r.Name, r.Dir, base+"/"+r.Name
		fmt.Fprintf(o.Log, "== revision %s\n", r.Name)
		rep, err := Run(ctx, ro)
		if err != nil {
			return c, fmt.Errorf("revision %s: %w", r.Name, err)
		}
		c.add(r.Name, rep)
	}
	return c, nil
}

func (c *Comparison) add(name string, rep *Report) {
	i := len(c.Revisions)
	c.Revisions = append(c.Revisions, name)
	c.Reports = append(c.Reports, rep)
	if c.flaky == nil {
		c.flaky = map[string]bool{}
	}
	for _, v := range rep.Verdicts {
		key := v.Disk + " " + v.Case
		if judge.FlakyFinding(v) {
			c.flaky[key] = true
		}
		cells, ok := c.Cells[key]
		if !ok {
			c.Rows = append(c.Rows, key)
		}
		for len(cells) < i {
			cells = append(cells, "-")
		}
		c.Cells[key] = append(cells, v.Status)
	}
	for k, cells := range c.Cells {
		for len(cells) <= i {
			cells = append(cells, "-")
		}
		c.Cells[k] = cells
	}
	if rep.Crash != "" {
		key := "(vm) crash"
		if _, ok := c.Cells[key]; !ok {
			c.Rows = append(c.Rows, key)
			c.Cells[key] = make([]Status, i+1)
			for j := range c.Cells[key] {
				c.Cells[key][j] = Pass
			}
		}
		c.Cells[key][i] = Error
	}
}

// PrintComparison writes the rows whose revisions disagree (marked "<>")
// or differ only by a flaky finding ("~"), then, for each disagreeing row,
// every revision's check and message, then each revision's series and run
// directory. PrintComparisonAll writes every row.
func PrintComparison(w io.Writer, c *Comparison) { printComparison(w, c, false) }

// PrintComparisonAll is PrintComparison with every row of the table.
func PrintComparisonAll(w io.Writer, c *Comparison) { printComparison(w, c, true) }

func printComparison(w io.Writer, c *Comparison, all bool) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprint(tw, "   disk case")
	for _, r := range c.Revisions {
		fmt.Fprintf(tw, "\t%s", r)
	}
	fmt.Fprintln(tw, "\t")
	diffs, flaky, shown := 0, 0, 0
	var differing []string
	for _, row := range c.Rows {
		mark := "  "
		if c.Differs(row) {
			mark = "<>"
			diffs++
			differing = append(differing, row)
		} else if c.Flaky(row) {
			mark = "~ "
			flaky++
		} else if !all {
			continue
		}
		shown++
		fmt.Fprintf(tw, "%s %s", mark, row)
		for _, s := range c.Cells[row] {
			fmt.Fprintf(tw, "\t%s", s)
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
	if shown == 0 {
		fmt.Fprintln(w, "   (every row agrees; -v prints them all)")
	}
	// What each revision said about a disagreeing row.
	for _, row := range differing {
		fmt.Fprintf(w, "\n<> %s\n", row)
		for i, rep := range c.Reports {
			v, ok := c.verdict(i, row)
			switch {
			case row == "(vm) crash":
				if rep.Crash != "" {
					fmt.Fprintf(w, "   %-9s %s\n", c.Revisions[i], rep.Crash)
				} else {
					fmt.Fprintf(w, "   %-9s no crash\n", c.Revisions[i])
				}
			case !ok:
				fmt.Fprintf(w, "   %-9s no verdict\n", c.Revisions[i])
			case len(v.Failures) == 0:
				fmt.Fprintf(w, "   %-9s %s\n", c.Revisions[i], v.Status)
			default:
				fmt.Fprintf(w, "   %-9s %s %s\n", c.Revisions[i], v.Status, v.Failures[0])
			}
		}
	}
	var ids []string
	for i, rep := range c.Reports {
		ids = append(ids, fmt.Sprintf("%s=%s (%d patches)", c.Revisions[i], rep.SeriesID, rep.Patches))
	}
	fmt.Fprintf(w, "\n%d of %d rows differ between revisions; series: %s\n", diffs, len(c.Rows), strings.Join(ids, ", "))
	if flaky > 0 {
		fmt.Fprintf(w, "%d rows (~) differ only by a flaky kernel finding showing in some runs and not others\n", flaky)
	}
	for i, rep := range c.Reports {
		fmt.Fprintf(w, "run directory %s: %s\n", c.Revisions[i], rep.Out)
	}
}

// verdict finds revision i's verdict for a row ("disk case").
func (c *Comparison) verdict(i int, row string) (Verdict, bool) {
	for _, v := range c.Reports[i].Verdicts {
		if v.Disk+" "+v.Case == row {
			return v, true
		}
	}
	return Verdict{}, false
}
