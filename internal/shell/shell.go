// Package shell quotes words for a POSIX shell, for the command lines the
// reports print (a QEMU repro, an iomapct replay) to be pasted as they are.
package shell

import "strings"

// safe reports whether s needs no quoting: it is not empty and holds only
// characters no POSIX shell treats specially in any position.
func safe(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_@%+=:,./-", r):
		default:
			return false
		}
	}
	return true
}

// Quote returns s as one shell word. Anything but the safe characters goes
// in single quotes, inside which a POSIX shell takes every byte literally
// (backslash, backtick, $, !, newline included) except the single quote
// itself, which is written by closing the quotes, escaping it and
// reopening them.
func Quote(s string) string {
	if safe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word and joins them with spaces.
func Join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}
