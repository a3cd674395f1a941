package cases

// Races: writers, writeback, truncate, mmap and O_DIRECT on one file at
// once, judged against every legal outcome (reference/race). Each case is
// a setup (Gen) and a race of barrier-released rounds; every round works on
// fresh bytes (Stride apart), so the file keeps the outcome of each round.
// The write sizes are small and the rounds many: under TCG the two vCPUs
// interleave coarsely, and a window opens only when both threads are in
// the kernel at once.

// raceRounds is the catalogue's default round count: measured to keep the
// race catalogue within a few seconds per filesystem image (BENCHMARKS.md).
const raceRounds = 24

// raceStride is the catalogue's default distance between rounds: beyond
// every round's bytes, on a folio and block boundary at every block size.
const raceStride = 0x8000

func threads(lists ...[]Op) []RaceThread {
	out := make([]RaceThread, len(lists))
	for i, l := range lists {
		out[i] = RaceThread{Ops: l}
	}
	return out
}

func simpleRace(actors []Actor, lists ...[]Op) func(int64) *Race {
	return func(int64) *Race {
		return &Race{Rounds: raceRounds, Stride: raceStride, Threads: threads(lists...), Actors: actors}
	}
}

var (
	pusher  = Actor{Kind: SyncRange}
	syncer  = Actor{Kind: DataSync}
	evictor = Actor{Kind: FadviseDrop}
	dropper = Actor{Kind: DropCache}
	// squeeze leaves 96 MiB free: enough for the agent and the kernel,
	// little enough that reclaim takes the test file's folios.
	squeeze = Actor{Kind: Balloon, MiB: 96}
)

func actors(a ...Actor) []Actor { return a }

// noSetup starts a race on an empty file (an fsync of it: a case's setup
// is never empty).
func noSetup(int64) []Op { return ops(fsyncOp) }

// filled writes every round's bytes first and flushes them, so a race
// overwrites cached, clean data (mmap stores need the size to exist).
func filled(int64) []Op { return ops(pwrite(0, raceRounds*raceStride), fsyncOp) }

// fallocated leaves every round's bytes unwritten (ext4, xfs).
func fallocated(int64) []Op { return ops(falloc(0, raceRounds*raceStride)) }

