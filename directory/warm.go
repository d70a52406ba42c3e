package directory

import (
	"context"
	"fmt"
)

// Warm decodes the large groups that membership searches keep decoded
// (groupDecodes), for a server about to answer clients: the first
// searches after a start then cost what later ones do, instead of each
// decoding kilobytes of JSON and growing the heap a collection at a time.
// It reads nothing else: the pages of users and indexes are mapped in as
// searches touch them, which costs little, and reading them all would
// make the whole file resident before anyone asks for it.
func (d *Directory) Warm(ctx context.Context) error {
	return d.store.View(ctx, func(tx Tx) error {
		err := tx.Scan(bGroups, "", "", func(id string, raw []byte) error {
			if len(raw) < groupDecodeMin {
				return nil
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
