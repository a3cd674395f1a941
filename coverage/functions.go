package coverage

import (
	"regexp"
	"strings"
)

// FuncRange is a function's definition in the source, body braces
// included.
type FuncRange struct {
	Name       string
	Start, End int // 1-based lines: the signature's first line, the closing brace
}

var identBeforeParen = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\($`)

// SourceFunctions finds the function definitions of a kernel C file. gcov
// names only the functions compiled out of line; with -Os most static
// helpers (__iomap_write_begin, the ifs_* folio-state helpers) are inlined
// into their callers, where gcov still counts their lines but under no
// function of their own. Kernel style makes definitions easy to find: the
// body's opening and closing braces are alone in column 0, and the
// function's name is the identifier before the signature's first "(".
func SourceFunctions(src string) []FuncRange {
	lines := strings.Split(src, "\n")
	var out []FuncRange
	for i := 0; i < len(lines); i++ {
		if lines[i] != "{" {
			continue
		}
		// The signature: the lines above, back to a blank line, a
		// preprocessor line, a comment's end or a previous statement.
		start := i
		for start > 0 {
			prev := strings.TrimRight(lines[start-1], " \t")
			if prev == "" || strings.HasPrefix(prev, "#") || strings.HasSuffix(prev, "*/") ||
				strings.HasSuffix(prev, ";") || strings.HasSuffix(prev, "}") || strings.HasSuffix(prev, "{") {
				break
			}
			start--
		}
		sig := strings.Join(lines[start:i], " ")
		p := strings.Index(sig, "(")
		if p < 0 {
			continue
		}
		m := identBeforeParen.FindStringSubmatch(sig[:p+1])
		end := i + 1
		for end < len(lines) && lines[end] != "}" {
			end++
		}
		if m == nil || end == len(lines) {
			continue
		}
		out = append(out, FuncRange{Name: m[1], Start: start + 1, End: end + 1})
		i = end
	}
	return out
}