var raceCases = []Case{
	{
		Name: "race-disjoint-same-folio",
		Doc:  "two writers on disjoint halves of one page each round, meeting mid-block: each keeps its bytes exactly, nobody zeroes the other's (per-block uptodate state, ifs state_lock)",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(pwrite(0, 2100)), ops(pwrite(2100, 1996))),
	},
	{
		Name: "race-disjoint-four-writers-one-page",
		Doc:  "four writers on four disjoint pieces of one page, none block-aligned",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(pwrite(0, 700)), ops(pwrite(700, 1400)), ops(pwrite(2100, 900)), ops(pwrite(3000, 1096))),
	},
	{
		Name: "race-disjoint-writers-writeback",
		Doc:  "two writers on adjacent unaligned ranges across pages while sync_file_range pushes writeback",
		Gen:  noSetup,
		Race: simpleRace(actors(pusher), ops(pwrite(100, 6000)), ops(pwrite(6100, 9000))),
	},
	{
		Name: "race-overlap-writers",
		Doc:  "two buffered writers over overlapping pages: i_rwsem serialises them, so one wins the whole overlap (atomicity)",
		Gen:  noSetup,
		Race: func(int64) *Race {
			// The second writer's start is swept across rounds, so the
			// writers meet at a different folio each time.
			return &Race{Rounds: raceRounds, Stride: raceStride, Threads: []RaceThread{
				{Ops: ops(pwrite(0, 4*pageSize))},
				{Ops: ops(pwrite(pageSize, 4*pageSize)), SweepNS: 40_000},
			}}
		},
	},
	{
		Name: "race-overlap-unaligned",
		Doc:  "two buffered writers over overlapping unaligned ranges on cached data",
		Gen:  filled,
		Race: simpleRace(nil, ops(pwrite(1000, 9000)), ops(pwrite(3000, 11000))),
	},
	{
		Name: "race-overlap-three-writers",
		Doc:  "three buffered writers, each overlapping the next, on an empty file",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(pwrite(0, 9000)), ops(pwrite(4000, 9000)), ops(pwrite(8000, 9000))),
	},
	{
		Name: "race-overlap-writeback",
		Doc:  "overlapping buffered writers while sync_file_range writes back and fadvise(DONTNEED) drops clean folios",
		Gen:  noSetup,
		Race: simpleRace(actors(pusher, evictor), ops(pwrite(500, 12000)), ops(pwrite(4500, 12000))),
	},
	{
		Name: "race-writev-vs-pwrite",
		Doc:  "a many-segment pwritev against a pwrite over the same bytes",
		Gen:  filled,
		Race: simpleRace(nil, ops(writev(0, 100, 3000, 1, 5000, 2091)), ops(pwrite(2000, 8000))),
	},
	{
		Name: "race-append-writeback",
		Doc:  "two appenders of unaligned sizes while sync_file_range writes the EOF folio back: every append lands whole where O_APPEND put it, no zero padding inside (the 6.13 append/writeback fix)",
		Gen:  func(int64) []Op { return ops(pwrite(0, 1000)) },
		Race: simpleRace(actors(pusher), ops(appendOp(3000)), ops(appendOp(1234))),
	},
	{
		Name: "race-append-fdatasync-evict",
		Doc:  "an appender and a writer behind it, with fdatasync and fadvise(DONTNEED) looping: the EOF block is written back and dropped between appends",
		Gen:  func(int64) []Op { return ops(pwrite(0, 777)) },
		Race: simpleRace(actors(syncer, evictor), ops(appendOp(1500), appendOp(333)), ops(appendOp(4097))),
	},
	{
		Name: "race-write-vs-truncate",
		Doc:  "a write extending the file against a truncate into its middle: either order, never garbage past the truncate, never zero before it",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(pwrite(0, 3*pageSize)), ops(truncate(pageSize+1000))),
	},
	{
		Name: "race-write-vs-truncate-writeback",
		Doc:  "an unaligned extending write against a truncate, with sync_file_range writing back the EOF folio as it moves",
		Gen:  noSetup,
		Race: simpleRace(actors(pusher), ops(pwrite(300, 10000)), ops(truncate(5000))),
	},
	{
		Name: "race-overwrite-vs-truncate-down",
		Doc:  "a write over cached data against a truncate below it and back up: the truncated part reads zero or the write's bytes",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(pwrite(0, 12000)), ops(truncate(2000), truncate(0x4000))),
	},
	{
		Name: "race-mmap-vs-write",
		Doc:  "mmap stores (msync) against a buffered write over the same pages of a cached file",
		Gen:  filled,
		Race: func(int64) *Race {
			// Half the rounds: each costs a page fault and an msync per store.
			return &Race{Rounds: raceRounds / 2, Stride: raceStride, Threads: threads(ops(mmapw(0, 2*pageSize+100)), ops(pwrite(pageSize, 2*pageSize)))}
		},
	},
	{
		Name: "race-mmap-vs-mmap-writeback",
		Doc:  "two mmap storers on overlapping pages while fadvise(DONTNEED) writes back and drops them (page_mkwrite against writeback)",
		Gen:  filled,
		Race: simpleRace(actors(evictor), ops(mmapw(10, 3*pageSize)), ops(mmapw(pageSize+20, 3*pageSize))),
	},
	{
		Name: "race-dio-vs-buffered",
		Doc:  "an O_DIRECT write against a buffered write over the same cached blocks: serialised, one wins the overlap whole, cached pages never go stale",
		Gen:  filled,
		Race: simpleRace(nil, ops(dwrite(0, 2*pageSize)), ops(pwrite(pageSize-100, 2*pageSize))),
	},
	{
		Name: "race-dio-vs-buffered-extend",
		Doc:  "an extending O_DIRECT write against a buffered write into the same new blocks (gfs2 falls back to buffered)",
		Gen:  noSetup,
		Race: simpleRace(nil, ops(dwrite(pageSize, 2*pageSize)), ops(pwrite(100, 2*pageSize))),
	},
	{
		Name: "race-dio-vs-mmap-neighbour",
		Doc:  "an O_DIRECT write next to mmap stores in the neighbouring page, with writeback pushed",
		Gen:  filled,
		Race: simpleRace(actors(pusher), ops(dwrite(0, pageSize)), ops(mmapw(pageSize, 3000))),
	},
	{
		Name: "race-unwritten-writers-writeback",
		Doc:  "partial-block writers into fallocated (unwritten) blocks while writeback converts them: the bytes around each write read zero, never stale (iomap_valid / IOMAP_F_STALE on xfs)",
		Only: withUnwritten,
		Gen:  fallocated,
		Race: simpleRace(actors(pusher, evictor), ops(pwrite(100, 5000)), ops(pwrite(7000, 9000))),
	},
	{
		Name: "race-unwritten-overlap-evict",
		Doc:  "overlapping writers into unwritten blocks while fadvise(DONTNEED) writes back, converts and drops the folios",
		Only: withUnwritten,
		Gen:  fallocated,
		Race: simpleRace(actors(evictor), ops(pwrite(1000, 3*pageSize)), ops(pwrite(2*pageSize+7, 3*pageSize))),
	},
	{
		Name: "race-unwritten-dio-buffered",
		Doc:  "an O_DIRECT write into unwritten blocks next to a buffered partial write into the following unwritten block",
		Only: withUnwritten,
		Gen:  fallocated,
		Race: simpleRace(actors(pusher), ops(dwrite(0, 2*pageSize)), ops(pwrite(2*pageSize+300, 1000))),
	},
	{
		Name: "race-long-write-over-dirty-tail",
		Doc: "in fallocated (unwritten) space each thread dirties one block, then writes a long range ending 100 bytes into it, all under one cached unwritten mapping, " +
			"while writeback converts that block to written and fadvise drops it; a small vm.dirty_bytes throttles the writers mid-write (balance_dirty_pages) so writeback runs inside the window: " +
			"the partial block must be read back, never zeroed by a stale unwritten mapping (iomap_valid / IOMAP_F_STALE, fs/iomap/buffered-io.c:847-855; xfs_buffered_write_iomap_valid)",
		Only: withUnwritten,
		Gen:  func(int64) []Op { return ops(falloc(0, 6*0x20000)) },
		Race: func(int64) *Race {
			return &Race{Rounds: 6, Stride: 0x20000, DirtyBytes: 0x10000, Actors: actors(pusher, evictor), Threads: threads(
				ops(pwrite(0x10000, 0x1000), pwrite(0, 0x10000+100)),
				ops(pwrite(0x1f000, 0x1000), pwrite(0x11000, 0xe000+100)))}
		},
	},
	{
		Name: "race-long-write-over-dirty-tail-delalloc",
		Doc:  "the same on an empty file: the first write leaves a dirty delalloc range, the long write's cached delalloc mapping goes stale when writeback allocates it",
		Gen:  noSetup,
		Race: func(int64) *Race {
			// More rounds than the unwritten variant: a round's window
			// opens less often here (8 of 10 runs caught the planted
			// stale mapping with 6 rounds, 10 of 10 with 16).
			return &Race{Rounds: 10, Stride: 0x20000, DirtyBytes: 0x10000, Actors: actors(pusher, evictor), Threads: threads(
				ops(pwrite(0, 0x11000), pwrite(100, 0x10000)),
				ops(pwrite(0x12000, 0xd000), pwrite(0x12000+100, 0xc000)))}
		},
	},
	{
		Name: "race-punch-vs-write",
		Doc:  "a punch hole against a write over the same cached range",
		Only: withFallocate,
		Gen:  filled,
		Race: simpleRace(nil, ops(pwrite(1000, 3*pageSize)), ops(punch(pageSize, 2*pageSize))),
	},
	{
		Name: "race-zero-range-vs-write",
		Doc:  "a zero range against a write over the same cached range",
		Only: withZeroRange,
		Gen:  filled,
		Race: simpleRace(nil, ops(pwrite(1000, 3*pageSize)), ops(zero(500, 2*pageSize))),
	},
	{
		Name: "race-pressure-overlap",
		Doc:  "overlapping writers under memory pressure (a balloon of anonymous memory), with writeback pushed: reclaim writes back and frees folios between and during the writes",
		Gen:  noSetup,
		Race: func(int64) *Race {
			return &Race{Rounds: raceRounds / 3, Stride: raceStride, Actors: actors(squeeze, pusher),
				Threads: threads(ops(pwrite(0, 5*pageSize+17)), ops(pwrite(2*pageSize+5, 5*pageSize)))}
		},
	},
	{
		Name: "race-pressure-append",
		Doc:  "appenders under memory pressure with fdatasync looping",
		Gen:  func(int64) []Op { return ops(pwrite(0, 100)) },
		Race: func(int64) *Race {
			return &Race{Rounds: raceRounds / 3, Stride: raceStride, Actors: actors(squeeze, syncer),
				Threads: threads(ops(appendOp(2500)), ops(appendOp(6000)))}
		},
	},
	{
		Name: "race-dropcache-writers",
		Doc:  "partial-page writers on cached data while the page cache is dropped: a write into a dropped page reads its block back",
		Gen:  filled,
		Race: simpleRace(actors(dropper), ops(pwrite(10, 1000)), ops(pwrite(3000, 2000))),
	},
}

