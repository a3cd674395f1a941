package coverage

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Line is one executable line of an instrumented source.
type Line struct {
	N     int   `json:"line"`
	Count int64 `json:"count"`
	// First is the step that first reached the line ("xfs-4k/append"),
	// in plan order; empty when unreached.
	First string `json:"first,omitempty"`
}

// Function is one function of a source file and its executable lines.
type Function struct {
	Name       string `json:"name"`
	Start, End int    `json:"-"`
	// Calls is gcov's count of entries for a function compiled out of
	// line, else the count of its first executable line (an inlined
	// function's entries are its callers').
	Calls   int64 `json:"calls"`
	Lines   []int `json:"lines"`   // executable lines
	Reached int   `json:"reached"` // of them, how many ran
}

// File is one instrumented source file.
type File struct {
	// Source is tree-relative ("fs/iomap/buffered-io.c").
	Source string `json:"source"`
	// Path is the copy of the source this kernel was built from.
	Path      string      `json:"path"`
	Lines     []Line      `json:"lines"`
	Functions []*Function `json:"functions"`
}

// Reached counts the file's reached lines.
func (f *File) Reached() int {
	n := 0
	for _, l := range f.Lines {
		if l.Count > 0 {
			n++
		}
	}
	return n
}

// Line returns the line numbered n, if executable.
func (f *File) Line(n int) (Line, bool) {
	i := sort.Search(len(f.Lines), func(i int) bool { return f.Lines[i].N >= n })
	if i < len(f.Lines) && f.Lines[i].N == n {
		return f.Lines[i], true
	}
	return Line{}, false
}

// Function returns the named function, or nil.
func (f *File) Function(name string) *Function {
	for _, fn := range f.Functions {
		if fn.Name == name {
			return fn
		}
	}
	return nil
}

// Unreached lists the function's executable lines that never ran.
func (f *File) Unreached(fn *Function) []int {
	var out []int
	for _, n := range fn.Lines {
		if l, _ := f.Line(n); l.Count == 0 {
			out = append(out, n)
		}
	}
	return out
}

// Report is the coverage of one run.
type Report struct {
	Files []*File `json:"files"`
	// GcovRuns is how many times gcov ran to make it.
	GcovRuns int `json:"gcov_runs"`
}

// File returns the file with the tree-relative source path, or nil.
func (r *Report) File(source string) *File {
	for _, f := range r.Files {
		if f.Source == source {
			return f
		}
	}
	return nil
}

// Order ranks a step in plan order: the disks in the order the plan lists
// them, and within a disk the guest's own order. It decides which of
// several VMs' steps reached a line "first".
type Order func(vm int, s Snapshot) [2]int

// DiskOrder ranks steps by the position of their disk ("xfs-4k" of
// "xfs-4k/case") in disks, then by their place in the guest's stream.
func DiskOrder(disks []string) Order {
	rank := map[string]int{}
	for i, d := range disks {
		rank[d] = i
	}
	return func(vm int, s Snapshot) [2]int {
		disk, _, _ := strings.Cut(s.Step, "/")
		r, ok := rank[disk]
		if !ok {
			r = len(disks) + vm
		}
		return [2]int{r, s.Index}
	}
}

// Analyse computes the coverage of each object stem from the guests'
// streams: counts are the sum of every guest's last snapshot; a line's
// first step is found per guest by bisecting its snapshots (a line's
// cumulative count never falls, so "reached by snapshot i" is monotone in
// i) and the earliest by order wins. gcov runs about log2(snapshots) times
// per distinct first step instead of once per snapshot.
func Analyse(g *Gcov, stems []string, streams []Stream, order Order) (*Report, error) {
	// Objects are independent: run their gcovs on every CPU.
	files := make([]*File, len(stems))
	errs := make([]error, len(stems))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, stem := range stems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			files[i], errs[i] = analyseStem(g, stem, streams, order)
		}()
	}
	wg.Wait()
	rep := &Report{}
	for i := range stems {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if files[i] != nil {
			rep.Files = append(rep.Files, files[i])
		}
	}
	rep.GcovRuns = int(g.runs.Load())
	return rep, nil
}

