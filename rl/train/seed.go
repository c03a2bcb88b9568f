package train

import (
	"math/rand/v2"

	"tinyr1/model"
)

// Every random draw of a run comes from a generator derived from the run's
// seed and the coordinates of the draw (a purpose tag, the step, the prompt,
// the sample), never from shared state: results do not depend on batch
// composition, worker count or scheduling, and a resumed run draws exactly
// what an uninterrupted one would.

// Purpose tags keep the streams of different uses apart.
const (
	streamPrompt    uint64 = iota + 1 // which mixture item each prompt of a step uses
	streamSample                      // the sampling stream of each completion
	streamRandom                      // reward control shuffle: the permutation of each group
	streamSFT                         // supervised batches
	streamInit                        // model initialisation
	streamData                        // the training problem stream of a stage
	streamBernoulli                   // reward control bernoulli: each completion's draw
)

// DeriveSeed folds the seed and coordinates into one 64-bit seed.
func DeriveSeed(seed uint64, coords ...uint64) uint64 {
	h := model.Mix64(seed + 0x9e3779b97f4a7c15)
	for _, c := range coords {
		h = model.Mix64(h ^ (c + 0x632be59bd9b4e019))
	}
	return h
}

// newRand returns a PCG generator for the given coordinates.
func newRand(seed uint64, coords ...uint64) *rand.Rand {
	s := DeriveSeed(seed, coords...)
	return rand.New(rand.NewPCG(s, model.Mix64(s^0xda942042e4dd58b5))) // uniform repeats this seeding
}

// uniform returns the first Float64 of the stream newRand(seed, coords...)
// gives, bit for bit, without allocating a generator: the PCG state lives
// on the stack, and rand.Rand.Float64 is this expression.
func uniform(seed uint64, coords ...uint64) float64 {
	var pcg rand.PCG
	s := DeriveSeed(seed, coords...)
	pcg.Seed(s, model.Mix64(s^0xda942042e4dd58b5))
	return float64(pcg.Uint64()<<11>>11) / (1 << 53)
}
