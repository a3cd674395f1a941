package cases

// MinimiseRace shrinks a failing race while fails keeps saying it fails:
// fewer threads first, then fewer ops in each thread, fewer actors, fewer
// rounds, then fewer setup ops, each step greedy and repeated until
// nothing more can go. fails sees candidates only (never the input), so
// it may run each on the real kernel.
func MinimiseRace(setup []Op, r *Race, fails func([]Op, *Race) bool) ([]Op, *Race) {
	cur := cloneRace(r)
	try := func(s []Op, c *Race) bool {
		if c.Validate() != nil || !fails(s, c) {
			return false
		}
		setup, cur = s, c
		return true
	}
	for changed := true; changed; {
		changed = false
		for t := 0; t < len(cur.Threads) && len(cur.Threads) > 1; {
			c := cloneRace(cur)
			c.Threads = append(c.Threads[:t], c.Threads[t+1:]...)
			if try(setup, c) {
				changed = true
				continue
			}
			t++
		}
		for t := range cur.Threads {
			for j := 0; j < len(cur.Threads[t].Ops) && len(cur.Threads[t].Ops) > 1; {
				c := cloneRace(cur)
				th := &c.Threads[t]
				th.Ops = append(th.Ops[:j], th.Ops[j+1:]...)
				if try(setup, c) {
					changed = true
					continue
				}
				j++
			}
		}
		for a := 0; a < len(cur.Actors); {
			c := cloneRace(cur)
			c.Actors = append(c.Actors[:a], c.Actors[a+1:]...)
			if try(setup, c) {
				changed = true
				continue
			}
			a++
		}
		for cur.Rounds > 1 {
			c := cloneRace(cur)
			c.Rounds /= 2
			if !try(setup, c) {
				break
			}
			changed = true
		}
		for i := 0; i < len(setup); {
			s := append(append([]Op(nil), setup[:i]...), setup[i+1:]...)
			if try(s, cloneRace(cur)) {
				changed = true
				continue
			}
			i++
		}
	}
	return setup, cur
}

func cloneRace(r *Race) *Race {
	c := *r
	c.Threads = make([]RaceThread, len(r.Threads))
	for i, th := range r.Threads {
		c.Threads[i] = RaceThread{Ops: append([]Op(nil), th.Ops...), SweepNS: th.SweepNS}
	}
	c.Actors = append([]Actor(nil), r.Actors...)
	return &c
}
