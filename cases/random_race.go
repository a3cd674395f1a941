package cases

import (
	"fmt"
	"math/rand"

	"github.com/iomapct/iomapct/filesystems"
)

// randomRaceSpan is the bytes a random race's round works on; rounds are
// randomRaceStride apart.
const (
	randomRaceSpan   = 0x6000
	randomRaceStride = 0x8000
	randomRaceRounds = 12
)

// RandomRace draws a race from seed, valid on filesystem fs with block
// size bs: two or three threads of one to three ops each (writes of every
// kind, truncates, punches and zero ranges where fs has them) over one
// round's span, and up to two actors. mmap stores stay inside the span the
// setup fills (a store past EOF would make the guest extend the file in
// the middle of the race); a race with a truncate has no mmap store (a
// store into a page a racing truncate removed would fault). The same
// arguments give the same race.
func RandomRace(seed int64, fs string, bs int64) ([]Op, *Race) {
	r := rand.New(rand.NewSource(seed))
	caps := filesystems.Get(fs).Caps
	setup := ops(pwrite(0, randomRaceRounds*randomRaceStride), fsyncOp)
	if r.Intn(3) == 0 {
		setup = ops(fsyncOp) // an empty file: the writes extend it
	}
	hasMmap, hasTrunc := false, false
	off := func() int64 { return r.Int63n(randomRaceSpan - 1) }
	length := func(o int64) int64 { return 1 + r.Int63n(randomRaceSpan-o) }
	race := &Race{Rounds: randomRaceRounds, Stride: randomRaceStride, Seed: seed}
	nt := 2 + r.Intn(2)
	for t := 0; t < nt; t++ {
		var th RaceThread
		for j, n := 0, 1+r.Intn(3); j < n; j++ {
			var o Op
			switch k := r.Intn(10); {
			case k < 4:
				a := off()
				o = pwrite(a, length(a))
			case k == 4:
				a := off()
				n := length(a)
				if n < 3 {
					o = pwrite(a, n)
					break
				}
				s1 := 1 + r.Int63n(n-2)
				o = writev(a, s1, n-s1)
			case k == 5:
				o = appendOp(1 + r.Int63n(3*bs))
			case k == 6:
				if caps.Stuffed && len(setup) == 1 {
					o = pwrite(off(), 1+r.Int63n(bs))
					break
				}
				a := r.Int63n(randomRaceSpan/bs) * bs
				o = dwrite(a, bs*(1+r.Int63n((randomRaceSpan-a)/bs)))
			case k == 7:
				if len(setup) == 1 || hasTrunc {
					o = pwrite(off(), 1+r.Int63n(bs))
					break
				}
				hasMmap = true
				a := off()
				o = mmapw(a, length(a))
			case k == 8:
				if hasMmap {
					o = pwrite(off(), 1+r.Int63n(bs))
					break
				}
				hasTrunc = true
				o = truncate(r.Int63n(randomRaceSpan))
			default:
				a := off()
				switch {
				case !caps.Fallocate || hasMmap:
					o = pwrite(a, length(a))
				case !caps.ZeroRange || r.Intn(2) == 0:
					o = punch(a, length(a))
				default:
					o = zero(a, length(a))
				}
			}
			th.Ops = append(th.Ops, o)
		}
		race.Threads = append(race.Threads, th)
	}
	menu := []Actor{pusher, syncer, evictor, dropper}
	for i, n := 0, r.Intn(3); i < n; i++ {
		race.Actors = append(race.Actors, menu[r.Intn(len(menu))])
	}
	return setup, race
}

// RandomRaceCases returns one race case per seed for filesystem fs.
func RandomRaceCases(fs string, seeds []int64) []Case {
	var out []Case
	for _, s := range seeds {
		s := s
		out = append(out, Case{
			Name: fmt.Sprintf("random-race-%s-%d", fs, s),
			Doc:  fmt.Sprintf("random race, seed %d", s),
			Only: []string{fs},
			Gen: func(bs int64) []Op {
				setup, _ := RandomRace(s, fs, bs)
				return setup
			},
			Race: func(bs int64) *Race {
				_, r := RandomRace(s, fs, bs)
				return r
			},
		})
	}
	return out
}
