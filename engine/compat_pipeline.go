package engine

import (
	"time"

	"github.com/shuffle-migrate/shuffle/engine/inventory"
)

// Shims for callers of the pipeline code that moved to engine/inventory
// (issue 19). They go once the callers use the package directly.
type (
	Inventory        = inventory.Inventory
	InventorySummary = inventory.Summary
	BackupReader     = inventory.BackupReader
)

func utcPtr(t *time.Time) *time.Time { return inventory.UTC(t) }
func isNotFound(err error) bool      { return inventory.IsNotFound(err) }
