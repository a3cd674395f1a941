package crash

import (
	"bytes"
	"strings"
)

// line is one console line with the two timestamp prefixes taken apart.
type line struct {
	num  int    // 1-based line number in the console log
	text string // the line without the host prefix (kernel timestamp kept)
	msg  string // the printk message: both prefixes removed
	// kernel is true when the line carried the kernel's printk time
	// prefix, i.e. it came from printk and not from a user-space write to
	// the console.
	kernel bool
}

// The two prefixes are parsed by hand, not with regexp: they are tried
// on every console line and a regexp made Classify ten times slower.

// hostPrefixLen is the length of vmtest's copyTimestamped prefix
// "[%8.3f] " at the start of s, 0 if absent. Exactly three decimals tell it
// apart from the kernel's six.
func hostPrefixLen(s string) int {
	n, frac := stamp(s)
	if frac != 3 || n >= len(s) || s[n] != ' ' {
		return 0
	}
	return n + 1
}

// kernelPrefixLen is the length of CONFIG_PRINTK_TIME's "[    1.234567] "
// at the start of s, with CONFIG_PRINTK_CALLER's "[    T1]" / "[    C0]"
// after it when present, 0 if absent. The space after it is optional: an
// empty message leaves none.
func kernelPrefixLen(s string) int {
	n, frac := stamp(s)
	if frac < 4 || frac > 9 {
		return 0
	}
	if c := callerLen(s[n:]); c > 0 {
		n += c
	}
	if n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// stamp parses "[ *digits.digits]" and returns its length and how many
// digits follow the dot; (0, 0) if s does not start with one.
func stamp(s string) (n, frac int) {
	i := 0
	if i >= len(s) || s[i] != '[' {
		return 0, 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start || i >= len(s) || s[i] != '.' {
		return 0, 0
	}
	i++
	start = i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start || i >= len(s) || s[i] != ']' {
		return 0, 0
	}
	return i + 1, i - start
}

// callerLen parses "[ *[CT]digits]".
func callerLen(s string) int {
	i := 0
	if i >= len(s) || s[i] != '[' {
		return 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) || (s[i] != 'C' && s[i] != 'T') {
		return 0
	}
	i++
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start || i >= len(s) || s[i] != ']' {
		return 0
	}
	return i + 1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// splitLines cuts the console into lines. Carriage returns from the serial
// port are dropped; a final line without a newline still counts. The log
// is copied to a string once and every line is a slice of it.
func splitLines(console []byte) []line {
	all := string(console)
	out := make([]line, 0, bytes.Count(console, []byte{'\n'})+1)
	for n := 1; len(all) > 0; n++ {
		raw := all
		if i := strings.IndexByte(all, '\n'); i >= 0 {
			raw, all = all[:i], all[i+1:]
		} else {
			all = ""
		}
		out = append(out, parseLine(n, strings.TrimRight(raw, "\r")))
	}
	return out
}

func parseLine(n int, s string) line {
	s = s[hostPrefixLen(s):]
	l := line{num: n, text: s, msg: s}
	if k := kernelPrefixLen(s); k > 0 {
		l.msg, l.kernel = s[k:], true
	}
	return l
}
