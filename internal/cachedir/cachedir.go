// Package cachedir holds what the content-keyed caches (kernels,
// initramfs archives) share: keeping only the most recently used entries.
package cachedir

import (
	"os"
	"sort"
	"time"
)

// Oldest returns the paths beyond the keep most recently used ones, by
// used(path), newest first; what it returns is for the caller to delete.
// A path whose time cannot be read (an entry being made right now) is
// neither counted nor returned.
func Oldest(paths []string, keep int, used func(path string) (time.Time, error)) []string {
	type entry struct {
		path string
		used time.Time
	}
	var all []entry
	for _, p := range paths {
		if t, err := used(p); err == nil {
			all = append(all, entry{p, t})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].used.After(all[j].used) })
	var out []string
	for _, e := range all[min(max(keep, 0), len(all)):] {
		out = append(out, e.path)
	}
	return out
}

// ModTime is a used function: the path's own modification time.
func ModTime(path string) (time.Time, error) {
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime(), nil
}
