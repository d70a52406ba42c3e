package directory

import (
	"context"
	"fmt"
)

// Warm reads what searches read, for a server about to answer clients:
// it maps in the pages of the indexes and decodes the large groups that
// membership searches keep decoded (groupDecodes). The first searches
// after a start then cost what later ones do, instead of each taking page
// faults, decoding kilobytes of JSON and growing the heap a collection at
// a time. User records, the bulk of the file, are left to be mapped in as
// searches touch them, so that the whole file is not made resident before
// anyone asks for it.
func (d *Directory) Warm(ctx context.Context) error {
	return d.store.View(ctx, func(tx Tx) error {
		var sum byte // every value is read, so that its page is too
		touch := func(_ string, v []byte) error {
			if len(v) > 0 {
				sum ^= v[len(v)-1]
			}
			return nil
		}
		for _, b := range []string{ixUID, ixMail, ixUIDNumber, ixCN, ixGIDNumber, ixMemberOf, ixName} {
			if err := tx.Scan(b, "", "", touch); err != nil {
				return fmt.Errorf("warm %s: %w", b, err)
			}
		}
		err := tx.Scan(bGroups, "", "", func(id string, raw []byte) error {
			if len(raw) < groupDecodeMin {
				return touch(id, raw)
			}
			_, _, err := groupDecodes.group(id, raw)
			return err
		})
		if err != nil {
			return fmt.Errorf("warm %s: %w", bGroups, err)
		}
		return nil
	})
}
