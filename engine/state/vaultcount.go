package state

import "time"

// VaultCount is what the state holds of one source vault, to compare
// with the NumberOfRecoveryPoints AWS reports for it (ADR 0001,
// transition 8).
type VaultCount struct {
	// Live counts the vault's RPs not marked gone.
	Live int64
	// Expired counts those whose DeleteAt fell after since (the last
	// full listing, which still found them) and at or before the time
	// asked: AWS may have deleted them since. One whose date had passed
	// when a full listing still found it is one AWS keeps (EXPIRED).
	Expired int64
	// Recent counts those created after the time asked less a minute:
	// AWS may have counted the vault before they existed.
	Recent int64
}

// CountVault counts one vault's RPs as of at, its last full listing
// having ended at since, reading only the start of each record.
func (s *Store) CountVault(vault string, since, at time.Time) (VaultCount, error) {
	var c VaultCount
	recent := at.Add(-time.Minute)
	err := s.scanValues(rpVaultPrefix(vault), func(key, val []byte) error {
		created, deleteAt, gone, err := peekDates(val)
		if err != nil {
			return err
		}
		if gone {
			return nil
		}
		c.Live++
		if !deleteAt.IsZero() && deleteAt.After(since) && !deleteAt.After(at) {
			c.Expired++
		}
		if created.After(recent) {
			c.Recent++
		}
		return nil
	})
	return c, err
}
