package crash

import (
	"regexp"
	"strings"
)

// markerRe matches the guest agent's case markers (guest.Mark writes
// "iomapct: case NAME start|end" into /dev/kmsg). It is not anchored: the
// marker may follow a printk prefix, a syslog facility or other noise.
var markerRe = regexp.MustCompile(`iomapct: case (\S+) (start|end)\s*$`)

// marker reports whether l is a case marker, and which.
func marker(l line) (name string, start, ok bool) {
	if !strings.Contains(l.msg, "iomapct: case ") {
		return "", false, false
	}
	m := markerRe.FindStringSubmatch(l.msg)
	if m == nil {
		return "", false, false
	}
	return m[1], m[2] == "start", true
}

// caseTracker follows the markers to know which case is running.
type caseTracker struct {
	current string
	// epoch counts markers, so that two reports can be told to belong to
	// one incident (nothing the agent did came between them).
	epoch int
}

// observe updates the tracker and reports whether l was a marker.
func (t *caseTracker) observe(l line) bool {
	name, start, ok := marker(l)
	if !ok {
		return false
	}
	t.epoch++
	switch {
	case start:
		t.current = name
	case name == t.current:
		t.current = ""
	}
	// An "end" for a case that is not the current one changes nothing:
	// the agent never interleaves cases, so it is a stale or mangled line.
	return true
}

// Attribute maps each case to the console lines logged while it ran,
// markers excluded, host prefix removed and kernel timestamp kept. A case
// that never logged its end marker (the guest died) keeps everything to
// the end of the log. Lines before the first case or between cases are
// not returned. A case that ran twice gets both runs' lines.
func Attribute(console []byte) map[string][]string {
	out := map[string][]string{}
	var t caseTracker
	for _, l := range splitLines(console) {
		if t.observe(l) {
			if _, seen := out[t.current]; t.current != "" && !seen {
				out[t.current] = nil
			}
			continue
		}
		if t.current != "" {
			out[t.current] = append(out[t.current], l.text)
		}
	}
	return out
}
