package directory

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// sealNTHashes (schema 5 to 6) seals the NT hashes earlier releases kept in
// clear. They are password equivalents: whoever reads one can sign in to
// SMB as its user, so the store and its backups must not hold them as is.
func sealNTHashes(tx Tx, log *slog.Logger) error {
	type legacy struct {
		credentials
		NT []byte `json:"nt,omitempty"`
	}
	clear := map[string]legacy{}
	err := tx.Scan(bCreds, "", "", func(id string, raw []byte) error {
		var c legacy
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bCreds, id, err)
		}
		if c.NT != nil {
			clear[id] = c
		}
		return nil
	})
	if err != nil || len(clear) == 0 {
		return err
	}
	box := boxOf(tx)
	if box == nil {
		return fmt.Errorf("the store holds NT hashes in clear; start with the secrets key (secret.key) so that they can be sealed: %w", ErrNoSecretKey)
	}
	for id, c := range clear {
		if c.credentials.NTSealed, err = box.seal(c.NT, ntPurpose(id)); err != nil {
			return err
		}
		if err := putJSON(tx, bCreds, id, c.credentials); err != nil {
			return err
		}
	}
	log.Info("NT hashes sealed with the secrets key; backups made before hold them in clear", "users", len(clear))
	return nil
}
