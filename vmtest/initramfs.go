// Package vmtest boots a kernel in QEMU with an initramfs holding our guest
// agent, streams the agent's results over a virtio-serial port, keeps the
// console in a timestamped log and says how the VM ended.
package vmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/iomapct/iomapct/internal/cachedir"
)

// File is one file of the initramfs.
type File struct {
	// Path inside the archive, e.g. "init" or "etc/plan.json".
	Path string
	// Host is a file to copy; Data is used when Host is empty.
	Host string
	Data []byte
	Mode uint64 // permission bits; 0 means 0755 for Host files, 0644 for Data
}

// Initramfs packs files (already-built static binaries and data) into a
// newc cpio with u-root's cpio package and caches it by content hash under
// dir. Nothing is compiled here: gobusybox's rebuild-everything costs 45 s
// and more, where packing prebuilt binaries takes about a second.
// It returns the archive path and whether it came from the cache.
func Initramfs(dir string, files []File) (string, bool, error) {
	type entry struct {
		path string
		data []byte
		mode uint64
	}
	var ents []entry
	h := sha256.New()
	for _, f := range files {
		data, mode := f.Data, f.Mode
		if f.Host != "" {
			b, err := os.ReadFile(f.Host)
			if err != nil {
				return "", false, fmt.Errorf("initramfs file %s: %w", f.Path, err)
			}
			data = b
			if mode == 0 {
				mode = 0o755
			}
		} else if mode == 0 {
			mode = 0o644
		}
		ents = append(ents, entry{path.Clean(f.Path), data, mode})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].path < ents[j].path })
	for _, e := range ents {
		fmt.Fprintf(h, "%s %o %d\n", e.path, e.mode, len(e.data))
		h.Write(e.data)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(dir, "initramfs-"+sum+".cpio")
	if _, err := os.Stat(out); err == nil {
		return out, true, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(dir, "initramfs-*.tmp")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	w := cpio.NewDedupWriter(cpio.Newc.Writer(tmp))
	recs := []cpio.Record{
		cpio.Directory("dev", 0o755),
		// The kernel opens /dev/console for init's stdio before anything
		// can mount devtmpfs; without this node the agent would be mute.
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.Directory("proc", 0o755),
		cpio.Directory("sys", 0o755),
		cpio.Directory("tmp", 0o1777),
		cpio.Directory("mnt", 0o755),
	}
	dirs := map[string]bool{"dev": true, "proc": true, "sys": true, "tmp": true, "mnt": true}
	for _, e := range ents {
		for d := path.Dir(e.path); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			recs = append(recs, cpio.Directory(d, 0o755))
		}
		recs = append(recs, cpio.StaticRecord(e.data, cpio.Info{Name: e.path, Mode: cpio.S_IFREG | e.mode}))
	}
	// Parents before children: sort directories by depth, keep files after.
	sort.SliceStable(recs, func(i, j int) bool {
		di, dj := recs[i].Mode&cpio.S_IFMT == cpio.S_IFDIR, recs[j].Mode&cpio.S_IFMT == cpio.S_IFDIR
		if di != dj {
			return di
		}
		if di {
			return len(recs[i].Name) < len(recs[j].Name)
		}
		return false
	})
	cpio.MakeAllReproducible(recs)
	if err := cpio.WriteRecords(w, recs); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("write initramfs: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", false, err
	}
	prune(dir, keepInitramfs)
	return out, false, nil
}

// keepInitramfs bounds the cache: every distinct plan makes a new archive
// (a few MiB each), and only recent ones are ever reused.
const keepInitramfs = 32

// prune deletes all but the keep most recently written archives.
func prune(dir string, keep int) {
	paths, _ := filepath.Glob(filepath.Join(dir, "initramfs-*.cpio"))
	for _, p := range cachedir.Oldest(paths, keep, cachedir.ModTime) {
		os.Remove(p)
	}
}
