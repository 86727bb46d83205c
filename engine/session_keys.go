package engine

import (
	"context"
	"sync"

	"github.com/shuffle-migrate/shuffle/engine/kmskeys"
	"github.com/shuffle-migrate/shuffle/engine/plan"
	"github.com/shuffle-migrate/shuffle/engine/replicate"
)

// The KMS side of the vault mapping: the aliases of the source keys
// that map(vault) sees, and the destination keys it names, resolved
// through KMS in the destination account. Both are asked once per
// session; a key that does not resolve holds back its vault only
// (replicate.WaitEncryptionKey), with a reason saying what to do.

// sessionKeys is what KMS said in this session.
type sessionKeys struct {
	mu       sync.Mutex
	listed   bool            // the source aliases were listed (or cannot be)
	aliases  plan.KeyAliases // the source keys' aliases
	aliasErr error           // why they are unknown
	resolver *kmskeys.Resolver
}

// sourceKeyAliases are the source account's keys' aliases, listed once
// per session. When KMS does not answer they are unknown (nil): the
// mapping then sees no alias, and resolveKeys says why.
func (s *Session) sourceKeyAliases(ctx context.Context) plan.KeyAliases {
	k := &s.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.listed {
		return k.aliases
	}
	as, err := kmskeys.ListAliases(ctx, s.kms.Source)
	k.aliases, k.aliasErr = kmskeys.ByKey(as), err
	// A transient failure is asked again by the next mapping.
	k.listed = err == nil || kmskeys.KindOf(err) != kmskeys.Other
	if err != nil && ctx.Err() == nil {
		s.logger().Warn("source key aliases unknown", "error", err)
	}
	return k.aliases
}

// resolveKeys resolves the destination key each vault mapping names
// (replicate.ResolveKeys), with the session's resolver.
func (s *Session) resolveKeys(ctx context.Context, plans map[string]*plan.VaultPlan) error {
	k := &s.keys
	k.mu.Lock()
	if k.resolver == nil {
		k.resolver = kmskeys.NewResolver(s.kms.Destination)
	}
	r, aliasErr := k.resolver, k.aliasErr
	k.mu.Unlock()
	return replicate.ResolveKeys(ctx, plans, r, s.Config.Destination.Account, aliasErr)
}
