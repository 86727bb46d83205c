package preflight

import (
	"context"
	"fmt"

	"github.com/shuffle-migrate/shuffle/engine/finding"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// Input is what Run needs: the script's configuration and each
// account's clients.
type Input struct {
	Config              scriptconfig.Config
	Source, Destination Clients
	// SkipEncryption skips listing the source recovery points to count
	// those on AWS-managed keys (one full listing of the source).
	SkipEncryption bool
	// KeyRule is the engine's aws-managed-key rule (and which types
	// keep their source key in a copy).
	KeyRule KeyRule
	// StateKeys, with FromState, are the included recovery points of
	// the state: the shared-key check reads their keys. Without a
	// state, it reads the keys of the source recovery points it lists.
	StateKeys []RPKey
	FromState bool
}

// Run checks both accounts, in order, and returns the findings
// unsorted. usable is true when both accounts' identities work (so
// further checks, such as compliance, can read them). It only reads.
// An account whose endpoint cannot be reached stops it with an
// *UnreachableError.
func Run(ctx context.Context, in Input) (findings []finding.Finding, usable bool, err error) {
	add := func(f finding.Finding) { findings = append(findings, f) }
	cfg := in.Config
	if cfg.Source.Region != cfg.Destination.Region {
		add(finding.New(finding.Blocking, finding.SideSource, "region", "", fmt.Sprintf("source region %s and destination region %s differ", cfg.Source.Region, cfg.Destination.Region),
			"shuffle copies within one region", "set both regions in shuffle.config to the same region"))
	}
	sides := []struct {
		side finding.Side
		ep   scriptconfig.Endpoint
		c    Clients
	}{{finding.SideSource, cfg.Source, in.Source}, {finding.SideDestination, cfg.Destination, in.Destination}}
	n := 0
	for _, s := range sides {
		ok, err := checkAccount(ctx, cfg, s.side, s.ep, s.c, add)
		if err != nil {
			return findings, false, err
		}
		if !ok {
			continue
		}
		n++
		if s.side == finding.SideSource {
			checkSourceKeys(ctx, in, s.c, add)
		}
	}
	return findings, n == len(sides), nil
}
