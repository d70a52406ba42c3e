package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OpenID Connect state. An authorization request waits for the sign-in,
// then gets a single-use code. The code's exchange starts a grant: the
// family of every access and refresh token issued from that one sign-in.
// Tokens live as long as their grant does: revoking the grant (a reused
// code, a reused refresh token, a revocation, the user disabled, their
// password changed, a sign-out everywhere) ends them all at once. Every
// record lives in the state store, so it expires by itself.

const (
	kindOIDCRequest = "oidc-request" // auth request ID -> OIDCRequest
	kindOIDCCode    = "oidc-code"    // hash of a code -> auth request ID
	kindOIDCGrant   = "oidc-grant"   // grant ID -> OIDCGrant
	kindOIDCToken   = "oidc-token"   // access token ID, or hash of a refresh token -> OIDCToken
	kindOIDCRevoke  = "oidc-revoke"  // user ID -> time before which the user's grants are revoked

	// CodeTTL is how long a code may wait for its exchange (RFC 6749
	// 4.1.2 says at most ten minutes).
	CodeTTL = 2 * time.Minute
	// usedCodeTTL keeps a redeemed code known, so that its reuse is
	// caught and the tokens it gave are revoked.
	usedCodeTTL = 15 * time.Minute
)

// OIDCRequest is an authorization request: the protocol fields, kept
// for the front end as it gave them, and what the sign-in settled.
type OIDCRequest struct {
	ID       string          `json:"id"`
	ClientID string          `json:"client"`
	Protocol json.RawMessage `json:"protocol"`
	// Set when the user has signed in (Done).
	UserID   string    `json:"user,omitempty"`
	AuthTime time.Time `json:"authTime,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	Done     bool      `json:"done,omitempty"`
	// CodeHash is the hash of the code given for the request.
	CodeHash string `json:"code,omitempty"`
	// Redeemed is set by the code's exchange.
	Redeemed bool      `json:"redeemed,omitempty"`
	Created  time.Time `json:"created"`
}

// OIDCGrant is the family of tokens issued from one code.
type OIDCGrant struct {
	ID       string    `json:"id"`
	ClientID string    `json:"client"`
	UserID   string    `json:"user"`
	Scopes   []string  `json:"scopes"`
	AuthTime time.Time `json:"authTime"`
	AMR      []string  `json:"amr,omitempty"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// OIDCToken is an access token (by its ID) or a refresh token (by its
// hash: the store never holds a usable refresh token).
type OIDCToken struct {
	ID       string    `json:"-"`
	Refresh  bool      `json:"refresh,omitempty"`
	GrantID  string    `json:"grant"`
	ClientID string    `json:"client"`
	UserID   string    `json:"user"`
	Scopes   []string  `json:"scopes"`
	Expires  time.Time `json:"expires"`
	// Rotated marks a refresh token already exchanged for a new one.
	Rotated bool `json:"rotated,omitempty"`
}

// ErrRevoked means a token or code is no longer valid because its grant
// was revoked or it was used before.
var ErrRevoked = errors.New("revoked")

// PutOIDCRequest stores a new authorization request until ttl has passed.
func (d *Directory) PutOIDCRequest(ctx context.Context, req OIDCRequest, ttl time.Duration) error {
	req.Created = d.now().UTC()
	return d.PutState(ctx, kindOIDCRequest, req.ID, req, req.Created.Add(ttl))
}

// OIDCRequest returns the authorization request id.
func (d *Directory) OIDCRequest(ctx context.Context, id string) (OIDCRequest, error) {
	var req OIDCRequest
	if err := d.State(ctx, kindOIDCRequest, id, &req); err != nil {
		return OIDCRequest{}, fmt.Errorf("authorization request: %w", err)
	}
	return req, nil
}

// CompleteOIDCRequest records that userID signed in at authTime with amr
// for the request id.
func (d *Directory) CompleteOIDCRequest(ctx context.Context, id, userID string, authTime time.Time, amr []string) error {
	_, err := updateState(ctx, d, kindOIDCRequest, id, func(req *OIDCRequest, exp time.Time) (time.Time, error) {
		if req.Redeemed {
			return exp, ErrRevoked
		}
		req.UserID, req.AuthTime, req.AMR, req.Done = userID, authTime.UTC(), amr, true
		return exp, nil
	})
	return err
}

// SaveOIDCCode binds a code to the signed-in request id; it is valid for
// CodeTTL and once.
func (d *Directory) SaveOIDCCode(ctx context.Context, id, code string) error {
	return d.store.Update(ctx, func(tx Tx) error {
		var req OIDCRequest
		if err := d.readState(tx, kindOIDCRequest, id, &req); err != nil {
			return err
		}
		if !req.Done {
			return fmt.Errorf("code for a request not signed in: %w", ErrInvalid)
		}
		now := d.now().UTC()
		req.CodeHash = secretHash(code)
		if err := putState(tx, kindOIDCCode, req.CodeHash, id, now.Add(CodeTTL)); err != nil {
			return err
		}
		// The request must outlive the code to catch its reuse.
		return putState(tx, kindOIDCRequest, id, req, now.Add(usedCodeTTL))
	})
}

// OIDCCode returns the signed-in request code was given for. A code
// already exchanged (see IssueOIDCTokens) revokes the grant its exchange
// started and is ErrRevoked; an unknown or expired code is ErrNotFound.
// Reading a code does not use it up: a request with a wrong client secret
// or PKCE verifier leaves it to its client.
func (d *Directory) OIDCCode(ctx context.Context, code string) (OIDCRequest, error) {
	var req OIDCRequest
	err := d.store.View(ctx, func(tx Tx) error {
		var id string
		if err := d.readState(tx, kindOIDCCode, secretHash(code), &id); err != nil {
			return err
		}
		return d.readState(tx, kindOIDCRequest, id, &req)
	})
	if err == nil && req.Redeemed {
		// Only a reuse writes.
		err = d.updateRevoking(ctx, func(Tx) error { return revokeGrant{req.ID} })
	}
	if err != nil {
		return OIDCRequest{}, fmt.Errorf("authorization code: %w", err)
	}
	return req, nil
}

// redeem marks the request of a code exchange used, in the transaction
// that issues its tokens, so of two exchanges only one succeeds. The code
// stays known for usedCodeTTL to catch a reuse.
func (d *Directory) redeem(tx Tx, id string) error {
	var req OIDCRequest
	if err := d.readState(tx, kindOIDCRequest, id, &req); err != nil {
		return err
	}
	if req.Redeemed {
		return revokeGrant{id}
	}
	req.Redeemed = true
	until := d.now().Add(usedCodeTTL)
	if err := putState(tx, kindOIDCCode, req.CodeHash, id, until); err != nil {
		return err
	}
	return putState(tx, kindOIDCRequest, id, req, until)
}

// revokeGrant is the error by which a step inside updateRevoking asks
// for grant to be revoked.
type revokeGrant struct{ grant string }

func (r revokeGrant) Error() string { return "revoke grant " + r.grant }

// updateRevoking runs fn in one transaction. When fn returns a
// revokeGrant, the grant is marked revoked, what fn wrote so far is kept,
// and the caller gets ErrRevoked: a detected reuse must be remembered
// even though the request fails.
func (d *Directory) updateRevoking(ctx context.Context, fn func(Tx) error) error {
	revoked := false
	err := d.store.Update(ctx, func(tx Tx) error {
		var r revokeGrant
		err := fn(tx)
		if !errors.As(err, &r) {
			return err
		}
		revoked = true
		var g OIDCGrant
		exp, err := d.readStateExp(tx, kindOIDCGrant, r.grant, &g)
		if errors.Is(err, ErrNotFound) {
			return nil // a code that failed its first exchange issued nothing
		} else if err != nil {
			return err
		}
		g.Revoked = true
		return putState(tx, kindOIDCGrant, r.grant, g, exp)
	})
	if err == nil && revoked {
		err = ErrRevoked
	}
	return err
}

// DeleteOIDCRequest drops the request id, unless its code was redeemed:
// then it stays until it expires, to catch a reuse of the code.
func (d *Directory) DeleteOIDCRequest(ctx context.Context, id string) error {
	var req OIDCRequest
	if err := d.State(ctx, kindOIDCRequest, id, &req); err != nil || req.Redeemed {
		return nil // after every exchange: no write
	}
	return d.store.Update(ctx, func(tx Tx) error {
		var req OIDCRequest
		if err := d.readState(tx, kindOIDCRequest, id, &req); err != nil || req.Redeemed {
			return nil
		}
		return tx.Delete(bState, stateKey(kindOIDCRequest, id))
	})
}

// OIDCIssue is what one token response issues.
type OIDCIssue struct {
	// Grant is the family: for a code exchange a new grant whose ID is
	// the request's; for a refresh the refreshed token's grant.
	Grant OIDCGrant
	// Refresh asks for a refresh token besides the access token.
	Refresh bool
	// Rotate is the refresh token being exchanged; it stops working.
	Rotate string
	// AccessTTL and RefreshTTL are the client's lifetimes.
	AccessTTL, RefreshTTL time.Duration
	// AccessID and RefreshToken (from NewOIDCTokenIDs) and Now, when set,
	// are the tokens and their issue time, made before the write so the
	// caller can sign the ID token while the write becomes durable.
	AccessID, RefreshToken string
	Now                    time.Time
}

// NewOIDCTokenIDs makes an access token ID and a refresh token.
func NewOIDCTokenIDs() (accessID, refresh string) { return randomSecret(18), randomSecret(32) }

// IssueOIDCTokens stores an access token (and a refresh token when asked)
// of in.Grant, in one transaction, and returns the access token's ID and
// expiry and the refresh token. A code exchange creates the grant; a
// refresh rotates in.Rotate, which must still be live.
func (d *Directory) IssueOIDCTokens(ctx context.Context, in OIDCIssue) (accessID string, expires time.Time, refresh string, err error) {
	now := in.Now
	if now.IsZero() {
		now = d.now()
	}
	now = now.UTC()
	if in.AccessID == "" {
		in.AccessID, in.RefreshToken = NewOIDCTokenIDs()
	}
	err = d.updateRevoking(ctx, func(tx Tx) error {
		g, gexp, err := d.issuingGrant(tx, in, now)
		if err != nil {
			return err
		}
		if in.Rotate != "" {
			if err := d.rotate(tx, in.Rotate, g.ID); err != nil {
				return err
			}
		}
		accessID = in.AccessID
		expires = minTime(now.Add(in.AccessTTL), gexp)
		tok := OIDCToken{GrantID: g.ID, ClientID: g.ClientID, UserID: g.UserID, Scopes: in.Grant.Scopes, Expires: expires}
		if err := putState(tx, kindOIDCToken, accessID, tok, expires); err != nil {
			return err
		}
		if !in.Refresh {
			return nil
		}
		refresh = in.RefreshToken
		tok.Refresh, tok.Expires = true, minTime(now.Add(in.RefreshTTL), gexp)
		return putState(tx, kindOIDCToken, secretHash(refresh), tok, tok.Expires)
	})
	if err != nil {
		return "", time.Time{}, "", fmt.Errorf("issue tokens: %w", err)
	}
	return accessID, expires, refresh, nil
}

// issuingGrant returns the grant tokens are issued from, creating it for
// a code exchange, and refuses a revoked one or one whose user may no
// longer have tokens.
func (d *Directory) issuingGrant(tx Tx, in OIDCIssue, now time.Time) (OIDCGrant, time.Time, error) {
	var g OIDCGrant
	exp, err := d.readStateExp(tx, kindOIDCGrant, in.Grant.ID, &g)
	switch {
	case errors.Is(err, ErrNotFound) && in.Rotate == "":
		if err := d.redeem(tx, in.Grant.ID); err != nil {
			return g, exp, err
		}
		g = in.Grant
		g.Created, g.Revoked = now, false
		exp = now.Add(max(in.RefreshTTL, in.AccessTTL))
		g.Expires = exp
		if err := putState(tx, kindOIDCGrant, g.ID, g, exp); err != nil {
			return g, exp, err
		}
	case err != nil:
		return g, exp, err
	case in.Rotate == "":
		return g, exp, revokeGrant{g.ID} // a second exchange of the code
	}
	return g, exp, d.grantLive(tx, g)
}

// rotate marks the refresh token used. A token used before means it was
// copied: the whole grant is revoked, as RFC 9700 4.14.2 asks.
func (d *Directory) rotate(tx Tx, refresh, grantID string) error {
	var tok OIDCToken
	exp, err := d.readStateExp(tx, kindOIDCToken, secretHash(refresh), &tok)
	if err != nil {
		return err
	}
	if tok.Rotated || tok.GrantID != grantID {
		return revokeGrant{tok.GrantID}
	}
	tok.Rotated = true
	return putState(tx, kindOIDCToken, secretHash(refresh), tok, exp)
}

// grantLive refuses a revoked grant, and revokes one whose user is gone or
// disabled, changed their password or signed out everywhere since the
// grant began: enabling the user again does not bring its tokens back.
func (d *Directory) grantLive(tx Tx, g OIDCGrant) error {
	if g.Revoked {
		return ErrRevoked
	}
	var u User
	if err := getJSON(tx, bUsers, g.UserID, &u); errors.Is(err, ErrNotFound) {
		return revokeGrant{g.ID}
	} else if err != nil {
		return err
	}
	if u.Disabled || u.PasswordChanged.After(g.AuthTime) {
		return revokeGrant{g.ID}
	}
	var mark time.Time
	switch err := d.readState(tx, kindOIDCRevoke, g.UserID, &mark); {
	case err == nil && !mark.Before(g.Created):
		return revokeGrant{g.ID}
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	}
	return nil
}

// OIDCAccessToken returns the live access token id with its grant.
func (d *Directory) OIDCAccessToken(ctx context.Context, id string) (OIDCToken, OIDCGrant, error) {
	return d.liveToken(ctx, id, false)
}

// OIDCRefreshToken returns the live refresh token with its grant. A token
// already rotated revokes its grant (it was copied) and is ErrRevoked.
func (d *Directory) OIDCRefreshToken(ctx context.Context, token string) (OIDCToken, OIDCGrant, error) {
	return d.liveToken(ctx, secretHash(token), true)
}

func (d *Directory) liveToken(ctx context.Context, key string, refresh bool) (OIDCToken, OIDCGrant, error) {
	var tok OIDCToken
	var g OIDCGrant
	err := d.updateRevoking(ctx, func(tx Tx) error {
		if err := d.readState(tx, kindOIDCToken, key, &tok); err != nil {
			return err
		}
		if tok.Refresh != refresh {
			return ErrNotFound
		}
		if tok.Rotated {
			return revokeGrant{tok.GrantID}
		}
		if err := d.readState(tx, kindOIDCGrant, tok.GrantID, &g); err != nil {
			return err
		}
		return d.grantLive(tx, g)
	})
	if err != nil {
		return OIDCToken{}, OIDCGrant{}, fmt.Errorf("token: %w", err)
	}
	tok.ID = key
	return tok, g, nil
}

// RevokeOIDCAccess revokes the access token id of clientID (RFC 7009);
// it ends alone. An unknown token, or another client's, is not an error.
func (d *Directory) RevokeOIDCAccess(ctx context.Context, id, clientID string) error {
	return d.revokeToken(ctx, id, clientID)
}

// RevokeOIDCRefresh revokes the refresh token of clientID and with it its
// whole grant, access tokens included (RFC 7009 2.1).
func (d *Directory) RevokeOIDCRefresh(ctx context.Context, token, clientID string) error {
	return d.revokeToken(ctx, secretHash(token), clientID)
}

func (d *Directory) revokeToken(ctx context.Context, key, clientID string) error {
	err := d.updateRevoking(ctx, func(tx Tx) error {
		var tok OIDCToken
		if err := d.readState(tx, kindOIDCToken, key, &tok); err != nil || tok.ClientID != clientID {
			return nil
		}
		if err := tx.Delete(bState, stateKey(kindOIDCToken, key)); err != nil || !tok.Refresh {
			return err
		}
		return revokeGrant{tok.GrantID}
	})
	if errors.Is(err, ErrRevoked) {
		return nil
	}
	return err
}

// RevokeOIDCGrant ends the grant id and every token issued from it.
func (d *Directory) RevokeOIDCGrant(ctx context.Context, id string) error {
	err := d.updateRevoking(ctx, func(Tx) error { return revokeGrant{id} })
	if errors.Is(err, ErrRevoked) {
		return nil
	}
	return err
}

// RevokeUserOIDC ends every grant the user holds now, in every client:
// signing out everywhere does it.
func (d *Directory) RevokeUserOIDC(ctx context.Context, userID string) error {
	now := d.now().UTC()
	return d.PutState(ctx, kindOIDCRevoke, userID, now, now.Add(MaxRefreshTTL+time.Hour))
}

// readStateExp is readState that also returns the record's expiry.
func (d *Directory) readStateExp(tx Tx, kind, key string, v any) (time.Time, error) {
	var rec stateRecord
	if err := getJSON(tx, bState, stateKey(kind, key), &rec); err != nil {
		return time.Time{}, err
	}
	if !d.now().Before(rec.Expires) {
		return time.Time{}, ErrNotFound
	}
	return rec.Expires, json.Unmarshal(rec.Value, v)
}

// updateState is UpdateState for a record whose expiry fn may keep.
func updateState[T any](ctx context.Context, d *Directory, kind, key string, fn func(*T, time.Time) (time.Time, error)) (T, error) {
	var v T
	err := d.store.Update(ctx, func(tx Tx) error {
		v = *new(T)
		exp, err := d.readStateExp(tx, kind, key, &v)
		if err != nil {
			return err
		}
		if exp, err = fn(&v, exp); err != nil {
			return err
		}
		return putState(tx, kind, key, v, exp)
	})
	return v, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
