package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/iomapct/iomapct/cases"
)

// Shard selects one part of a run's (case, image) pairs, so that N machines
// (CI matrix jobs, Kubernetes Indexed Job pods) can share one run and
// `iomapct merge` can put it back together.
type Shard struct {
	// Index is 0-based, below Total.
	Index int `json:"index"`
	Total int `json:"total"`
	// From says where Index and Total came from (a flag, or a CI
	// engine's variables), for the log.
	From string `json:"from,omitempty"`
}

// ShardInfo is what a sharded run records in its report, so that merge can
// tell a missing, duplicated or foreign shard.
type ShardInfo struct {
	Shard
	// Plan identifies the whole, unsharded set of (image, case, ops): every
	// shard of one run computes the same one, whatever part it keeps.
	Plan string `json:"plan"`
	// Pairs is how many (case, image) pairs the whole run has; Kept is how
	// many this shard ran.
	Pairs int `json:"pairs"`
	Kept  int `json:"kept"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// ParseShard reads "i/n" with 0 <= i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q: want INDEX/TOTAL, e.g. 0/4 (0-based index)", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: the index must be in [0, %d) and the total at least 1", s, max(n, 1))
	}
	return Shard{Index: i, Total: n, From: "--shard"}, nil
}

// ShardFromEnv reads a shard from a CI engine's own variables: GitLab's
// CI_NODE_INDEX (1-based) and CI_NODE_TOTAL, or a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX (0-based) with IOMAPCT_SHARD_TOTAL (the Job's
// completions: Kubernetes does not export it). GitHub Actions exports no
// index: its workflow passes strategy.job-index/job-total as --shard. ok is
// false when no engine variable is set.
func ShardFromEnv(getenv func(string) string) (Shard, bool, error) {
	num := func(name string) (int, error) {
		v, err := strconv.Atoi(getenv(name))
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not a number", name, getenv(name))
		}
		return v, nil
	}
	check := func(s Shard) (Shard, bool, error) {
		if s.Total < 1 || s.Index < 0 || s.Index >= s.Total {
			return Shard{}, true, fmt.Errorf("%s give shard %d of %d: the index must be in [0, total)", s.From, s.Index, s.Total)
		}
		return s, true, nil
	}
	switch {
	case getenv("CI_NODE_TOTAL") != "":
		n, err := num("CI_NODE_TOTAL")
		if err != nil {
			return Shard{}, true, err
		}
		i := 1 // GitLab leaves CI_NODE_INDEX unset without `parallel:`
		if getenv("CI_NODE_INDEX") != "" {
			if i, err = num("CI_NODE_INDEX"); err != nil {
				return Shard{}, true, err
			}
		}
		return check(Shard{Index: i - 1, Total: n, From: "GitLab CI_NODE_INDEX/CI_NODE_TOTAL"})
	case getenv("JOB_COMPLETION_INDEX") != "":
		i, err := num("JOB_COMPLETION_INDEX")
		if err != nil {
			return Shard{}, true, err
		}
		if getenv("IOMAPCT_SHARD_TOTAL") == "" {
			return Shard{}, true, fmt.Errorf("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but IOMAPCT_SHARD_TOTAL is not: set it to the Job's completions")
		}
		n, err := num("IOMAPCT_SHARD_TOTAL")
		if err != nil {
			return Shard{}, true, err
		}
		return check(Shard{Index: i, Total: n, From: "Kubernetes JOB_COMPLETION_INDEX/IOMAPCT_SHARD_TOTAL"})
	}
	return Shard{}, false, nil
}

// shardPair is one (image, case) of a plan.
type shardPair struct {
	disk, file int
	key        string // "disk/case", stable across runs
	cost       int
	hash       uint64
}

// shardPlan keeps, in every disk of plan, only the files of shard s and
// drops the disks left empty. The partition is a function of the whole plan
// alone, so every shard computes the same one: pairs go, most expensive
// first (ties broken by a stable hash of the pair's name, so that the order
// does not follow the catalogue's), each to the shard with the least work
// so far. A pair's cost is its op count plus a few ops' worth of per-case
// overhead, weighed by the filesystem's measured cost per op (fsCost), as
// splitPlan weighs VMs.
func shardPlan(plan *cases.Plan, s Shard) ShardInfo {
	info := ShardInfo{Shard: s, Plan: planID(plan)}
	var pairs []shardPair
	for di, d := range plan.Disks {
		w, ok := fsCost[d.FS]
		if !ok {
			w = 100
		}
		for fi, f := range d.Files {
			key := d.Name + "/" + f.Case
			h := fnv.New64a()
			h.Write([]byte(key))
			pairs = append(pairs, shardPair{disk: di, file: fi, key: key, cost: (len(f.Ops) + 4) * w, hash: h.Sum64()})
		}
	}
	info.Pairs = len(pairs)
	sort.SliceStable(pairs, func(a, b int) bool {
		if pairs[a].cost != pairs[b].cost {
			return pairs[a].cost > pairs[b].cost
		}
		if pairs[a].hash != pairs[b].hash {
			return pairs[a].hash < pairs[b].hash
		}
		return pairs[a].key < pairs[b].key
	})
	load := make([]int, s.Total)
	keep := map[[2]int]bool{}
	for _, p := range pairs {
		best := 0
		for i := 1; i < s.Total; i++ {
			if load[i] < load[best] {
				best = i
			}
		}
		load[best] += p.cost
		if best == s.Index {
			keep[[2]int{p.disk, p.file}] = true
		}
	}
	var disks []cases.DiskPlan
	for di, d := range plan.Disks {
		var files []cases.FilePlan
		for fi, f := range d.Files {
			if keep[[2]int{di, fi}] {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			d.Files = files
			disks = append(disks, d)
			info.Kept += len(files)
		}
	}
	plan.Disks = disks
	return info
}

// planID hashes what a run asks of the guest: every image and every case's
// ops. Shards of one run agree on it; shards run with other flags do not.
func planID(plan *cases.Plan) string {
	h := sha256.New()
	for _, d := range plan.Disks {
		fmt.Fprintf(h, "disk %s %s %d %s\n", d.Name, d.FS, d.BlockSize, d.MountOpts)
		for _, f := range d.Files {
			fmt.Fprintf(h, "case %s %s\n", f.Case, f.File)
			for _, op := range f.Ops {
				fmt.Fprintf(h, "%s\n", op)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ShardFlag resolves a --shard flag value: "" reads a CI engine's
// variables when one is set (and says so on log), "none" turns sharding
// off, anything else is INDEX/TOTAL.
func ShardFlag(v string, log func(string)) (*Shard, error) {
	switch v {
	case "none":
		return nil, nil
	case "":
		s, ok, err := ShardFromEnv(os.Getenv)
		if err != nil || !ok {
			return nil, err
		}
		log(fmt.Sprintf("shard %s from %s (--shard none to run everything)", s, s.From))
		return &s, nil
	}
	s, err := ParseShard(v)
	return &s, err
}