// analyseStem is Analyse for one object; nil when no guest sent it.
func analyseStem(g *Gcov, stem string, streams []Stream, order Order) (*File, error) {
	f := &File{Source: stem + ".c", Path: filepath.Join(g.Notes, "src", stem+".c")}
	counts := map[int]int64{}
	first := map[int]Snapshot{}
	firstVM := map[int]int{}
	var gfuncs []GcovFunc
	seen := false
	for vm, s := range streams {
		snaps := s[stem]
		if len(snaps) == 0 {
			continue
		}
		memo := map[int]*Counts{}
		at := func(i int) (*Counts, error) {
			if c, ok := memo[i]; ok {
				return c, nil
			}
			c, err := g.Count(stem, snaps[i].Gcda)
			memo[i] = c
			return c, err
		}
		last, err := at(len(snaps) - 1)
		if err != nil {
			return nil, err
		}
		// Every guest ran the same kernel, so they list the same
		// executable lines and functions; the counts add up.
		for n, c := range last.Lines {
			counts[n] += c
		}
		if !seen {
			gfuncs, seen = append([]GcovFunc(nil), last.Funcs...), true
		} else {
			for i := range gfuncs {
				for _, lf := range last.Funcs {
					if lf.Name == gfuncs[i].Name {
						gfuncs[i].ExecutionCount += lf.ExecutionCount
					}
				}
			}
		}
		var reached []int
		for n, c := range last.Lines {
			if c > 0 {
				reached = append(reached, n)
			}
		}
		var bisect func(lo, hi int, lines []int) error
		bisect = func(lo, hi int, lines []int) error {
			if len(lines) == 0 {
				return nil
			}
			if hi == lo+1 {
				for _, n := range lines {
					if prev, ok := first[n]; !ok || less(order(vm, snaps[hi]), order(firstVM[n], prev)) {
						first[n], firstVM[n] = snaps[hi], vm
					}
				}
				return nil
			}
			mid := (lo + hi) / 2
			c, err := at(mid)
			if err != nil {
				return err
			}
			var by, after []int
			for _, n := range lines {
				if c.Lines[n] > 0 {
					by = append(by, n)
				} else {
					after = append(after, n)
				}
			}
			if err := bisect(lo, mid, by); err != nil {
				return err
			}
			return bisect(mid, hi, after)
		}
		// lo = -1 stands for "before the first snapshot": nothing ran.
		if err := bisect(-1, len(snaps)-1, reached); err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, nil // no guest sent this object: its code never ran anywhere
	}
	for n, c := range counts {
		f.Lines = append(f.Lines, Line{N: n, Count: c, First: first[n].Step})
	}
	sort.Slice(f.Lines, func(i, j int) bool { return f.Lines[i].N < f.Lines[j].N })
	src, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("coverage: the source of %s: %w", stem, err)
	}
	f.Functions = functionsOf(f, SourceFunctions(string(src)), gfuncs)
	return f, nil
}

func less(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// functionsOf gives each source function its executable lines and a call
// count: gcov's when the function was compiled out of line.
func functionsOf(f *File, ranges []FuncRange, gfuncs []GcovFunc) []*Function {
	calls := map[string]int64{}
	for _, gf := range gfuncs {
		calls[gf.Name] = gf.ExecutionCount
	}
	var out []*Function
	for _, r := range ranges {
		fn := &Function{Name: r.Name, Start: r.Start, End: r.End}
		for _, l := range f.Lines {
			if l.N < r.Start || l.N > r.End {
				continue
			}
			fn.Lines = append(fn.Lines, l.N)
			if l.Count > 0 {
				fn.Reached++
			}
		}
		if c, ok := calls[r.Name]; ok {
			fn.Calls = c
		} else if len(fn.Lines) > 0 {
			l, _ := f.Line(fn.Lines[0])
			fn.Calls = l.Count
		}
		if len(fn.Lines) > 0 {
			out = append(out, fn)
		}
	}
	return out
}
