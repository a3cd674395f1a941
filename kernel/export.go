package kernel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// exportManifest is the file `iomapct build --export` writes beside the
// kernel, so that a machine without the source tree or a compiler (a CI
// shard, a Kubernetes pod) can run that exact kernel and prove it is the one
// the key names.
const exportManifest = "iomapct-kernel.json"

// Exported is the manifest of an exported kernel.
type Exported struct {
	// Key, SourceID, SeriesID, Patches, ConfigHash are the cache entry's.
	Key        string `json:"key"`
	SourceID   string `json:"source_id"`
	SeriesID   string `json:"series_id"`
	Patches    int    `json:"patches"`
	ConfigHash string `json:"config_hash"`
	// Revision is the label the kernel was built under ("baseline", "v2").
	Revision string `json:"revision,omitempty"`
	// Version is the kernel release of the source, e.g. "6.12.117" (the
	// recorded kernel findings are per version).
	Version string `json:"version"`
	// Files maps each artifact's file name to its SHA-256.
	Files map[string]string `json:"files"`
}

// Export copies a built kernel (bzImage, vmlinux, .config) into dir with a
// manifest of its cache key and content hashes.
func Export(a *Artifact, revision, version, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := Exported{Key: a.Key, SourceID: a.SourceID, SeriesID: a.SeriesID, Patches: a.Patches,
		ConfigHash: a.ConfigHash, Revision: revision, Version: version, Files: map[string]string{}}
	for name, src := range map[string]string{"bzImage": a.BzImage, "vmlinux": a.Vmlinux, "config": a.Config} {
		if src == "" {
			continue // an entry cached before vmlinux was kept
		}
		dst := filepath.Join(dir, name)
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		sum, err := HashFile(dst)
		if err != nil {
			return err
		}
		m.Files[name] = sum
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(dir, exportManifest), append(b, '\n'), 0o644)
}

// LoadExported checks an exported kernel against its manifest, every file
// by its hash, and returns it as an artifact (Cached) with its manifest.
func LoadExported(dir string) (*Artifact, *Exported, error) {
	path := filepath.Join(dir, exportManifest)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--kernel %s: %w (make it with: iomapct build --export DIR)", dir, err)
	}
	var m Exported
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Key == "" || m.Files["bzImage"] == "" || m.Files["config"] == "" {
		return nil, nil, fmt.Errorf("%s: no key, bzImage or config recorded", path)
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sum, err := HashFile(filepath.Join(dir, n))
		if err != nil {
			return nil, nil, fmt.Errorf("--kernel %s: %w", dir, err)
		}
		if sum != m.Files[n] {
			return nil, nil, fmt.Errorf("--kernel %s: %s has SHA-256 %.16s, the manifest of kernel %s says %.16s: not the kernel it claims to be", dir, n, sum, m.Key, m.Files[n])
		}
	}
	a := &Artifact{BzImage: filepath.Join(dir, "bzImage"), Config: filepath.Join(dir, "config"), Key: m.Key,
		SourceID: m.SourceID, SeriesID: m.SeriesID, Patches: m.Patches, ConfigHash: m.ConfigHash, Cached: true}
	if m.Files["vmlinux"] != "" {
		a.Vmlinux = filepath.Join(dir, "vmlinux")
	}
	return a, &m, nil
}
