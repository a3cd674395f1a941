package judge

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/iomapct/iomapct/reference"
)

// Target is one filesystem at one block size.
type Target struct {
	FS        string
	BlockSize int64
}

// Name is the disk name used in plans and reports, e.g. "xfs-4k".
func (t Target) Name() string {
	if t.BlockSize%1024 == 0 {
		return fmt.Sprintf("%s-%dk", t.FS, t.BlockSize/1024)
	}
	return fmt.Sprintf("%s-%d", t.FS, t.BlockSize)
}

// Geometry is the reference geometry of a target on a kernel with or
// without large folios in the page cache (the model's rule,
// reference.GeometryFor).
func Geometry(t Target, largeFolios bool) reference.Geometry {
	return reference.GeometryFor(t.FS, t.BlockSize, largeFolios)
}

// SortVerdicts orders by disk then case, for stable reports.
func SortVerdicts(vs []Verdict) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Disk != vs[j].Disk {
			return vs[i].Disk < vs[j].Disk
		}
		return vs[i].Case < vs[j].Case
	})
}

// ImagePath is where a run directory keeps a disk's image.
func ImagePath(out, disk string) string { return filepath.Join(out, "images", disk+".img") }

// FsckCase is the verdict Judge adds per image for its unmount and fsck.
const FsckCase = "(unmount+fsck)"
