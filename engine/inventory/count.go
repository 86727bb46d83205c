package inventory

import "github.com/shuffle-migrate/shuffle/engine/state"

// liveCountCache is the last live count with the inventory epoch it was
// counted at.
type liveCountCache struct {
	Inv   string `json:"inv"`
	Count int64  `json:"count"`
}

// putLiveCount records n as the live count of the current inventory.
func putLiveCount(st *state.Store, n int64) error {
	ep, err := st.Epochs()
	if err != nil {
		return err
	}
	return st.PutCache("inventory-count", liveCountCache{Inv: ep.Inv, Count: n})
}

// countLive counts live RPs, reusing the last count while no inventory
// write has happened since.
func countLive(st *state.Store) (int64, error) {
	ep, err := st.Epochs()
	if err != nil {
		return 0, err
	}
	var c liveCountCache
	if ok, err := st.GetCache("inventory-count", &c); err != nil {
		return 0, err
	} else if ok && c.Inv == ep.Inv {
		return c.Count, nil
	}
	n, err := st.CountLive()
	if err != nil {
		return 0, err
	}
	return n, st.PutCache("inventory-count", liveCountCache{Inv: ep.Inv, Count: n})
}
