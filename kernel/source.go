package kernel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// DebianTarball is where Debian's linux-source-6.12 package puts the source.
const DebianTarball = "/usr/src/linux-source-6.12.tar.xz"

// Source is a kernel source tree that is never modified: series are applied
// in a separate work tree.
type Source struct {
	// Dir is the top of the tree (holds the top-level Makefile).
	Dir string
	// Version is what the top-level Makefile says, e.g. "6.12.117".
	Version string
	// ID identifies the content: the tarball hash, or the git commit plus
	// a dirty marker. It goes into every report and every cache key.
	ID string
	// Commit is the checked-out commit of a git tree given as
	// --kernel-src ("" for a tarball or a plain directory): such a tree
	// keeps one work tree across commits (gitsync.go).
	Commit string
	// Owned is true for a tree iomapct extracted into its cache: nothing
	// ever writes to it, so a work tree may share its files by hard link
	// instead of copying 1.5 GB. A user's tree is always copied, because
	// an editor writing in place would change the work tree behind make's
	// back.
	Owned bool
}

// FromTarball extracts a kernel tarball into the cache (once, keyed by the
// tarball's hash) and returns the tree.
func FromTarball(ctx context.Context, cache, tarball string) (Source, error) {
	sum, err := HashFile(tarball)
	if err != nil {
		return Source{}, fmt.Errorf("kernel source %s: %w (install it with: apt-get install linux-source-6.12)", tarball, err)
	}
	key := sum[:16]
	root := filepath.Join(cache, "src", key)
	unlock, err := lock(root + ".lock")
	if err != nil {
		return Source{}, err
	}
	defer unlock()
	if _, err := os.Stat(root); err != nil {
		tmp := root + ".tmp"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return Source{}, err
		}
		cmd := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", tmp)
		if strings.HasSuffix(tarball, ".xz") {
			// Debian's tarball is multi-block xz, so xz decompresses it on
			// every core (-T0): half the extraction time on two cores.
			cmd = exec.CommandContext(ctx, "tar", "--use-compress-program=xz -d -T0", "-xf", tarball, "-C", tmp)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return Source{}, fmt.Errorf("extract %s: %v: %s", tarball, err, out)
		}
		if err := os.Rename(tmp, root); err != nil {
			return Source{}, err
		}
	}
	dir, err := topDir(root)
	if err != nil {
		return Source{}, fmt.Errorf("tarball %s: %w", tarball, err)
	}
	v, err := makefileVersion(dir)
	if err != nil {
		return Source{}, err
	}
	return Source{Dir: dir, Version: v, ID: fmt.Sprintf("linux-%s tarball %s sha256:%s", v, filepath.Base(tarball), key), Owned: true}, nil
}

// FromDir uses a tree the user already has (git or plain) in place.
func FromDir(ctx context.Context, dir string) (Source, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Source{}, err
	}
	v, err := makefileVersion(dir)
	if err != nil {
		return Source{}, err
	}
	id := "linux-" + v + " dir " + dir
	commit := ""
	if out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		id = "linux-" + v + " git " + commit
		st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
		if err == nil && len(st) > 0 {
			// A dirty tree has no stable identity: hash the diff so two
			// different dirty states never share a cache entry.
			diff, _ := exec.CommandContext(ctx, "git", "-C", dir, "diff", "HEAD").Output()
			id += " dirty:" + hashStrings(string(diff))[:12]
		}
	}
	return Source{Dir: dir, Version: v, ID: id, Commit: commit}, nil
}

// topDir finds the single directory a tarball unpacked into.
func topDir(root string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "Makefile")); err == nil {
				return filepath.Join(root, e.Name()), nil
			}
		}
	}
	return "", fmt.Errorf("no kernel tree (a directory with a Makefile) in %s", root)
}

var versionLine = regexp.MustCompile(`(?m)^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)\s*$`)

func makefileVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("%s is not a kernel tree: %w", dir, err)
	}
	v := map[string]string{}
	for _, m := range versionLine.FindAllStringSubmatch(string(b), -1) {
		v[m[1]] = m[2]
	}
	if v["VERSION"] == "" || v["PATCHLEVEL"] == "" {
		return "", fmt.Errorf("%s/Makefile: no VERSION/PATCHLEVEL lines", dir)
	}
	s := v["VERSION"] + "." + v["PATCHLEVEL"]
	if v["SUBLEVEL"] != "" {
		s += "." + v["SUBLEVEL"]
	}
	return s, nil
}
