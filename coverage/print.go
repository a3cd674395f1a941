package coverage

import (
	"fmt"
	"io"
	"strings"
)

// Ranges renders sorted line numbers compactly: "812, 830-832".
func Ranges(lines []int) string {
	var parts []string
	for i := 0; i < len(lines); {
		j := i
		for j+1 < len(lines) && lines[j+1] == lines[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(lines[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", lines[i], lines[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// GroupTotal sums a group's lines: reached, executable, and the functions
// of the group the kernel does not have (renamed, or compiled away).
func (r *Report) GroupTotal(g Group) (reached, total int, missing []string) {
	for _, gf := range g.Funcs {
		f := r.File(gf.Source)
		var fn *Function
		if f != nil {
			fn = f.Function(gf.Name)
		}
		if fn == nil {
			missing = append(missing, gf.Source+":"+gf.Name)
			continue
		}
		reached += fn.Reached
		total += len(fn.Lines)
	}
	return reached, total, missing
}

// PrintFiles prints one line per file: lines and functions reached.
func PrintFiles(w io.Writer, r *Report) {
	fmt.Fprintf(w, "%-28s %13s %7s %11s\n", "file", "lines", "", "functions")
	tr, tt := 0, 0
	for _, f := range r.Files {
		entered := 0
		for _, fn := range f.Functions {
			if fn.Reached > 0 {
				entered++
			}
		}
		fmt.Fprintf(w, "%-28s %6d/%-6d %6.1f%% %5d/%-5d\n", f.Source, f.Reached(), len(f.Lines), pct(f.Reached(), len(f.Lines)), entered, len(f.Functions))
		tr += f.Reached()
		tt += len(f.Lines)
	}
	fmt.Fprintf(w, "%-28s %6d/%-6d %6.1f%%\n", "total", tr, tt, pct(tr, tt))
}

// PrintGroup prints a group's functions, lines reached of executable,
// and the unreached lines.
func PrintGroup(w io.Writer, r *Report, g Group) {
	reached, total, missing := r.GroupTotal(g)
	fmt.Fprintf(w, "%s: %d/%d lines (%.1f%%)\n", g.Name, reached, total, pct(reached, total))
	for _, gf := range g.Funcs {
		f := r.File(gf.Source)
		if f == nil {
			continue
		}
		fn := f.Function(gf.Name)
		if fn == nil {
			continue
		}
		un := f.Unreached(fn)
		line := fmt.Sprintf("  %-36s %4d/%-4d %6.1f%%", gf.Name, fn.Reached, len(fn.Lines), pct(fn.Reached, len(fn.Lines)))
		if len(un) > 0 {
			line += "  unreached: " + Ranges(un)
		}
		fmt.Fprintln(w, line)
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "  not in this kernel's sources (or no code): %s\n", strings.Join(missing, ", "))
	}
}

// PrintFunctions prints every function of every file with its unreached
// lines: the full listing (coverage.txt).
func PrintFunctions(w io.Writer, r *Report) {
	for _, f := range r.Files {
		fmt.Fprintf(w, "%s: %d/%d lines (%.1f%%)\n", f.Source, f.Reached(), len(f.Lines), pct(f.Reached(), len(f.Lines)))
		for _, fn := range f.Functions {
			line := fmt.Sprintf("  %-40s %4d/%-4d", fn.Name, fn.Reached, len(fn.Lines))
			if un := f.Unreached(fn); len(un) > 0 {
				line += "  unreached: " + Ranges(un)
			}
			fmt.Fprintln(w, line)
		}
	}
}

// PrintFirst lists, for the functions of the groups, which step first
// reached each of their lines, one line per step in order of appearance.
func PrintFirst(w io.Writer, r *Report, groups []Group) {
	for _, g := range groups {
		fmt.Fprintf(w, "%s, first reached by:\n", g.Name)
		for _, gf := range g.Funcs {
			f := r.File(gf.Source)
			if f == nil {
				continue
			}
			fn := f.Function(gf.Name)
			if fn == nil {
				continue
			}
			by := map[string][]int{}
			var order []string
			for _, n := range fn.Lines {
				l, _ := f.Line(n)
				if l.First == "" {
					continue
				}
				if _, ok := by[l.First]; !ok {
					order = append(order, l.First)
				}
				by[l.First] = append(by[l.First], n)
			}
			if len(order) == 0 {
				continue
			}
			fmt.Fprintf(w, "  %s\n", gf.Name)
			for _, s := range order {
				fmt.Fprintf(w, "    %-48s %s\n", s, Ranges(by[s]))
			}
		}
	}
}