// RaceCatalogue lists every concurrent case (iomapct run --races adds
// them to a run).
var RaceCatalogue = raceCases

// RaceCore are the races of the default catalogue: one per path a
// planted race is most likely to break (i_rwsem, the folio lock within a
// page, mapping revalidation under writeback, the EOF folio under
// appends and truncate, mmap against buffered writes); the others
// (O_DIRECT, unwritten conversion, memory pressure, cache drops) are left
// to --races, as each costs about a second or more per image under TCG
// (BENCHMARKS.md).
var RaceCore = pickCases(raceCases,
	"race-disjoint-same-folio",
	"race-overlap-writers",
	"race-append-writeback",
	"race-write-vs-truncate-writeback",
	"race-mmap-vs-write",
	"race-long-write-over-dirty-tail",
	// Not race-long-write-over-dirty-tail-delalloc: on gfs2-1k it once
	// failed the atomicity check on the unpatched kernel (a lost start of
	// the second write of one thread, 2026-12-05, not reproduced yet), so
	// it stays in --races until that is explained; a default run must
	// not fail on the unpatched kernel by chance.
)

// pickCases returns the named cases of cs, in the order named; a name
// missing from cs is a programming error.
func pickCases(cs []Case, names ...string) []Case {
	var out []Case
	for _, n := range names {
		found := false
		for _, c := range cs {
			if c.Name == n {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			panic("pickCases: no case " + n)
		}
	}
	return out
}
