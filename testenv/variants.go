package testenv

// Variants: AWS behaviours the documentation leaves open, each of which
// the emulator can switch on so that shuffle is tested against every
// plausible answer rather than against one guess. They are set by
// Options.Variants at start and live by PUT /_testenv/variants;
// docs/testenv.md ("Variants") describes each one and the evidence (or
// silence) behind it.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Variant names.
const (
	VariantNoKeyType     = "no-key-type"
	VariantOtherTexts    = "other-texts"
	VariantShortPages    = "short-pages"
	VariantNulls         = "nulls"
	VariantUnknownTypes  = "unknown-types"
	VariantStaleCounts   = "stale-counts"
	VariantForgetTokens  = "forget-tokens"
	VariantBusyResources = "busy-resources"
	// VariantAll stands for every variant.
	VariantAll = "all"
)

// AllVariants lists every variant in the order docs/testenv.md gives them.
var AllVariants = []string{
	VariantNoKeyType, VariantOtherTexts, VariantShortPages, VariantNulls,
	VariantUnknownTypes, VariantStaleCounts, VariantForgetTokens, VariantBusyResources,
}

// ParseVariants checks a list of variant names ("all" expands to every
// one) and returns them deduplicated in AllVariants order. A name may
// itself hold several, comma-separated, as --variant takes them.
func ParseVariants(names []string) ([]string, error) {
	on := map[string]bool{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
				continue
			case part == VariantAll:
				for _, v := range AllVariants {
					on[v] = true
				}
			case slices.Contains(AllVariants, part):
				on[part] = true
			default:
				return nil, fmt.Errorf("unknown testenv variant %q: want %s, or %s for every one", part, strings.Join(AllVariants, ", "), VariantAll)
			}
		}
	}
	out := []string{}
	for _, v := range AllVariants {
		if on[v] {
			out = append(out, v)
		}
	}
	return out, nil
}

// variantState holds the variants in force; it is read on hot paths, so
// it has its own lock rather than the world's.
type variantState struct {
	mu sync.RWMutex
	on map[string]bool
	// seed and start fix what the variants draw: the same seed gives the
	// same texts, short pages and busy periods.
	seed  int64
	start time.Time
	rngMu sync.Mutex
	rng   *rand.Rand
}

func (vs *variantState) init(seed int64, start time.Time) {
	vs.seed, vs.start = seed, start
	vs.rng = rand.New(rand.NewPCG(uint64(seed), 0x7a41a7))
}

// intN draws from the variants' own random source (not the seed's nor
// the faults', so switching a variant changes no other draw).
func (vs *variantState) intN(n int) int {
	vs.rngMu.Lock()
	defer vs.rngMu.Unlock()
	return vs.rng.IntN(n)
}

func (vs *variantState) set(names []string) {
	on := map[string]bool{}
	for _, n := range names {
		on[n] = true
	}
	vs.mu.Lock()
	vs.on = on
	vs.mu.Unlock()
}

func (vs *variantState) has(name string) bool {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return vs.on[name]
}

func (vs *variantState) list() []string {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	out := []string{}
	for n := range vs.on {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		return slices.Index(AllVariants, out[i]) < slices.Index(AllVariants, out[j])
	})
	return out
}

// Variants returns the variants in force, in AllVariants order.
func (s *Server) Variants() []string { return s.variants.list() }

// SetVariants replaces the variants in force. Names are checked as
// ParseVariants checks them; "all" turns every one on. Switching
// unknown-types on adds its recovery points (the same ones for a seed)
// if they are not there yet; switching it off leaves them in place, as
// recovery points do not vanish from AWS when a listing changes.
func (s *Server) SetVariants(names []string) error {
	vs, err := ParseVariants(names)
	if err != nil {
		return err
	}
	if slices.Contains(vs, VariantUnknownTypes) {
		s.w.mu.Lock()
		s.seedUnknownTypesLocked()
		s.w.mu.Unlock()
	}
	s.variants.set(vs)
	if len(vs) > 0 {
		s.logf("testenv: variants %s", strings.Join(vs, ","))
	}
	return nil
}

// variant reports whether the named variant is on.
func (s *Server) variant(name string) bool { return s.variants.has(name) }
